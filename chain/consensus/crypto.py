"""secp256k1 helpers (Besu style: 65-byte r || s || v with v the recovery id 0/1)."""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from chain.consensus.errors import InvalidKey, InvalidSignature

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SIGNATURE_LENGTH = 65


def keccak256(data: bytes) -> bytes:
    return keccak(data)


def _private_key(private_key: bytes) -> PrivateKey:
    if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
        raise InvalidKey("private key must be a 32-byte secp256k1 scalar in [1, n-1]")
    return PrivateKey(private_key)


def address_of(private_key: bytes) -> bytes:
    """The 20-byte Ethereum address of a private key."""
    public = _private_key(private_key).public_key.format(compressed=False)
    return keccak(public[1:])[12:]


def sign(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte digest; returns r || s || v with v in {0, 1} and low s."""
    if len(digest) != 32:
        raise InvalidKey("only 32-byte digests are signed")
    return _private_key(private_key).sign_recoverable(digest, hasher=None)


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The address that signed ``digest``; raises InvalidSignature when malformed.

    High-s signatures are refused so a signature has exactly one valid form.
    """
    if len(digest) != 32:
        raise InvalidSignature("digest must be 32 bytes")
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (0, 1):
        raise InvalidSignature(f"recovery id must be 0 or 1, got {v}")
    if not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise InvalidSignature("signature r/s out of range (high s is refused)")
    try:
        public = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception/ValueError
        raise InvalidSignature("signature does not recover to a public key") from exc
    return keccak(public.format(compressed=False)[1:])[12:]
