"""Behaviour of the Permissioning system contract, executed on py-evm in memory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_utils import keccak
from evm_harness import (
    Contract,
    EvmHarness,
    TestAccount,
    TxResult,
    decode_revert_reason,
)

from contracts.artifacts import load_artifact

NONE, CITY_ADMIN, DEPARTMENT, SERVICE_MODULE = 0, 1, 2, 3
ROLE_SLOT, NODE_SLOT = 0, 1

NOT_ADMIN = "Permissioning: caller is not a city admin"
LAST_ADMIN = "Permissioning: cannot remove the last city admin"

ADMIN = TestAccount.from_label("admin")
DEPARTMENT_ACCOUNT = TestAccount.from_label("department")
SERVICE_ACCOUNT = TestAccount.from_label("service-module")
OUTSIDER = TestAccount.from_label("outsider")
NEWCOMER = TestAccount.from_label("newcomer")

NODE_A = keccak(b"\x01" * 64)
NODE_B = keccak(b"\x02" * 64)
NODE_NEW = keccak(b"\x03" * 64)


@dataclass
class Network:
    harness: EvmHarness
    permissioning: Contract
    deployment: TxResult


def deploy(harness: EvmHarness, admins: list[bytes], nodes: list[bytes]) -> TxResult:
    return harness.deploy(
        ADMIN, load_artifact("Permissioning"), ("address[]", admins), ("bytes32[]", nodes)
    )


@pytest.fixture
def network() -> Network:
    """One city admin, one department, one service module, two nodes."""
    harness = EvmHarness([ADMIN, DEPARTMENT_ACCOUNT, SERVICE_ACCOUNT, OUTSIDER, NEWCOMER])
    permissioning, deployment = harness.deploy_contract(
        ADMIN,
        load_artifact("Permissioning"),
        ("address[]", [ADMIN.address]),
        ("bytes32[]", [NODE_A, NODE_B]),
    )
    for account, role in ((DEPARTMENT_ACCOUNT, DEPARTMENT), (SERVICE_ACCOUNT, SERVICE_MODULE)):
        assert permissioning.transact(ADMIN, "setAccountRole", account.address, role).success
    return Network(harness, permissioning, deployment)


def assert_reverted(result: TxResult, reason: str) -> None:
    assert not result.success
    assert decode_revert_reason(result.return_data) == reason
    assert result.logs == ()


def role_in_storage(network: Network, account: bytes) -> int:
    slot = keccak(account.rjust(32, b"\0") + ROLE_SLOT.to_bytes(32, "big"))
    return network.harness.storage_at(network.permissioning.address, int.from_bytes(slot, "big"))


def node_flag_in_storage(network: Network, node_id: bytes) -> int:
    slot = keccak(node_id + NODE_SLOT.to_bytes(32, "big"))
    return network.harness.storage_at(network.permissioning.address, int.from_bytes(slot, "big"))


# ---- Deployment ----


def test_constructor_makes_admins_and_allows_nodes(network: Network) -> None:
    p = network.permissioning
    assert p.call("accountRole", ADMIN.address) == CITY_ADMIN
    assert p.call("adminCount") == 1
    assert p.call("isNodeAllowed", NODE_A) and p.call("isNodeAllowed", NODE_B)
    assert set(p.call("nodes")) == {NODE_A, NODE_B}
    assert [(e.name, e.args) for e in p.decode_events(network.deployment)] == [
        (
            "AccountRoleChanged",
            {
                "account": ADMIN.address,
                "previousRole": NONE,
                "newRole": CITY_ADMIN,
                "by": ADMIN.address,
            },
        ),
        ("NodeAdded", {"nodeId": NODE_A, "by": ADMIN.address}),
        ("NodeAdded", {"nodeId": NODE_B, "by": ADMIN.address}),
    ]


def test_runtime_code_is_the_artifacts_deployed_bytecode(network: Network) -> None:
    deployed = network.harness.code_at(network.permissioning.address)
    assert deployed == load_artifact("Permissioning").deployed_bytecode


@pytest.mark.parametrize(
    ("admins", "nodes", "reason"),
    [
        ([], [NODE_A], "Permissioning: at least one city admin required"),
        ([ADMIN.address, ADMIN.address], [], "Permissioning: duplicate city admin"),
        ([b"\0" * 20], [], "Permissioning: zero address"),
        ([ADMIN.address], [NODE_A, NODE_A], "Permissioning: node is already allowed"),
        ([ADMIN.address], [b"\0" * 32], "Permissioning: zero node id"),
    ],
)
def test_constructor_refuses_bad_arguments(
    admins: list[bytes], nodes: list[bytes], reason: str
) -> None:
    result = deploy(EvmHarness([ADMIN]), admins, nodes)
    assert result.contract_address is None
    assert decode_revert_reason(result.return_data) == reason


# ---- Role checks: only city admins change anything ----

ADMIN_ACTIONS = [
    ("setAccountRole", (NEWCOMER.address, DEPARTMENT)),
    ("setAccountRole", (DEPARTMENT_ACCOUNT.address, NONE)),
    ("addNode", (NODE_NEW,)),
    ("removeNode", (NODE_A,)),
]


@pytest.mark.parametrize(
    "caller", [DEPARTMENT_ACCOUNT, SERVICE_ACCOUNT, OUTSIDER], ids=lambda a: a.label
)
@pytest.mark.parametrize(("function", "args"), ADMIN_ACTIONS, ids=[a[0] for a in ADMIN_ACTIONS])
def test_non_admins_are_refused(
    network: Network, caller: TestAccount, function: str, args: tuple
) -> None:
    p = network.permissioning
    accounts_before, nodes_before = p.call("accounts"), p.call("nodes")
    assert_reverted(p.transact(caller, function, *args), NOT_ADMIN)
    assert (p.call("accounts"), p.call("nodes")) == (accounts_before, nodes_before)


@pytest.mark.parametrize(("function", "args"), ADMIN_ACTIONS, ids=[a[0] for a in ADMIN_ACTIONS])
def test_city_admin_is_allowed(network: Network, function: str, args: tuple) -> None:
    assert network.permissioning.transact(ADMIN, function, *args).success


def test_a_demoted_admin_loses_its_rights(network: Network) -> None:
    p = network.permissioning
    assert p.transact(ADMIN, "setAccountRole", NEWCOMER.address, CITY_ADMIN).success
    assert p.transact(NEWCOMER, "setAccountRole", ADMIN.address, DEPARTMENT).success
    assert_reverted(p.transact(ADMIN, "addNode", NODE_NEW), NOT_ADMIN)


# ---- setAccountRole ----


@pytest.mark.parametrize("role", [CITY_ADMIN, DEPARTMENT, SERVICE_MODULE])
def test_set_account_role_grants_and_emits(network: Network, role: int) -> None:
    p = network.permissioning
    result = p.transact(ADMIN, "setAccountRole", NEWCOMER.address, role)
    assert result.success
    assert [(e.name, e.args) for e in p.decode_events(result)] == [
        (
            "AccountRoleChanged",
            {
                "account": NEWCOMER.address,
                "previousRole": NONE,
                "newRole": role,
                "by": ADMIN.address,
            },
        )
    ]
    assert p.call("accountRole", NEWCOMER.address) == role
    assert p.call("isAccountAllowed", NEWCOMER.address)
    assert NEWCOMER.address in p.call("accounts")
    assert p.call("adminCount") == (2 if role == CITY_ADMIN else 1)


def test_role_zero_removes_the_account(network: Network) -> None:
    p = network.permissioning
    result = p.transact(ADMIN, "setAccountRole", DEPARTMENT_ACCOUNT.address, NONE)
    assert result.success
    assert [(e.name, e.args) for e in p.decode_events(result)] == [
        (
            "AccountRoleChanged",
            {
                "account": DEPARTMENT_ACCOUNT.address,
                "previousRole": DEPARTMENT,
                "newRole": NONE,
                "by": ADMIN.address,
            },
        )
    ]
    assert p.call("accountRole", DEPARTMENT_ACCOUNT.address) == NONE
    assert not p.call("isAccountAllowed", DEPARTMENT_ACCOUNT.address)
    assert set(p.call("accounts")) == {ADMIN.address, SERVICE_ACCOUNT.address}


def test_changing_a_role_keeps_the_account_listed_once(network: Network) -> None:
    p = network.permissioning
    result = p.transact(ADMIN, "setAccountRole", SERVICE_ACCOUNT.address, DEPARTMENT)
    assert p.decode_events(result)[0].args["previousRole"] == SERVICE_MODULE
    assert sorted(p.call("accounts")) == sorted(
        [ADMIN.address, DEPARTMENT_ACCOUNT.address, SERVICE_ACCOUNT.address]
    )


def test_enumeration_stays_consistent_through_removals(network: Network) -> None:
    # Removal swaps the last entry into the gap; the moved entry must stay removable.
    p = network.permissioning
    assert p.transact(ADMIN, "setAccountRole", DEPARTMENT_ACCOUNT.address, NONE).success
    assert p.transact(ADMIN, "setAccountRole", SERVICE_ACCOUNT.address, NONE).success
    assert p.transact(ADMIN, "setAccountRole", NEWCOMER.address, DEPARTMENT).success
    assert p.call("accounts") == (ADMIN.address, NEWCOMER.address)
    assert p.transact(ADMIN, "removeNode", NODE_A).success
    assert p.transact(ADMIN, "removeNode", NODE_B).success
    assert p.call("nodes") == ()
    assert p.transact(ADMIN, "addNode", NODE_A).success
    assert p.call("nodes") == (NODE_A,)


@pytest.mark.parametrize("role", [4, 5, 255])
def test_invalid_role_is_refused(network: Network, role: int) -> None:
    result = network.permissioning.transact(ADMIN, "setAccountRole", NEWCOMER.address, role)
    assert_reverted(result, "Permissioning: invalid role")
    assert network.permissioning.call("accountRole", NEWCOMER.address) == NONE


def test_unchanged_role_is_refused(network: Network) -> None:
    result = network.permissioning.transact(
        ADMIN, "setAccountRole", DEPARTMENT_ACCOUNT.address, DEPARTMENT
    )
    assert_reverted(result, "Permissioning: account already has this role")


def test_zero_address_is_refused(network: Network) -> None:
    result = network.permissioning.transact(ADMIN, "setAccountRole", b"\0" * 20, DEPARTMENT)
    assert_reverted(result, "Permissioning: zero address")


# ---- Last city admin ----


@pytest.mark.parametrize("role", [NONE, DEPARTMENT, SERVICE_MODULE])
def test_last_city_admin_cannot_be_removed_or_demoted(network: Network, role: int) -> None:
    p = network.permissioning
    assert_reverted(p.transact(ADMIN, "setAccountRole", ADMIN.address, role), LAST_ADMIN)
    assert p.call("accountRole", ADMIN.address) == CITY_ADMIN
    assert p.call("adminCount") == 1


def test_one_of_two_admins_can_leave_then_the_other_is_the_last(network: Network) -> None:
    p = network.permissioning
    assert p.transact(ADMIN, "setAccountRole", NEWCOMER.address, CITY_ADMIN).success
    assert p.call("adminCount") == 2
    assert p.transact(NEWCOMER, "setAccountRole", ADMIN.address, NONE).success
    assert p.call("adminCount") == 1
    assert_reverted(p.transact(NEWCOMER, "setAccountRole", NEWCOMER.address, NONE), LAST_ADMIN)


# ---- Nodes ----


def test_add_node_allows_and_emits(network: Network) -> None:
    p = network.permissioning
    result = p.transact(ADMIN, "addNode", NODE_NEW)
    assert [(e.name, e.args) for e in p.decode_events(result)] == [
        ("NodeAdded", {"nodeId": NODE_NEW, "by": ADMIN.address})
    ]
    assert p.call("isNodeAllowed", NODE_NEW)
    assert set(p.call("nodes")) == {NODE_A, NODE_B, NODE_NEW}


def test_remove_node_disallows_and_emits(network: Network) -> None:
    p = network.permissioning
    result = p.transact(ADMIN, "removeNode", NODE_A)
    assert [(e.name, e.args) for e in p.decode_events(result)] == [
        ("NodeRemoved", {"nodeId": NODE_A, "by": ADMIN.address})
    ]
    assert not p.call("isNodeAllowed", NODE_A)
    assert p.call("nodes") == (NODE_B,)


@pytest.mark.parametrize(
    ("function", "node_id", "reason"),
    [
        ("addNode", NODE_A, "Permissioning: node is already allowed"),
        ("addNode", b"\0" * 32, "Permissioning: zero node id"),
        ("removeNode", NODE_NEW, "Permissioning: node is not allowed"),
    ],
)
def test_node_changes_that_change_nothing_are_refused(
    network: Network, function: str, node_id: bytes, reason: str
) -> None:
    assert_reverted(network.permissioning.transact(ADMIN, function, node_id), reason)


# ---- Storage layout: the node reads these slots directly ----


def test_account_roles_live_at_slot_zero(network: Network) -> None:
    for account, role in [
        (ADMIN, CITY_ADMIN),
        (DEPARTMENT_ACCOUNT, DEPARTMENT),
        (SERVICE_ACCOUNT, SERVICE_MODULE),
        (OUTSIDER, NONE),
    ]:
        assert role_in_storage(network, account.address) == role
    network.permissioning.transact(ADMIN, "setAccountRole", DEPARTMENT_ACCOUNT.address, NONE)
    assert role_in_storage(network, DEPARTMENT_ACCOUNT.address) == NONE


def test_node_flags_live_at_slot_one(network: Network) -> None:
    assert node_flag_in_storage(network, NODE_A) == 1
    assert node_flag_in_storage(network, NODE_NEW) == 0
    network.permissioning.transact(ADMIN, "removeNode", NODE_A)
    network.permissioning.transact(ADMIN, "addNode", NODE_NEW)
    assert node_flag_in_storage(network, NODE_A) == 0
    assert node_flag_in_storage(network, NODE_NEW) == 1
