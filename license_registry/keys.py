"""Ed25519 keys as the trust formats name them: raw seeds, raw public keys, kids, Multikeys.

* A signing key is the 32-byte Ed25519 seed (what PyNaCl's ``SigningKey`` takes).
* A public key is the raw 32-byte Ed25519 point, as listed in the on-chain TrustList.
* kid = first 8 bytes of SHA-256 of the raw public key (city codes, TrustList ``bytes8``).
* Multikey (W3C Controlled Identifiers): ``z`` + base58btc of a multicodec prefix and the
  key — ``0xed 0x01`` for an Ed25519 public key, ``0x80 0x26`` for its seed.
"""

from __future__ import annotations

import functools
import hashlib

import nacl.signing
import nacl.utils

from license_registry.errors import FormatError, InvalidInput
from license_registry.multibase import decode_base58btc, encode_base58btc

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
KID_BYTES = 8

ED25519_PUBLIC_MULTICODEC = b"\xed\x01"
ED25519_SECRET_MULTICODEC = b"\x80\x26"


def generate_signing_key() -> bytes:
    """A fresh random 32-byte Ed25519 seed."""
    return nacl.utils.random(SEED_BYTES)


def public_key_of(seed: bytes) -> bytes:
    """The raw 32-byte public key of an Ed25519 seed."""
    validate_seed(seed)
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def calculate_kid(public_key: bytes) -> bytes:
    """kid = SHA-256(raw public key)[:8]. Kids can collide: verifiers try every match."""
    validate_public_key(public_key)
    return hashlib.sha256(public_key).digest()[:KID_BYTES]


@functools.lru_cache(maxsize=32)
def signer_of(seed: bytes) -> nacl.signing.SigningKey:
    """PyNaCl's signer for a valid seed, kept for reuse: building one derives the public
    key (a scalar multiplication, ~15 µs — as long as a signature), and an issuer signs
    thousands of credentials and codes with the same few seeds."""
    return nacl.signing.SigningKey(seed)


@functools.lru_cache(maxsize=256)
def verifier_of(public_key: bytes) -> nacl.signing.VerifyKey:
    """PyNaCl's verifier for a raw public key (checked), kept for reuse: a scanner checks
    thousands of codes against the few keys of the trust list."""
    validate_public_key(public_key)
    return nacl.signing.VerifyKey(public_key)


def validate_seed(seed: object) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise InvalidInput(
            f"an Ed25519 signing key is a {SEED_BYTES}-byte seed; got {_describe(seed)}",
            field="signing_key",
        )


def validate_public_key(public_key: object) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidInput(
            f"an Ed25519 public key is {PUBLIC_KEY_BYTES} raw bytes; got {_describe(public_key)}",
            field="public_key",
        )


def encode_public_multikey(public_key: bytes) -> str:
    """``z6Mk…``: the Multikey form of a raw Ed25519 public key (as in did:key)."""
    validate_public_key(public_key)
    return encode_base58btc(ED25519_PUBLIC_MULTICODEC + public_key)


def decode_public_multikey(text: str) -> bytes:
    """The raw public key of an Ed25519 ``publicKeyMultibase``."""
    return _decode_multikey(text, ED25519_PUBLIC_MULTICODEC, "publicKeyMultibase")


def decode_secret_multikey(text: str) -> bytes:
    """The 32-byte seed of an Ed25519 ``secretKeyMultibase`` / ``privateKeyMultibase``."""
    return _decode_multikey(text, ED25519_SECRET_MULTICODEC, "privateKeyMultibase")


def _decode_multikey(text: str, multicodec: bytes, name: str) -> bytes:
    raw = decode_base58btc(text)
    if raw[:2] != multicodec or len(raw) != 2 + SEED_BYTES:
        raise FormatError(
            f"{name} must be multicodec 0x{multicodec.hex()} followed by 32 key bytes "
            f"(an Ed25519 Multikey); got prefix 0x{raw[:2].hex()} and {len(raw)} bytes",
            field=name,
            code="bad_multikey",
        )
    return raw[2:]


def _describe(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    return type(value).__name__
