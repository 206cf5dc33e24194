"""The trust-anchor contracts deployed together on the in-memory EVM, for their tests.

A three-admin CityAdministration with threshold 2 governs the others; `govern`
runs one governed call the way the city would: propose, approve, execute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evm_harness import Contract, EvmHarness, TestAccount, TxResult, decode_revert_reason

from contracts.artifacts import load_artifact

ISSUER, VERIFIER, REGULATOR, BANK, SERVICE_MODULE = 1, 2, 4, 8, 16

USCI_A = b"91350100M000100Y43"  # valid sample of GB 32100-2015
USCI_B = b"91110000600037341L"  # valid sample of GB 32100-2015

ADMIN_A = TestAccount.from_label("city-admin-a")
ADMIN_B = TestAccount.from_label("city-admin-b")
ADMIN_C = TestAccount.from_label("city-admin-c")
DEPT_ADMIN = TestAccount.from_label("department-a-admin")
DEPT_OPERATOR = TestAccount.from_label("department-a-operator")
OTHER_DEPT_ADMIN = TestAccount.from_label("department-b-admin")
PLATFORM_OPERATOR = TestAccount.from_label("platform-operator")
OUTSIDER = TestAccount.from_label("outsider")
NEWCOMER = TestAccount.from_label("newcomer")
ACCOUNTS = [
    ADMIN_A, ADMIN_B, ADMIN_C, DEPT_ADMIN, DEPT_OPERATOR, OTHER_DEPT_ADMIN,
    PLATFORM_OPERATOR, OUTSIDER, NEWCOMER,
]
CITY_ADMINS = [ADMIN_A, ADMIN_B, ADMIN_C]
THRESHOLD = 2


@dataclass
class City:
    harness: EvmHarness
    administration: Contract
    registry: Contract
    departments: Contract
    trust_list: Contract
    recognition: Contract
    status: Contract
    anchors: Contract


def deploy_city(*, admit_departments: bool = True) -> City:
    """Every contract deployed; departments A (ISSUER, admin + operator) and B
    (ISSUER | VERIFIER) admitted unless told not to; PLATFORM_OPERATOR set."""
    harness = EvmHarness(ACCOUNTS)

    def deploy(name: str, *ctor: tuple[str, Any]) -> Contract:
        return harness.deploy_contract(ADMIN_A, load_artifact(name), *ctor)[0]

    administration = deploy(
        "CityAdministration",
        ("address[]", [a.address for a in CITY_ADMINS]),
        ("uint256", THRESHOLD),
    )
    admin = ("address", administration.address)
    departments = deploy("DepartmentRegistry", admin)
    dept = ("address", departments.address)
    trust_list = deploy("TrustList", admin, dept)
    recognition = deploy("MutualRecognition", dept)
    status = deploy("StatusRegistry", dept)
    anchors = deploy("AnchorRegistry", admin, dept, ("address", PLATFORM_OPERATOR.address))
    registry = deploy("CityRegistry", admin, ("bytes32[]", []), ("address[]", []))
    city = City(
        harness, administration, registry, departments, trust_list, recognition, status, anchors
    )
    if admit_departments:
        ok(govern(city, departments, "admit", USCI_A, "Department A", ISSUER, DEPT_ADMIN.address))
        ok(departments.transact(DEPT_ADMIN, "addOperator", DEPT_OPERATOR.address))
        ok(govern(city, departments, "admit", USCI_B, "Department B", ISSUER | VERIFIER,
                  OTHER_DEPT_ADMIN.address))
    return city


def propose(city: City, target: Contract, function: str, *args: Any,
            proposer: TestAccount = ADMIN_A) -> int:
    """Propose a call of `target`; returns the proposal id."""
    data = target.encode_call(function, *args)
    ok(city.administration.transact(proposer, "propose", target.address, data))
    return city.administration.call("proposalCount") - 1


def govern(city: City, target: Contract, function: str, *args: Any) -> TxResult:
    """Propose (ADMIN_A), approve (ADMIN_B) and execute (ADMIN_A); the execute result."""
    proposal_id = propose(city, target, function, *args)
    ok(city.administration.transact(ADMIN_B, "approve", proposal_id))
    return city.administration.transact(ADMIN_A, "execute", proposal_id)


def ok(result: TxResult) -> TxResult:
    assert result.success, decode_revert_reason(result.return_data)
    return result


def assert_reverted(result: TxResult, reason: str) -> None:
    assert not result.success
    assert decode_revert_reason(result.return_data) == reason
    assert result.logs == ()


def events_of(contract: Contract, result: TxResult) -> list[tuple[str, dict[str, Any]]]:
    """The events `contract` emitted in `result`, as (name, args)."""
    own = TxResult(
        result.success,
        result.return_data,
        tuple(log for log in result.logs if log[0] == contract.address),
    )
    return [(event.name, event.args) for event in contract.decode_events(own)]


def block_time(city: City) -> int:
    return city.harness.chain.get_canonical_head().timestamp


def name32(name: str) -> bytes:
    return name.encode("ascii").ljust(32, b"\0")
