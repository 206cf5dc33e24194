"""License states and the actions that move between them, as pure functions.

Stored states are ACTIVE, SUSPENDED, REVOKED and SUPERSEDED; EXPIRED is never stored but
derived from the validity window and the time, so no job has to flip records at
midnight. REVOKED and SUPERSEDED are final. Which action is allowed in which state is
one table (``TRANSITIONS``); every function takes ``now`` and returns a new record and
the event to append to the license's history, leaving the input untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from license_registry.errors import IllegalTransition, InvalidInput
from license_registry.license_types import validate_unix_time

MAX_REASON_LENGTH = 500
MAX_ACTOR_LENGTH = 200


class LicenseState(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"


class Action(StrEnum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    RENEW = "renew"


class EventKind(StrEnum):
    ISSUED = "issued"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"
    RENEWED = "renewed"
    SUPERSEDED = "superseded"


# (state as of now, action) -> (stored state afterwards, event recorded on the license).
# Renewal supersedes the old license; the new one starts with a RENEWED event.
# An expired license can still be revoked (a license obtained by fraud is annulled even
# after it lapsed) but not suspended, reinstated or renewed: apply for a new one.
TRANSITIONS: dict[tuple[LicenseState, Action], tuple[LicenseState, EventKind]] = {
    (LicenseState.ACTIVE, Action.SUSPEND): (LicenseState.SUSPENDED, EventKind.SUSPENDED),
    (LicenseState.ACTIVE, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
    (LicenseState.ACTIVE, Action.RENEW): (LicenseState.SUPERSEDED, EventKind.SUPERSEDED),
    (LicenseState.SUSPENDED, Action.REINSTATE): (LicenseState.ACTIVE, EventKind.REINSTATED),
    (LicenseState.SUSPENDED, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
    (LicenseState.EXPIRED, Action.REVOKE): (LicenseState.REVOKED, EventKind.REVOKED),
}
FINAL_STATES = frozenset({LicenseState.REVOKED, LicenseState.SUPERSEDED})


@dataclass(frozen=True)
class LicenseRecord:
    """What the lifecycle needs to know of one license (one credential)."""

    credential_id: str
    state: LicenseState  # stored state: never EXPIRED
    valid_from: int
    valid_until: int
    updated_at: int
    superseded_by: str | None = None  # the renewed license's credential id


@dataclass(frozen=True)
class LifecycleEvent:
    credential_id: str
    kind: EventKind
    actor: str
    reason: str
    time: int
    # Renewal: on the old license its successor, on the new one its predecessor.
    related_credential_id: str | None = None


@dataclass(frozen=True)
class Renewal:
    old: LicenseRecord  # SUPERSEDED
    new: LicenseRecord  # ACTIVE, valid from the renewal time
    events: tuple[LifecycleEvent, LifecycleEvent]  # (superseded on old, renewed on new)


def calculate_state(record: LicenseRecord, now: int) -> LicenseState:
    """The state as of ``now``: final states stay; otherwise past ``valid_until`` is EXPIRED."""
    if record.state in FINAL_STATES or now < record.valid_until:
        return record.state
    return LicenseState.EXPIRED


def list_allowed_actions(state: LicenseState) -> tuple[Action, ...]:
    return tuple(action for (s, action) in TRANSITIONS if s is state)


def is_allowed(state: LicenseState, action: Action) -> bool:
    return (state, action) in TRANSITIONS


def validate_actor(actor: object) -> str:
    if not isinstance(actor, str) or not 0 < len(actor.strip()) <= MAX_ACTOR_LENGTH:
        raise InvalidInput(f"actor must be 1-{MAX_ACTOR_LENGTH} characters naming who acts",
                           field="actor")
    return actor.strip()


def validate_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"reason is required: say why, in 1-{MAX_REASON_LENGTH} characters",
                           field="reason")
    text = reason.strip()
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(f"reason is {len(text)} characters, at most {MAX_REASON_LENGTH}",
                           field="reason")
    return text


def validate_time(now: object, record: LicenseRecord | None = None) -> int:
    now = validate_unix_time(now, "now")
    # A clock running backwards would reorder the license history.
    if record is not None and now < record.updated_at:
        raise InvalidInput(f"now {now} is before the license's last change at "
                           f"{record.updated_at}; check the clock", field="now")
    return now


def issue_license(*, credential_id: str, valid_from: int, valid_until: int, actor: str,
                  now: int, reason: str = "") -> tuple[LicenseRecord, LifecycleEvent]:
    """A new ACTIVE license. No reason needed: the application is the reason."""
    if not isinstance(credential_id, str) or not credential_id:
        raise InvalidInput("credential_id must be a non-empty string", field="credentialId")
    start = validate_unix_time(valid_from, "validFrom")
    end = validate_unix_time(valid_until, "validUntil")
    if end <= start:
        raise InvalidInput(f"validUntil {end} must be after validFrom {start}",
                           field="validUntil")
    time = validate_time(now)
    record = LicenseRecord(credential_id, LicenseState.ACTIVE, start, end, time)
    event = LifecycleEvent(credential_id, EventKind.ISSUED, validate_actor(actor),
                           reason.strip(), time)
    return record, event


def apply_action(record: LicenseRecord, action: Action, *, actor: str, reason: str,
                 now: int) -> tuple[LicenseRecord, LifecycleEvent]:
    """Suspend, reinstate or revoke; raise IllegalTransition if the state does not allow it."""
    if action is Action.RENEW:
        raise InvalidInput("renewal creates a new license: use renew_license", field="action")
    time = validate_time(now, record)
    new_state, kind = validate_transition(record, action, time)
    event = LifecycleEvent(record.credential_id, kind, validate_actor(actor),
                           validate_reason(reason), time)
    return dataclasses.replace(record, state=new_state, updated_at=time), event


def suspend_license(record: LicenseRecord, *, actor: str, reason: str,
                    now: int) -> tuple[LicenseRecord, LifecycleEvent]:
    return apply_action(record, Action.SUSPEND, actor=actor, reason=reason, now=now)


def reinstate_license(record: LicenseRecord, *, actor: str, reason: str,
                      now: int) -> tuple[LicenseRecord, LifecycleEvent]:
    return apply_action(record, Action.REINSTATE, actor=actor, reason=reason, now=now)


def revoke_license(record: LicenseRecord, *, actor: str, reason: str,
                   now: int) -> tuple[LicenseRecord, LifecycleEvent]:
    return apply_action(record, Action.REVOKE, actor=actor, reason=reason, now=now)


def renew_license(record: LicenseRecord, *, new_credential_id: str, new_valid_until: int,
                  actor: str, reason: str, now: int) -> Renewal:
    """Supersede ``record`` with a new license valid from ``now`` to ``new_valid_until``.

    The new license starts at once, so there is no moment with neither in force; the
    caller picks ``new_valid_until`` within the license type's maximum validity.
    """
    time = validate_time(now, record)
    old_state, old_kind = validate_transition(record, Action.RENEW, time)
    who, why = validate_actor(actor), validate_reason(reason)
    if not isinstance(new_credential_id, str) or not new_credential_id:
        raise InvalidInput("new_credential_id must be a non-empty string", field="credentialId")
    if new_credential_id == record.credential_id:
        raise InvalidInput("the renewed license needs a new credential id", field="credentialId")
    if validate_unix_time(new_valid_until, "validUntil") <= time:
        raise InvalidInput(f"new validUntil {new_valid_until} must be after the renewal time "
                           f"{time}", field="validUntil")
    old = dataclasses.replace(record, state=old_state, updated_at=time,
                              superseded_by=new_credential_id)
    new = LicenseRecord(new_credential_id, LicenseState.ACTIVE, time, new_valid_until, time)
    events = (
        LifecycleEvent(record.credential_id, old_kind, who, why, time, new_credential_id),
        LifecycleEvent(new_credential_id, EventKind.RENEWED, who, why, time,
                       record.credential_id),
    )
    return Renewal(old, new, events)


def validate_transition(record: LicenseRecord, action: Action,
                        now: int) -> tuple[LicenseState, EventKind]:
    state = calculate_state(record, now)
    transition = TRANSITIONS.get((state, action))
    if transition is None:
        allowed = list_allowed_actions(state)
        options = (f"allowed actions: {', '.join(allowed)}" if allowed
                   else "it is final; no action is allowed")
        raise IllegalTransition(
            f"cannot {action.value} license {record.credential_id}: it is {state.value}; "
            f"{options}", field="action")
    return transition
