"""AnchorRegistry: checkpoints of logs owned by a department or the platform; size must grow."""

from __future__ import annotations

import pytest
from evm_harness import CallReverted
from trust_city import (
    ADMIN_A,
    DEPT_ADMIN,
    DEPT_OPERATOR,
    NEWCOMER,
    OTHER_DEPT_ADMIN,
    OUTSIDER,
    PLATFORM_OPERATOR,
    USCI_A,
    City,
    assert_reverted,
    block_time,
    deploy_city,
    events_of,
    govern,
    ok,
)

LOG = b"\x01" * 32
PLATFORM_LOG = b"\x02" * 32
ROOT_1, ROOT_2 = b"\xb1" * 32, b"\xb2" * 32
KEY_ID = bytes.fromhex("c74f20a300000000")
ZERO18 = b"\0" * 18
NOT_ADMINISTRATION = "AnchorRegistry: caller is not the city administration"
NOBODY = "AnchorRegistry: caller is neither a department account nor the platform operator"
OTHER_OWNER = "AnchorRegistry: log belongs to another owner"


@pytest.fixture
def city() -> City:
    city = deploy_city()
    ok(city.anchors.transact(DEPT_OPERATOR, "anchor", LOG, 10, ROOT_1, KEY_ID, 0))
    return city


def test_first_anchor_claims_the_log_for_the_department(city: City) -> None:
    a = city.anchors
    result = ok(a.transact(DEPT_ADMIN, "anchor", b"\x03" * 32, 1, ROOT_1, KEY_ID, 2))
    assert events_of(a, result) == [
        ("LogClaimed", {"logId": b"\x03" * 32, "platform": False, "department": USCI_A,
                        "by": DEPT_ADMIN.address}),
        ("Anchored", {"logId": b"\x03" * 32, "index": 0, "size": 1, "root": ROOT_1,
                      "keyId": KEY_ID, "cosignatures": 2, "by": DEPT_ADMIN.address}),
    ]
    assert a.call("ownerOf", LOG) == (True, False, USCI_A)
    assert a.call("ownerOf", b"\x09" * 32) == (False, False, ZERO18)


def test_anchors_are_recorded_with_block_time_and_number(city: City) -> None:
    a = city.anchors
    first_time = block_time(city)
    result = ok(a.transact(DEPT_ADMIN, "anchor", LOG, 25, ROOT_2, KEY_ID, 3))
    head = city.harness.chain.get_canonical_head()
    assert events_of(a, result) == [
        ("Anchored", {"logId": LOG, "index": 1, "size": 25, "root": ROOT_2, "keyId": KEY_ID,
                      "cosignatures": 3, "by": DEPT_ADMIN.address}),
    ]
    assert a.call("anchorCount", LOG) == 2
    assert a.call("latest", LOG) == (25, ROOT_2, KEY_ID, 3, head.timestamp, head.block_number)
    assert a.call("anchorAt", LOG, 1) == a.call("latest", LOG)
    assert a.call("anchorAt", LOG, 0) == (10, ROOT_1, KEY_ID, 0, first_time, head.block_number - 1)


def test_unknown_logs_read_as_empty(city: City) -> None:
    a = city.anchors
    assert a.call("latest", b"\x09" * 32) == (0, b"\0" * 32, b"\0" * 8, 0, 0, 0)
    assert a.call("anchorCount", b"\x09" * 32) == 0
    with pytest.raises(CallReverted, match="AnchorRegistry: no anchor at this index"):
        a.call("anchorAt", LOG, 1)


@pytest.mark.parametrize("size", [0, 9, 10])
def test_size_must_grow(city: City, size: int) -> None:
    assert_reverted(
        city.anchors.transact(DEPT_ADMIN, "anchor", LOG, size, ROOT_2, KEY_ID, 0),
        "AnchorRegistry: size must grow",
    )
    assert city.anchors.call("anchorCount", LOG) == 1


def test_first_anchor_of_an_empty_tree_is_refused(city: City) -> None:
    assert_reverted(
        city.anchors.transact(DEPT_ADMIN, "anchor", b"\x05" * 32, 0, ROOT_1, KEY_ID, 0),
        "AnchorRegistry: size must grow",
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"\0" * 32, 11, ROOT_2, KEY_ID, 0), "AnchorRegistry: zero log id"),
        ((LOG, 11, b"\0" * 32, KEY_ID, 0), "AnchorRegistry: zero root"),
    ],
)
def test_zero_ids_and_roots_are_refused(city: City, args, reason: str) -> None:
    assert_reverted(city.anchors.transact(DEPT_ADMIN, "anchor", *args), reason)


@pytest.mark.parametrize("caller", [OUTSIDER, ADMIN_A], ids=lambda a: a.label)
def test_only_departments_and_the_platform_operator_anchor(city: City, caller) -> None:
    assert_reverted(city.anchors.transact(caller, "anchor", LOG, 11, ROOT_2, KEY_ID, 0), NOBODY)


@pytest.mark.parametrize("caller", [OTHER_DEPT_ADMIN, PLATFORM_OPERATOR], ids=lambda a: a.label)
def test_a_department_log_is_anchored_by_that_department_only(city: City, caller) -> None:
    assert_reverted(
        city.anchors.transact(caller, "anchor", LOG, 11, ROOT_2, KEY_ID, 0), OTHER_OWNER
    )


def test_platform_logs_belong_to_the_operator_account(city: City) -> None:
    a = city.anchors
    result = ok(a.transact(PLATFORM_OPERATOR, "anchor", PLATFORM_LOG, 3, ROOT_1, KEY_ID, 1))
    assert events_of(a, result)[0] == (
        "LogClaimed", {"logId": PLATFORM_LOG, "platform": True, "department": ZERO18,
                       "by": PLATFORM_OPERATOR.address},
    )
    assert a.call("ownerOf", PLATFORM_LOG) == (True, True, ZERO18)
    assert_reverted(a.transact(DEPT_ADMIN, "anchor", PLATFORM_LOG, 4, ROOT_2, KEY_ID, 0),
                    OTHER_OWNER)
    # A new operator set by the multisig takes the platform's logs over.
    ok(govern(city, a, "setOperator", NEWCOMER.address))
    assert_reverted(a.transact(PLATFORM_OPERATOR, "anchor", PLATFORM_LOG, 4, ROOT_2, KEY_ID, 0),
                    NOBODY)
    ok(a.transact(NEWCOMER, "anchor", PLATFORM_LOG, 4, ROOT_2, KEY_ID, 0))


def test_set_operator(city: City) -> None:
    a = city.anchors
    assert a.call("operator") == PLATFORM_OPERATOR.address
    result = ok(govern(city, a, "setOperator", NEWCOMER.address))
    assert events_of(a, result) == [
        ("OperatorChanged", {"previousOperator": PLATFORM_OPERATOR.address,
                             "newOperator": NEWCOMER.address})
    ]
    assert a.call("operator") == NEWCOMER.address
    assert_reverted(govern(city, a, "setOperator", NEWCOMER.address),
                    "AnchorRegistry: operator unchanged")
    ok(govern(city, a, "setOperator", b"\0" * 20))
    assert_reverted(a.transact(NEWCOMER, "anchor", PLATFORM_LOG, 1, ROOT_1, KEY_ID, 0), NOBODY)


@pytest.mark.parametrize(
    "caller", [ADMIN_A, DEPT_ADMIN, PLATFORM_OPERATOR, OUTSIDER], ids=lambda a: a.label
)
def test_only_the_administration_sets_the_operator(city: City, caller) -> None:
    assert_reverted(city.anchors.transact(caller, "setOperator", NEWCOMER.address),
                    NOT_ADMINISTRATION)


def test_a_removed_department_cannot_anchor_its_log(city: City) -> None:
    ok(govern(city, city.departments, "remove", USCI_A))
    assert_reverted(city.anchors.transact(DEPT_ADMIN, "anchor", LOG, 11, ROOT_2, KEY_ID, 0),
                    NOBODY)
