"""DepartmentRegistry: USCI-keyed departments, admitted by the multisig, with accounts."""

from __future__ import annotations

import pytest
from evm_harness import EvmHarness, decode_revert_reason
from trust_city import (
    ADMIN_A,
    BANK,
    DEPT_ADMIN,
    DEPT_OPERATOR,
    ISSUER,
    NEWCOMER,
    OTHER_DEPT_ADMIN,
    OUTSIDER,
    REGULATOR,
    SERVICE_MODULE,
    USCI_A,
    USCI_B,
    VERIFIER,
    City,
    assert_reverted,
    deploy_city,
    events_of,
    govern,
    ok,
)

from contracts.artifacts import load_artifact

NOT_ADMINISTRATION = "DepartmentRegistry: caller is not the city administration"
NOT_DEPT_ADMIN = "DepartmentRegistry: caller is not a department admin"
NOT_ACTIVE = "DepartmentRegistry: department is not active"
ZERO18 = b"\0" * 18
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def with_check(first17: str) -> bytes:
    """A reference implementation of the GB 32100-2015 check character."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return (first17 + ALPHABET[(31 - total % 31) % 31]).encode()


NEW_USCI = with_check("91440300MA5DC7X41")


@pytest.fixture
def city() -> City:
    return deploy_city()


# ---- USCI check on chain ----


@pytest.mark.parametrize(
    "code", [USCI_A, USCI_B, NEW_USCI, with_check("12100000400000624"), with_check("0" * 17)]
)
def test_valid_codes_pass(city: City, code: bytes) -> None:
    assert city.departments.call("isValidUsci", code) is True


def changed(code: bytes, position: int) -> bytes:
    """`code` with one character replaced by the next one of the alphabet."""
    old = chr(code[position])
    new = ALPHABET[(ALPHABET.index(old) + 1) % 31]
    return code[:position] + new.encode() + code[position + 1:]


@pytest.mark.parametrize("position", range(18))
@pytest.mark.parametrize("code", [USCI_A, USCI_B])
def test_a_changed_character_fails(city: City, code: bytes, position: int) -> None:
    assert city.departments.call("isValidUsci", changed(code, position)) is False


@pytest.mark.parametrize(
    "code",
    [
        b"91350100m000100Y43",  # lower case
        b"9135010OM000100Y43",  # O is not in the alphabet
        b"91350100I000100Y43",  # nor I
        b"\0" * 18,
        b"91350100M000100Y4 ",
    ],
)
def test_characters_outside_the_alphabet_fail(city: City, code: bytes) -> None:
    assert city.departments.call("isValidUsci", code) is False


def test_check_value_31_is_written_0(city: City) -> None:
    code = with_check("0" * 17)  # sum 0 -> 31 - 0 = 31 -> '0'
    assert code.endswith(b"0")
    assert city.departments.call("isValidUsci", code) is True


# ---- Admission ----


def test_admit_records_the_department_and_its_admin(city: City) -> None:
    d = city.departments
    result = ok(govern(city, d, "admit", NEW_USCI, "Bank of the City", BANK, NEWCOMER.address))
    assert events_of(d, result) == [
        ("DepartmentAdmitted", {"usci": NEW_USCI, "name": "Bank of the City", "roles": BANK,
                                "admin": NEWCOMER.address}),
        ("AccountAdded", {"usci": NEW_USCI, "account": NEWCOMER.address,
                          "by": city.administration.address}),
    ]
    assert d.call("department", NEW_USCI) == ("Bank of the City", BANK, True, NEWCOMER.address)
    assert d.call("isActive", NEW_USCI)
    assert d.call("departmentOf", NEWCOMER.address) == NEW_USCI
    assert d.call("accountsOf", NEW_USCI) == (NEWCOMER.address,)
    assert d.call("departments") == (USCI_A, USCI_B, NEW_USCI)
    assert d.call("hasRoles", NEW_USCI, BANK) and not d.call("hasRoles", NEW_USCI, ISSUER)


def test_setup_of_the_fixture(city: City) -> None:
    d = city.departments
    assert d.call("department", USCI_A) == ("Department A", ISSUER, True, DEPT_ADMIN.address)
    assert set(d.call("accountsOf", USCI_A)) == {DEPT_ADMIN.address, DEPT_OPERATOR.address}
    assert d.call("hasRoles", USCI_B, ISSUER | VERIFIER)
    assert d.call("departmentOf", OUTSIDER.address) == ZERO18
    assert d.call("department", NEW_USCI) == ("", 0, False, b"\0" * 20)
    assert [d.call(f"ROLE_{r}") for r in ("ISSUER", "VERIFIER", "REGULATOR", "BANK",
                                          "SERVICE_MODULE")] == [1, 2, 4, 8, 16]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((changed(NEW_USCI, 17), "X", ISSUER, NEWCOMER.address), "DepartmentRegistry: invalid USCI"),
        ((USCI_A, "X", ISSUER, NEWCOMER.address), "DepartmentRegistry: department already admitted"),
        ((NEW_USCI, "", ISSUER, NEWCOMER.address), "DepartmentRegistry: empty name"),
        ((NEW_USCI, "X", 0, NEWCOMER.address), "DepartmentRegistry: invalid roles"),
        ((NEW_USCI, "X", 32, NEWCOMER.address), "DepartmentRegistry: invalid roles"),
        ((NEW_USCI, "X", ISSUER, b"\0" * 20), "DepartmentRegistry: zero address"),
        ((NEW_USCI, "X", ISSUER, DEPT_OPERATOR.address),
         "DepartmentRegistry: account already belongs to a department"),
    ],
)
def test_bad_admissions_are_refused(city: City, args, reason: str) -> None:
    assert_reverted(govern(city, city.departments, "admit", *args), reason)


def test_every_role_bit_is_accepted(city: City) -> None:
    roles = ISSUER | VERIFIER | REGULATOR | BANK | SERVICE_MODULE
    ok(govern(city, city.departments, "admit", NEW_USCI, "All", roles, NEWCOMER.address))
    assert city.departments.call("hasRoles", NEW_USCI, roles)


# ---- Removal ----


def test_remove_deactivates_and_releases_every_account(city: City) -> None:
    d = city.departments
    result = ok(govern(city, d, "remove", USCI_A))
    events = events_of(d, result)
    assert events[-1] == ("DepartmentRemoved", {"usci": USCI_A})
    assert sorted(e[1]["account"] for e in events[:-1]) == sorted(
        [DEPT_ADMIN.address, DEPT_OPERATOR.address]
    )
    assert all(e[0] == "AccountRemoved" for e in events[:-1])
    assert d.call("department", USCI_A) == ("Department A", ISSUER, False, DEPT_ADMIN.address)
    assert d.call("accountsOf", USCI_A) == ()
    assert d.call("departmentOf", DEPT_OPERATOR.address) == ZERO18
    assert not d.call("hasRoles", USCI_A, ISSUER)
    assert d.call("departments") == (USCI_A, USCI_B)  # kept for history
    # Its former admin can no longer manage accounts.
    assert_reverted(d.transact(DEPT_ADMIN, "addOperator", NEWCOMER.address), NOT_DEPT_ADMIN)


def test_a_removed_department_can_be_readmitted_with_a_new_admin(city: City) -> None:
    d = city.departments
    ok(govern(city, d, "remove", USCI_A))
    assert_reverted(govern(city, d, "remove", USCI_A), NOT_ACTIVE)
    ok(govern(city, d, "admit", USCI_A, "Department A2", ISSUER | VERIFIER, NEWCOMER.address))
    assert d.call("department", USCI_A) == ("Department A2", ISSUER | VERIFIER, True,
                                            NEWCOMER.address)
    assert d.call("accountsOf", USCI_A) == (NEWCOMER.address,)
    assert d.call("departments") == (USCI_A, USCI_B)


# ---- Roles and admin ----


def test_set_roles(city: City) -> None:
    d = city.departments
    result = ok(govern(city, d, "setRoles", USCI_A, ISSUER | REGULATOR))
    assert events_of(d, result) == [
        ("RolesChanged", {"usci": USCI_A, "previousRoles": ISSUER, "newRoles": ISSUER | REGULATOR})
    ]
    assert d.call("hasRoles", USCI_A, REGULATOR)


@pytest.mark.parametrize(
    ("usci", "roles", "reason"),
    [
        (USCI_A, ISSUER, "DepartmentRegistry: roles unchanged"),
        (USCI_A, 0, "DepartmentRegistry: invalid roles"),
        (USCI_A, 64, "DepartmentRegistry: invalid roles"),
        (NEW_USCI, ISSUER, NOT_ACTIVE),
    ],
)
def test_bad_role_changes_are_refused(city: City, usci: bytes, roles: int, reason: str) -> None:
    assert_reverted(govern(city, city.departments, "setRoles", usci, roles), reason)


def test_set_admin_to_a_new_account(city: City) -> None:
    d = city.departments
    result = ok(govern(city, d, "setAdmin", USCI_A, NEWCOMER.address))
    by = city.administration.address
    assert events_of(d, result) == [
        ("AccountAdded", {"usci": USCI_A, "account": NEWCOMER.address, "by": by}),
        ("AccountRemoved", {"usci": USCI_A, "account": DEPT_ADMIN.address, "by": by}),
        ("AdminChanged", {"usci": USCI_A, "previousAdmin": DEPT_ADMIN.address,
                          "newAdmin": NEWCOMER.address}),
    ]
    assert d.call("department", USCI_A)[3] == NEWCOMER.address
    assert set(d.call("accountsOf", USCI_A)) == {NEWCOMER.address, DEPT_OPERATOR.address}
    assert_reverted(d.transact(DEPT_ADMIN, "addOperator", OUTSIDER.address), NOT_DEPT_ADMIN)
    ok(d.transact(NEWCOMER, "addOperator", OUTSIDER.address))


def test_set_admin_to_an_operator_promotes_it(city: City) -> None:
    d = city.departments
    ok(govern(city, d, "setAdmin", USCI_A, DEPT_OPERATOR.address))
    assert d.call("accountsOf", USCI_A) == (DEPT_OPERATOR.address,)
    assert d.call("department", USCI_A)[3] == DEPT_OPERATOR.address


@pytest.mark.parametrize(
    ("usci", "admin", "reason"),
    [
        (USCI_A, DEPT_ADMIN.address, "DepartmentRegistry: already the admin"),
        (USCI_A, OTHER_DEPT_ADMIN.address,
         "DepartmentRegistry: account already belongs to a department"),
        (USCI_A, b"\0" * 20, "DepartmentRegistry: zero address"),
        (NEW_USCI, NEWCOMER.address, NOT_ACTIVE),
    ],
)
def test_bad_admin_changes_are_refused(city: City, usci: bytes, admin: bytes, reason: str) -> None:
    assert_reverted(govern(city, city.departments, "setAdmin", usci, admin), reason)


ADMINISTRATION_ACTIONS = [
    ("admit", (NEW_USCI, "X", ISSUER, NEWCOMER.address)),
    ("remove", (USCI_A,)),
    ("setRoles", (USCI_A, BANK)),
    ("setAdmin", (USCI_A, NEWCOMER.address)),
]


@pytest.mark.parametrize("caller", [ADMIN_A, DEPT_ADMIN, OUTSIDER], ids=lambda a: a.label)
@pytest.mark.parametrize(
    ("function", "args"), ADMINISTRATION_ACTIONS, ids=[a[0] for a in ADMINISTRATION_ACTIONS]
)
def test_only_the_administration_admits_and_removes(city: City, caller, function, args) -> None:
    assert_reverted(city.departments.transact(caller, function, *args), NOT_ADMINISTRATION)


# ---- Operators, managed by the department's admin account ----


def test_department_admin_adds_and_removes_operators(city: City) -> None:
    d = city.departments
    added = ok(d.transact(DEPT_ADMIN, "addOperator", NEWCOMER.address))
    assert events_of(d, added) == [
        ("AccountAdded", {"usci": USCI_A, "account": NEWCOMER.address, "by": DEPT_ADMIN.address})
    ]
    assert d.call("departmentOf", NEWCOMER.address) == USCI_A
    removed = ok(d.transact(DEPT_ADMIN, "removeOperator", DEPT_OPERATOR.address))
    assert events_of(d, removed) == [
        ("AccountRemoved", {"usci": USCI_A, "account": DEPT_OPERATOR.address,
                            "by": DEPT_ADMIN.address})
    ]
    assert d.call("departmentOf", DEPT_OPERATOR.address) == ZERO18
    assert set(d.call("accountsOf", USCI_A)) == {DEPT_ADMIN.address, NEWCOMER.address}


@pytest.mark.parametrize("caller", [DEPT_OPERATOR, OUTSIDER, ADMIN_A], ids=lambda a: a.label)
@pytest.mark.parametrize(
    ("function", "account"),
    [("addOperator", NEWCOMER.address), ("removeOperator", DEPT_OPERATOR.address)],
)
def test_only_a_department_admin_manages_operators(city: City, caller, function, account) -> None:
    assert_reverted(city.departments.transact(caller, function, account), NOT_DEPT_ADMIN)


@pytest.mark.parametrize(
    ("function", "account", "reason"),
    [
        ("addOperator", OTHER_DEPT_ADMIN.address,
         "DepartmentRegistry: account already belongs to a department"),
        ("addOperator", DEPT_OPERATOR.address,
         "DepartmentRegistry: account already belongs to a department"),
        ("addOperator", b"\0" * 20, "DepartmentRegistry: zero address"),
        ("removeOperator", OTHER_DEPT_ADMIN.address,
         "DepartmentRegistry: account is not in the department"),
        ("removeOperator", OUTSIDER.address,
         "DepartmentRegistry: account is not in the department"),
        ("removeOperator", DEPT_ADMIN.address,
         "DepartmentRegistry: cannot remove the department admin"),
    ],
)
def test_bad_operator_changes_are_refused(city: City, function: str, account: bytes,
                                          reason: str) -> None:
    assert_reverted(city.departments.transact(DEPT_ADMIN, function, account), reason)


def test_constructor_refuses_a_zero_administration() -> None:
    result = EvmHarness([ADMIN_A]).deploy(
        ADMIN_A, load_artifact("DepartmentRegistry"), ("address", b"\0" * 20)
    )
    assert result.contract_address is None
    assert decode_revert_reason(result.return_data) == "DepartmentRegistry: zero administration"
