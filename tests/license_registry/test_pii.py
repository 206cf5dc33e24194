"""Encryption of personal identifiers at rest."""

from __future__ import annotations

import base64

import pytest
from nacl.secret import SecretBox

from license_registry.errors import FormatError, InvalidInput
from license_registry.pii import (
    MIN_CIPHERTEXT_SIZE,
    PiiCipher,
    PiiDecryptionError,
    PiiKeyError,
    key_from_settings,
)

KEY = bytes(range(1, 33))
CITIZEN_ID = "11010519491231002X"


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = PiiCipher(KEY)
    first, second = cipher.encrypt(CITIZEN_ID), cipher.encrypt(CITIZEN_ID)
    assert first != second  # random nonce: equal identifiers do not show as equal rows
    assert CITIZEN_ID.encode() not in first
    assert len(first) == MIN_CIPHERTEXT_SIZE + len(CITIZEN_ID)
    assert cipher.decrypt(first) == cipher.decrypt(second) == CITIZEN_ID
    assert PiiCipher(KEY).decrypt(memoryview(first)) == CITIZEN_ID
    assert cipher.decrypt(cipher.encrypt("张三")) == "张三"


def test_format_is_plain_secretbox() -> None:
    # Other tools holding the key can read the stored values.
    stored = PiiCipher(KEY).encrypt(CITIZEN_ID)
    assert SecretBox(KEY).decrypt(stored) == CITIZEN_ID.encode()


def test_every_flipped_bit_is_detected() -> None:
    cipher = PiiCipher(KEY)
    stored = cipher.encrypt(CITIZEN_ID)
    for position in range(len(stored)):
        for bit in range(8):
            tampered = bytearray(stored)
            tampered[position] ^= 1 << bit
            with pytest.raises(PiiDecryptionError):
                cipher.decrypt(bytes(tampered))


@pytest.mark.parametrize(("data", "message"), [
    (b"", "encrypted value is 0 bytes, shorter than nonce and tag (40); it was truncated"),
    (b"x" * 39, "encrypted value is 39 bytes, shorter than nonce and tag (40); it was truncated"),
    ("text", "encrypted value must be bytes, got str"),
])
def test_malformed_ciphertexts_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(PiiDecryptionError) as caught:
        PiiCipher(KEY).decrypt(data)
    assert caught.value.message == message


def test_another_key_does_not_decrypt() -> None:
    stored = PiiCipher(KEY).encrypt(CITIZEN_ID)
    other = PiiCipher(KEY[::-1])
    with pytest.raises(PiiDecryptionError) as caught:
        other.decrypt(stored)
    assert isinstance(caught.value, FormatError)
    assert caught.value.code == "pii_decryption_failed"
    assert caught.value.message == (
        f"encrypted value does not authenticate under key {other.key_id}: it was altered or "
        "encrypted under another key")


def test_non_utf8_plaintext_is_refused() -> None:
    stored = bytes(SecretBox(KEY).encrypt(b"\xff\xfe"))
    with pytest.raises(PiiDecryptionError, match="not UTF-8"):
        PiiCipher(KEY).decrypt(stored)


def test_only_text_is_encrypted() -> None:
    with pytest.raises(InvalidInput, match="only text is encrypted, got bytes"):
        PiiCipher(KEY).encrypt(b"11010519491231002X")  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "message"), [
    (bytes(32), "PII key is all zero bytes; configure a random key"),
    (b"k" * 31, "PII key is 31 bytes, must be 32; generate one with "
                "`python -c \"import secrets; print(secrets.token_hex(32))\"`"),
    (b"k" * 64, None),
    (b"", None),
    ("k" * 32, "PII key must be bytes, got str"),
])
def test_weak_or_malformed_keys_are_refused(key: bytes, message: str | None) -> None:
    with pytest.raises(PiiKeyError) as caught:
        PiiCipher(key)
    assert isinstance(caught.value, ValueError)  # settings validators report it as invalid
    assert caught.value.code == "invalid_pii_key"
    if message is not None:
        assert caught.value.message == message


def test_repr_shows_a_key_id_not_the_key() -> None:
    cipher = PiiCipher(KEY)
    assert repr(cipher) == f"PiiCipher(key_id={cipher.key_id!r})"
    assert KEY.hex() not in repr(cipher) and len(cipher.key_id) == 16
    assert PiiCipher(KEY[::-1]).key_id != cipher.key_id


@pytest.mark.parametrize("text", [
    KEY.hex(),
    KEY.hex().upper(),
    f"  {KEY.hex()}\n",
    base64.b64encode(KEY).decode(),
    base64.urlsafe_b64encode(KEY).decode().rstrip("="),
])
def test_key_from_settings_reads_hex_and_base64(text: str) -> None:
    assert key_from_settings(text) == KEY


@pytest.mark.parametrize(("text", "message"), [
    ("", "PII key setting must be 64 hex digits or 32 bytes in base64 (43-44 characters); "
         "got 0 characters"),
    ("change-me", "PII key setting must be 64 hex digits or 32 bytes in base64 (43-44 "
                  "characters); got 9 characters"),
    (KEY.hex()[:62], None),
    ("00" * 32, "PII key is all zero bytes; configure a random key"),
    (base64.b64encode(bytes(32)).decode(), "PII key is all zero bytes; configure a random key"),
    (base64.b64encode(KEY + b"x").decode(), None),
])
def test_key_from_settings_refuses_bad_settings(text: str, message: str | None) -> None:
    with pytest.raises(PiiKeyError) as caught:
        key_from_settings(text)
    if message is not None:
        assert caught.value.message == message
