"""Access records: who queried whose credit data, why, under which consent, and what the
gateway decided — written for every query, allowed or refused.

Enterprises may see who queried them, and the regulator checks that no query went
unrecorded. Records form a hash chain: each names its ``seq`` (0, 1, 2, …) and the
SHA-256 of the previous record's entry (``prev_hash``; 32 zero bytes for seq 0), and
``access_entry`` (JCS) is what the exchanges log receives. ``validate_chain`` finds an
edited, deleted or reordered record from the records alone; an edit of the LAST record,
or a rewrite of the whole tail, needs the log and its anchored checkpoints
(``audit_trail``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from credit_ledger.consent import validate_purpose, validate_scopes
from license_registry.errors import FormatError, InvalidInput, LicenseError
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.license_types import validate_unix_time
from license_registry.presented import UUID_URN, datetime_text, parse_datetime_text

GENESIS_HASH = "00" * 32
ACCOUNT = re.compile(r"0x[0-9a-f]{40}")  # an operator's account, as API requests sign it
HASH_HEX = re.compile(r"[0-9a-f]{64}")
REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a stable reason code, e.g. "expired"
ACCESS_KEYS = ("seq", "prevHash", "time", "actor", "operator", "consentId", "subject",
               "purpose", "scopes", "resultHash", "decision", "reason")
Decision = Literal["allowed", "refused"]

# Problems ``validate_chain`` reports, each naming a seq.
MODIFIED = "modified"  # its hash no longer matches the next record's prev_hash
MISSING = "missing"  # no record holds this seq
REORDERED = "reordered"  # stored after a record with a higher seq
DUPLICATE = "duplicate"  # two records hold this seq
BAD_GENESIS = "bad_genesis"  # seq 0 does not start from the zero hash


@dataclass(frozen=True)
class AccessRecord:
    """One query as the gateway answered it; validated on creation."""

    seq: int
    prev_hash: str  # hex SHA-256 of the previous record's entry
    time: int
    actor: str  # USCI of the bank
    operator: str  # 0x account of the bank employee or system that sent the query
    consent_id: str | None  # None: the query named no usable consent
    subject: str  # USCI of the enterprise queried
    purpose: str
    scopes: tuple[str, ...]
    result_hash: str | None  # hex SHA-256 of the attestation returned; allowed only
    decision: Decision
    reason: str | None  # refused only: the stable reason code

    def __post_init__(self) -> None:
        _validate_seq(self.seq)
        if not isinstance(self.prev_hash, str) or not HASH_HEX.fullmatch(self.prev_hash):
            raise InvalidInput("prevHash must be 64 lowercase hex digits", field="prevHash")
        validate_unix_time(self.time, "time")
        object.__setattr__(self, "actor", validate_usci(self.actor, "actor"))
        operator = self.operator.lower() if isinstance(self.operator, str) else None
        if operator is None or not ACCOUNT.fullmatch(operator):
            raise InvalidInput("operator must be a 0x-prefixed 20-byte hex account",
                               field="operator")
        object.__setattr__(self, "operator", operator)
        if self.consent_id is not None and not (isinstance(self.consent_id, str)
                                                and UUID_URN.fullmatch(self.consent_id)):
            raise InvalidInput("consentId must be urn:uuid: and a lowercase UUID, or null",
                               field="consentId")
        object.__setattr__(self, "subject", validate_usci(self.subject, "subject"))
        validate_purpose(self.purpose)
        object.__setattr__(self, "scopes", validate_scopes(self.scopes))
        self._validate_outcome()

    def _validate_outcome(self) -> None:
        # An allowed query returned something, whose hash is kept; a refused one returned
        # nothing and says why. Anything else would make the record ambiguous.
        if self.decision == "allowed":
            if self.consent_id is None:
                raise InvalidInput("an allowed query names its consent", field="consentId")
            if not isinstance(self.result_hash, str) or not HASH_HEX.fullmatch(self.result_hash):
                raise InvalidInput("an allowed query records resultHash (64 lowercase hex "
                                   "digits)", field="resultHash")
            if self.reason is not None:
                raise InvalidInput("an allowed query has no refusal reason", field="reason")
        elif self.decision == "refused":
            if self.result_hash is not None:
                raise InvalidInput("a refused query returned nothing: resultHash must be null",
                                   field="resultHash")
            if not isinstance(self.reason, str) or not REASON.fullmatch(self.reason):
                raise InvalidInput("a refused query records its reason code (lowercase, "
                                   "digits and _)", field="reason")
        else:
            raise InvalidInput(f"decision {self.decision!r} is not allowed or refused",
                               field="decision")

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "prevHash": self.prev_hash, "time": datetime_text(self.time),
            "actor": self.actor, "operator": self.operator, "consentId": self.consent_id,
            "subject": self.subject, "purpose": self.purpose, "scopes": list(self.scopes),
            "resultHash": self.result_hash, "decision": self.decision, "reason": self.reason,
        }


@dataclass(frozen=True)
class AccessProblem:
    seq: int
    kind: str  # MODIFIED, MISSING, REORDERED, DUPLICATE or BAD_GENESIS
    detail: str


def _validate_seq(seq: object) -> int:
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**53:
        raise InvalidInput("seq must be an integer from 0", field="seq")
    return seq


def access_entry(record: AccessRecord) -> bytes:
    """The exchanges-log entry: JCS of the record's JSON form."""
    return canonicalize(record.to_json())


def access_hash(record: AccessRecord) -> str:
    """Hex SHA-256 of the entry: the next record's ``prev_hash``."""
    return hashlib.sha256(access_entry(record)).hexdigest()


def build_access_record(prev: AccessRecord | None, *, time: int, actor: str, operator: str,
                        consent_id: str | None, subject: str, purpose: str,
                        scopes: Sequence[str], decision: Decision,
                        result_hash: bytes | None = None,
                        reason: str | None = None) -> AccessRecord:
    """The record after ``prev`` (None: the first); InvalidInput naming the field at fault."""
    if result_hash is not None and (not isinstance(result_hash, bytes) or len(result_hash) != 32):
        raise InvalidInput("result_hash must be the 32-byte SHA-256 of what was returned",
                           field="resultHash")
    return AccessRecord(
        0 if prev is None else prev.seq + 1,
        GENESIS_HASH if prev is None else access_hash(prev),
        time, actor, operator, consent_id, subject, purpose, validate_scopes(scopes),
        None if result_hash is None else result_hash.hex(), decision, reason)


def access_record_from_json(obj: object) -> AccessRecord:
    """Strictly parse a record's JSON form; FormatError ``bad_access_record`` naming the field."""
    if not isinstance(obj, dict):
        _fail("record", "must be a JSON object")
    for key in ACCESS_KEYS:
        if key not in obj:
            _fail(key, "is missing (every key is present; absent values are null)")
    unknown = sorted(str(key) for key in obj if key not in ACCESS_KEYS)
    if unknown:
        _fail(unknown[0], "is not a field of an access record")
    try:
        time = parse_datetime_text(obj["time"])
    except FormatError as error:
        _fail("time", error.message)
    if not isinstance(obj["scopes"], list):
        _fail("scopes", "must be a list")
    try:
        record = AccessRecord(obj["seq"], obj["prevHash"], time, obj["actor"], obj["operator"],
                              obj["consentId"], obj["subject"], obj["purpose"],
                              tuple(obj["scopes"]), obj["resultHash"], obj["decision"],
                              obj["reason"])
    except LicenseError as error:
        _fail(error.field or "record", error.message)
    normal = record.to_json()
    for key in ACCESS_KEYS:  # the entry must be the bytes logged, not a tidied-up variant
        if normal[key] != obj[key]:
            _fail(key, "is not in normal form (canonical case and scope order)")
    return record


def _fail(field: str, message: str) -> NoReturn:
    raise FormatError(f"access record field {field}: {message}", field=field,
                      code="bad_access_record")


def validate_chain(records: Sequence[AccessRecord]) -> list[AccessProblem]:
    """Every problem in a chain as stored (list order), by seq, each naming the seq at fault.

    - ``reordered``: a record stored after one with a higher seq;
    - ``duplicate`` / ``missing``: a seq held twice / by no record (up to the highest);
    - ``modified``: record N's hash is not record N+1's ``prev_hash`` — record N changed
      after N+1 was written (changing N+1's ``prev_hash`` instead would also break the link
      N+1 → N+2, so a single broken link points at N);
    - ``bad_genesis``: seq 0 does not start from the zero hash.
    An empty list means the chain is intact as far as the records alone can show.
    """
    problems: list[AccessProblem] = []
    highest = -1
    for record in records:
        if record.seq < highest:
            problems.append(AccessProblem(record.seq, REORDERED,
                                          f"seq {record.seq} is stored after seq {highest}"))
        highest = max(highest, record.seq)
    by_seq: dict[int, AccessRecord] = {}
    for record in records:
        if record.seq in by_seq:
            problems.append(AccessProblem(record.seq, DUPLICATE, f"seq {record.seq} is held "
                                                                 "by more than one record"))
        else:
            by_seq[record.seq] = record
    first = by_seq.get(0)
    if first is not None and first.prev_hash != GENESIS_HASH:
        problems.append(AccessProblem(0, BAD_GENESIS, "seq 0 must have the zero prev_hash"))
    for seq in range(highest + 1):
        current, following = by_seq.get(seq), by_seq.get(seq + 1)
        if current is None:
            problems.append(AccessProblem(seq, MISSING, f"no record holds seq {seq}"))
        elif following is not None and following.prev_hash != access_hash(current):
            problems.append(AccessProblem(seq, MODIFIED, f"the hash of seq {seq} is not the "
                                                         f"prev_hash of seq {seq + 1}"))
    return sorted(problems, key=lambda p: (p.seq, p.kind))
