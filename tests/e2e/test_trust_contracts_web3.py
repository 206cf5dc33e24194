"""The trust-anchor contracts as deployed in genesis, through web3.py on a real node.

Role checks: every access-controlled function is simulated (eth_call) from each
role's address: the allowed caller passes and every other one gets the exact
revert reason. Calling "from" the CityAdministration address simulates an
executed multisig proposal. Events: real transactions through the multisig and
department accounts.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.middleware import ExtraDataToPOAMiddleware

from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT, REGISTRY_NAMES, registry_name
from contracts.artifacts import load_artifact
from tests.e2e.node_process import NodeProcess, dev_node

pytestmark = pytest.mark.timeout(300)

ADMIN, DEPT, SERVICE, OUTSIDER = (Web3.to_checksum_address(a.address) for a in DEV_ACCOUNTS)
KEYS = {a.label: a.private_key for a in DEV_ACCOUNTS}
CITY_ADMINISTRATION = Web3.to_checksum_address(REGISTRY_NAMES["CityAdministration"])
DEV = DEV_DEPARTMENT.usci.encode()
OTHER_USCI = b"91110000600037341L"
LICENSE = b"business-license".ljust(32, b"\0")
NOW = int(time.time())


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    process = dev_node(tmp_path_factory.mktemp("trust"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def w3(node: NodeProcess) -> Web3:
    web3 = Web3(Web3.HTTPProvider(node.http_url))
    web3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return web3


def _contract(w3: Web3, name: str):
    if name == "CityRegistry":
        return _registry(w3)
    address = _registry(w3).functions.addressOf(registry_name(name)).call()
    # A call to an address without code "succeeds" with empty output: make sure there is code.
    assert len(w3.eth.get_code(address)) > 0, f"{name} has no code at {address}"
    return w3.eth.contract(address=address, abi=load_artifact(name).abi)


def _registry(w3: Web3):
    return w3.eth.contract(address=Web3.to_checksum_address("0x" + "00" * 18 + "1001"),
                           abi=load_artifact("CityRegistry").abi)


def _cases(w3: Web3) -> list[tuple[str, str, tuple, set[str], str]]:
    """(contract, function, args, allowed callers, reason for everyone else)."""
    pubkey = b"\x11" * 32
    return [
        ("CityRegistry", "setAddress", (registry_name("Extra"), DEPT), {CITY_ADMINISTRATION},
         "CityRegistry: caller is not the city administration"),
        ("CityRegistry", "removeName", (registry_name("TrustList"),), {CITY_ADMINISTRATION},
         "CityRegistry: caller is not the city administration"),
        ("CityAdministration", "propose", (_registry(w3).address, b"\x00" * 4), {ADMIN},
         "CityAdministration: caller is not an admin"),
        ("CityAdministration", "addAdmin", (DEPT,), {CITY_ADMINISTRATION},
         "CityAdministration: only through an executed proposal"),
        ("DepartmentRegistry", "admit", (OTHER_USCI, "Other", 2, SERVICE), {CITY_ADMINISTRATION},
         "DepartmentRegistry: caller is not the city administration"),
        ("DepartmentRegistry", "setRoles", (DEV, 3), {CITY_ADMINISTRATION},
         "DepartmentRegistry: caller is not the city administration"),
        ("DepartmentRegistry", "remove", (DEV,), {CITY_ADMINISTRATION},
         "DepartmentRegistry: caller is not the city administration"),
        ("DepartmentRegistry", "addOperator", (OUTSIDER,), {DEPT},
         "DepartmentRegistry: caller is not a department admin"),
        ("TrustList", "addKey", (b"kid00001", 1, pubkey, NOW, NOW + 3600), {DEPT},
         "TrustList: caller is not a department account"),
        ("TrustList", "grantAccreditation", (DEV, LICENSE), {CITY_ADMINISTRATION},
         "TrustList: caller is not the city administration"),
        ("MutualRecognition", "recognize", (DEV, LICENSE, NOW, NOW + 3600), {DEPT},
         "MutualRecognition: caller is not a department account"),
        ("StatusRegistry", "publish", (b"\x05" * 32, b"\x06" * 32, 1), {DEPT},
         "StatusRegistry: caller is not a department account"),
        ("AnchorRegistry", "anchor", (b"\x07" * 32, 1, b"\x08" * 32, b"\x00" * 8, 0), {DEPT, SERVICE},
         "AnchorRegistry: caller is neither a department account nor the platform operator"),
        ("AnchorRegistry", "setOperator", (OUTSIDER,), {CITY_ADMINISTRATION},
         "AnchorRegistry: caller is not the city administration"),
        # The rest need state (a proposal, a key, a recognition...): an allowed caller may
        # still be refused for that, but never by the role check.
        ("CityAdministration", "approve", (0,), {ADMIN}, "CityAdministration: caller is not an admin"),
        ("CityAdministration", "revokeApproval", (0,), {ADMIN}, "CityAdministration: caller is not an admin"),
        ("CityAdministration", "execute", (0,), {ADMIN}, "CityAdministration: caller is not an admin"),
        ("CityAdministration", "removeAdmin", (ADMIN,), {CITY_ADMINISTRATION},
         "CityAdministration: only through an executed proposal"),
        ("CityAdministration", "setThreshold", (1,), {CITY_ADMINISTRATION},
         "CityAdministration: only through an executed proposal"),
        ("DepartmentRegistry", "setAdmin", (DEV, OUTSIDER), {CITY_ADMINISTRATION},
         "DepartmentRegistry: caller is not the city administration"),
        ("DepartmentRegistry", "removeOperator", (OUTSIDER,), {DEPT},
         "DepartmentRegistry: caller is not a department admin"),
        ("TrustList", "revokeKey", (b"kid00001", 1, 0), {DEPT}, "TrustList: caller is not a department account"),
        ("TrustList", "revokeKeyOf", (DEV, b"kid00001", 1, 0), {CITY_ADMINISTRATION},
         "TrustList: caller is not the city administration"),
        ("TrustList", "withdrawAccreditation", (DEV, LICENSE), {CITY_ADMINISTRATION},
         "TrustList: caller is not the city administration"),
        ("MutualRecognition", "withdraw", (DEV, LICENSE), {DEPT},
         "MutualRecognition: caller is not a department account"),
    ]


def test_every_role_check_through_web3(w3: Web3) -> None:
    callers = [ADMIN, DEPT, SERVICE, OUTSIDER, CITY_ADMINISTRATION]
    checked = 0
    for name, function, args, allowed, reason in _cases(w3):
        contract = _contract(w3, name)
        for caller in callers:
            call = contract.functions[function](*args)
            if caller in allowed:
                try:
                    call.call({"from": caller})
                except ContractLogicError as exc:  # refused for the state, not the caller
                    assert reason not in str(exc), (name, function, caller)
            else:
                with pytest.raises(ContractLogicError, match=reason):
                    call.call({"from": caller})
            checked += 1
    assert checked == 25 * 5


def _send(w3: Web3, label: str, call) -> dict:
    account = Account.from_key(KEYS[label])
    tx = call.build_transaction({"from": account.address, "gasPrice": 0, "gas": 1_000_000,
                                 "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=60, poll_latency=0.2)
    assert receipt["status"] == 1
    return receipt


def test_events_and_state_through_the_multisig_and_departments(w3: Web3) -> None:
    administration = _contract(w3, "CityAdministration")
    trust_list = _contract(w3, "TrustList")
    # The city administration (threshold 1 in dev) accredits the dev department.
    data = trust_list.encode_abi("grantAccreditation", [DEV, LICENSE])
    receipt = _send(w3, "city-admin", administration.functions.propose(trust_list.address, data))
    proposal = administration.events.Proposed().process_receipt(receipt)[0].args
    receipt = _send(w3, "city-admin", administration.functions.execute(proposal.id))
    assert administration.events.Executed().process_receipt(receipt)
    granted = trust_list.events.AccreditationGranted().process_receipt(receipt)[0].args
    assert LICENSE in [v for v in granted.values() if isinstance(v, bytes)]
    assert trust_list.functions.isAccredited(DEV, LICENSE).call()
    with pytest.raises(ContractLogicError):
        administration.functions.execute(proposal.id).call({"from": ADMIN})  # no replay
    # The department publishes a signing key, a recognition, a status list and an anchor.
    receipt = _send(w3, "department", trust_list.functions.addKey(b"kid00001", 1, b"\x11" * 32, NOW - 10, NOW + 3600))
    assert trust_list.events.KeyAdded().process_receipt(receipt)
    assert trust_list.functions.isKeyValid(DEV, b"kid00001", NOW).call()
    recognition = _contract(w3, "MutualRecognition")
    receipt = _send(w3, "department", recognition.functions.recognize(DEV, LICENSE, NOW - 10, NOW + 3600))
    assert recognition.events.Recognized().process_receipt(receipt)
    assert recognition.functions.isRecognized(DEV, DEV, LICENSE, NOW).call()
    status = _contract(w3, "StatusRegistry")
    receipt = _send(w3, "department", status.functions.publish(b"\x05" * 32, b"\x06" * 32, 1))
    assert status.events.StatusListPublished().process_receipt(receipt)
    with pytest.raises(ContractLogicError, match="version"):
        status.functions.publish(b"\x05" * 32, b"\x07" * 32, 1).call({"from": DEPT})
    anchors = _contract(w3, "AnchorRegistry")
    receipt = _send(w3, "department", anchors.functions.anchor(b"\x07" * 32, 5, b"\x08" * 32, b"\x00" * 8, 0))
    assert anchors.events.Anchored().process_receipt(receipt)[0].args.size == 5
    with pytest.raises(ContractLogicError, match="size must grow"):
        anchors.functions.anchor(b"\x07" * 32, 5, b"\x09" * 32, b"\x00" * 8, 0).call({"from": DEPT})
    assert anchors.functions.latest(b"\x07" * 32).call()[0] == 5


def _govern(w3: Web3, target, function: str, *args) -> dict:
    """Propose and execute through the dev multisig (one admin, threshold 1)."""
    administration = _contract(w3, "CityAdministration")
    receipt = _send(w3, "city-admin", administration.functions.propose(
        target.address, target.encode_abi(function, list(args))))
    proposal = administration.events.Proposed().process_receipt(receipt)[0].args.id
    return _send(w3, "city-admin", administration.functions.execute(proposal))


def _emitted(contract, event: str, receipt: dict) -> dict:
    logs = getattr(contract.events, event)().process_receipt(receipt)
    assert logs, f"{event} not emitted"
    return dict(logs[0].args)


def test_every_other_event_through_the_real_chain(w3: Web3) -> None:
    registry, administration = _registry(w3), _contract(w3, "CityAdministration")
    departments, trust_list = _contract(w3, "DepartmentRegistry"), _contract(w3, "TrustList")
    recognition, anchors = _contract(w3, "MutualRecognition"), _contract(w3, "AnchorRegistry")
    assert _emitted(registry, "AddressSet", _govern(w3, registry, "setAddress", registry_name("Extra"), OUTSIDER))
    assert _emitted(registry, "NameRemoved", _govern(w3, registry, "removeName", registry_name("Extra")))
    admitted = _emitted(departments, "DepartmentAdmitted",
                        _govern(w3, departments, "admit", OTHER_USCI, "Other department", 2, SERVICE))
    assert OTHER_USCI in admitted.values()
    assert _emitted(departments, "RolesChanged", _govern(w3, departments, "setRoles", OTHER_USCI, 3))
    assert _emitted(departments, "AdminChanged", _govern(w3, departments, "setAdmin", OTHER_USCI, OUTSIDER))
    added = _emitted(departments, "AccountAdded",
                     _send(w3, "department", departments.functions.addOperator(Account.create().address)))
    assert added
    operator = next(v for v in added.values() if isinstance(v, str) and v.startswith("0x") and v != DEPT)
    assert _emitted(departments, "AccountRemoved",
                    _send(w3, "department", departments.functions.removeOperator(operator)))
    assert _emitted(departments, "DepartmentRemoved", _govern(w3, departments, "remove", OTHER_USCI))
    _send(w3, "department", trust_list.functions.addKey(b"kid00002", 1, b"\x12" * 32, NOW - 10, NOW + 3600))
    assert _emitted(trust_list, "KeyRevoked", _send(w3, "department", trust_list.functions.revokeKey(b"kid00002", 1, 0)))
    after = w3.eth.get_block("latest")["timestamp"] + 1  # revokedAt 0: from its block on
    assert not trust_list.functions.isKeyValid(DEV, b"kid00002", after).call()
    # A compromise found late: revoked from the stated compromise time, not the block time.
    _send(w3, "department", trust_list.functions.addKey(b"kid00003", 1, b"\x13" * 32, NOW - 10, NOW + 3600))
    revoked = _emitted(trust_list, "KeyRevoked",
                       _send(w3, "department", trust_list.functions.revokeKey(b"kid00003", 1, NOW - 5)))
    assert revoked["revokedAt"] == NOW - 5
    assert trust_list.functions.isKeyValid(DEV, b"kid00003", NOW - 6).call()
    assert not trust_list.functions.isKeyValid(DEV, b"kid00003", NOW - 5).call()
    with pytest.raises(ContractLogicError, match="revocation time is in the future"):
        trust_list.functions.revokeKey(b"kid00001", 1, NOW + 3000).call({"from": DEPT})
    with pytest.raises(ContractLogicError, match="revocation time before the key's validity"):
        trust_list.functions.revokeKey(b"kid00001", 1, NOW - 11).call({"from": DEPT})
    _govern(w3, trust_list, "grantAccreditation", DEV, b"food-license".ljust(32, b"\0"))
    assert _emitted(trust_list, "AccreditationWithdrawn",
                    _govern(w3, trust_list, "withdrawAccreditation", DEV, b"food-license".ljust(32, b"\0")))
    _send(w3, "department", recognition.functions.recognize(DEV, b"permit".ljust(32, b"\0"), NOW - 10, NOW + 3600))
    assert _emitted(recognition, "RecognitionWithdrawn",
                    _send(w3, "department", recognition.functions.withdraw(DEV, b"permit".ljust(32, b"\0"))))
    assert _emitted(anchors, "LogClaimed",
                    _send(w3, "service-module", anchors.functions.anchor(b"\x0a" * 32, 1, b"\x0b" * 32, b"\x00" * 8, 0)))
    assert _emitted(anchors, "OperatorChanged", _govern(w3, anchors, "setOperator", OUTSIDER))
    assert _emitted(administration, "AdminAdded", _govern(w3, administration, "addAdmin", DEPT))
    assert _emitted(administration, "ThresholdChanged", _govern(w3, administration, "setThreshold", 2))
    # With two admins and threshold 2: a proposal needs both; approvals can be revoked.
    receipt = _send(w3, "city-admin", administration.functions.propose(
        registry.address, registry.encode_abi("setAddress", [registry_name("Extra"), OUTSIDER])))
    proposal = administration.events.Proposed().process_receipt(receipt)[0].args.id
    with pytest.raises(ContractLogicError):
        administration.functions.execute(proposal).call({"from": ADMIN})
    assert _emitted(administration, "ApprovalRevoked",
                    _send(w3, "city-admin", administration.functions.revokeApproval(proposal)))
    assert _emitted(administration, "Approved", _send(w3, "department", administration.functions.approve(proposal)))
    assert _emitted(administration, "Approved", _send(w3, "city-admin", administration.functions.approve(proposal)))
    assert _emitted(administration, "Executed", _send(w3, "city-admin", administration.functions.execute(proposal)))
    # Back to one admin: lower the threshold (both approve), then remove the second admin.
    for call, label in ((administration.encode_abi("setThreshold", [1]), "department"),
                        (administration.encode_abi("removeAdmin", [DEPT]), None)):
        receipt = _send(w3, "city-admin", administration.functions.propose(administration.address, call))
        proposal = administration.events.Proposed().process_receipt(receipt)[0].args.id
        if label:
            _send(w3, label, administration.functions.approve(proposal))
        receipt = _send(w3, "city-admin", administration.functions.execute(proposal))
    assert _emitted(administration, "AdminRemoved", receipt)
    assert administration.functions.admins().call() == [ADMIN]
