"""An enterprise's consent to credit queries by one bank, and the gateway's decision.

Querying credit data needs the subject's written consent for an agreed purpose
(征信业管理条例 Art. 18). The consent artefact follows India's Account Aggregator / UK
Open Banking consents: grantor (the enterprise), grantee (the bank), purpose code, data
scopes (credit record types), validity window, maximum uses. The enterprise signs it
with eddsa-jcs-2022; ``consent_digest`` (SHA-256 of the signed document's JCS) is
anchored on chain, so neither party can later claim other terms.

States: ACTIVE, PAUSED and REVOKED are stored (REVOKED is final); EXPIRED is derived
from the window and the time, never stored. The enterprise pauses, resumes and revokes
with signed change documents (``consent_changes``); which change is allowed in which
state is the table ``TRANSITIONS``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from credit_ledger.record_types import RECORD_TYPE_CODES, get_record_type
from license_registry.data_integrity import create_proof, proof_of, verify_proof
from license_registry.errors import FormatError, IllegalTransition, InvalidInput, LicenseError
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.license_types import calculate_validity_seconds, validate_unix_time
from license_registry.presented import UUID_URN, datetime_text, parse_datetime_text

CONSENT_CONTEXT = "https://citychain.example/contexts/credit-consent/v1"
CONSENT_TYPE = "CreditQueryConsent"
DID_PREFIX = "did:citychain:"
MAX_WINDOW = calculate_validity_seconds(1)  # one calendar year, leap day included
MAX_USES = 1000
CONSENT_KEYS = ("@context", "type", "id", "grantor", "grantee", "purpose", "scopes",
                "validFrom", "validUntil", "maxUses", "created")
VERIFICATION_METHOD = re.compile(r"did:citychain:([0-9A-Z]{18})#[^#\s]+")


@dataclass(frozen=True)
class Purpose:
    code: str
    name_zh: str
    name_en: str


PURPOSES: tuple[Purpose, ...] = (
    Purpose("LOAN_APPLICATION", "贷款申请审查", "Loan application"),
    Purpose("CREDIT_LINE_REVIEW", "授信额度审查", "Credit line review"),
    Purpose("POST_LOAN_MONITORING", "贷后管理", "Post-loan monitoring"),
    Purpose("GUARANTEE", "担保资格审查", "Guarantee review"),
)
PURPOSE_CODES: tuple[str, ...] = tuple(p.code for p in PURPOSES)


class ConsentState(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"  # derived: never stored


class ConsentAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    REVOKE = "revoke"


# (state as of now, action) -> stored state afterwards. Revoking an expired consent is
# allowed: it changes nothing a bank can do, but records the enterprise's withdrawal.
TRANSITIONS: dict[tuple[ConsentState, ConsentAction], ConsentState] = {
    (ConsentState.ACTIVE, ConsentAction.PAUSE): ConsentState.PAUSED,
    (ConsentState.ACTIVE, ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.PAUSED, ConsentAction.RESUME): ConsentState.ACTIVE,
    (ConsentState.PAUSED, ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.EXPIRED, ConsentAction.REVOKE): ConsentState.REVOKED,
}

# Stable refusal reasons, in the order ``evaluate_query`` checks them.
WRONG_GRANTEE = "wrong_grantee"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
EXHAUSTED = "exhausted"
PAUSED = "paused"
PURPOSE_MISMATCH = "purpose_mismatch"
SCOPE_NOT_CONSENTED = "scope_not_consented"
REASONS = (WRONG_GRANTEE, REVOKED, EXPIRED, NOT_YET_VALID, EXHAUSTED, PAUSED,
           PURPOSE_MISMATCH, SCOPE_NOT_CONSENTED)


@dataclass(frozen=True)
class Consent:
    """A consent document's terms, validated; times in unix seconds."""

    consent_id: str
    grantor: str
    grantee: str
    purpose: str
    scopes: tuple[str, ...]  # in catalogue order
    valid_from: int
    valid_until: int
    max_uses: int
    created: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None  # one of REASONS when refused
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reason": self.reason, "message": self.message}


def validate_purpose(purpose: object, field: str = "purpose") -> str:
    if isinstance(purpose, str) and purpose in PURPOSE_CODES:
        return purpose
    raise InvalidInput(f"{field} {purpose!r} is not a purpose code; known: "
                       f"{', '.join(PURPOSE_CODES)}", field=field, code="unknown_purpose")


def validate_scopes(scopes: object, field: str = "scopes") -> tuple[str, ...]:
    """Non-empty, distinct credit record type codes, returned in catalogue order."""
    if not isinstance(scopes, list | tuple) or not scopes:
        raise InvalidInput(f"{field} must be a non-empty list of record types "
                           f"({', '.join(RECORD_TYPE_CODES)})", field=field)
    for index, code in enumerate(scopes):
        get_record_type(code, f"{field}[{index}]")
    if len(set(scopes)) != len(scopes):
        raise InvalidInput(f"{field} lists a record type twice", field=field)
    return tuple(code for code in RECORD_TYPE_CODES if code in scopes)


def validate_consent_terms(*, consent_id: object, grantor: object, grantee: object,
                           purpose: object, scopes: object, valid_from: object,
                           valid_until: object, max_uses: object, created: object) -> Consent:
    """The terms as a Consent, or InvalidInput naming the (JSON) field at fault."""
    if not isinstance(consent_id, str) or not UUID_URN.fullmatch(consent_id):
        raise InvalidInput("id must be urn:uuid: and a lowercase UUID", field="id")
    grantor_usci = validate_usci(grantor, "grantor")
    grantee_usci = validate_usci(grantee, "grantee")
    if grantor_usci == grantee_usci:
        raise InvalidInput("grantee must be the bank, not the grantor itself", field="grantee")
    start = validate_unix_time(valid_from, "validFrom")
    end = validate_unix_time(valid_until, "validUntil")
    if end <= start:
        raise InvalidInput(f"validUntil {end} must be after validFrom {start}", field="validUntil")
    if end - start > MAX_WINDOW:
        raise InvalidInput(f"the consent window is {end - start} s; at most one year "
                           f"({MAX_WINDOW} s) may be granted at once", field="validUntil")
    if not isinstance(max_uses, int) or isinstance(max_uses, bool) or not 1 <= max_uses <= MAX_USES:
        raise InvalidInput(f"maxUses must be an integer 1-{MAX_USES}, got {max_uses!r}",
                           field="maxUses")
    made = validate_unix_time(created, "created")
    if made >= end:
        raise InvalidInput("created must be before validUntil: this consent would never "
                           "be usable", field="created")
    return Consent(consent_id, grantor_usci, grantee_usci, validate_purpose(purpose),
                   validate_scopes(scopes), start, end, max_uses, made)


def build_consent(*, consent_id: str, grantor: str, grantee: str, purpose: str,
                  scopes: Sequence[str], valid_from: int, valid_until: int, max_uses: int,
                  created: int) -> dict[str, Any]:
    """The unsigned consent document (times as XML datetimes); InvalidInput if bad."""
    return _to_document(validate_consent_terms(
        consent_id=consent_id, grantor=grantor, grantee=grantee, purpose=purpose,
        scopes=scopes, valid_from=valid_from, valid_until=valid_until,
        max_uses=max_uses, created=created))


def _to_document(terms: Consent) -> dict[str, Any]:
    return {
        "@context": [CONSENT_CONTEXT],
        "type": CONSENT_TYPE,
        "id": terms.consent_id,
        "grantor": terms.grantor,
        "grantee": terms.grantee,
        "purpose": terms.purpose,
        "scopes": list(terms.scopes),
        "validFrom": datetime_text(terms.valid_from),
        "validUntil": datetime_text(terms.valid_until),
        "maxUses": terms.max_uses,
        "created": datetime_text(terms.created),
    }


def parse_consent(doc: object) -> Consent:
    """Strictly read a consent document; FormatError ``bad_consent`` naming the field."""
    if not isinstance(doc, Mapping):
        _fail_format("consent", "must be a JSON object")
    unknown = sorted(str(k) for k in doc if k not in CONSENT_KEYS and k != "proof")
    if unknown:
        _fail_format(unknown[0], "is not a field of a consent")
    if doc.get("@context") != [CONSENT_CONTEXT]:
        _fail_format("@context", f"must be [{CONSENT_CONTEXT!r}]")
    if doc.get("type") != CONSENT_TYPE:
        _fail_format("type", f"must be {CONSENT_TYPE!r}")
    times: dict[str, int] = {}
    for name in ("validFrom", "validUntil", "created"):
        try:
            times[name] = parse_datetime_text(doc.get(name))
        except FormatError as error:
            _fail_format(name, error.message)
    try:
        consent = validate_consent_terms(
            consent_id=doc.get("id"), grantor=doc.get("grantor"), grantee=doc.get("grantee"),
            purpose=doc.get("purpose"), scopes=doc.get("scopes"),
            valid_from=times["validFrom"], valid_until=times["validUntil"],
            max_uses=doc.get("maxUses"), created=times["created"])
    except LicenseError as error:
        _fail_format(error.field or "consent", error.message)
    # One consent, one byte form: the digest anchored must be that of the normal form.
    normal = _to_document(consent)
    for key in CONSENT_KEYS:
        if doc.get(key) != normal[key]:
            _fail_format(key, "is not in normal form (upper-case codes, scopes in catalogue "
                              "order)")
    return consent


def _fail_format(field: str, message: str) -> NoReturn:
    raise FormatError(f"consent field {field}: {message}", field=field, code="bad_consent")


def validate_signer_method(verification_method: object, grantor: str) -> str:
    """The method must be a key of the grantor: the enterprise speaks for itself only."""
    match = (VERIFICATION_METHOD.fullmatch(verification_method)
             if isinstance(verification_method, str) else None)
    if match is None or match.group(1) != grantor:
        raise InvalidInput(f"verificationMethod must be a key of the grantor: "
                           f"{DID_PREFIX}{grantor}#<key id>; got {verification_method!r}",
                           field="verificationMethod")
    return str(verification_method)


def sign_consent(doc: Mapping[str, Any], enterprise_seed: bytes,
                 verification_method: str) -> dict[str, Any]:
    """The consent signed by the grantor (proof ``created`` = the consent's ``created``)."""
    consent = parse_consent(doc)
    if "proof" in doc:
        raise InvalidInput("the consent is already signed", field="proof")
    validate_signer_method(verification_method, consent.grantor)
    return create_proof(doc, enterprise_seed, verification_method, datetime_text(consent.created))


def verify_consent_signature(doc: Mapping[str, Any], enterprise_public_key: bytes) -> bool:
    """True when the grantor's key signed exactly this consent. FormatError if malformed."""
    consent = parse_consent(doc)
    proof = proof_of(doc)
    try:
        validate_signer_method(proof["verificationMethod"], consent.grantor)
    except InvalidInput:
        return False  # signed, but by a key that does not speak for the grantor
    return verify_proof(doc, enterprise_public_key)


def consent_digest(doc: Mapping[str, Any]) -> bytes:
    """SHA-256 of the JCS of the SIGNED consent: the value anchored on chain."""
    parse_consent(doc)
    proof_of(doc)  # an unsigned consent binds nobody: refuse to anchor it
    return hashlib.sha256(canonicalize(dict(doc))).digest()


def validate_consent_state(state: object) -> ConsentState:
    if isinstance(state, str) and state in set(ConsentState):
        return ConsentState(state)
    raise InvalidInput(f"state {state!r} is not one of "
                       f"{', '.join(s.value for s in ConsentState)}", field="state")


def calculate_consent_state(consent: Consent, stored: ConsentState, now: int) -> ConsentState:
    """The state as of ``now``: REVOKED stays; past the window anything else is EXPIRED."""
    if stored is ConsentState.REVOKED or now < consent.valid_until:
        return stored
    return ConsentState.EXPIRED


def apply_consent_action(consent: Consent, stored: ConsentState, action: ConsentAction | str,
                         now: int) -> ConsentState:
    """The stored state after ``action``; IllegalTransition if the state does not allow it."""
    if validate_consent_state(stored) is ConsentState.EXPIRED:
        raise InvalidInput("EXPIRED is derived from the window; store ACTIVE, PAUSED or "
                           "REVOKED", field="state")
    if not (isinstance(action, str) and action in set(ConsentAction)):
        raise InvalidInput(f"action {action!r} is not one of "
                           f"{', '.join(a.value for a in ConsentAction)}", field="action")
    state = calculate_consent_state(consent, ConsentState(stored), validate_unix_time(now, "now"))
    after = TRANSITIONS.get((state, ConsentAction(action)))
    if after is None:
        allowed = [a.value for (s, a) in TRANSITIONS if s is state]
        options = f"allowed: {', '.join(allowed)}" if allowed else "it is final"
        raise IllegalTransition(f"cannot {action} consent {consent.consent_id}: it is "
                                f"{state.value}; {options}", field="action")
    return after


def evaluate_query(consent_doc: Mapping[str, Any], state: ConsentState, uses_so_far: int, *,
                   bank: str, purpose: str, scopes: Sequence[str], now: int) -> Decision:
    """May ``bank`` query the grantor's records in ``scopes`` for ``purpose`` at ``now``?

    The subject queried is always the consent's grantor. Checks run in this fixed order
    and the first failure is the reason (``REASONS``):

    1. ``wrong_grantee`` — a bank not named learns nothing more about the consent;
    2. ``revoked``, 3. ``expired``, 4. ``not_yet_valid``, 5. ``exhausted`` — the consent
       itself cannot answer now; final states come first, so a bank is never told to fix
       a request that would fail anyway;
    6. ``paused`` — the enterprise may resume it;
    7. ``purpose_mismatch``, 8. ``scope_not_consented`` — the request does not fit the
       terms; the bank can ask again within them.

    The signature is checked once, when the consent is registered and its digest
    anchored (``verify_consent_signature``). A malformed request raises InvalidInput.
    """
    consent = parse_consent(consent_doc)
    requester = validate_usci(bank, "bank")
    asked_purpose = validate_purpose(purpose)
    asked_scopes = validate_scopes(scopes)
    time = validate_unix_time(now, "now")
    if not isinstance(uses_so_far, int) or isinstance(uses_so_far, bool) or uses_so_far < 0:
        raise InvalidInput("uses_so_far must be a non-negative integer", field="usesSoFar")
    current = calculate_consent_state(consent, validate_consent_state(state), time)
    cid = consent.consent_id
    if requester != consent.grantee:
        return _refuse(WRONG_GRANTEE, f"consent {cid} was not granted to {requester}")
    if current is ConsentState.REVOKED:
        return _refuse(REVOKED, f"consent {cid} was revoked by the enterprise")
    if current is ConsentState.EXPIRED:
        return _refuse(EXPIRED, f"consent {cid} expired at {datetime_text(consent.valid_until)}")
    if time < consent.valid_from:
        return _refuse(NOT_YET_VALID, f"consent {cid} is valid from "
                                      f"{datetime_text(consent.valid_from)}")
    if uses_so_far >= consent.max_uses:
        return _refuse(EXHAUSTED, f"consent {cid} allowed {consent.max_uses} queries; all are "
                                  "used: ask the enterprise for a new consent")
    if current is ConsentState.PAUSED:
        return _refuse(PAUSED, f"consent {cid} is paused by the enterprise")
    if asked_purpose != consent.purpose:
        return _refuse(PURPOSE_MISMATCH, f"consent {cid} is for {consent.purpose}, not "
                                         f"{asked_purpose}")
    missing = [code for code in asked_scopes if code not in consent.scopes]
    if missing:
        return _refuse(SCOPE_NOT_CONSENTED, f"scope {missing[0]} is not consented (consented: "
                                            f"{', '.join(consent.scopes)}); not consented: "
                                            f"{', '.join(missing)}")
    left = consent.max_uses - uses_so_far - 1
    return Decision(True, None, f"allowed under consent {cid}; {left} uses left")


def _refuse(reason: str, message: str) -> Decision:
    return Decision(False, reason, message)
