"""trust_api.chain_client against one real dev node: onboarding and department
transactions through TrustChain, then read_snapshot gives back exactly what was
written, changed_since follows the trust contracts, and refusals carry their reason."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3

from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT
from license_registry.trust import (
    REASON_KEY_COMPROMISE,
    ROLE_ISSUER,
    ROLE_REGULATOR,
    ROLE_VERIFIER,
    AnchoredCheckpoint,
    DepartmentInfo,
    Recognition,
    StatusListAnchor,
    TrustedKey,
)
from tests.e2e.node_process import NodeProcess, dev_node, free_port
from trust_api.chain_client import ChainRejected, ChainUnavailable, TrustChain

pytestmark = pytest.mark.timeout(300)

KEY = {a.label: a.private_key for a in DEV_ACCOUNTS}
ADDRESS = {a.label: a.address for a in DEV_ACCOUNTS}
CITY = [KEY["city-admin"]]
DEV = DEV_DEPARTMENT.usci
OTHER = "91110000600037341L"
ROLE_DEPARTMENT = 2  # Permissioning
NOW = int(time.time())
VALID_FROM, VALID_UNTIL = NOW - 3600, NOW + 86_400
COMPROMISED = NOW - 600  # stated compromise time, before the revocation transaction
KID_DEV, KID_1, KID_2 = b"devkid01", b"otherk01", b"otherk02"
LIST_ID, DIGEST = b"\x05" * 32, b"\x06" * 32
LOG_ID, UNANCHORED_LOG = b"\x07" * 32, b"\x09" * 32
ROOT_3, ROOT_5 = b"\x0a" * 32, b"\x0b" * 32


@dataclass
class World:
    new_admin: bytes  # private keys of OTHER's admin and operator
    operator: bytes
    published_at: int
    withdrawn_at: int
    anchor_block: int
    anchor_time: int


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    process = dev_node(tmp_path_factory.mktemp("trust-api-chain"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def chain(node: NodeProcess) -> TrustChain:
    return TrustChain(node.http_url)


def _block_time(chain: TrustChain, number: int) -> int:
    return int(chain.w3.eth.get_block(number)["timestamp"])


@pytest.fixture(scope="module")
def world(chain: TrustChain) -> World:
    admin, operator = Account.create(), Account.create()
    # The city admin permits both new accounts to transact (one nonce fetch, two txs).
    chain.wait_for([chain.set_account_role(KEY["city-admin"], a.address, ROLE_DEPARTMENT, wait=False)
                    for a in (admin, operator)])
    chain.admit_department(CITY, OTHER, "Market Regulation", ROLE_VERIFIER | ROLE_ISSUER,
                           bytes.fromhex(admin.address[2:]))
    chain.grant_accreditation(CITY, OTHER, "CN-BL")
    chain.grant_accreditation(CITY, DEV, "CN-FL")
    chain.grant_accreditation(CITY, OTHER, "CN-XX")
    chain.withdraw_accreditation(CITY, OTHER, "CN-XX")
    # A batch from one sender: local nonces, one wait.
    chain.wait_for([
        chain.add_operator(admin.key, operator.address, wait=False),
        chain.add_key(admin.key, KID_1, b"\x11" * 32, VALID_FROM, VALID_UNTIL, wait=False),
        chain.add_key(admin.key, KID_2, b"\x12" * 32, VALID_FROM, VALID_UNTIL, wait=False),
        chain.recognize(admin.key, DEV, "CN-FL", VALID_FROM, VALID_UNTIL, wait=False),
        chain.recognize(admin.key, DEV, "CN-XX", VALID_FROM, VALID_UNTIL, wait=False),
        chain.add_key(KEY["department"], KID_DEV, b"\x13" * 32, VALID_FROM, VALID_UNTIL,
                      wait=False),
    ])
    anchors = chain.contract("AnchorRegistry").functions
    published, _revoked, withdrawn, _anchored_3, anchored = (chain.wait_for([sent]) for sent in [
        chain.publish_status_list(operator.key, LIST_ID, DIGEST, 1, wait=False),
        chain.revoke_key(admin.key, KID_2, REASON_KEY_COMPROMISE, COMPROMISED, wait=False),
        chain.withdraw_recognition(admin.key, DEV, "CN-XX", wait=False),
        chain.send(KEY["service-module"], anchors.anchor(LOG_ID, 3, ROOT_3, b"\0" * 8, 0),
                   wait=False),
        chain.send(KEY["service-module"], anchors.anchor(LOG_ID, 5, ROOT_5, b"\0" * 8, 2),
                   wait=False),
    ])
    return World(admin.key, operator.key, _block_time(chain, published),
                 _block_time(chain, withdrawn), anchored, _block_time(chain, anchored))


def _address(key: bytes) -> bytes:
    return bytes.fromhex(Account.from_key(key).address[2:])


def test_read_snapshot_returns_what_was_written(chain: TrustChain, world: World) -> None:
    snapshot = chain.read_snapshot([LOG_ID, UNANCHORED_LOG])
    block = chain.w3.eth.get_block(snapshot.block_number)
    assert (snapshot.block_hash, snapshot.block_time) == (bytes(block["hash"]), block["timestamp"])
    assert snapshot.departments == {
        DEV: DepartmentInfo(DEV, "DEV department", ROLE_ISSUER, True, (ADDRESS["department"],)),
        OTHER: DepartmentInfo(OTHER, "Market Regulation", ROLE_VERIFIER | ROLE_ISSUER, True,
                              (_address(world.new_admin), _address(world.operator))),
    }
    assert snapshot.keys == (
        TrustedKey(DEV, KID_DEV, 1, b"\x13" * 32, VALID_FROM, VALID_UNTIL),
        TrustedKey(OTHER, KID_1, 1, b"\x11" * 32, VALID_FROM, VALID_UNTIL),
        TrustedKey(OTHER, KID_2, 1, b"\x12" * 32, VALID_FROM, VALID_UNTIL,
                   COMPROMISED, REASON_KEY_COMPROMISE),
    )
    assert not snapshot.key(OTHER, KID_2).is_valid_at(COMPROMISED)  # backdated revocation
    assert snapshot.key(OTHER, KID_2).is_valid_at(COMPROMISED - 1)
    assert snapshot.accreditations == {(OTHER, "CN-BL"), (DEV, "CN-FL")}
    assert snapshot.recognitions == (
        Recognition(OTHER, DEV, "CN-FL", VALID_FROM, VALID_UNTIL),
        Recognition(OTHER, DEV, "CN-XX", VALID_FROM, VALID_UNTIL, world.withdrawn_at),
    )
    assert snapshot.is_recognized(OTHER, DEV, "CN-FL", NOW)
    assert snapshot.status_lists == {
        LIST_ID: StatusListAnchor(LIST_ID, OTHER, DIGEST, 1, world.published_at)}
    assert snapshot.checkpoints == {
        LOG_ID: AnchoredCheckpoint(LOG_ID, 5, ROOT_5, world.anchor_block, world.anchor_time)}
    assert snapshot.department_of_account(_address(world.operator)).usci == OTHER


def test_anchor_at_size(chain: TrustChain, world: World) -> None:
    found = chain.anchor_at_size(LOG_ID, 3)
    assert found is not None and (found.size, found.root) == (3, ROOT_3)
    assert chain.anchor_at_size(LOG_ID, 5) == AnchoredCheckpoint(
        LOG_ID, 5, ROOT_5, world.anchor_block, world.anchor_time)
    assert chain.anchor_at_size(LOG_ID, 4) is None
    assert chain.anchor_at_size(UNANCHORED_LOG, 1) is None


def test_changed_since_follows_the_trust_contracts(chain: TrustChain, world: World) -> None:
    snapshot = chain.read_snapshot([])
    assert chain.changed_since(snapshot.block_number) is None
    # An allowlist change is not a trust change.
    chain.set_account_role(KEY["city-admin"], Account.create().address, ROLE_DEPARTMENT)
    assert chain.changed_since(snapshot.block_number) is None
    block = chain.wait_for([chain.publish_status_list(world.operator, LIST_ID, b"\x08" * 32, 2)])
    assert chain.changed_since(snapshot.block_number) == block
    assert chain.changed_since(block) is None
    assert chain.changed_since(0) == block
    updated = chain.read_snapshot([])
    assert updated.status_lists[LIST_ID].version == 2
    assert snapshot.status_lists[LIST_ID].version == 1


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (lambda c, w: c.add_key(w.new_admin, KID_1, b"\x11" * 32, VALID_FROM, VALID_UNTIL),
         "TrustList: kid already used"),
        (lambda c, w: c.revoke_key(w.new_admin, KID_1, 1, int(time.time()) + 3600),
         "TrustList: revocation time is in the future"),
        (lambda c, w: c.revoke_key(w.new_admin, KID_1, 1, VALID_FROM - 1),
         "TrustList: revocation time before the key's validity"),
        (lambda c, w: c.revoke_key(w.new_admin, KID_2, 1),
         "TrustList: key already revoked"),
        (lambda c, w: c.grant_accreditation(CITY, OTHER, "CN-BL"),
         "TrustList: already accredited"),
        (lambda c, w: c.admit_department(CITY, "91110000600037341X", "Bad", 1, ADDRESS["unpermitted"]),
         "DepartmentRegistry: invalid USCI"),
        (lambda c, w: c.add_operator(w.operator, ADDRESS["unpermitted"]),
         "DepartmentRegistry: caller is not a department admin"),
        (lambda c, w: c.recognize(w.new_admin, "91350100M000100Y44", "CN-BL", 1, 2),
         "MutualRecognition: issuer is not an active department"),
    ],
)
def test_reverts_raise_chain_rejected_with_the_reason(chain: TrustChain, world: World, action,
                                                      reason: str) -> None:
    proposals = chain.contract("CityAdministration").functions.proposalCount().call()
    with pytest.raises(ChainRejected) as refused:
        action(chain, world)
    assert str(refused.value) == reason
    # Governed calls are simulated before proposing: no proposal is left behind.
    assert chain.contract("CityAdministration").functions.proposalCount().call() == proposals


def test_a_batched_transaction_that_reverts_gives_its_reason(chain: TrustChain,
                                                             world: World) -> None:
    sent = chain.publish_status_list(world.operator, LIST_ID, b"\x0c" * 32, 1, wait=False)
    with pytest.raises(ChainRejected, match="^StatusRegistry: version must increase$"):
        chain.wait_for([sent])
    # The sender's next nonce is still right.
    chain.publish_status_list(world.operator, LIST_ID, b"\x0c" * 32, 99)


def test_a_nonce_used_by_another_client_is_fetched_again(chain: TrustChain, world: World,
                                                         node: NodeProcess) -> None:
    other = TrustChain(node.http_url)  # its own nonce cache, same sender
    other.publish_status_list(world.operator, LIST_ID, b"\x0d" * 32, 100)
    # chain's cached nonce is now used: refused by the node, fetched again, sent.
    chain.publish_status_list(world.operator, LIST_ID, b"\x0e" * 32, 101)
    assert chain.read_snapshot([]).status_lists[LIST_ID].version == 101


def test_an_unpermitted_sender_is_refused_by_the_node(chain: TrustChain) -> None:
    call = chain.contract("StatusRegistry").functions.publish(b"\x01" * 32, b"\x02" * 32, 1)
    with pytest.raises(ChainRejected, match="permitted"):
        chain.send(KEY["unpermitted"], call, wait=False)


def test_governance_with_two_of_two_admins(chain: TrustChain, world: World) -> None:
    second = [KEY["city-admin"], KEY["service-module"]]
    chain.govern(CITY, "CityAdministration", "addAdmin",
                 Web3.to_checksum_address(ADDRESS["service-module"]))
    chain.govern(CITY, "CityAdministration", "setThreshold", 2)
    try:
        with pytest.raises(ValueError, match="needs 2 approvals"):
            chain.set_roles(CITY, OTHER, ROLE_VERIFIER)
        chain.set_roles(second, OTHER, ROLE_VERIFIER | ROLE_ISSUER | ROLE_REGULATOR)
        assert chain.read_snapshot([]).departments[OTHER].roles == 7
    finally:  # back to the dev threshold (the second admin stays, unused)
        chain.govern(second, "CityAdministration", "setThreshold", 1)
    assert chain.contract("CityAdministration").functions.threshold().call() == 1


def test_an_unreachable_node_is_chain_unavailable() -> None:
    chain = TrustChain(f"http://127.0.0.1:{free_port()}", request_timeout=2)
    with pytest.raises(ChainUnavailable):
        chain.head()
    with pytest.raises(ChainUnavailable):
        chain.read_snapshot([])
