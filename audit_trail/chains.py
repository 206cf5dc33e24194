"""What trace events and exchange records share: hash-chain links, strict fields, findings.

Both are hash chains: each entry names the SHA-256 of the JCS bytes of the entry before
it (per subject for traces, log-wide for exchanges), so a row deleted or edited in the
database also breaks the next link. A ``Finding`` names what is wrong and where (log
index, chain seq, event id); the codes are stable, for tools and for people.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, TypeVar

from license_registry.errors import FormatError, InvalidInput, LicenseError
from license_registry.identifiers import validate_usci
from license_registry.jcs import MAX_SAFE_INTEGER

T = TypeVar("T")

HASH_HEX = re.compile(r"[0-9a-f]{64}")
MAX_SEQ = MAX_SAFE_INTEGER  # entries are JSON: every verifier reads numbers as doubles

# Stable finding codes.
MODIFIED = "modified"  # the database row is not the entry the log holds at its index
LEAF_MODIFIED = "leaf_modified"  # the log tables' leaf was edited; the row matches the anchor
MISSING = "missing"  # the log has a leaf at this index, the database no row
REORDERED = "reordered"  # the row holds the entry of another index, or is out of log order
NOT_IN_LOG = "not_in_log"  # a row claims an index the log has no leaf for
MALFORMED_ENTRY = "malformed_entry"  # the log itself holds an entry that is not a record
CHAIN_BROKEN = "chain_broken"  # previous-hash link wrong, or seq repeats or goes back
CHAIN_GAP = "chain_gap"  # seq skips: entries of the chain are absent
ROOT_MISMATCH = "root_mismatch"  # the log's leaves do not give the anchored/signed root
CHECKPOINT_INVALID = "checkpoint_invalid"  # bad signature, unknown key, malformed note
INCONSISTENT_CHECKPOINTS = "inconsistent_checkpoints"  # a fork: no append-only history fits
NOT_ANCHORED = "not_anchored"  # a signed checkpoint the chain does not hold
FINDING_CODES = frozenset({
    MODIFIED, LEAF_MODIFIED, MISSING, REORDERED, NOT_IN_LOG, MALFORMED_ENTRY, CHAIN_BROKEN,
    CHAIN_GAP, ROOT_MISMATCH, CHECKPOINT_INVALID, INCONSISTENT_CHECKPOINTS, NOT_ANCHORED,
})


@dataclass(frozen=True)
class Finding:
    """One fault: ``index`` (log index) and ``seq``/``entry_id`` name the entry; ``size``
    names the checkpoint for checkpoint-level findings."""

    code: str
    detail: str
    index: int | None = None
    seq: int | None = None
    entry_id: str | None = None
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        names = {"index": self.index, "seq": self.seq, "entryId": self.entry_id,
                 "size": self.size}
        return {"code": self.code, "detail": self.detail,
                **{k: v for k, v in names.items() if v is not None}}

    @classmethod
    def from_json(cls, document: object, field: str = "finding") -> Finding:
        r = StrictReader(document, field, "bad_finding", {"code", "detail"},
                         {"index", "seq", "entryId", "size"})
        code = r.text("code")
        if code not in FINDING_CODES:
            r.fail("code", f"{code!r} is not one of {', '.join(sorted(FINDING_CODES))}")
        return cls(code, r.text("detail", max_length=2000), index=r.optional_count("index"),
                   seq=r.optional_count("seq"), entry_id=r.optional_text("entryId"),
                   size=r.optional_count("size"))


class ChainLink(NamedTuple):
    """The last entry seen of one chain: its seq and the hash the next entry must name."""

    seq: int
    hash: bytes


def chain_hash(entry: bytes) -> bytes:
    """What the next entry of a chain names: SHA-256 of this entry's JCS bytes."""
    return hashlib.sha256(entry).digest()


def find_link_problem(previous: ChainLink | None, seq: int,
                      prev_hash: str | None) -> tuple[str, str] | None:
    """The code and detail of what is wrong with one link, or None.

    ``previous`` None means this entry starts its chain: it must be seq 0 naming nothing.
    """
    if previous is None:
        if seq != 0:
            return CHAIN_GAP, f"the chain starts at seq {seq}: seq 0..{seq - 1} are absent"
        if prev_hash is not None:
            return CHAIN_BROKEN, "seq 0 names a previous entry; the first names none"
        return None
    expected = previous.seq + 1
    if seq > expected:
        return CHAIN_GAP, f"seq {expected}..{seq - 1} are absent before seq {seq}"
    if seq < expected:
        return CHAIN_BROKEN, f"seq {seq} comes after seq {previous.seq}"
    if prev_hash != previous.hash.hex():
        return CHAIN_BROKEN, (f"seq {seq} names previous hash {prev_hash}, but seq "
                              f"{previous.seq} hashes to {previous.hash.hex()}")
    return None


def load_entry_json(entry: bytes, code: str) -> object:
    """The JSON value of entry bytes; FormatError ``code`` if they are not JSON."""
    try:
        return json.loads(entry)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FormatError(f"entry is not JSON: {exc}", code=code) from None


def entry_names(entry: object) -> tuple[int | None, str | None]:
    """The seq and event id an entry calls itself by, to name it in findings."""
    if not isinstance(entry, Mapping):
        return None, None
    seq, entry_id = entry.get("seq"), entry.get("eventId")
    return (seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
            entry_id if isinstance(entry_id, str) else None)


def validate_hash_hex(value: object, field: str) -> str:
    """A SHA-256 as 64 lowercase hex digits (one spelling, so equal hashes compare equal)."""
    if not isinstance(value, str) or not HASH_HEX.fullmatch(value):
        raise InvalidInput(f"{field} must be a SHA-256 hash as 64 lowercase hex digits",
                           field=field)
    return value


def validate_canonical_usci(value: object, field: str) -> str:
    """A USCI already in its normal form: an entry spells it one way, so it hashes one way."""
    usci = validate_usci(value, field)
    if usci != value:
        raise InvalidInput(f"{field} must be written upper case without spaces", field=field)
    return usci


def validate_seq(value: object, field: str = "seq") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEQ:
        raise InvalidInput(f"{field} must be an integer from 0 to {MAX_SEQ}, got {value!r}",
                           field=field)
    return value


def validate_text(value: object, field: str, max_length: int) -> str:
    """Printable text of 1..max_length characters without edge spaces."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise InvalidInput(f"{field} must be text of 1 to {max_length} characters",
                           field=field)
    if value != value.strip() or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInput(f"{field} must not have edge spaces or control characters",
                           field=field)
    return value


class StrictReader:
    """Reads one untrusted JSON object: unknown keys, wrong types and absent required keys
    are a FormatError naming the field (``<what>.<key>``) with one code."""

    def __init__(self, document: object, what: str, code: str, required: AbstractSet[str],
                 optional: AbstractSet[str] = frozenset()) -> None:
        self.what, self.code = what, code
        if not isinstance(document, Mapping):
            raise FormatError(f"{what} must be a JSON object, got {type(document).__name__}",
                              field=what, code=code)
        unknown = sorted(set(document) - required - optional, key=str)
        if unknown:  # refused, not ignored: an unread field would go unaudited
            raise FormatError(f"{what} has unknown keys {unknown}", field=what, code=code)
        absent = sorted(required - set(document))
        if absent:
            raise FormatError(f"{what} lacks {absent}", field=f"{what}.{absent[0]}", code=code)
        self.document = document

    def fail(self, key: str, message: str) -> NoReturn:
        raise FormatError(f"{self.what}.{key}: {message}", field=f"{self.what}.{key}",
                          code=self.code)

    def convert(self, key: str, check: Callable[[object], T]) -> T:
        """Run a domain rule on the value, turning its error into this reader's error."""
        try:
            return check(self.document.get(key))
        except LicenseError as error:
            self.fail(key, error.message)

    def text(self, key: str, max_length: int = 200) -> str:
        return self.convert(key, lambda v: validate_text(v, key, max_length))

    def optional_text(self, key: str, max_length: int = 200) -> str | None:
        return None if self.document.get(key) is None else self.text(key, max_length)

    def count(self, key: str) -> int:
        return self.convert(key, lambda v: validate_seq(v, key))

    def optional_count(self, key: str) -> int | None:
        return None if self.document.get(key) is None else self.count(key)

    def optional_hash(self, key: str) -> str | None:
        value = self.document.get(key)
        return None if value is None else self.convert(key, lambda v: validate_hash_hex(v, key))
