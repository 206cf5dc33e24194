"""The HELLO exchange after TLS, pure: prove the secp256k1 node key, agree on the chain.

Each side first sends a CHALLENGE with 32 fresh random bytes. Each answers with a
HELLO whose signature is over ``keccak("citychain-p2p-hello" ‖ the peer's
challenge)``; the key it recovers to must be the HELLO's public key, and that key's
node id must be the one in the peer's TLS certificate. A stolen TLS key without the
node key, or a node key replayed from another session, does not pass.
"""

from __future__ import annotations

from typing import NamedTuple

from coincurve import PrivateKey, PublicKey

from chain.consensus.crypto import keccak256, recover_address, sign
from chain.consensus.errors import InvalidSignature
from chain.p2p.errors import PeerError
from chain.p2p.messages import CHALLENGE_SIZE, PROTOCOL_VERSION, Hello

HELLO_DOMAIN = b"citychain-p2p-hello"


class LocalStatus(NamedTuple):
    """What the node reports about itself in HELLO (``Handlers.local_status``)."""

    chain_id: int
    genesis_hash: bytes
    head_number: int
    head_hash: bytes
    is_validator: bool


def public_key_of(private_key: bytes) -> bytes:
    """The 64-byte uncompressed secp256k1 public key (no 0x04 prefix)."""
    return PrivateKey(private_key).public_key.format(compressed=False)[1:]


def node_id_of_public_key(public_key: bytes) -> bytes:
    """keccak256 of the 64-byte public key: the id the on-chain node allowlist holds."""
    return keccak256(public_key)


def hello_digest(challenge: bytes) -> bytes:
    if len(challenge) != CHALLENGE_SIZE:
        raise ValueError(f"a challenge is {CHALLENGE_SIZE} bytes, got {len(challenge)}")
    return keccak256(HELLO_DOMAIN + challenge)


def build_hello(private_key: bytes, peer_challenge: bytes, status: LocalStatus) -> Hello:
    return Hello(
        protocol_version=PROTOCOL_VERSION,
        public_key=public_key_of(private_key),
        signature=sign(private_key, hello_digest(peer_challenge)),
        chain_id=status.chain_id,
        genesis_hash=status.genesis_hash,
        head_number=status.head_number,
        head_hash=status.head_hash,
        is_validator=status.is_validator,
    )


def validate_hello(
    hello: Hello, my_challenge: bytes, certificate_node_id: bytes, local: LocalStatus
) -> None:
    """Raise PeerError (with a reason code) unless the peer's HELLO is acceptable."""
    if hello.protocol_version != PROTOCOL_VERSION:
        raise PeerError(
            "protocol_version",
            f"peer speaks protocol version {hello.protocol_version}, we speak {PROTOCOL_VERSION}",
        )
    digest = hello_digest(my_challenge)
    try:
        # recover_address refuses malformed and high-s signatures; the public key
        # then comes from the same, now known canonical, signature.
        recover_address(digest, hello.signature)
        recovered = PublicKey.from_signature_and_message(
            hello.signature, digest, hasher=None
        ).format(compressed=False)[1:]
    except (InvalidSignature, ValueError) as exc:
        raise PeerError("bad_hello_signature", f"HELLO signature is invalid: {exc}") from exc
    if recovered != hello.public_key:
        raise PeerError(
            "bad_hello_signature",
            "HELLO signature does not recover to the public key the peer sent",
        )
    node_id = node_id_of_public_key(hello.public_key)
    if node_id != certificate_node_id:
        raise PeerError(
            "node_id_mismatch",
            f"HELLO is signed by node 0x{node_id.hex()} but the TLS certificate is for "
            f"node 0x{certificate_node_id.hex()}",
        )
    if hello.chain_id != local.chain_id:
        raise PeerError(
            "wrong_chain_id", f"peer is on chain id {hello.chain_id}, we are on {local.chain_id}"
        )
    if hello.genesis_hash != local.genesis_hash:
        raise PeerError(
            "wrong_genesis",
            f"peer has genesis 0x{hello.genesis_hash.hex()}, ours is 0x{local.genesis_hash.hex()}",
        )
