"""Signed changes to a consent: the enterprise pauses, resumes or revokes it.

A change is a small JSON document — consent id, action, time, nonce — signed by the
grantor with eddsa-jcs-2022, so the platform can show that every state change came from
the enterprise, never from the bank or the platform itself. A captured change must not
work twice or late: ``verify_consent_change`` refuses one whose time is more than
``MAX_SKEW`` seconds from the verifier's clock, or whose nonce was already used.

The checks run cheapest first, as request authentication does: format, consent id,
clock skew, signature, then the nonce — only after the signature, or anyone could burn
an enterprise's nonces in advance. A nonce needs remembering only ``2 * MAX_SKEW``
seconds: after that the skew check refuses the change anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NoReturn

from credit_ledger.consent import (
    ConsentAction,
    parse_consent,
    validate_signer_method,
)
from license_registry.data_integrity import create_proof, proof_of, verify_proof
from license_registry.errors import (
    Conflict,
    Forbidden,
    FormatError,
    InvalidInput,
    LicenseError,
)
from license_registry.license_types import validate_unix_time
from license_registry.presented import UUID_URN, datetime_text, parse_datetime_text

CHANGE_CONTEXT = "https://citychain.example/contexts/credit-consent/v1"
CHANGE_TYPE = "CreditQueryConsentChange"
CHANGE_KEYS = ("@context", "type", "consentId", "action", "time", "nonce")
MAX_SKEW = 300  # seconds between the change's time and the verifier's clock
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the shape signed API requests use


@dataclass(frozen=True)
class ConsentChange:
    consent_id: str
    action: ConsentAction
    time: int
    nonce: str
    verification_method: str | None = None  # set when read from a signed document


def validate_nonce(nonce: object) -> str:
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce):
        raise InvalidInput("nonce must be 16-64 characters of [A-Za-z0-9_-] (random, used "
                           "once)", field="nonce")
    return nonce


def validate_action(action: object) -> ConsentAction:
    if isinstance(action, str) and action in set(ConsentAction):
        return ConsentAction(action)
    raise InvalidInput(f"action {action!r} is not one of "
                       f"{', '.join(a.value for a in ConsentAction)}", field="action")


def build_consent_change(*, consent_id: str, action: ConsentAction | str, time: int,
                         nonce: str) -> dict[str, Any]:
    """The unsigned change document; InvalidInput naming the field at fault."""
    if not isinstance(consent_id, str) or not UUID_URN.fullmatch(consent_id):
        raise InvalidInput("consentId must be urn:uuid: and a lowercase UUID",
                           field="consentId")
    return {
        "@context": [CHANGE_CONTEXT],
        "type": CHANGE_TYPE,
        "consentId": consent_id,
        "action": validate_action(action).value,
        "time": datetime_text(validate_unix_time(time, "time")),
        "nonce": validate_nonce(nonce),
    }


def sign_consent_change(change: Mapping[str, Any], consent: Mapping[str, Any],
                        enterprise_seed: bytes, verification_method: str) -> dict[str, Any]:
    """The change signed by the consent's grantor (the method must be a grantor key)."""
    parsed = parse_consent_change(change)
    terms = parse_consent(consent)
    if parsed.consent_id != terms.consent_id:
        raise InvalidInput(f"the change is for consent {parsed.consent_id}, not "
                           f"{terms.consent_id}", field="consentId")
    if "proof" in change:
        raise InvalidInput("the change is already signed", field="proof")
    validate_signer_method(verification_method, terms.grantor)
    return create_proof(change, enterprise_seed, verification_method,
                        datetime_text(parsed.time))


def parse_consent_change(doc: object) -> ConsentChange:
    """Strictly read a change document; FormatError ``bad_consent_change`` naming the field."""
    if not isinstance(doc, Mapping):
        _fail_format("change", "must be a JSON object")
    for key in CHANGE_KEYS:
        if key not in doc:
            _fail_format(key, "is missing")
    unknown = sorted(str(k) for k in doc if k not in CHANGE_KEYS and k != "proof")
    if unknown:
        _fail_format(unknown[0], "is not a field of a consent change")
    if doc["@context"] != [CHANGE_CONTEXT] or doc["type"] != CHANGE_TYPE:
        _fail_format("type", f"must be {CHANGE_TYPE!r} with @context [{CHANGE_CONTEXT!r}]")
    try:
        time = parse_datetime_text(doc["time"])
    except FormatError as error:
        _fail_format("time", error.message)
    try:
        build_consent_change(consent_id=doc["consentId"], action=doc["action"], time=time,
                             nonce=doc["nonce"])
    except LicenseError as error:
        _fail_format(error.field or "change", error.message)
    method = None
    if "proof" in doc:
        method = str(proof_of(doc)["verificationMethod"])
    return ConsentChange(doc["consentId"], ConsentAction(doc["action"]), time, doc["nonce"],
                         method)


def _fail_format(field: str, message: str) -> NoReturn:
    raise FormatError(f"consent change field {field}: {message}", field=field,
                      code="bad_consent_change")


def verify_consent_change(change: Mapping[str, Any], enterprise_public_key: bytes,
                          consent: Mapping[str, Any], now: int, *,
                          seen_nonces: AbstractSet[str]) -> ConsentChange:
    """The change, if the grantor signed it just now and never sent it before.

    Raises FormatError (malformed), InvalidInput ``wrong_consent`` or ``stale_change``,
    Forbidden ``signature_invalid`` and Conflict ``replayed_change``. The caller records
    the nonce once the change is applied (``apply_consent_action``).
    """
    parsed = parse_consent_change(change)
    terms = parse_consent(consent)
    time = validate_unix_time(now, "now")
    if parsed.consent_id != terms.consent_id:
        raise InvalidInput(f"the change is for consent {parsed.consent_id}, not "
                           f"{terms.consent_id}", field="consentId", code="wrong_consent")
    drift = parsed.time - time
    if abs(drift) > MAX_SKEW:
        direction = "ahead of" if drift > 0 else "behind"
        raise InvalidInput(f"the change's time is {abs(drift)} s {direction} the platform's "
                           f"clock; at most {MAX_SKEW} s is accepted: sign it again now",
                           field="time", code="stale_change")
    if parsed.verification_method is None:
        raise Forbidden("the change is not signed by the enterprise", field="proof",
                        code="signature_invalid")
    try:
        validate_signer_method(parsed.verification_method, terms.grantor)
    except InvalidInput as error:
        raise Forbidden(error.message, field="proof", code="signature_invalid") from None
    if not verify_proof(change, enterprise_public_key):
        raise Forbidden(f"the change's signature does not verify with the key of "
                        f"{terms.grantor}", field="proof", code="signature_invalid")
    if parsed.nonce in seen_nonces:
        raise Conflict("this change was already received (its nonce is used); sign a new "
                       "one with a fresh nonce", field="nonce", code="replayed_change")
    return parsed
