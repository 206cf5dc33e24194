from __future__ import annotations

import pytest
from eth_hash.auto import keccak

from chain.consensus.crypto import SECP256K1_N, address_of, recover_address, sign
from chain.consensus.errors import InvalidKey, InvalidSignature

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DIGEST = keccak(b"citychain")


def test_address_of_known_key() -> None:
    # The eth-account documentation's example key.
    assert address_of(KEY).hex() == "2c7536e3605d9c16a7a3d7b1898e529396a65c23"


def test_sign_and_recover_round_trip() -> None:
    signature = sign(KEY, DIGEST)
    assert len(signature) == 65 and signature[64] in (0, 1)
    assert recover_address(DIGEST, signature) == address_of(KEY)
    assert recover_address(keccak(b"other"), signature) != address_of(KEY)


def high_s(signature: bytes) -> bytes:
    s = SECP256K1_N - int.from_bytes(signature[32:64], "big")
    return signature[:32] + s.to_bytes(32, "big") + bytes([signature[64] ^ 1])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:64],
        lambda s: s + b"\x00",
        lambda s: s[:64] + b"\x02",
        lambda s: s[:64] + b"\x1b",
        lambda s: b"\x00" * 32 + s[32:],
        lambda s: s[:32] + b"\x00" * 32 + s[64:],
        lambda s: SECP256K1_N.to_bytes(32, "big") + s[32:],
        high_s,
    ],
)
def test_malformed_signature_is_rejected(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidSignature):
        recover_address(DIGEST, mangle(sign(KEY, DIGEST)))


@pytest.mark.parametrize("key", [b"\x00" * 32, b"\x01" * 31, SECP256K1_N.to_bytes(32, "big")])
def test_invalid_private_key_is_rejected(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        address_of(key)
