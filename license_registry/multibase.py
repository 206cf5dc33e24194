"""Multibase text encodings used by our credentials: base58btc (``z``) and base64url (``u``).

* ``z`` + base58btc (Bitcoin alphabet): Data Integrity ``proofValue`` and Multikey keys.
* ``u`` + base64url without padding (RFC 4648 §5): Bitstring Status List ``encodedList``.

Decoding is strict — every input has exactly one accepted spelling — because these values
are signed or compared: whitespace, padding, characters of the other base64 alphabet and
non-zero trailing bits are all refused with a :class:`FormatError`.
"""

from __future__ import annotations

import base64
import binascii
import re

import base58

from license_registry.errors import FormatError

BASE58BTC_PREFIX = "z"
BASE64URL_PREFIX = "u"

# base58 decoding is quadratic in the input length; its values here are keys and
# signatures (under 100 characters), so anything far longer is refused up front.
MAX_BASE58_CHARS = 1024

_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_TEXT = re.compile(f"[{_BASE58_ALPHABET}]*")
_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")
_BASE64URL_VALUE = {char: value for value, char in enumerate(_BASE64URL_ALPHABET)}


def encode_base58btc(data: bytes) -> str:
    """``z`` + base58btc of ``data``."""
    return BASE58BTC_PREFIX + base58.b58encode(data).decode("ascii")


def decode_base58btc(text: str) -> bytes:
    """The bytes of a ``z…`` multibase string; FormatError if it is anything else."""
    body = _strip_prefix(text, BASE58BTC_PREFIX, "base58btc")
    if len(body) > MAX_BASE58_CHARS:
        raise FormatError(
            f"base58btc value of {len(body)} characters is longer than {MAX_BASE58_CHARS}",
            code="bad_multibase",
        )
    if not _BASE58_TEXT.fullmatch(body):
        raise FormatError(
            "base58btc value has characters outside the Bitcoin base58 alphabet "
            "(no 0, O, I, l, whitespace or punctuation)",
            code="bad_multibase",
        )
    return base58.b58decode(body)


def encode_base64url(data: bytes) -> str:
    """``u`` + base64url of ``data`` without ``=`` padding."""
    return BASE64URL_PREFIX + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64url(text: str) -> bytes:
    """The bytes of a ``u…`` multibase string; FormatError if it is anything else."""
    body = _strip_prefix(text, BASE64URL_PREFIX, "base64url")
    if not _BASE64URL_TEXT.fullmatch(body):
        raise FormatError(
            "base64url value has characters outside A-Z a-z 0-9 - _ (no padding, no '+' or "
            "'/', no whitespace)",
            code="bad_multibase",
        )
    remainder = len(body) % 4
    if remainder == 1:
        raise FormatError(
            f"base64url value of {len(body)} characters is truncated (length mod 4 is 1)",
            code="bad_multibase",
        )
    # The last character of a partial group carries unused low bits; they must be zero,
    # otherwise several strings would decode to the same bytes.
    unused_mask = {0: 0, 2: 0x0F, 3: 0x03}[remainder]
    if unused_mask and _BASE64URL_VALUE[body[-1]] & unused_mask:
        raise FormatError(
            "base64url value has non-zero trailing bits; it was not produced by an encoder",
            code="bad_multibase",
        )
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error as exc:  # unreachable after the checks above; kept as a guard
        raise FormatError(f"base64url value does not decode: {exc}", code="bad_multibase") from exc


def decode_multibase(text: str) -> bytes:
    """Decode a ``z…`` or ``u…`` string by its prefix; other multibase bases are refused."""
    if isinstance(text, str) and text.startswith(BASE58BTC_PREFIX):
        return decode_base58btc(text)
    if isinstance(text, str) and text.startswith(BASE64URL_PREFIX):
        return decode_base64url(text)
    raise FormatError(
        "multibase value must start with 'z' (base58btc) or 'u' (base64url)",
        code="bad_multibase",
    )


def _strip_prefix(text: object, prefix: str, name: str) -> str:
    if not isinstance(text, str):
        raise FormatError(
            f"{name} value must be a string, not {type(text).__name__}", code="bad_multibase"
        )
    if not text.startswith(prefix):
        raise FormatError(
            f"{name} value must start with the multibase prefix {prefix!r}",
            code="bad_multibase",
        )
    return text[1:]
