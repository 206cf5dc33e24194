"""Signed consent changes: only the grantor, only now, only once."""

from __future__ import annotations

from typing import Any

import pytest

from credit_ledger.consent import ConsentAction, build_consent, sign_consent
from credit_ledger.consent_changes import (
    MAX_SKEW,
    ConsentChange,
    build_consent_change,
    parse_consent_change,
    sign_consent_change,
    verify_consent_change,
)
from license_registry.data_integrity import create_proof
from license_registry.errors import (
    Conflict,
    Forbidden,
    FormatError,
    InvalidInput,
    LicenseError,
)
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

CONSENT_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c3"
OTHER_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c4"
CONSENT = sign_consent(build_consent(
    consent_id=CONSENT_ID, grantor=ENTERPRISE, grantee=BANK, purpose="GUARANTEE",
    scopes=["CR-JUD"], valid_from=T0, valid_until=T0 + 30 * DAY, max_uses=3, created=T0),
    ENTERPRISE_SEED, ENTERPRISE_METHOD)
NONCE = "n0nce-0123456789abcdef"
CHANGE_TIME = T0 + DAY
UNSIGNED = build_consent_change(consent_id=CONSENT_ID, action="pause", time=CHANGE_TIME,
                                nonce=NONCE)
SIGNED = sign_consent_change(UNSIGNED, CONSENT, ENTERPRISE_SEED, ENTERPRISE_METHOD)


def verify(change: dict[str, Any], *, now: int = CHANGE_TIME, key: bytes = ENTERPRISE_KEY,
           seen: frozenset[str] = frozenset()) -> ConsentChange:
    return verify_consent_change(change, key, CONSENT, now, seen_nonces=seen)


def test_document_and_verification() -> None:
    assert UNSIGNED == {
        "@context": ["https://citychain.example/contexts/credit-consent/v1"],
        "type": "CreditQueryConsentChange", "consentId": CONSENT_ID, "action": "pause",
        "time": "2025-01-02T00:00:00Z", "nonce": NONCE}
    assert verify(SIGNED) == ConsentChange(CONSENT_ID, ConsentAction.PAUSE, CHANGE_TIME, NONCE,
                                           ENTERPRISE_METHOD)


@pytest.mark.parametrize("now", [CHANGE_TIME - MAX_SKEW, CHANGE_TIME + MAX_SKEW])
def test_skew_up_to_the_limit_is_accepted(now: int) -> None:
    assert verify(SIGNED, now=now).action is ConsentAction.PAUSE


def signed_by(seed: bytes, method: str = ENTERPRISE_METHOD, **change: Any) -> dict[str, Any]:
    return create_proof({**UNSIGNED, **change}, seed, method, "2025-01-02T00:00:00Z")


# (change document, verifier's clock, nonces already seen) -> error class, code, field.
REFUSALS: list[tuple[str, dict[str, Any], int, frozenset[str], type[LicenseError], str, str]] = [
    ("stale", SIGNED, CHANGE_TIME + MAX_SKEW + 1, frozenset(), InvalidInput, "stale_change",
     "time"),
    ("from the future", SIGNED, CHANGE_TIME - MAX_SKEW - 1, frozenset(), InvalidInput,
     "stale_change", "time"),
    ("replayed", SIGNED, CHANGE_TIME, frozenset({NONCE}), Conflict, "replayed_change", "nonce"),
    ("forged", signed_by(PLATFORM_SEED), CHANGE_TIME, frozenset(), Forbidden,
     "signature_invalid", "proof"),
    ("action altered", {**SIGNED, "action": "revoke"}, CHANGE_TIME, frozenset(), Forbidden,
     "signature_invalid", "proof"),
    ("nonce altered", {**SIGNED, "nonce": "another-nonce-0123"}, CHANGE_TIME, frozenset(),
     Forbidden, "signature_invalid", "proof"),
    ("unsigned", UNSIGNED, CHANGE_TIME, frozenset(), Forbidden, "signature_invalid", "proof"),
    ("signed by the bank's key", signed_by(ENTERPRISE_SEED, f"did:citychain:{BANK}#01"),
     CHANGE_TIME, frozenset(), Forbidden, "signature_invalid", "proof"),
    ("another consent", signed_by(ENTERPRISE_SEED, consentId=OTHER_ID), CHANGE_TIME,
     frozenset(), InvalidInput, "wrong_consent", "consentId"),
    # Cheap checks first: a stale forgery is stale; a replayed forgery is a forgery (the
    # nonce is looked at only after the signature, or anyone could burn nonces).
    ("stale and forged", signed_by(PLATFORM_SEED), CHANGE_TIME + 10 * DAY, frozenset(),
     InvalidInput, "stale_change", "time"),
    ("replayed and forged", signed_by(PLATFORM_SEED), CHANGE_TIME, frozenset({NONCE}),
     Forbidden, "signature_invalid", "proof"),
]


@pytest.mark.parametrize(("case", "change", "now", "seen", "error", "code", "field"), REFUSALS,
                         ids=[row[0] for row in REFUSALS])
def test_refusals(case: str, change: dict[str, Any], now: int, seen: frozenset[str],
                  error: type[LicenseError], code: str, field: str) -> None:
    with pytest.raises(error) as caught:
        verify(change, now=now, seen=seen)
    assert (type(caught.value), caught.value.code, caught.value.field) == (error, code, field)


def test_a_key_other_than_the_grantors_fails() -> None:
    with pytest.raises(Forbidden):
        verify(SIGNED, key=public_key_of(PLATFORM_SEED))


def test_stale_message_says_what_to_do() -> None:
    with pytest.raises(InvalidInput) as caught:
        verify(SIGNED, now=CHANGE_TIME + 1000)
    assert caught.value.message == ("the change's time is 1000 s behind the platform's clock; "
                                     "at most 300 s is accepted: sign it again now")


@pytest.mark.parametrize(("arguments", "field"), [
    ({"consent_id": "c-1"}, "consentId"),
    ({"action": "delete"}, "action"),
    ({"time": -1}, "time"),
    ({"nonce": "short"}, "nonce"),
    ({"nonce": "has spaces in it 0123"}, "nonce"),
    ({"nonce": "x" * 65}, "nonce"),
])
def test_build_names_the_field(arguments: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"consent_id": CONSENT_ID, "action": "resume",
                            "time": CHANGE_TIME, "nonce": NONCE}
    with pytest.raises(InvalidInput) as caught:
        build_consent_change(**{**base, **arguments})
    assert caught.value.field == field


@pytest.mark.parametrize(("document", "field"), [
    ([], "change"),
    ({k: v for k, v in UNSIGNED.items() if k != "nonce"}, "nonce"),
    ({**UNSIGNED, "reason": "x"}, "reason"),
    ({**UNSIGNED, "type": "Change"}, "type"),
    ({**UNSIGNED, "time": CHANGE_TIME}, "time"),
    ({**UNSIGNED, "action": "PAUSE"}, "action"),
])
def test_reading_names_the_field(document: Any, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_consent_change(document)
    assert (caught.value.code, caught.value.field) == ("bad_consent_change", field)


def test_signing_checks_consent_and_signer() -> None:
    other = build_consent_change(consent_id=OTHER_ID, action="revoke", time=CHANGE_TIME,
                                 nonce=NONCE)
    with pytest.raises(InvalidInput) as caught:
        sign_consent_change(other, CONSENT, ENTERPRISE_SEED, ENTERPRISE_METHOD)
    assert caught.value.field == "consentId"
    with pytest.raises(InvalidInput) as caught:
        sign_consent_change(UNSIGNED, CONSENT, ENTERPRISE_SEED, f"did:citychain:{BANK}#01")
    assert caught.value.field == "verificationMethod"
    with pytest.raises(InvalidInput) as caught:
        sign_consent_change(SIGNED, CONSENT, ENTERPRISE_SEED, ENTERPRISE_METHOD)
    assert caught.value.field == "proof"
