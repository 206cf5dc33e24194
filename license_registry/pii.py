"""Encryption of personal identifiers at rest (citizen ID numbers of license holders).

XSalsa20-Poly1305 (PyNaCl ``SecretBox``) with a random 24-byte nonce per value; the
stored bytes are ``nonce || ciphertext || tag`` as SecretBox produces them. The key
comes from settings, never from code; a missing, short or all-zero key is refused at
start-up rather than silently encrypting with a guessable key.

SecretBox authenticates the value, not where it is stored: to notice a ciphertext copied
from another row, compare the decrypted identifier with the row's salted holder hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from license_registry.errors import FormatError, InvalidInput

KEY_SIZE = SecretBox.KEY_SIZE  # 32
MIN_CIPHERTEXT_SIZE = SecretBox.NONCE_SIZE + SecretBox.MACBYTES


class PiiKeyError(InvalidInput, ValueError):
    """A bad key in settings. Also a ValueError so settings validators report it as such."""

    code = "invalid_pii_key"


class PiiDecryptionError(FormatError):
    """Stored personal data that does not decrypt: tampered, truncated or another key."""

    code = "pii_decryption_failed"


def validate_key(key: object) -> bytes:
    if not isinstance(key, bytes | bytearray):
        raise PiiKeyError(f"PII key must be bytes, got {type(key).__name__}", field="pii_key")
    if len(key) != KEY_SIZE:
        raise PiiKeyError(f"PII key is {len(key)} bytes, must be {KEY_SIZE}; generate one "
                          "with `python -c \"import secrets; print(secrets.token_hex(32))\"`",
                          field="pii_key")
    if not any(key):
        raise PiiKeyError("PII key is all zero bytes; configure a random key", field="pii_key")
    return bytes(key)


def key_from_settings(text: str) -> bytes:
    """A 32-byte key written as 64 hex digits or as base64 (standard or URL-safe)."""
    value = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return validate_key(bytes.fromhex(value))
    if not re.fullmatch(r"[A-Za-z0-9+/_-]{43}=?", value):
        raise PiiKeyError("PII key setting must be 64 hex digits or 32 bytes in base64 "
                          f"(43-44 characters); got {len(value)} characters", field="pii_key")
    try:
        key = base64.b64decode(value.rstrip("=").replace("-", "+").replace("_", "/") + "=",
                               validate=True)
    except binascii.Error as error:
        raise PiiKeyError(f"PII key setting is not valid base64: {error}",
                          field="pii_key") from None
    return validate_key(key)


class PiiCipher:
    """Encrypts and decrypts personal identifiers under one key."""

    __slots__ = ("_box", "key_id")

    def __init__(self, key: bytes) -> None:
        self._box = SecretBox(validate_key(key))
        # Safe to log: tells which key is configured without revealing it.
        self.key_id = hashlib.sha256(b"citychain pii key id\x00" + bytes(key)).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"PiiCipher(key_id={self.key_id!r})"

    def encrypt(self, value: str) -> bytes:
        if not isinstance(value, str):
            raise InvalidInput(f"only text is encrypted, got {type(value).__name__}",
                               field="value")
        return bytes(self._box.encrypt(value.encode("utf-8")))

    def decrypt(self, data: bytes | bytearray | memoryview) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise PiiDecryptionError(f"encrypted value must be bytes, got {type(data).__name__}",
                                     field="value")
        raw = bytes(data)
        if len(raw) < MIN_CIPHERTEXT_SIZE:
            raise PiiDecryptionError(
                f"encrypted value is {len(raw)} bytes, shorter than nonce and tag "
                f"({MIN_CIPHERTEXT_SIZE}); it was truncated", field="value")
        try:
            plain = self._box.decrypt(raw)
        except CryptoError:
            raise PiiDecryptionError(
                f"encrypted value does not authenticate under key {self.key_id}: it was "
                "altered or encrypted under another key", field="value") from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise PiiDecryptionError("decrypted value is not UTF-8 text",
                                     field="value") from None
