"""Bitstring Status List: bit order, GZIP + base64url form, bounds, random allocation."""

from __future__ import annotations

import base64
import gzip
import random
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from license_registry.errors import Conflict, FormatError, InvalidInput
from license_registry.multibase import encode_base64url
from license_registry.status_list import (
    MAX_DECODED_BYTES,
    MAX_ENCODED_CHARS,
    MIN_SIZE,
    StatusBitstring,
    allocate_index,
    build_status_list_credential,
    read_status,
    status_entry,
    validate_status_entry,
)

LIST_URL = "https://trust.city.example/v1/status-lists/91350100M000100Y43/3/revocation"
ISSUER = "did:citychain:91350100M000100Y43"
# The all-clear 131,072-entry list from the W3C Bitstring Status List v1.0 examples.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _bitstring(*indices: int, size: int = MIN_SIZE) -> StatusBitstring:
    bits = StatusBitstring(size)
    for index in indices:
        bits.set(index, True)
    return bits


def _gzip_encoded(data: bytes) -> str:
    return encode_base64url(gzip.compress(data, mtime=0))


@pytest.mark.parametrize(("index", "byte", "value"), [
    (0, 0, 0x80),  # index 0 is the left-most, most significant bit
    (1, 0, 0x40),
    (7, 0, 0x01),
    (8, 1, 0x80),
    (12345, 1543, 0x40),  # 12345 = 8·1543 + 1
    (MIN_SIZE - 1, MIN_SIZE // 8 - 1, 0x01),
])
def test_bit_order_is_msb_first(index: int, byte: int, value: int) -> None:
    raw = _bitstring(index).to_bytes()
    assert raw[byte] == value
    assert sum(raw) == value


def test_set_get_and_clear() -> None:
    bits = _bitstring(3, 4, 100)
    assert [bits.get(i) for i in (2, 3, 4, 5, 100)] == [False, True, True, False, True]
    bits.set(3, False)
    bits.set(3, False)
    assert (bits.get(3), bits.get(4), bits.count_set()) == (False, True, 2)


@pytest.mark.parametrize("size", [0, 8, MIN_SIZE - 8, MIN_SIZE + 1, -MIN_SIZE])
def test_size_below_minimum_or_not_whole_bytes_is_refused(size: int) -> None:
    with pytest.raises(InvalidInput):
        StatusBitstring(size)


@pytest.mark.parametrize("index", [-1, MIN_SIZE, MIN_SIZE * 2, True, "1"])
def test_index_out_of_range_is_refused(index: Any) -> None:
    bits = StatusBitstring()
    with pytest.raises(InvalidInput):
        bits.get(index)
    with pytest.raises(InvalidInput):
        bits.set(index, True)


def test_spec_example_decodes_to_an_empty_list() -> None:
    bits = StatusBitstring.decode(SPEC_EMPTY_LIST)
    assert bits == StatusBitstring()
    assert (bits.size, bits.count_set()) == (MIN_SIZE, 0)


def test_encode_is_gzip_then_base64url_and_deterministic() -> None:
    bits = _bitstring(0, 9, 131071)
    encoded = bits.encode()
    assert encoded.startswith("u") and "=" not in encoded
    assert encoded == _bitstring(0, 9, 131071).encode()
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bits.to_bytes()
    assert StatusBitstring.decode(encoded) == bits


def test_a_thousand_revocations_fit_in_under_three_kilobytes() -> None:
    rng = random.Random(20250131)
    revoked = rng.sample(range(MIN_SIZE), 1000)
    encoded = _bitstring(*revoked).encode()
    assert len(encoded) < 3000
    decoded = StatusBitstring.decode(encoded)
    assert decoded.count_set() == 1000
    assert all(decoded.get(i) for i in revoked)


def test_larger_lists_round_trip() -> None:
    bits = _bitstring(0, 1_048_575, size=1_048_576)
    assert StatusBitstring.decode(bits.encode()) == bits


@pytest.mark.parametrize(("encoded", "code"), [
    ("zH4sIAAAAAAAAA", "bad_multibase"),                      # base58, not base64url
    ("uH4sI AAAA", "bad_multibase"),
    ("u" + base64.b64encode(gzip.compress(bytes(16384), mtime=0)).decode(), "bad_multibase"),
    (encode_base64url(zlib.compress(bytes(16384))), "bad_status_list"),   # zlib, not gzip
    (encode_base64url(bytes(16384)), "bad_status_list"),                 # not compressed
    (encode_base64url(gzip.compress(bytes(16384))[:-9]), "bad_status_list"),  # truncated
    (encode_base64url(gzip.compress(bytes(16384)) + b"junk"), "bad_status_list"),
    (encode_base64url(gzip.compress(bytes(8192)) * 2), "bad_status_list"),  # two members
    (_gzip_encoded(bytes(MIN_SIZE // 8 - 1)), "status_list_too_small"),
    (_gzip_encoded(b""), "status_list_too_small"),
    ("u", "bad_status_list"),
])
def test_malformed_lists_are_refused(encoded: str, code: str) -> None:
    with pytest.raises(FormatError) as info:
        StatusBitstring.decode(encoded)
    assert info.value.code == code


def test_gzip_bomb_is_refused() -> None:
    bomb = _gzip_encoded(bytes(MAX_DECODED_BYTES + 1024))
    assert len(bomb) < 40_000  # tiny on the wire ...
    with pytest.raises(FormatError) as info:
        StatusBitstring.decode(bomb)  # ... but more than 16 MiB inflated
    assert info.value.code == "status_list_too_large"


def test_oversized_text_is_refused_before_decoding() -> None:
    with pytest.raises(FormatError) as info:
        StatusBitstring.decode("u" + "A" * MAX_ENCODED_CHARS)
    assert info.value.code == "status_list_too_large"


def test_min_size_is_the_callers_choice() -> None:
    small = _gzip_encoded(bytes(16))
    assert StatusBitstring.decode(small, min_size=128).size == 128
    with pytest.raises(FormatError):
        StatusBitstring.decode(small, min_size=136)


# --- allocation --------------------------------------------------------------------------

def test_allocation_is_random_not_sequential() -> None:
    rng = random.Random(7)
    used: set[int] = set()
    for _ in range(200):
        used.add(allocate_index(used, MIN_SIZE, rng))
    issued = list(used)
    assert len(issued) == 200
    assert issued != sorted(issued)
    assert min(issued) < MIN_SIZE // 4 and max(issued) > 3 * MIN_SIZE // 4


def test_allocation_is_reproducible_with_a_seeded_rng() -> None:
    first = [allocate_index(set(), MIN_SIZE, random.Random(42)) for _ in range(3)]
    assert len(set(first)) == 1


def test_allocation_never_reuses_and_reports_a_full_list() -> None:
    rng = random.Random(1)
    used: set[int] = set()
    for _ in range(64):
        index = allocate_index(used, 64, rng)
        assert index not in used and 0 <= index < 64
        used.add(index)
    assert used == set(range(64))
    with pytest.raises(Conflict) as info:
        allocate_index(used, 64, rng)
    assert info.value.code == "status_list_full"


def test_the_last_free_index_is_found() -> None:
    used = set(range(MIN_SIZE)) - {98765}
    assert allocate_index(used, MIN_SIZE, random.Random(3)) == 98765
    assert allocate_index(frozenset(used), MIN_SIZE, random.Random(3)) == 98765
    assert allocate_index(list(used), MIN_SIZE, random.Random(3)) == 98765


def test_allocation_from_a_bitmap() -> None:
    bitmap = StatusBitstring()
    rng = random.Random(5)
    for _ in range(100):
        index = allocate_index(bitmap, MIN_SIZE, rng)
        assert not bitmap.get(index)
        bitmap.set(index, True)
    assert bitmap.count_set() == 100
    full = StatusBitstring.from_bytes(b"\xff" * (MIN_SIZE // 8))
    with pytest.raises(Conflict):
        allocate_index(full, MIN_SIZE, rng)
    with pytest.raises(InvalidInput):
        allocate_index(bitmap, MIN_SIZE * 2, rng)


@pytest.mark.parametrize("size", [0, -1, "10", None])
def test_allocation_size_must_be_positive(size: Any) -> None:
    with pytest.raises(InvalidInput):
        allocate_index(set(), size, random.Random(0))


# --- credentials and entries -------------------------------------------------------------

def test_status_list_credential() -> None:
    encoded = StatusBitstring().encode()
    assert build_status_list_credential(LIST_URL, ISSUER, "revocation", encoded,
                                        "2025-01-31T08:00:00Z") == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER,
        "validFrom": "2025-01-31T08:00:00Z",
        "credentialSubject": {
            "id": LIST_URL + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    with_until = build_status_list_credential(LIST_URL, ISSUER, "suspension", encoded,
                                              "2025-01-31T08:00:00Z", "2025-02-01T08:00:00Z")
    assert with_until["validUntil"] == "2025-02-01T08:00:00Z"
    assert with_until["credentialSubject"]["statusPurpose"] == "suspension"


@pytest.mark.parametrize(("purpose", "index", "expected_index"), [
    ("revocation", 0, "0"),
    ("suspension", 94567, "94567"),
])
def test_status_entry(purpose: str, index: int, expected_index: str) -> None:
    entry = status_entry(LIST_URL, purpose, index)
    assert entry == {
        "id": f"{LIST_URL}#{expected_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": expected_index,
        "statusListCredential": LIST_URL,
    }
    assert validate_status_entry(entry) == (LIST_URL, purpose, index)


@pytest.mark.parametrize(("purpose", "index"), [
    ("message", 1), ("Revocation", 1), ("revocation", -1), ("revocation", True),
    ("revocation", "5"),
])
def test_status_entry_refuses_bad_arguments(purpose: str, index: Any) -> None:
    with pytest.raises(InvalidInput):
        status_entry(LIST_URL, purpose, index)


@pytest.mark.parametrize("purpose", ["message", "refresh", "", None, ["revocation"]])
def test_status_list_credential_refuses_other_purposes(purpose: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        build_status_list_credential(LIST_URL, ISSUER, purpose, SPEC_EMPTY_LIST,
                                     "2025-01-31T08:00:00Z")
    assert info.value.field == "purpose"


@pytest.mark.parametrize(("change", "field"), [
    ({"statusListIndex": "01"}, "statusListIndex"),
    ({"statusListIndex": "-1"}, "statusListIndex"),
    ({"statusListIndex": "1.0"}, "statusListIndex"),
    ({"statusListIndex": " 1"}, "statusListIndex"),
    ({"statusListIndex": 5}, "statusListIndex"),
    ({"statusPurpose": "message"}, "statusPurpose"),
    ({"statusPurpose": ["revocation"]}, "statusPurpose"),
    ({"statusListCredential": None}, "statusListCredential"),
    ({"type": "StatusList2021Entry"}, "credentialStatus"),
])
def test_validate_status_entry_refusals(change: dict[str, Any], field: str) -> None:
    with pytest.raises(FormatError) as info:
        validate_status_entry(status_entry(LIST_URL, "revocation", 5) | change)
    assert (info.value.code, info.value.field) == ("bad_status_entry", field)


def test_read_status() -> None:
    credential = build_status_list_credential(LIST_URL, ISSUER, "revocation",
                                              _bitstring(5, 131071).encode(),
                                              "2025-01-31T08:00:00Z")
    assert [read_status(credential, i) for i in (4, 5, 6, 131071)] == [False, True, False, True]
    for index in (-1, MIN_SIZE):
        with pytest.raises(FormatError) as info:
            read_status(credential, index)
        assert info.value.code == "status_index_out_of_range"


@pytest.mark.parametrize("credential", [
    {},
    {"type": ["VerifiableCredential"], "credentialSubject": {}},
    {"type": ["BitstringStatusListCredential"], "credentialSubject": None},
    {"type": ["BitstringStatusListCredential"],
     "credentialSubject": {"type": "BitstringStatusList"}},
    {"type": ["BitstringStatusListCredential"],
     "credentialSubject": {"type": "StatusList2021", "encodedList": SPEC_EMPTY_LIST}},
    {"type": "BitstringStatusListCredential",
     "credentialSubject": {"type": "BitstringStatusList", "encodedList": SPEC_EMPTY_LIST}},
])
def test_read_status_refuses_other_credentials(credential: dict[str, Any]) -> None:
    with pytest.raises(FormatError) as info:
        read_status(credential, 0)
    assert info.value.code == "bad_status_list"


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(0, MIN_SIZE - 1), max_size=40))
def test_encode_decode_round_trip(indices: set[int]) -> None:
    decoded = StatusBitstring.decode(_bitstring(*indices).encode())
    assert {i for i in indices if decoded.get(i)} == indices
    assert decoded.count_set() == len(indices)
