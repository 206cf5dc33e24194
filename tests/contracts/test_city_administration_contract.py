"""The CityAdministration multisig: proposals, approvals, threshold, self-governance."""

from __future__ import annotations

import pytest
from evm_harness import EvmHarness, decode_revert_reason
from trust_city import (
    ADMIN_A,
    ADMIN_B,
    ADMIN_C,
    DEPT_ADMIN,
    NEWCOMER,
    OUTSIDER,
    City,
    assert_reverted,
    deploy_city,
    events_of,
    govern,
    name32,
    ok,
    propose,
)

from contracts.artifacts import load_artifact

NOT_ADMIN = "CityAdministration: caller is not an admin"
ONLY_SELF = "CityAdministration: only through an executed proposal"


@pytest.fixture
def city() -> City:
    return deploy_city(admit_departments=False)


def test_constructor_sets_admins_and_threshold(city: City) -> None:
    a = city.administration
    assert set(a.call("admins")) == {ADMIN_A.address, ADMIN_B.address, ADMIN_C.address}
    assert a.call("threshold") == 2
    assert a.call("isAdmin", ADMIN_C.address) and not a.call("isAdmin", OUTSIDER.address)
    assert a.call("proposalCount") == 0


@pytest.mark.parametrize(
    ("admins", "threshold", "reason"),
    [
        ([], 1, "CityAdministration: at least one admin required"),
        ([ADMIN_A.address, ADMIN_A.address], 1, "CityAdministration: already an admin"),
        ([b"\0" * 20], 1, "CityAdministration: zero address"),
        ([ADMIN_A.address], 0, "CityAdministration: threshold must be between 1 and the admin count"),
        ([ADMIN_A.address], 2, "CityAdministration: threshold must be between 1 and the admin count"),
    ],
)
def test_constructor_refuses_bad_arguments(admins: list[bytes], threshold: int, reason: str) -> None:
    result = EvmHarness([ADMIN_A]).deploy(
        ADMIN_A, load_artifact("CityAdministration"), ("address[]", admins), ("uint256", threshold)
    )
    assert result.contract_address is None
    assert decode_revert_reason(result.return_data) == reason


def test_constructor_emits_admins_and_threshold() -> None:
    harness = EvmHarness([ADMIN_A])
    contract, deployment = harness.deploy_contract(
        ADMIN_A, load_artifact("CityAdministration"),
        ("address[]", [ADMIN_A.address, ADMIN_B.address]), ("uint256", 1),
    )
    assert events_of(contract, deployment) == [
        ("AdminAdded", {"admin": ADMIN_A.address}),
        ("AdminAdded", {"admin": ADMIN_B.address}),
        ("ThresholdChanged", {"previousThreshold": 0, "newThreshold": 1}),
    ]


# ---- propose / approve / execute ----


def test_propose_records_and_counts_as_the_proposers_approval(city: City) -> None:
    a = city.administration
    data = city.registry.encode_call("setAddress", name32("X"), NEWCOMER.address)
    result = ok(a.transact(ADMIN_B, "propose", city.registry.address, data))
    assert events_of(a, result) == [
        ("Proposed", {"id": 0, "proposer": ADMIN_B.address, "target": city.registry.address,
                      "data": data}),
        ("Approved", {"id": 0, "admin": ADMIN_B.address}),
    ]
    assert a.call("proposal", 0) == (city.registry.address, data, ADMIN_B.address, False)
    assert a.call("approvalCount", 0) == 1
    assert a.call("hasApproved", 0, ADMIN_B.address)


def test_below_threshold_nothing_executes(city: City) -> None:
    a = city.administration
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    assert_reverted(a.transact(ADMIN_A, "execute", pid), "CityAdministration: not enough approvals")
    assert city.registry.call("addressOf", name32("X")) == b"\0" * 20
    assert a.call("proposal", pid)[3] is False


def test_at_threshold_execute_makes_the_call_once(city: City) -> None:
    a = city.administration
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    approval = ok(a.transact(ADMIN_C, "approve", pid))
    assert events_of(a, approval) == [("Approved", {"id": pid, "admin": ADMIN_C.address})]
    # Approving does not execute; any admin then executes.
    assert city.registry.call("addressOf", name32("X")) == b"\0" * 20
    result = ok(a.transact(ADMIN_B, "execute", pid))
    assert events_of(a, result) == [("Executed", {"id": pid, "by": ADMIN_B.address})]
    assert events_of(city.registry, result) == [
        ("AddressSet", {"name": name32("X"), "previousAddress": b"\0" * 20,
                        "newAddress": NEWCOMER.address})
    ]
    assert city.registry.call("addressOf", name32("X")) == NEWCOMER.address
    assert a.call("proposal", pid)[3] is True
    # Replay of an executed proposal is refused, and so is approving it again.
    assert_reverted(a.transact(ADMIN_A, "execute", pid), "CityAdministration: proposal already executed")
    assert_reverted(a.transact(ADMIN_A, "approve", pid), "CityAdministration: proposal already executed")
    assert_reverted(
        a.transact(ADMIN_B, "revokeApproval", pid), "CityAdministration: proposal already executed"
    )


def test_a_reverting_call_reverts_execute_with_its_reason_and_stays_pending(city: City) -> None:
    a = city.administration
    result = govern(city, city.departments, "admit", b"91350100M000100Y44", "X", 1,
                    DEPT_ADMIN.address)
    assert_reverted(result, "DepartmentRegistry: invalid USCI")
    assert a.call("proposal", 0)[3] is False


def test_revoked_approvals_do_not_count(city: City) -> None:
    a = city.administration
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    ok(a.transact(ADMIN_B, "approve", pid))
    result = ok(a.transact(ADMIN_B, "revokeApproval", pid))
    assert events_of(a, result) == [("ApprovalRevoked", {"id": pid, "admin": ADMIN_B.address})]
    assert a.call("approvalCount", pid) == 1
    assert_reverted(a.transact(ADMIN_A, "execute", pid), "CityAdministration: not enough approvals")


@pytest.mark.parametrize(
    ("function", "caller", "reason"),
    [
        ("approve", ADMIN_A, "CityAdministration: already approved"),
        ("revokeApproval", ADMIN_B, "CityAdministration: not approved"),
    ],
)
def test_approval_changes_that_change_nothing_are_refused(
    city: City, function: str, caller, reason: str
) -> None:
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    assert_reverted(city.administration.transact(caller, function, pid), reason)


@pytest.mark.parametrize("function", ["approve", "revokeApproval", "execute"])
def test_unknown_proposals_are_refused(city: City, function: str) -> None:
    assert_reverted(
        city.administration.transact(ADMIN_A, function, 7), "CityAdministration: unknown proposal"
    )


def test_proposal_to_a_non_contract_is_refused(city: City) -> None:
    assert_reverted(
        city.administration.transact(ADMIN_A, "propose", OUTSIDER.address, b""),
        "CityAdministration: target is not a contract",
    )


@pytest.mark.parametrize("caller", [OUTSIDER, DEPT_ADMIN], ids=lambda a: a.label)
@pytest.mark.parametrize("function", ["propose", "approve", "revokeApproval", "execute"])
def test_non_admins_are_refused(city: City, caller, function: str) -> None:
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    args = (city.registry.address, b"") if function == "propose" else (pid,)
    assert_reverted(city.administration.transact(caller, function, *args), NOT_ADMIN)


# ---- Admins and threshold change only through the multisig itself ----


@pytest.mark.parametrize(
    ("function", "args"),
    [("addAdmin", (NEWCOMER.address,)), ("removeAdmin", (ADMIN_C.address,)), ("setThreshold", (1,))],
)
@pytest.mark.parametrize("caller", [ADMIN_A, OUTSIDER], ids=lambda a: a.label)
def test_self_governance_only_through_a_proposal(city: City, function: str, args, caller) -> None:
    assert_reverted(city.administration.transact(caller, function, *args), ONLY_SELF)


def test_add_admin_through_a_proposal(city: City) -> None:
    a = city.administration
    result = ok(govern(city, a, "addAdmin", NEWCOMER.address))
    assert ("AdminAdded", {"admin": NEWCOMER.address}) in events_of(a, result)
    assert a.call("isAdmin", NEWCOMER.address)
    assert len(a.call("admins")) == 4


def test_remove_admin_through_a_proposal_drops_its_approvals(city: City) -> None:
    a = city.administration
    pending = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address,
                      proposer=ADMIN_C)
    ok(a.transact(ADMIN_A, "approve", pending))
    result = ok(govern(city, a, "removeAdmin", ADMIN_C.address))
    assert ("AdminRemoved", {"admin": ADMIN_C.address}) in events_of(a, result)
    assert set(a.call("admins")) == {ADMIN_A.address, ADMIN_B.address}
    # ADMIN_C's approval no longer counts, and it can no longer act.
    assert a.call("approvalCount", pending) == 1
    assert not a.call("hasApproved", pending, ADMIN_C.address)
    assert_reverted(a.transact(ADMIN_A, "execute", pending), "CityAdministration: not enough approvals")
    assert_reverted(a.transact(ADMIN_C, "approve", pending), NOT_ADMIN)


def test_set_threshold_through_a_proposal(city: City) -> None:
    a = city.administration
    result = ok(govern(city, a, "setThreshold", 3))
    assert ("ThresholdChanged", {"previousThreshold": 2, "newThreshold": 3}) in events_of(a, result)
    assert a.call("threshold") == 3
    pid = propose(city, city.registry, "setAddress", name32("X"), NEWCOMER.address)
    ok(a.transact(ADMIN_B, "approve", pid))
    assert_reverted(a.transact(ADMIN_A, "execute", pid), "CityAdministration: not enough approvals")
    ok(a.transact(ADMIN_C, "approve", pid))
    ok(a.transact(ADMIN_A, "execute", pid))


@pytest.mark.parametrize(
    ("function", "args", "reason"),
    [
        ("setThreshold", (4,), "CityAdministration: threshold must be between 1 and the admin count"),
        ("setThreshold", (0,), "CityAdministration: threshold must be between 1 and the admin count"),
        ("setThreshold", (2,), "CityAdministration: threshold unchanged"),
        ("addAdmin", (ADMIN_B.address,), "CityAdministration: already an admin"),
        ("addAdmin", (b"\0" * 20,), "CityAdministration: zero address"),
        ("removeAdmin", (OUTSIDER.address,), "CityAdministration: not an admin"),
    ],
)
def test_bad_self_governance_is_refused(city: City, function: str, args, reason: str) -> None:
    assert_reverted(govern(city, city.administration, function, *args), reason)


def test_admins_cannot_drop_below_the_threshold(city: City) -> None:
    a = city.administration
    ok(govern(city, a, "removeAdmin", ADMIN_C.address))
    assert_reverted(
        govern(city, a, "removeAdmin", ADMIN_B.address),
        "CityAdministration: fewer admins than the threshold would remain",
    )


def test_threshold_one_executes_with_the_proposers_approval_alone() -> None:
    harness = EvmHarness([ADMIN_A])
    a, _ = harness.deploy_contract(
        ADMIN_A, load_artifact("CityAdministration"), ("address[]", [ADMIN_A.address]),
        ("uint256", 1),
    )
    ok(a.transact(ADMIN_A, "propose", a.address, a.encode_call("addAdmin", NEWCOMER.address)))
    ok(a.transact(ADMIN_A, "execute", 0))
    assert a.call("isAdmin", NEWCOMER.address)

