"""W3C Bitstring Status List v1.0: revocation and suspension bits for credentials.

* A list is a bitstring of at least 131,072 entries (the spec's minimum, for herd
  privacy: fetching a list says little about which of its credentials is checked). Index 0
  is the left-most, most significant bit of byte 0 — the opposite of the IETF Token
  Status List, so the two must never share a list.
* Published form: GZIP, then multibase base64url without padding (``u…``).
* Indices are drawn at random, not in issue order, because the order would leak when
  each license was issued and how many a department issues.
* One list per purpose; a credential uses the same index in its department's revocation
  list n and suspension list n.

Decoding refuses lists that inflate beyond 16 MiB, so a small hostile download cannot
exhaust a verifier's memory.
"""

from __future__ import annotations

import gzip
import random
import re
import zlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

from license_registry.errors import Conflict, FormatError, InvalidInput
from license_registry.multibase import decode_base64url, encode_base64url

MIN_SIZE = 131_072
MAX_DECODED_BYTES = 16 * 1024 * 1024
# base64url of a gzip stream that inflates to at most MAX_DECODED_BYTES; gzip cannot
# grow data by more than a few bytes per 16 KiB block plus its header.
MAX_ENCODED_CHARS = (MAX_DECODED_BYTES + MAX_DECODED_BYTES // 1024 + 1024) * 4 // 3
PURPOSES = frozenset({"revocation", "suspension"})
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"

# Random probes before falling back to a scan of free indices: with the list at most
# 90 % full, 64 probes all miss with probability 0.9**64 ≈ 0.1 %.
_RANDOM_PROBES = 64
_DECIMAL_INDEX = re.compile(r"0|[1-9][0-9]*")


class StatusBitstring:
    """A mutable status bitstring; bit ``i`` set means status ``i`` is in force."""

    __slots__ = ("_bits", "size")

    def __init__(self, size: int = MIN_SIZE) -> None:
        if not isinstance(size, int) or size < MIN_SIZE or size % 8:
            raise InvalidInput(
                f"a status list has at least {MIN_SIZE} entries, a multiple of 8; got {size}",
                field="size",
            )
        self.size = size
        self._bits = bytearray(size // 8)

    @classmethod
    def from_bytes(cls, data: bytes, min_size: int = MIN_SIZE) -> StatusBitstring:
        """The bitstring of raw (already inflated) bytes; FormatError if too short."""
        if len(data) * 8 < min_size:
            raise FormatError(
                f"status list has {len(data) * 8} entries; at least {min_size} are required",
                field="encodedList",
                code="status_list_too_small",
            )
        bitstring = cls.__new__(cls)
        bitstring.size = len(data) * 8
        bitstring._bits = bytearray(data)
        return bitstring

    def set(self, index: int, value: bool) -> None:
        self._validate_index(index)
        mask = 0x80 >> (index & 7)
        if value:
            self._bits[index >> 3] |= mask
        else:
            self._bits[index >> 3] &= ~mask & 0xFF

    def get(self, index: int) -> bool:
        self._validate_index(index)
        return bool(self._bits[index >> 3] & (0x80 >> (index & 7)))

    def count_set(self) -> int:
        return int.from_bytes(self._bits, "big").bit_count()

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def encode(self) -> str:
        """GZIP (mtime 0, so equal lists encode equally) then ``u`` + base64url."""
        return encode_base64url(gzip.compress(self._bits, compresslevel=9, mtime=0))

    @classmethod
    def decode(cls, encoded: str, min_size: int = MIN_SIZE) -> StatusBitstring:
        """Parse an ``encodedList``; FormatError for anything but one bounded gzip member."""
        if isinstance(encoded, str) and len(encoded) > MAX_ENCODED_CHARS:
            raise FormatError(
                f"encodedList of {len(encoded)} characters exceeds {MAX_ENCODED_CHARS}",
                field="encodedList",
                code="status_list_too_large",
            )
        compressed = decode_base64url(encoded)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container only
        try:
            data = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
        except zlib.error as exc:
            raise FormatError(f"encodedList is not valid GZIP: {exc}", field="encodedList",
                              code="bad_status_list") from exc
        if len(data) > MAX_DECODED_BYTES:
            raise FormatError(
                f"encodedList inflates beyond {MAX_DECODED_BYTES} bytes; refused as a "
                "decompression bomb",
                field="encodedList",
                code="status_list_too_large",
            )
        if not inflater.eof or inflater.unused_data:
            raise FormatError("encodedList must be exactly one complete GZIP member",
                              field="encodedList", code="bad_status_list")
        return cls.from_bytes(data, min_size)

    def _validate_index(self, index: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.size:
            raise InvalidInput(f"status index {index!r} is outside 0..{self.size - 1}",
                               field="index")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatusBitstring) and self._bits == other._bits

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusBitstring(size={self.size}, set={self.count_set()})"


def allocate_index(
    used: Collection[int] | StatusBitstring, size: int, rng: random.Random
) -> int:
    """A uniformly random free index in ``0..size-1``; Conflict when the list is full.

    ``used`` is the set of indices already given out (pass a set: membership is tested
    repeatedly) or an allocation bitmap whose set bits mark them. ``rng`` is injected so
    tests are deterministic; production passes ``random.SystemRandom()``.
    """
    if not isinstance(size, int) or size <= 0:
        raise InvalidInput(f"list size must be a positive integer; got {size!r}", field="size")
    is_used = _membership(used, size)
    for _ in range(_RANDOM_PROBES):
        candidate = rng.randrange(size)
        if not is_used(candidate):
            return candidate
    # Dense list: draw uniformly among the free indices that remain.
    free = [index for index in range(size) if not is_used(index)]
    if not free:
        raise Conflict(f"all {size} status indices are allocated; open a new status list",
                       field="index", code="status_list_full")
    return rng.choice(free)


def build_status_list_credential(
    list_url: str,
    issuer: str,
    purpose: str,
    encoded_list: str,
    valid_from: str,
    valid_until: str | None = None,
) -> dict[str, Any]:
    """The unsigned VC 2.0 ``BitstringStatusListCredential`` publishing one list."""
    validate_purpose(purpose)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": encoded_list,
    }
    return credential


def status_entry(list_url: str, purpose: str, index: int) -> dict[str, str]:
    """The ``credentialStatus`` item pointing at bit ``index`` of the list at ``list_url``."""
    validate_purpose(purpose)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InvalidInput(f"status index must be a non-negative integer; got {index!r}",
                           field="index")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def validate_status_entry(entry: Mapping[str, Any]) -> tuple[str, str, int]:
    """``(list_url, purpose, index)`` of a ``BitstringStatusListEntry``; FormatError if bad."""
    if not isinstance(entry, Mapping) or entry.get("type") != "BitstringStatusListEntry":
        raise FormatError("credentialStatus item must be a BitstringStatusListEntry",
                          field="credentialStatus", code="bad_status_entry")
    purpose = entry.get("statusPurpose")
    list_url = entry.get("statusListCredential")
    index_text = entry.get("statusListIndex")
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise FormatError(f"statusPurpose {purpose!r} is not one of {sorted(PURPOSES)}",
                          field="statusPurpose", code="bad_status_entry")
    if not isinstance(list_url, str) or not list_url:
        raise FormatError("statusListCredential must be the list credential's URL",
                          field="statusListCredential", code="bad_status_entry")
    if not isinstance(index_text, str) or not _DECIMAL_INDEX.fullmatch(index_text):
        raise FormatError(
            f"statusListIndex {index_text!r} must be a decimal string without sign or "
            "leading zeros",
            field="statusListIndex",
            code="bad_status_entry",
        )
    return list_url, purpose, int(index_text)


def read_status(credential: Mapping[str, Any], index: int, min_size: int = MIN_SIZE) -> bool:
    """Bit ``index`` of a status list credential (True: revoked / suspended)."""
    subject = _list_subject(credential)
    bitstring = StatusBitstring.decode(subject["encodedList"], min_size)
    if not isinstance(index, int) or not 0 <= index < bitstring.size:
        raise FormatError(
            f"status index {index!r} is outside the list's {bitstring.size} entries",
            field="statusListIndex",
            code="status_index_out_of_range",
        )
    return bitstring.get(index)


def validate_purpose(purpose: str) -> None:
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise InvalidInput(f"status purpose must be one of {sorted(PURPOSES)}; got {purpose!r}",
                           field="purpose")


def _list_subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    types = credential.get("type") if isinstance(credential, Mapping) else None
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        raise FormatError("not a BitstringStatusListCredential", field="type",
                          code="bad_status_list")
    subject = credential.get("credentialSubject")
    if (not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList"
            or not isinstance(subject.get("encodedList"), str)):
        raise FormatError(
            "credentialSubject must be a BitstringStatusList with an encodedList string",
            field="credentialSubject",
            code="bad_status_list",
        )
    return subject


def _membership(
    used: Collection[int] | StatusBitstring, size: int
) -> Callable[[int], bool]:
    """A fast ``is_used(index)`` predicate over either form of ``used``."""
    if isinstance(used, StatusBitstring):
        if used.size < size:
            raise InvalidInput(f"allocation bitmap has {used.size} entries, fewer than {size}",
                               field="used")
        bits = used._bits
        return lambda index: bool(bits[index >> 3] & (0x80 >> (index & 7)))
    members = used if isinstance(used, set | frozenset) else set(used)
    return members.__contains__
