"""HELLO proof of the node key and chain agreement, pure and table-driven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chain.consensus.crypto import SECP256K1_N
from chain.p2p.errors import PeerError
from chain.p2p.handshake import (
    LocalStatus,
    build_hello,
    hello_digest,
    node_id_of_public_key,
    public_key_of,
)
from chain.p2p.handshake import validate_hello as validate
from chain.p2p.messages import Hello

KEY = b"\x01" * 32
OTHER_KEY = b"\x02" * 32
NODE_ID = node_id_of_public_key(public_key_of(KEY))
CHALLENGE = b"\xaa" * 32
LOCAL = LocalStatus(20211, b"\x11" * 32, 5, b"\x22" * 32, True)
GOOD = build_hello(KEY, CHALLENGE, LOCAL._replace(head_number=9, is_validator=False))


def high_s(hello: Hello) -> Hello:
    s = int.from_bytes(hello.signature[32:64], "big")
    flipped = hello.signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes(
        [hello.signature[64] ^ 1]
    )
    return replace(hello, signature=flipped)


def test_node_id_is_keccak_of_the_public_key() -> None:
    # Same definition as chain.devnet.node_id_of: keccak256 of the 64-byte public key.
    from coincurve import PrivateKey
    from eth_hash.auto import keccak

    assert keccak(PrivateKey(KEY).public_key.format(compressed=False)[1:]) == NODE_ID


def test_a_good_hello_passes() -> None:
    validate(GOOD, CHALLENGE, NODE_ID, LOCAL)
    assert GOOD.head_number == 9 and not GOOD.is_validator


@pytest.mark.parametrize(
    ("hello", "challenge", "certificate_id", "reason"),
    [
        (GOOD, b"\xbb" * 32, NODE_ID, "bad_hello_signature"),  # signed another challenge
        (build_hello(OTHER_KEY, CHALLENGE, LOCAL), CHALLENGE, NODE_ID, "node_id_mismatch"),
        (replace(GOOD, public_key=public_key_of(OTHER_KEY)), CHALLENGE, NODE_ID,
         "bad_hello_signature"),
        (replace(GOOD, signature=b"\x00" * 65), CHALLENGE, NODE_ID, "bad_hello_signature"),
        (high_s(GOOD), CHALLENGE, NODE_ID, "bad_hello_signature"),
        (GOOD, CHALLENGE, b"\x00" * 32, "node_id_mismatch"),
        (replace(GOOD, chain_id=1), CHALLENGE, NODE_ID, "wrong_chain_id"),
        (replace(GOOD, genesis_hash=b"\x99" * 32), CHALLENGE, NODE_ID, "wrong_genesis"),
        (replace(GOOD, protocol_version=2), CHALLENGE, NODE_ID, "protocol_version"),
    ],
)
def test_bad_hellos_are_refused(
    hello: Hello, challenge: bytes, certificate_id: bytes, reason: str
) -> None:
    with pytest.raises(PeerError) as raised:
        validate(hello, challenge, certificate_id, LOCAL)
    assert raised.value.reason == reason


def test_digest_is_domain_separated() -> None:
    assert hello_digest(CHALLENGE) != hello_digest(b"\xab" * 32)
    with pytest.raises(ValueError):
        hello_digest(b"short")
