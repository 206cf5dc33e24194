"""Multibase base58btc (``z``) and base64url (``u``): vectors, round trips, strict refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from license_registry.errors import FormatError
from license_registry.multibase import (
    MAX_BASE58_CHARS,
    decode_base58btc,
    decode_base64url,
    decode_multibase,
    encode_base58btc,
    encode_base64url,
)

# The first three are the multibase spec's test vectors (multiformats/multibase tests);
# the rest are edge cases: empty input, a lone zero byte, both url-safe characters.
VECTORS = [
    (b"yes mani !", "z7paNL19xttacUY", "ueWVzIG1hbmkgIQ"),
    (b"\x00yes mani !", "z17paNL19xttacUY", "uAHllcyBtYW5pICE"),
    (b"\x00\x00yes mani !", "z117paNL19xttacUY", "uAAB5ZXMgbWFuaSAh"),
    (b"", "z", "u"),
    (b"\x00", "z1", "uAA"),
    (b"\xfb\xff", "zLBG", "u-_8"),  # 64511 = 19·58² + 10·58 + 15; exercises - and _
]


@pytest.mark.parametrize(("data", "base58", "base64url"), VECTORS)
def test_vectors(data: bytes, base58: str, base64url: str) -> None:
    assert encode_base58btc(data) == base58
    assert encode_base64url(data) == base64url
    assert decode_base58btc(base58) == data
    assert decode_base64url(base64url) == data
    assert decode_multibase(base58) == data
    assert decode_multibase(base64url) == data


@pytest.mark.parametrize("text", [
    "",               # no prefix
    "7paNL19xttacUY",  # no prefix
    "Z7paNL19xttacUY",  # prefix is case-sensitive
    "z7paNL19xttac0Y",  # 0 is not in the alphabet
    "z7paNL19xttacOY",  # nor O
    "z7paNL19xttacIY",  # nor I
    "z7paNL19xttaclY",  # nor l
    "z7paNL19 xttacUY",
    "z7paNL19xttacUY\n",  # the base58 package would strip this
    " z7paNL19xttacUY",
    "z" + "2" * (MAX_BASE58_CHARS + 1),
])
def test_base58btc_refusals(text: str) -> None:
    with pytest.raises(FormatError) as info:
        decode_base58btc(text)
    assert info.value.code == "bad_multibase"


@pytest.mark.parametrize("text", [
    "",
    "eWVzIG1hbmkgIQ",     # no prefix
    "ueWVzIG1hbmkgIQ==",  # padding
    "ueWVzIG1hbmkgIQ=",
    "u+/8",               # standard alphabet, not url-safe
    "u-_8 ",
    "ueWVz\nIG1hbmkgIQ",
    "uA",                 # length mod 4 == 1 cannot be decoded
    "uAAAAA",
    "uAB",                # 'B' leaves a non-zero unused bit in the last group
    "uAAB",               # likewise for a three-character tail
    "uYR",
])
def test_base64url_refusals(text: str) -> None:
    with pytest.raises(FormatError) as info:
        decode_base64url(text)
    assert info.value.code == "bad_multibase"


@pytest.mark.parametrize("text", ["", "f796573", "meWVz", "Z7paNL19xttacUY", "U-_8"])
def test_decode_multibase_accepts_only_z_and_u(text: str) -> None:
    with pytest.raises(FormatError, match="must start with 'z'"):
        decode_multibase(text)


@pytest.mark.parametrize("value", [None, 42, b"z7paNL19xttacUY", ["z"]])
def test_non_strings_are_refused(value: object) -> None:
    for decode in (decode_base58btc, decode_base64url, decode_multibase):
        with pytest.raises(FormatError):
            decode(value)  # type: ignore[arg-type]


@given(st.binary(max_size=80))
def test_base58btc_round_trip(data: bytes) -> None:
    text = encode_base58btc(data)
    assert text.startswith("z")
    assert decode_base58btc(text) == data


@given(st.binary(max_size=300))
def test_base64url_round_trip(data: bytes) -> None:
    text = encode_base64url(data)
    assert text.startswith("u") and "=" not in text
    assert decode_base64url(text) == data


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
               max_size=40))
def test_base64url_accepts_exactly_the_canonical_spellings(body: str) -> None:
    # Every accepted string is what the encoder would produce for its bytes.
    try:
        data = decode_base64url("u" + body)
    except FormatError:
        return
    assert encode_base64url(data) == "u" + body
