"""Data-exchange records: every exchange through the city brain, and every bank credit query.

Exchanges must be "timely, effective and controllable" (及时有效可控): each request is
recorded, answered or refused, with who asked whom for which dataset, for what purpose
and on what legal basis. Bank credit queries (kind ``credit_query``) use the same
record, with the consent they rest on (征信业管理条例 Art. 18) — so a data subject's
"who looked at my data" is one query over one log.

The subject is recorded only as a salted hash (``subjectHash``), never the raw id, and
the answer only as ``resultHash``. Records form one log-wide hash chain: ``seq`` counts
from 0 and ``prevHash`` is the SHA-256 of the previous record's entry bytes (JCS).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from audit_trail.chains import (
    ChainLink,
    Finding,
    StrictReader,
    chain_hash,
    find_link_problem,
    load_entry_json,
    validate_canonical_usci,
    validate_hash_hex,
    validate_seq,
    validate_text,
)
from license_registry.errors import FormatError, InvalidInput
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.license_types import validate_unix_time
from license_registry.presented import UUID_URN

PLATFORM = "platform"  # the provider when the platform itself answers (credit attestations)
CODE = re.compile(r"[A-Z][A-Z0-9_-]{0,63}")  # dataset and purpose codes, e.g. CR-PEN
REASON = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")  # refusal reason codes
MAX_LEGAL_BASIS = 200
REQUIRED_KEYS = frozenset({"kind", "seq", "prevHash", "time", "requester", "provider",
                           "dataset", "subjectHash", "purpose", "legalBasis", "resultHash",
                           "decision"})
OPTIONAL_KEYS = frozenset({"reason", "consentId", "operator", "scopes"})
OPERATOR = re.compile(r"0x[0-9a-f]{40}")  # the account that sent the request
MAX_SCOPES = 16


class ExchangeKind(StrEnum):
    EXCHANGE = "exchange"  # one department's data to another, through the platform
    CREDIT_QUERY = "credit_query"  # a bank's query of an enterprise's credit records


class Decision(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


@dataclass(frozen=True)
class ExchangeRecord:
    kind: ExchangeKind
    seq: int
    prev_hash: str | None  # record_hash hex of seq - 1; None for seq 0
    time: int
    requester: str  # USCI
    provider: str  # USCI, or "platform"
    dataset: str
    subject_hash: str  # salted SHA-256 hex of the data subject's id
    purpose: str
    legal_basis: str
    result_hash: str  # SHA-256 hex of what was answered (the data, or the refusal)
    decision: Decision
    reason: str | None = None  # why it was refused
    consent_id: str | None = None  # urn:uuid of the consent a credit query rests on
    operator: str | None = None  # the requester's account (a bank's employee or system)
    scopes: tuple[str, ...] | None = None  # the data scopes asked for (credit queries)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": self.kind.value, "seq": self.seq, "prevHash": self.prev_hash,
            "time": self.time, "requester": self.requester, "provider": self.provider,
            "dataset": self.dataset, "subjectHash": self.subject_hash,
            "purpose": self.purpose, "legalBasis": self.legal_basis,
            "resultHash": self.result_hash, "decision": self.decision.value,
        }
        if self.reason is not None:
            document["reason"] = self.reason
        if self.consent_id is not None:
            document["consentId"] = self.consent_id
        if self.operator is not None:
            document["operator"] = self.operator
        if self.scopes is not None:
            document["scopes"] = list(self.scopes)
        return document


def _enum(cls: type[ExchangeKind] | type[Decision], value: object, field: str) -> Any:
    if isinstance(value, str) and value in {m.value for m in cls}:
        return cls(value)
    raise InvalidInput(f"{field} {value!r} is not one of {', '.join(m.value for m in cls)}",
                       field=field)


def _code(value: object, field: str, pattern: re.Pattern[str] = CODE) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(f"{field} {value!r} must match {pattern.pattern}", field=field)
    return value


def _provider(value: object, canonical: bool) -> str:
    if value == PLATFORM:
        return PLATFORM
    check = validate_canonical_usci if canonical else validate_usci
    return check(value, "provider")


def _consent_id(value: object) -> str:
    if not isinstance(value, str) or not UUID_URN.fullmatch(value):
        raise InvalidInput("consentId must be urn:uuid: and a lowercase UUID", field="consentId")
    return value


def _operator(value: object) -> str:
    if not isinstance(value, str) or not OPERATOR.fullmatch(value):
        raise InvalidInput("operator must be a lowercase 0x account address", field="operator")
    return value


def _scopes(value: object) -> tuple[str, ...]:
    if (not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_SCOPES
            or list(value) != sorted(set(value))):
        raise InvalidInput(f"scopes must be 1-{MAX_SCOPES} distinct codes in sorted order",
                           field="scopes")
    return tuple(_code(v, "scopes") for v in value)


def validate_exchange_rules(record: ExchangeRecord) -> ExchangeRecord:
    """Rules between fields, for built and for parsed records alike."""
    if record.requester == record.provider:
        raise InvalidInput("requester and provider are the same department", field="provider")
    if (record.decision is Decision.REFUSED) != (record.reason is not None):
        raise InvalidInput("a refused request needs a reason, and only a refused one has one",
                           field="reason")
    if (record.kind is ExchangeKind.CREDIT_QUERY and record.decision is Decision.ALLOWED
            and record.consent_id is None):
        raise InvalidInput("an allowed credit query must name the consent it rests on",
                           field="consentId")
    if (record.seq == 0) != (record.prev_hash is None):
        raise InvalidInput("prevHash must be null exactly when seq is 0", field="prevHash")
    return record


def build_exchange_record(
    prev: ExchangeRecord | None, *, kind: ExchangeKind | str, time: int, requester: str,
    provider: str, dataset: str, subject_hash: str, purpose: str, legal_basis: str,
    result_hash: str, decision: Decision | str, reason: str | None = None,
    consent_id: str | None = None, operator: str | None = None,
    scopes: tuple[str, ...] | list[str] | None = None,
) -> ExchangeRecord:
    """The record after ``prev`` (None: the log's first), validated and chained."""
    return validate_exchange_rules(ExchangeRecord(
        kind=_enum(ExchangeKind, kind, "kind"),
        seq=0 if prev is None else prev.seq + 1,
        prev_hash=None if prev is None else record_hash(prev).hex(),
        time=validate_unix_time(time, "time"),
        requester=validate_usci(requester, "requester"),
        provider=_provider(provider, canonical=False),
        dataset=_code(dataset, "dataset"),
        subject_hash=validate_hash_hex(subject_hash, "subjectHash"),
        purpose=_code(purpose, "purpose"),
        legal_basis=validate_text(legal_basis, "legalBasis", MAX_LEGAL_BASIS),
        result_hash=validate_hash_hex(result_hash, "resultHash"),
        decision=_enum(Decision, decision, "decision"),
        reason=None if reason is None else _code(reason, "reason", REASON),
        consent_id=None if consent_id is None else _consent_id(consent_id),
        operator=None if operator is None else _operator(operator),
        scopes=None if scopes is None else _scopes(scopes),
    ))


def exchange_entry(record: ExchangeRecord) -> bytes:
    """The bytes appended to the exchanges log: JCS of the record's JSON."""
    return canonicalize(record.to_json())


def record_hash(record: ExchangeRecord) -> bytes:
    """What the next record names as ``prevHash`` (hex)."""
    return chain_hash(exchange_entry(record))


def exchange_from_json(document: object) -> ExchangeRecord:
    """Strictly parse a record's JSON; FormatError ``bad_exchange_record`` names the field."""
    r = StrictReader(document, "exchangeRecord", "bad_exchange_record", REQUIRED_KEYS,
                     OPTIONAL_KEYS)
    for key in OPTIONAL_KEYS:  # absent, never null: one record has one spelling
        if key in r.document and r.document[key] is None:
            r.fail(key, "must be left out rather than null")
    reason = r.document.get("reason")
    consent_id = r.document.get("consentId")
    operator = r.document.get("operator")
    scopes = r.document.get("scopes")
    record = ExchangeRecord(
        kind=r.convert("kind", lambda v: _enum(ExchangeKind, v, "kind")),
        seq=r.convert("seq", validate_seq),
        prev_hash=r.optional_hash("prevHash"),
        time=r.convert("time", lambda v: validate_unix_time(v, "time")),
        requester=r.convert("requester", lambda v: validate_canonical_usci(v, "requester")),
        provider=r.convert("provider", lambda v: _provider(v, canonical=True)),
        dataset=r.convert("dataset", lambda v: _code(v, "dataset")),
        subject_hash=r.convert("subjectHash", lambda v: validate_hash_hex(v, "subjectHash")),
        purpose=r.convert("purpose", lambda v: _code(v, "purpose")),
        legal_basis=r.text("legalBasis", MAX_LEGAL_BASIS),
        result_hash=r.convert("resultHash", lambda v: validate_hash_hex(v, "resultHash")),
        decision=r.convert("decision", lambda v: _enum(Decision, v, "decision")),
        reason=None if reason is None else r.convert("reason", lambda v: _code(v, "reason",
                                                                               REASON)),
        consent_id=None if consent_id is None else r.convert("consentId", _consent_id),
        operator=None if operator is None else r.convert("operator", _operator),
        scopes=None if scopes is None else r.convert("scopes", _scopes),
    )
    try:
        return validate_exchange_rules(record)
    except InvalidInput as error:
        r.fail(error.field or "record", error.message)


def exchange_from_entry(entry: bytes) -> ExchangeRecord:
    """Parse log entry bytes; they must be exactly the JCS of the record they hold."""
    record = exchange_from_json(load_entry_json(entry, "bad_exchange_record"))
    if exchange_entry(record) != entry:
        raise FormatError("exchange entry is not in canonical JCS form",
                          code="bad_exchange_record")
    return record


def validate_exchange_chain(records: Iterable[ExchangeRecord]) -> list[Finding]:
    """Findings for broken links and gaps in a run of records, in log order. The run may be
    a slice: its first record may have any seq (but seq 0 must name no previous hash)."""
    findings: list[Finding] = []
    previous: ChainLink | None = None
    for record in records:
        if previous is not None or record.seq == 0:
            problem = find_link_problem(previous, record.seq, record.prev_hash)
            if problem is not None:
                findings.append(Finding(problem[0], problem[1], seq=record.seq))
        previous = ChainLink(record.seq, record_hash(record))
    return findings
