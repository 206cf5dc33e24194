"""The consent decision matrix, in pure form: the reference the HTTP matrix mirrors.

Every stored state x requested scope (consented or not) x purpose (matching or not) x
time (before, in, after the window) x uses (under or at the maximum) -> the exact
decision. Reasons come from the first failing check in the documented order:
wrong_grantee, revoked, expired, not_yet_valid, exhausted, paused, purpose_mismatch,
scope_not_consented.
"""

from __future__ import annotations

from typing import Any

import pytest

from credit_ledger.consent import REASONS, ConsentState, build_consent, evaluate_query
from tests.credit_ledger.samples import BANK, DAY, ENTERPRISE, OTHER_BANK, T0

CONSENT_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c1"
CONSENT = build_consent(
    consent_id=CONSENT_ID, grantor=ENTERPRISE, grantee=BANK, purpose="LOAN_APPLICATION",
    scopes=["CR-RAT", "CR-TAX"], valid_from=T0 + DAY, valid_until=T0 + 31 * DAY, max_uses=5,
    created=T0)

SCOPES = {"in": ["CR-RAT"], "out": ["CR-RAT", "CR-PEN"]}
PURPOSES = {"match": "LOAN_APPLICATION", "mismatch": "GUARANTEE"}
TIMES = {"before": T0, "in": T0 + 10 * DAY, "after": T0 + 31 * DAY}  # after: the end itself
USES = {"under": 4, "at_max": 5}
ALLOWED = None

# (stored state, scope, purpose, window, uses, reason — ALLOWED when the query is answered)
CONSENT_MATRIX: list[tuple[str, str, str, str, str, str | None]] = [
    ("ACTIVE",  "in",  "match",    "before", "under",  "not_yet_valid"),
    ("ACTIVE",  "in",  "match",    "before", "at_max", "not_yet_valid"),
    ("ACTIVE",  "in",  "match",    "in",     "under",  ALLOWED),
    ("ACTIVE",  "in",  "match",    "in",     "at_max", "exhausted"),
    ("ACTIVE",  "in",  "match",    "after",  "under",  "expired"),
    ("ACTIVE",  "in",  "match",    "after",  "at_max", "expired"),
    ("ACTIVE",  "in",  "mismatch", "before", "under",  "not_yet_valid"),
    ("ACTIVE",  "in",  "mismatch", "before", "at_max", "not_yet_valid"),
    ("ACTIVE",  "in",  "mismatch", "in",     "under",  "purpose_mismatch"),
    ("ACTIVE",  "in",  "mismatch", "in",     "at_max", "exhausted"),
    ("ACTIVE",  "in",  "mismatch", "after",  "under",  "expired"),
    ("ACTIVE",  "in",  "mismatch", "after",  "at_max", "expired"),
    ("ACTIVE",  "out", "match",    "before", "under",  "not_yet_valid"),
    ("ACTIVE",  "out", "match",    "before", "at_max", "not_yet_valid"),
    ("ACTIVE",  "out", "match",    "in",     "under",  "scope_not_consented"),
    ("ACTIVE",  "out", "match",    "in",     "at_max", "exhausted"),
    ("ACTIVE",  "out", "match",    "after",  "under",  "expired"),
    ("ACTIVE",  "out", "match",    "after",  "at_max", "expired"),
    ("ACTIVE",  "out", "mismatch", "before", "under",  "not_yet_valid"),
    ("ACTIVE",  "out", "mismatch", "before", "at_max", "not_yet_valid"),
    ("ACTIVE",  "out", "mismatch", "in",     "under",  "purpose_mismatch"),
    ("ACTIVE",  "out", "mismatch", "in",     "at_max", "exhausted"),
    ("ACTIVE",  "out", "mismatch", "after",  "under",  "expired"),
    ("ACTIVE",  "out", "mismatch", "after",  "at_max", "expired"),
    ("PAUSED",  "in",  "match",    "before", "under",  "not_yet_valid"),
    ("PAUSED",  "in",  "match",    "before", "at_max", "not_yet_valid"),
    ("PAUSED",  "in",  "match",    "in",     "under",  "paused"),
    ("PAUSED",  "in",  "match",    "in",     "at_max", "exhausted"),
    ("PAUSED",  "in",  "match",    "after",  "under",  "expired"),
    ("PAUSED",  "in",  "match",    "after",  "at_max", "expired"),
    ("PAUSED",  "in",  "mismatch", "before", "under",  "not_yet_valid"),
    ("PAUSED",  "in",  "mismatch", "before", "at_max", "not_yet_valid"),
    ("PAUSED",  "in",  "mismatch", "in",     "under",  "paused"),
    ("PAUSED",  "in",  "mismatch", "in",     "at_max", "exhausted"),
    ("PAUSED",  "in",  "mismatch", "after",  "under",  "expired"),
    ("PAUSED",  "in",  "mismatch", "after",  "at_max", "expired"),
    ("PAUSED",  "out", "match",    "before", "under",  "not_yet_valid"),
    ("PAUSED",  "out", "match",    "before", "at_max", "not_yet_valid"),
    ("PAUSED",  "out", "match",    "in",     "under",  "paused"),
    ("PAUSED",  "out", "match",    "in",     "at_max", "exhausted"),
    ("PAUSED",  "out", "match",    "after",  "under",  "expired"),
    ("PAUSED",  "out", "match",    "after",  "at_max", "expired"),
    ("PAUSED",  "out", "mismatch", "before", "under",  "not_yet_valid"),
    ("PAUSED",  "out", "mismatch", "before", "at_max", "not_yet_valid"),
    ("PAUSED",  "out", "mismatch", "in",     "under",  "paused"),
    ("PAUSED",  "out", "mismatch", "in",     "at_max", "exhausted"),
    ("PAUSED",  "out", "mismatch", "after",  "under",  "expired"),
    ("PAUSED",  "out", "mismatch", "after",  "at_max", "expired"),
    ("REVOKED", "in",  "match",    "before", "under",  "revoked"),
    ("REVOKED", "in",  "match",    "before", "at_max", "revoked"),
    ("REVOKED", "in",  "match",    "in",     "under",  "revoked"),
    ("REVOKED", "in",  "match",    "in",     "at_max", "revoked"),
    ("REVOKED", "in",  "match",    "after",  "under",  "revoked"),
    ("REVOKED", "in",  "match",    "after",  "at_max", "revoked"),
    ("REVOKED", "in",  "mismatch", "before", "under",  "revoked"),
    ("REVOKED", "in",  "mismatch", "before", "at_max", "revoked"),
    ("REVOKED", "in",  "mismatch", "in",     "under",  "revoked"),
    ("REVOKED", "in",  "mismatch", "in",     "at_max", "revoked"),
    ("REVOKED", "in",  "mismatch", "after",  "under",  "revoked"),
    ("REVOKED", "in",  "mismatch", "after",  "at_max", "revoked"),
    ("REVOKED", "out", "match",    "before", "under",  "revoked"),
    ("REVOKED", "out", "match",    "before", "at_max", "revoked"),
    ("REVOKED", "out", "match",    "in",     "under",  "revoked"),
    ("REVOKED", "out", "match",    "in",     "at_max", "revoked"),
    ("REVOKED", "out", "match",    "after",  "under",  "revoked"),
    ("REVOKED", "out", "match",    "after",  "at_max", "revoked"),
    ("REVOKED", "out", "mismatch", "before", "under",  "revoked"),
    ("REVOKED", "out", "mismatch", "before", "at_max", "revoked"),
    ("REVOKED", "out", "mismatch", "in",     "under",  "revoked"),
    ("REVOKED", "out", "mismatch", "in",     "at_max", "revoked"),
    ("REVOKED", "out", "mismatch", "after",  "under",  "revoked"),
    ("REVOKED", "out", "mismatch", "after",  "at_max", "revoked"),
    ("EXPIRED", "in",  "match",    "before", "under",  "expired"),
    ("EXPIRED", "in",  "match",    "before", "at_max", "expired"),
    ("EXPIRED", "in",  "match",    "in",     "under",  "expired"),
    ("EXPIRED", "in",  "match",    "in",     "at_max", "expired"),
    ("EXPIRED", "in",  "match",    "after",  "under",  "expired"),
    ("EXPIRED", "in",  "match",    "after",  "at_max", "expired"),
    ("EXPIRED", "in",  "mismatch", "before", "under",  "expired"),
    ("EXPIRED", "in",  "mismatch", "before", "at_max", "expired"),
    ("EXPIRED", "in",  "mismatch", "in",     "under",  "expired"),
    ("EXPIRED", "in",  "mismatch", "in",     "at_max", "expired"),
    ("EXPIRED", "in",  "mismatch", "after",  "under",  "expired"),
    ("EXPIRED", "in",  "mismatch", "after",  "at_max", "expired"),
    ("EXPIRED", "out", "match",    "before", "under",  "expired"),
    ("EXPIRED", "out", "match",    "before", "at_max", "expired"),
    ("EXPIRED", "out", "match",    "in",     "under",  "expired"),
    ("EXPIRED", "out", "match",    "in",     "at_max", "expired"),
    ("EXPIRED", "out", "match",    "after",  "under",  "expired"),
    ("EXPIRED", "out", "match",    "after",  "at_max", "expired"),
    ("EXPIRED", "out", "mismatch", "before", "under",  "expired"),
    ("EXPIRED", "out", "mismatch", "before", "at_max", "expired"),
    ("EXPIRED", "out", "mismatch", "in",     "under",  "expired"),
    ("EXPIRED", "out", "mismatch", "in",     "at_max", "expired"),
    ("EXPIRED", "out", "mismatch", "after",  "under",  "expired"),
    ("EXPIRED", "out", "mismatch", "after",  "at_max", "expired"),
]


def query(state: str, scope: str, purpose: str, window: str, uses: str,
          bank: str = BANK) -> Any:
    return evaluate_query(CONSENT, ConsentState(state), USES[uses], bank=bank,
                          purpose=PURPOSES[purpose], scopes=SCOPES[scope], now=TIMES[window])


def test_matrix_is_complete() -> None:
    assert len(CONSENT_MATRIX) == 4 * 2 * 2 * 3 * 2
    assert len({row[:5] for row in CONSENT_MATRIX}) == len(CONSENT_MATRIX)
    assert {row[5] for row in CONSENT_MATRIX} == {ALLOWED, *REASONS} - {"wrong_grantee"}


@pytest.mark.parametrize(("state", "scope", "purpose", "window", "uses", "reason"),
                         CONSENT_MATRIX)
def test_decision(state: str, scope: str, purpose: str, window: str, uses: str,
                  reason: str | None) -> None:
    decision = query(state, scope, purpose, window, uses)
    assert (decision.allowed, decision.reason) == (reason is ALLOWED, reason)


@pytest.mark.parametrize("state", list(ConsentState))
@pytest.mark.parametrize("window", list(TIMES))
def test_another_bank_learns_nothing_else(state: ConsentState, window: str) -> None:
    decision = query(state, "out", "mismatch", window, "at_max", bank=OTHER_BANK)
    assert (decision.allowed, decision.reason) == (False, "wrong_grantee")
    assert decision.message == f"consent {CONSENT_ID} was not granted to {OTHER_BANK}"


@pytest.mark.parametrize(("state", "scope", "purpose", "window", "uses", "message"), [
    ("ACTIVE", "in", "match", "in", "under", f"allowed under consent {CONSENT_ID}; 0 uses left"),
    ("ACTIVE", "out", "match", "in", "under",
     "scope CR-PEN is not consented (consented: CR-RAT, CR-TAX); not consented: CR-PEN"),
    ("ACTIVE", "in", "mismatch", "in", "under",
     f"consent {CONSENT_ID} is for LOAN_APPLICATION, not GUARANTEE"),
    ("ACTIVE", "in", "match", "after", "under",
     f"consent {CONSENT_ID} expired at 2025-02-01T00:00:00Z"),
    ("ACTIVE", "in", "match", "before", "under",
     f"consent {CONSENT_ID} is valid from 2025-01-02T00:00:00Z"),
    ("ACTIVE", "in", "match", "in", "at_max",
     f"consent {CONSENT_ID} allowed 5 queries; all are used: ask the enterprise for a new "
     "consent"),
    ("PAUSED", "in", "match", "in", "under", f"consent {CONSENT_ID} is paused by the enterprise"),
    ("REVOKED", "in", "match", "in", "under",
     f"consent {CONSENT_ID} was revoked by the enterprise"),
])
def test_messages_say_what_is_wrong(state: str, scope: str, purpose: str, window: str,
                                    uses: str, message: str) -> None:
    assert query(state, scope, purpose, window, uses).message == message


def test_window_edges() -> None:
    at_start = evaluate_query(CONSENT, ConsentState.ACTIVE, 0, bank=BANK,
                              purpose="LOAN_APPLICATION", scopes=["CR-TAX"], now=T0 + DAY)
    last_second = evaluate_query(CONSENT, ConsentState.ACTIVE, 0, bank=BANK,
                                 purpose="LOAN_APPLICATION", scopes=["CR-TAX"],
                                 now=T0 + 31 * DAY - 1)
    assert (at_start.allowed, last_second.allowed) == (True, True)
