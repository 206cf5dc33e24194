"""The consent artefact: building, signing, digest, strict reading, state transitions."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from credit_ledger.consent import (
    TRANSITIONS,
    ConsentAction,
    ConsentState,
    apply_consent_action,
    build_consent,
    calculate_consent_state,
    consent_digest,
    evaluate_query,
    parse_consent,
    sign_consent,
    verify_consent_signature,
)
from license_registry.data_integrity import create_proof
from license_registry.errors import FormatError, IllegalTransition, InvalidInput
from license_registry.jcs import canonicalize
from license_registry.keys import public_key_of
from tests.credit_ledger.samples import (
    BANK,
    DAY,
    ENTERPRISE,
    ENTERPRISE_KEY,
    ENTERPRISE_METHOD,
    ENTERPRISE_SEED,
    PLATFORM_SEED,
    T0,
)

CONSENT_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c2"
TERMS: dict[str, Any] = {
    "consent_id": CONSENT_ID, "grantor": ENTERPRISE, "grantee": BANK,
    "purpose": "CREDIT_LINE_REVIEW", "scopes": ["CR-TAX", "CR-PEN", "CR-RAT"],
    "valid_from": T0, "valid_until": T0 + 90 * DAY, "max_uses": 12, "created": T0 - 60,
}
UNSIGNED = build_consent(**TERMS)
SIGNED = sign_consent(UNSIGNED, ENTERPRISE_SEED, ENTERPRISE_METHOD)


def test_document_shape() -> None:
    assert UNSIGNED == {
        "@context": ["https://citychain.example/contexts/credit-consent/v1"],
        "type": "CreditQueryConsent", "id": CONSENT_ID, "grantor": ENTERPRISE, "grantee": BANK,
        "purpose": "CREDIT_LINE_REVIEW", "scopes": ["CR-PEN", "CR-RAT", "CR-TAX"],
        "validFrom": "2025-01-01T00:00:00Z", "validUntil": "2025-04-01T00:00:00Z",
        "maxUses": 12, "created": "2024-12-31T23:59:00Z",
    }
    proof = SIGNED["proof"]
    assert (proof["cryptosuite"], proof["verificationMethod"], proof["created"]) == (
        "eddsa-jcs-2022", ENTERPRISE_METHOD, "2024-12-31T23:59:00Z")


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"consent_id": "consent-1"}, "id", "urn:uuid"),
    ({"grantor": "91350100M000100Y4"}, "grantor", "18 characters"),
    ({"grantee": "91110000600037341I"}, "grantee", "'I' at position 18"),
    ({"grantee": ENTERPRISE}, "grantee", "not the grantor itself"),
    ({"purpose": "MARKETING"}, "purpose", "not a purpose code"),
    ({"scopes": []}, "scopes", "non-empty list"),
    ({"scopes": "CR-RAT"}, "scopes", "non-empty list"),
    ({"scopes": ["CR-RAT", "CR-RAT"]}, "scopes", "twice"),
    ({"scopes": ["CR-RAT", "CR-XXX"]}, "scopes[1]", "not a credit record type"),
    ({"valid_until": T0}, "validUntil", "must be after validFrom"),
    ({"valid_until": T0 + 366 * DAY + 1}, "validUntil", "at most one year"),
    ({"valid_from": -5}, "validFrom", "unix seconds"),
    ({"max_uses": 0}, "maxUses", "1-1000"),
    ({"max_uses": 1001}, "maxUses", "1-1000"),
    ({"max_uses": True}, "maxUses", "1-1000"),
    ({"max_uses": "5"}, "maxUses", "1-1000"),
    ({"created": T0 + 90 * DAY}, "created", "never be usable"),
])
def test_build_names_the_field(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_consent(**{**TERMS, **change})
    assert caught.value.field == field
    assert words in caught.value.message


def test_window_of_a_leap_year_and_limits_are_allowed() -> None:
    consent = build_consent(**{**TERMS, "valid_until": T0 + 366 * DAY, "max_uses": 1000})
    assert (consent["validUntil"], consent["maxUses"]) == ("2026-01-02T00:00:00Z", 1000)
    assert build_consent(**{**TERMS, "max_uses": 1})["maxUses"] == 1


def test_signature_verifies() -> None:
    assert verify_consent_signature(SIGNED, ENTERPRISE_KEY) is True


def test_forged_signature_is_refused() -> None:
    forged = create_proof(UNSIGNED, PLATFORM_SEED, ENTERPRISE_METHOD, "2025-01-01T00:00:00Z")
    assert verify_consent_signature(forged, ENTERPRISE_KEY) is False
    assert verify_consent_signature(SIGNED, public_key_of(PLATFORM_SEED)) is False


@pytest.mark.parametrize(("field", "value"), [
    ("maxUses", 1000), ("grantee", "91310000100000002D"), ("scopes", ["CR-PEN", "CR-RAT"]),
    ("validUntil", "2025-04-02T00:00:00Z"), ("purpose", "GUARANTEE"),
])
def test_altered_terms_break_the_signature(field: str, value: Any) -> None:
    assert verify_consent_signature({**SIGNED, field: value}, ENTERPRISE_KEY) is False


def test_a_key_of_someone_else_does_not_speak_for_the_grantor() -> None:
    method = f"did:citychain:{BANK}#0102030405060708"
    with pytest.raises(InvalidInput) as caught:
        sign_consent(UNSIGNED, ENTERPRISE_SEED, method)
    assert caught.value.field == "verificationMethod"
    by_bank = create_proof(UNSIGNED, ENTERPRISE_SEED, method, "2025-01-01T00:00:00Z")
    assert verify_consent_signature(by_bank, ENTERPRISE_KEY) is False


def test_signing_twice_is_refused() -> None:
    with pytest.raises(InvalidInput):
        sign_consent(SIGNED, ENTERPRISE_SEED, ENTERPRISE_METHOD)


def test_digest_is_of_the_signed_document() -> None:
    assert consent_digest(SIGNED) == hashlib.sha256(canonicalize(SIGNED)).digest()
    assert consent_digest(SIGNED) != consent_digest({**SIGNED, "maxUses": 13})
    with pytest.raises(FormatError) as caught:
        consent_digest(UNSIGNED)
    assert caught.value.code == "missing_proof"


def consent_with(**change: Any) -> dict[str, Any]:
    document = copy.deepcopy(SIGNED)
    for key, value in change.items():
        if value is KeyError:
            del document[key.replace("_", "@", 1) if key == "_context" else key]
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(("document", "field"), [
    ("not a consent", "consent"),
    (consent_with(note="x"), "note"),
    (consent_with(_context=KeyError), "@context"),
    (consent_with(type="Consent"), "type"),
    (consent_with(validFrom=T0), "validFrom"),
    (consent_with(validUntil="2025-04-01 00:00:00"), "validUntil"),
    (consent_with(created=KeyError), "created"),
    (consent_with(maxUses=None), "maxUses"),
    (consent_with(scopes=["CR-PEN", "CR-PEN"]), "scopes"),
    (consent_with(grantor="x"), "grantor"),
    (consent_with(grantor=ENTERPRISE.lower()), "grantor"),
    (consent_with(scopes=["CR-TAX", "CR-PEN", "CR-RAT"]), "scopes"),
])
def test_reading_names_the_field(document: Any, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_consent(document)
    assert (caught.value.code, caught.value.field) == ("bad_consent", field)


def test_reading_gives_the_terms() -> None:
    consent = parse_consent(SIGNED)
    assert (consent.scopes, consent.valid_from, consent.valid_until, consent.created) == (
        ("CR-PEN", "CR-RAT", "CR-TAX"), T0, T0 + 90 * DAY, T0 - 60)


STATES = [ConsentState.ACTIVE, ConsentState.PAUSED, ConsentState.REVOKED]
# (stored state, before/after the window) x action -> stored state afterwards, or None.
EXPECTED_TRANSITIONS = {
    (ConsentState.ACTIVE, "in", ConsentAction.PAUSE): ConsentState.PAUSED,
    (ConsentState.ACTIVE, "in", ConsentAction.RESUME): None,
    (ConsentState.ACTIVE, "in", ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.PAUSED, "in", ConsentAction.PAUSE): None,
    (ConsentState.PAUSED, "in", ConsentAction.RESUME): ConsentState.ACTIVE,
    (ConsentState.PAUSED, "in", ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.REVOKED, "in", ConsentAction.PAUSE): None,
    (ConsentState.REVOKED, "in", ConsentAction.RESUME): None,
    (ConsentState.REVOKED, "in", ConsentAction.REVOKE): None,
    # Past the window ACTIVE and PAUSED read as EXPIRED: only revocation is recorded.
    (ConsentState.ACTIVE, "after", ConsentAction.PAUSE): None,
    (ConsentState.ACTIVE, "after", ConsentAction.RESUME): None,
    (ConsentState.ACTIVE, "after", ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.PAUSED, "after", ConsentAction.PAUSE): None,
    (ConsentState.PAUSED, "after", ConsentAction.RESUME): None,
    (ConsentState.PAUSED, "after", ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.REVOKED, "after", ConsentAction.PAUSE): None,
    (ConsentState.REVOKED, "after", ConsentAction.RESUME): None,
    (ConsentState.REVOKED, "after", ConsentAction.REVOKE): None,
}
NOW = {"in": T0 + DAY, "after": T0 + 90 * DAY}


@pytest.mark.parametrize(("stored", "window", "action"), list(EXPECTED_TRANSITIONS))
def test_every_state_against_every_action(stored: ConsentState, window: str,
                                          action: ConsentAction) -> None:
    expected = EXPECTED_TRANSITIONS[(stored, window, action)]
    consent = parse_consent(SIGNED)
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            apply_consent_action(consent, stored, action, NOW[window])
        assert caught.value.field == "action"
    else:
        assert apply_consent_action(consent, stored, action, NOW[window]) is expected


def test_transition_table_and_messages() -> None:
    assert len(TRANSITIONS) == 5
    consent = parse_consent(SIGNED)
    with pytest.raises(IllegalTransition) as caught:
        apply_consent_action(consent, ConsentState.REVOKED, "resume", T0)
    assert caught.value.message == f"cannot resume consent {CONSENT_ID}: it is REVOKED; it is final"
    with pytest.raises(IllegalTransition) as caught:
        apply_consent_action(consent, ConsentState.ACTIVE, "resume", T0)
    assert caught.value.message.endswith("it is ACTIVE; allowed: pause, revoke")
    with pytest.raises(InvalidInput):
        apply_consent_action(consent, ConsentState.EXPIRED, "revoke", T0)
    with pytest.raises(InvalidInput):
        apply_consent_action(consent, ConsentState.ACTIVE, "delete", T0)


@pytest.mark.parametrize(("stored", "now", "expected"), [
    (ConsentState.ACTIVE, T0 - 1, ConsentState.ACTIVE),
    (ConsentState.ACTIVE, T0 + 90 * DAY - 1, ConsentState.ACTIVE),
    (ConsentState.ACTIVE, T0 + 90 * DAY, ConsentState.EXPIRED),
    (ConsentState.PAUSED, T0 + 90 * DAY, ConsentState.EXPIRED),
    (ConsentState.REVOKED, T0 + 90 * DAY, ConsentState.REVOKED),
])
def test_expiry_is_derived_from_time(stored: ConsentState, now: int,
                                     expected: ConsentState) -> None:
    assert calculate_consent_state(parse_consent(SIGNED), stored, now) is expected


@pytest.mark.parametrize(("change", "field"), [
    ({"bank": "not-a-usci"}, "bank"),
    ({"purpose": "MARKETING"}, "purpose"),
    ({"scopes": []}, "scopes"),
    ({"scopes": ["CR-RAT", "CR-RAT"]}, "scopes"),
    ({"scopes": ["CR-ZZZ"]}, "scopes[0]"),
    ({"now": -1}, "now"),
    ({"uses_so_far": -1}, "usesSoFar"),
    ({"state": "SUSPENDED"}, "state"),
])
def test_a_malformed_query_is_an_error_not_a_decision(change: dict[str, Any],
                                                      field: str) -> None:
    arguments: dict[str, Any] = {"state": ConsentState.ACTIVE, "uses_so_far": 0, "bank": BANK,
                                 "purpose": "CREDIT_LINE_REVIEW", "scopes": ["CR-RAT"],
                                 "now": T0 + DAY, **change}
    state, uses = arguments.pop("state"), arguments.pop("uses_so_far")
    with pytest.raises(InvalidInput) as caught:
        evaluate_query(SIGNED, state, uses, **arguments)
    assert caught.value.field == field
