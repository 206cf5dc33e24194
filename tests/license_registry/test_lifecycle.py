"""License lifecycle: every state against every action, reasons, renewal."""

from __future__ import annotations

import dataclasses

import pytest

from license_registry.errors import IllegalTransition, InvalidInput
from license_registry.lifecycle import (
    TRANSITIONS,
    Action,
    EventKind,
    LicenseRecord,
    LicenseState,
    LifecycleEvent,
    apply_action,
    calculate_state,
    is_allowed,
    issue_license,
    list_allowed_actions,
    reinstate_license,
    renew_license,
    revoke_license,
    suspend_license,
)

OLD = "urn:uuid:00000000-0000-4000-8000-000000000001"
NEW = "urn:uuid:00000000-0000-4000-8000-000000000002"
ISSUED, VALID_UNTIL, NOW = 1_000, 100_000, 50_000
ACTOR = "91110000600037341L/officer-7"


def record_in(state: LicenseState) -> LicenseRecord:
    """A record whose state as of NOW is ``state``."""
    if state is LicenseState.EXPIRED:
        return LicenseRecord(OLD, LicenseState.ACTIVE, ISSUED, NOW, ISSUED)
    return LicenseRecord(OLD, state, ISSUED, VALID_UNTIL, ISSUED)


def perform(record: LicenseRecord, action: Action, reason: str = "inspection found a fault",
            now: int = NOW) -> tuple[LicenseRecord, LifecycleEvent]:
    if action is Action.RENEW:
        renewal = renew_license(record, new_credential_id=NEW, new_valid_until=NOW + 10_000,
                                actor=ACTOR, reason=reason, now=now)
        return renewal.old, renewal.events[0]
    return apply_action(record, action, actor=ACTOR, reason=reason, now=now)


EXPECTED = {
    (LicenseState.ACTIVE, Action.SUSPEND): (LicenseState.SUSPENDED, EventKind.SUSPENDED),
    (LicenseState.ACTIVE, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
    (LicenseState.ACTIVE, Action.RENEW): (LicenseState.SUPERSEDED, EventKind.SUPERSEDED),
    (LicenseState.SUSPENDED, Action.REINSTATE): (LicenseState.ACTIVE, EventKind.REINSTATED),
    (LicenseState.SUSPENDED, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
    (LicenseState.EXPIRED, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
}
ALLOWED_TEXT = {
    LicenseState.ACTIVE: "allowed actions: suspend, revoke, renew",
    LicenseState.SUSPENDED: "allowed actions: reinstate, revoke",
    LicenseState.EXPIRED: "allowed actions: revoke",
    LicenseState.REVOKED: "it is final; no action is allowed",
    LicenseState.SUPERSEDED: "it is final; no action is allowed",
}
CASES = [(s, a) for s in LicenseState for a in Action]


def test_the_table_is_what_the_rules_say() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "action"), CASES, ids=lambda v: str(v))
def test_every_state_and_action(state: LicenseState, action: Action) -> None:
    record = record_in(state)
    assert calculate_state(record, NOW) is state
    if (state, action) in EXPECTED:
        new_state, kind = EXPECTED[(state, action)]
        updated, event = perform(record, action)
        assert updated.state is new_state
        assert updated.updated_at == NOW
        assert (event.credential_id, event.kind, event.actor, event.reason, event.time) == (
            OLD, kind, ACTOR, "inspection found a fault", NOW)
        assert is_allowed(state, action)
    else:
        with pytest.raises(IllegalTransition) as caught:
            perform(record, action)
        assert caught.value.message == (
            f"cannot {action.value} license {OLD}: it is {state.value}; {ALLOWED_TEXT[state]}")
        assert caught.value.code == "illegal_transition"
        assert not is_allowed(state, action)


def test_allowed_actions_per_state() -> None:
    assert list_allowed_actions(LicenseState.ACTIVE) == (
        Action.SUSPEND, Action.REVOKE, Action.RENEW)
    assert list_allowed_actions(LicenseState.REVOKED) == ()


@pytest.mark.parametrize(("stored", "now", "state"), [
    (LicenseState.ACTIVE, VALID_UNTIL - 1, LicenseState.ACTIVE),
    (LicenseState.ACTIVE, VALID_UNTIL, LicenseState.EXPIRED),  # valid_until is exclusive
    (LicenseState.ACTIVE, 0, LicenseState.ACTIVE),  # not yet valid is still ACTIVE
    (LicenseState.SUSPENDED, VALID_UNTIL, LicenseState.EXPIRED),
    (LicenseState.REVOKED, VALID_UNTIL + 1, LicenseState.REVOKED),
    (LicenseState.SUPERSEDED, VALID_UNTIL + 1, LicenseState.SUPERSEDED),
])
def test_expiry_is_derived_from_time(stored: LicenseState, now: int,
                                     state: LicenseState) -> None:
    record = LicenseRecord(OLD, stored, ISSUED, VALID_UNTIL, 0)
    assert calculate_state(record, now) is state


def test_suspending_an_expired_license_is_refused() -> None:
    record = LicenseRecord(OLD, LicenseState.ACTIVE, ISSUED, VALID_UNTIL, ISSUED)
    with pytest.raises(IllegalTransition, match="it is EXPIRED; allowed actions: revoke"):
        suspend_license(record, actor=ACTOR, reason="late", now=VALID_UNTIL)


def test_suspend_then_reinstate_then_revoke() -> None:
    record = record_in(LicenseState.ACTIVE)
    suspended, _ = suspend_license(record, actor=ACTOR, reason=" hygiene inspection ", now=NOW)
    active, event = reinstate_license(suspended, actor=ACTOR, reason="fixed", now=NOW + 1)
    revoked, last = revoke_license(active, actor=ACTOR, reason="fraud", now=NOW + 2)
    assert [suspended.state, active.state, revoked.state] == [
        LicenseState.SUSPENDED, LicenseState.ACTIVE, LicenseState.REVOKED]
    assert (event.kind, event.reason, last.kind) == (EventKind.REINSTATED, "fixed",
                                                     EventKind.REVOKED)
    assert record.state is LicenseState.ACTIVE  # the input is untouched


@pytest.mark.parametrize("action", [Action.SUSPEND, Action.REVOKE, Action.RENEW])
@pytest.mark.parametrize(("reason", "message"), [
    ("", "reason is required: say why, in 1-500 characters"),
    ("   ", "reason is required: say why, in 1-500 characters"),
    ("x" * 501, "reason is 501 characters, at most 500"),
])
def test_reason_is_required(action: Action, reason: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        perform(record_in(LicenseState.ACTIVE), action, reason=reason)
    assert (caught.value.field, caught.value.message) == ("reason", message)


def test_reinstating_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="reason is required"):
        reinstate_license(record_in(LicenseState.SUSPENDED), actor=ACTOR, reason="", now=NOW)


def test_reason_of_500_characters_is_accepted() -> None:
    _, event = perform(record_in(LicenseState.ACTIVE), Action.SUSPEND, reason="x" * 500)
    assert len(event.reason) == 500


@pytest.mark.parametrize("actor", ["", "  ", "x" * 201])
def test_actor_is_required(actor: str) -> None:
    with pytest.raises(InvalidInput, match="actor must be 1-200 characters"):
        suspend_license(record_in(LicenseState.ACTIVE), actor=actor, reason="r", now=NOW)


def test_a_clock_running_backwards_is_refused() -> None:
    record = dataclasses.replace(record_in(LicenseState.ACTIVE), updated_at=NOW)
    with pytest.raises(InvalidInput) as caught:
        suspend_license(record, actor=ACTOR, reason="r", now=NOW - 1)
    assert caught.value.message == (f"now {NOW - 1} is before the license's last change at "
                                    f"{NOW}; check the clock")


def test_renew_through_apply_action_is_refused() -> None:
    with pytest.raises(InvalidInput, match="use renew_license"):
        apply_action(record_in(LicenseState.ACTIVE), Action.RENEW, actor=ACTOR, reason="r",
                     now=NOW)


def test_issue_license() -> None:
    record, event = issue_license(credential_id=OLD, valid_from=ISSUED, valid_until=VALID_UNTIL,
                                  actor=ACTOR, now=ISSUED)
    assert record == LicenseRecord(OLD, LicenseState.ACTIVE, ISSUED, VALID_UNTIL, ISSUED)
    assert event == LifecycleEvent(OLD, EventKind.ISSUED, ACTOR, "", ISSUED)


@pytest.mark.parametrize(("valid_from", "valid_until", "field"), [
    (ISSUED, ISSUED, "validUntil"), (-1, VALID_UNTIL, "validFrom"), (ISSUED, None, "validUntil"),
])
def test_issue_license_refuses_a_bad_window(valid_from: int, valid_until: int,
                                            field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        issue_license(credential_id=OLD, valid_from=valid_from, valid_until=valid_until,
                      actor=ACTOR, now=ISSUED)
    assert caught.value.field == field


def test_renewal_supersedes_the_old_and_starts_the_new_at_once() -> None:
    renewal = renew_license(record_in(LicenseState.ACTIVE), new_credential_id=NEW,
                            new_valid_until=VALID_UNTIL + 50_000, actor=ACTOR,
                            reason="renewal application 2024-17", now=NOW)
    assert renewal.old == LicenseRecord(OLD, LicenseState.SUPERSEDED, ISSUED, VALID_UNTIL, NOW,
                                        superseded_by=NEW)
    assert renewal.new == LicenseRecord(NEW, LicenseState.ACTIVE, NOW, VALID_UNTIL + 50_000, NOW)
    assert renewal.events == (
        LifecycleEvent(OLD, EventKind.SUPERSEDED, ACTOR, "renewal application 2024-17", NOW, NEW),
        LifecycleEvent(NEW, EventKind.RENEWED, ACTOR, "renewal application 2024-17", NOW, OLD),
    )
    assert calculate_state(renewal.old, NOW) is LicenseState.SUPERSEDED


@pytest.mark.parametrize(("new_id", "until", "message"), [
    (OLD, NOW + 1, "the renewed license needs a new credential id"),
    ("", NOW + 1, "new_credential_id must be a non-empty string"),
    (NEW, NOW, f"new validUntil {NOW} must be after the renewal time {NOW}"),
])
def test_renewal_refuses_bad_input(new_id: str, until: int, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        renew_license(record_in(LicenseState.ACTIVE), new_credential_id=new_id,
                      new_valid_until=until, actor=ACTOR, reason="r", now=NOW)
    assert caught.value.message == message
