"""StatusRegistry: status list digests with strictly increasing versions, per owning issuer."""

from __future__ import annotations

import pytest
from trust_city import (
    ADMIN_A,
    DEPT_ADMIN,
    DEPT_OPERATOR,
    OTHER_DEPT_ADMIN,
    OUTSIDER,
    PLATFORM_OPERATOR,
    USCI_A,
    USCI_B,
    VERIFIER,
    City,
    assert_reverted,
    block_time,
    deploy_city,
    events_of,
    govern,
    ok,
)

LIST = b"\x11" * 32
OTHER_LIST = b"\x22" * 32
DIGEST_1, DIGEST_2 = b"\xa1" * 32, b"\xa2" * 32


@pytest.fixture
def city() -> City:
    city = deploy_city()
    ok(city.status.transact(DEPT_OPERATOR, "publish", LIST, DIGEST_1, 1))
    return city


def test_first_publication_claims_the_list(city: City) -> None:
    s = city.status
    assert s.call("latest", LIST) == (USCI_A, DIGEST_1, 1, block_time(city))
    assert s.call("listsOf", USCI_A) == (LIST,)
    assert s.call("latest", OTHER_LIST) == (b"\0" * 18, b"\0" * 32, 0, 0)


def test_publish_a_new_version(city: City) -> None:
    s = city.status
    result = ok(s.transact(DEPT_ADMIN, "publish", LIST, DIGEST_2, 5))
    assert events_of(s, result) == [
        ("StatusListPublished", {"listId": LIST, "department": USCI_A, "version": 5,
                                 "digest": DIGEST_2, "by": DEPT_ADMIN.address})
    ]
    assert s.call("latest", LIST) == (USCI_A, DIGEST_2, 5, block_time(city))
    assert s.call("listsOf", USCI_A) == (LIST,)


@pytest.mark.parametrize("version", [0, 1])
def test_versions_must_increase(city: City, version: int) -> None:
    assert_reverted(
        city.status.transact(DEPT_ADMIN, "publish", LIST, DIGEST_2, version),
        "StatusRegistry: version must increase",
    )
    assert city.status.call("latest", LIST)[1:3] == (DIGEST_1, 1)


def test_first_version_must_be_positive(city: City) -> None:
    assert_reverted(
        city.status.transact(DEPT_ADMIN, "publish", OTHER_LIST, DIGEST_1, 0),
        "StatusRegistry: version must increase",
    )


def test_another_department_cannot_publish_the_list(city: City) -> None:
    assert_reverted(
        city.status.transact(OTHER_DEPT_ADMIN, "publish", LIST, DIGEST_2, 2),
        "StatusRegistry: list belongs to another department",
    )
    ok(city.status.transact(OTHER_DEPT_ADMIN, "publish", OTHER_LIST, DIGEST_2, 1))
    assert city.status.call("listsOf", USCI_B) == (OTHER_LIST,)


def test_only_issuers_claim_lists(city: City) -> None:
    ok(govern(city, city.departments, "setRoles", USCI_B, VERIFIER))
    assert_reverted(
        city.status.transact(OTHER_DEPT_ADMIN, "publish", OTHER_LIST, DIGEST_1, 1),
        "StatusRegistry: caller's department is not an issuer",
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"\0" * 32, DIGEST_2, 2), "StatusRegistry: zero list id"),
        ((LIST, b"\0" * 32, 2), "StatusRegistry: zero digest"),
    ],
)
def test_zero_ids_and_digests_are_refused(city: City, args, reason: str) -> None:
    assert_reverted(city.status.transact(DEPT_ADMIN, "publish", *args), reason)


@pytest.mark.parametrize("caller", [OUTSIDER, ADMIN_A, PLATFORM_OPERATOR], ids=lambda a: a.label)
def test_only_department_accounts_publish(city: City, caller) -> None:
    assert_reverted(
        city.status.transact(caller, "publish", LIST, DIGEST_2, 2),
        "StatusRegistry: caller is not a department account",
    )


def test_a_removed_departments_accounts_cannot_publish(city: City) -> None:
    ok(govern(city, city.departments, "remove", USCI_A))
    assert_reverted(
        city.status.transact(DEPT_ADMIN, "publish", LIST, DIGEST_2, 2),
        "StatusRegistry: caller is not a department account",
    )
