"""The dev genesis predeploys the trust-anchor contracts where CityRegistry says they are.

Read through the node's own chain and execution engine, as eth_call would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from chain.devnet import (
    CITY_REGISTRY_ADDRESS,
    DEV_ACCOUNTS,
    DEV_DEPARTMENT,
    REGISTRY_NAMES,
    dev_genesis,
    registry_name,
)
from chain.errors import ExecutionReverted
from chain.execution import engine
from chain.node.chain import Chain
from chain.storage.lmdb_store import LmdbStore
from chain.types import CallRequest

ACCOUNT = {a.label: a.address for a in DEV_ACCOUNTS}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return Chain(LmdbStore(Path(tmp_path_factory.mktemp("dev-chain"))), dev_genesis())


def call(chain: Chain, to: bytes, signature: str, types: list[str], args: list[Any],
         returns: list[str], sender: bytes | None = None) -> Any:
    data = function_signature_to_4byte_selector(signature) + encode(types, args)
    output = engine.call(CallRequest(sender=sender, to=to, data=data), chain.head, chain.store,
                         chain.chain_id)
    values = decode(returns, output)
    return values[0] if len(values) == 1 else values


def lookup(chain: Chain, name: str) -> bytes:
    value = call(chain, CITY_REGISTRY_ADDRESS, "addressOf(bytes32)", ["bytes32"],
                 [registry_name(name)], ["address"])
    return bytes.fromhex(value[2:])


def test_genesis_config_names_the_city_registry(chain: Chain) -> None:
    assert chain.genesis.system_contracts["cityRegistry"] == CITY_REGISTRY_ADDRESS


def test_city_registry_lists_every_system_contract(chain: Chain) -> None:
    names = call(chain, CITY_REGISTRY_ADDRESS, "names()", [], [], ["bytes32[]"])
    assert {n.rstrip(b"\0").decode() for n in names} == set(REGISTRY_NAMES)
    for name, address in REGISTRY_NAMES.items():
        assert lookup(chain, name) == address
        code = engine.get_code(chain.head, chain.store, address)
        assert code, f"no code at the address CityRegistry gives for {name}"


def test_dev_city_administration_is_the_dev_city_admin_alone(chain: Chain) -> None:
    administration = lookup(chain, "CityAdministration")
    admins = call(chain, administration, "admins()", [], [], ["address[]"])
    assert [bytes.fromhex(a[2:]) for a in admins] == [ACCOUNT["city-admin"]]
    assert call(chain, administration, "threshold()", [], [], ["uint256"]) == 1


def test_contracts_are_wired_to_the_administration_and_departments(chain: Chain) -> None:
    administration = lookup(chain, "CityAdministration")
    departments = lookup(chain, "DepartmentRegistry")
    for name in ("CityRegistry", "DepartmentRegistry", "TrustList", "AnchorRegistry"):
        address = CITY_REGISTRY_ADDRESS if name == "CityRegistry" else lookup(chain, name)
        wired = call(chain, address, "administration()", [], [], ["address"])
        assert bytes.fromhex(wired[2:]) == administration, name
    for name in ("TrustList", "MutualRecognition", "StatusRegistry", "AnchorRegistry"):
        wired = call(chain, lookup(chain, name), "departments()", [], [], ["address"])
        assert bytes.fromhex(wired[2:]) == departments, name
    operator = call(chain, lookup(chain, "AnchorRegistry"), "operator()", [], [], ["address"])
    assert bytes.fromhex(operator[2:]) == ACCOUNT["service-module"]


def test_dev_department_is_admitted_as_an_issuer(chain: Chain) -> None:
    departments = lookup(chain, "DepartmentRegistry")
    usci = DEV_DEPARTMENT.usci.encode()
    name, roles, active, admin = call(
        chain, departments, "department(bytes18)", ["bytes18"], [usci],
        ["string", "uint8", "bool", "address"],
    )
    assert (name, roles, active) == (DEV_DEPARTMENT.name, 1, True)
    assert bytes.fromhex(admin[2:]) == ACCOUNT["department"]
    of = call(chain, departments, "departmentOf(address)", ["address"], [ACCOUNT["department"]],
              ["bytes18"])
    assert of == usci


def test_dev_department_account_can_use_the_trust_list(chain: Chain) -> None:
    # The cross-contract wiring works at the genesis addresses: simulated as eth_call.
    trust_list = lookup(chain, "TrustList")
    signature = "addKey(bytes8,uint8,bytes,uint64,uint64)"
    args = [b"\x01" * 8, 1, b"\x02" * 32, 0, 2**40]
    types = ["bytes8", "uint8", "bytes", "uint64", "uint64"]
    call(chain, trust_list, signature, types, args, [], sender=ACCOUNT["department"])
    with pytest.raises(ExecutionReverted) as refused:
        call(chain, trust_list, signature, types, args, [], sender=ACCOUNT["unpermitted"])
    assert refused.value.reason == "TrustList: caller is not a department account"
