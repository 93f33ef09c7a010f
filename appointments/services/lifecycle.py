"""The lifecycle of a booked appointment: state transitions, cancellation, rescheduling and edits,
each saved with its outbox event and the lock items it frees and takes in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from appointments import outbox, timegrid
from appointments.locks import delete_locks, lock_keys_for, put_locks
from appointments.models import (
    ACTIVE_STATES,
    CANCELLED,
    COMPLETED,
    NO_SHOW,
    SCHEDULED,
    TRANSITIONS,
    Appointment,
    Event,
)
from appointments.selectors import appointment_get
from appointments.services.booking import MAX_TRANSACTION_ITEMS, check_time
from appointments.signals import announce
from countries.selectors import country_policy
from doctors.models import Doctor
from scheduler.db import (
    Transaction,
    batch_get,
    check_if_match,
    retry_lost_races,
    run_transaction,
    utcnow,
    version_conflict,
)
from scheduler.exceptions import Conflict, InvalidInput
from scheduler.security import audit


def _state_conflict(appointment: Appointment, target: str) -> Conflict:
    allowed = sorted(TRANSITIONS.get(appointment.state, ()))
    then = f"; from it the appointment can go to: {', '.join(allowed)}" if allowed else ""
    return Conflict(
        f"Appointment '{appointment.appointment_id}' is {appointment.state} and cannot become {target}{then}.",
        code="invalid_transition",
    )


def _check_cutoff(appointment: Appointment, action: str, now: datetime) -> None:
    cutoff = country_policy(country_id=appointment.country_id).cancellation_cutoff_minutes
    if now > appointment.appointment_date - timedelta(minutes=cutoff):
        limit = f"{cutoff} minutes before it starts" if cutoff else "once it has started"
        raise Conflict(f"The appointment can no longer be {action}: that closes {limit}.", code="cutoff_passed")


def commit_change(
    appointment: Appointment,
    previous_state: str,
    if_match: int | None,
    *,
    event_type: str | None,
    free: Sequence[str] = (),
    take: Sequence[str] = (),
) -> Event | None:
    """Save the changed appointment, conditional on the state and version it was read with, with its
    outbox event and the lock items it frees and takes, in one transaction; then announce it."""
    event = outbox.event_for(appointment, event_type) if event_type else None

    def build(tx: Transaction) -> None:
        tx.put(
            appointment,
            condition=Appointment.state == previous_state,
            on_fail=lambda: version_conflict(if_match),
        )
        delete_locks(tx, list(free))
        put_locks(tx, appointment, list(take))
        if event is not None:
            tx.put(event)
        audit.join(tx)

    run_transaction(build, default_conflict=lambda: version_conflict(if_match))
    if event is not None:
        announce(appointment, event)
    return event


def next_reminder(appointment: Appointment, *, after: datetime) -> datetime | None:
    """The earliest reminder time still ahead: the appointment's start less each of the country's offsets."""
    offsets = country_policy(country_id=appointment.country_id).reminder_offsets_minutes or []
    times = [appointment.appointment_date - timedelta(minutes=offset) for offset in offsets]
    return min((moment for moment in times if moment > after), default=None)


def appointment_transition(
    *, appointment_id: str, state: str, if_match: int | None = None, appointment: Appointment | None = None
) -> Appointment:
    """Move an appointment along its lifecycle; 409 naming the current state otherwise. When another
    change lands first (the worker scheduling it, say), the move is judged again on the new state."""

    def attempt(n: int) -> Appointment:
        current = appointment if n == 0 and appointment else appointment_get(appointment_id=appointment_id)
        check_if_match(current, if_match)
        return apply_transition(current, state, if_match)

    return retry_lost_races(attempt)


def apply_transition(appointment: Appointment, state: str, if_match: int | None) -> Appointment:
    """The move itself, on the appointment as read (no re-read on a lost race: the caller decides)."""
    previous = appointment.state
    if state not in TRANSITIONS.get(previous, ()):
        raise _state_conflict(appointment, state)
    now = utcnow()
    if state in (COMPLETED, NO_SHOW) and now < appointment.appointment_date:
        raise Conflict(
            f"The appointment starts at {timegrid.iso_z(appointment.appointment_date)}; "
            f"it cannot be marked {state} before then.",
            code="invalid_transition",
        )
    freed: list[str] = []
    if state == CANCELLED:
        _check_cutoff(appointment, "cancelled", now)
        freed = list(appointment.lock_keys or [])
        appointment.lock_keys = []
    appointment.set_state(state)
    if state == SCHEDULED:
        appointment.set_next_reminder(next_reminder(appointment, after=now))
    appointment.touch()
    commit_change(appointment, previous, if_match, event_type=state, free=freed)
    return appointment


def appointment_cancel(
    *, appointment_id: str, if_match: int | None = None, current: Appointment | None = None
) -> Appointment:
    """DELETE: cancel, freeing the time at once. Cancelling a cancelled appointment changes nothing.
    `current`: the appointment as the view read and checked it, to spare a read."""
    appointment = current or appointment_get(appointment_id=appointment_id)
    if appointment.state == CANCELLED:
        return appointment
    return appointment_transition(
        appointment_id=appointment_id, state=CANCELLED, if_match=if_match, appointment=appointment
    )


def appointment_reschedule(
    *, appointment: Appointment, appointment_date: datetime, duration_minutes: int | None, if_match: int | None
) -> Appointment:
    """Move to a new time in one transaction: the new time's locks taken, the old ones freed."""
    if appointment.state not in ACTIVE_STATES:
        raise Conflict(
            f"Appointment '{appointment.appointment_id}' is {appointment.state}; only pending or scheduled "
            "appointments can be rescheduled.",
            code="invalid_transition",
        )
    now = utcnow()
    _check_cutoff(appointment, "rescheduled", now)
    (doctor,) = batch_get([(Doctor, appointment.doctor_id)])
    if doctor is None:
        raise Conflict(f"Doctor '{appointment.doctor_id}' no longer exists.")
    # A NumberAttribute is a float to PynamoDB's types; durationMinutes is only ever written from an
    # integer (the serializers' IntegerField), and whole numbers load as int, so int() changes nothing.
    duration = duration_minutes or int(appointment.duration_minutes)
    typed = bool(appointment.appointment_type_id)
    if typed and duration != int(appointment.duration_minutes):
        raise InvalidInput(
            "durationMinutes",
            f"This appointment of type '{appointment.appointment_type_id}' lasts {int(appointment.duration_minutes)} "
            "minutes, as booked; cancel it and book another type to change that.",
        )
    country = country_policy(country_id=appointment.country_id)
    # The type's values as they were when it was booked (an edit of the type since changes nothing).
    shape = timegrid.Shape(duration, *appointment.buffers())
    check_time(doctor=doctor, country=country, start=appointment_date, shape=shape, now=now, typed=typed)
    old_keys = set(appointment.lock_keys or [])
    appointment.appointment_date = appointment_date
    appointment.duration_minutes = duration
    appointment.end_date = appointment_date + timedelta(minutes=duration)
    new_keys = lock_keys_for(appointment)
    moved = len(old_keys - set(new_keys)) + len(set(new_keys) - old_keys)
    if moved + 3 > MAX_TRANSACTION_ITEMS:  # with the appointment, its event and the audit entry
        raise Conflict(
            f"A {duration}-minute appointment cannot be moved this far in one step; cancel it and book the new time."
        )
    appointment.lock_keys = new_keys
    if appointment.state == SCHEDULED:
        appointment.set_next_reminder(next_reminder(appointment, after=now))
    appointment.touch()
    # Buckets in both the old and the new time stay ours; a transaction may touch an item only once.
    commit_change(
        appointment,
        appointment.state,
        if_match,
        event_type="rescheduled",
        free=sorted(old_keys - set(new_keys)),
        take=[key for key in new_keys if key not in old_keys],
    )
    return appointment


def appointment_update(
    *, appointment_id: str, changes: dict, if_match: int | None, current: Appointment | None = None
) -> Appointment:
    """PATCH: a new time (reschedule), a state (transition), or the reason — one kind per request.
    Without If-Match, a change that loses a race to another (the worker scheduling the appointment
    seconds after booking, say) is made again on the new version."""

    def attempt(n: int) -> Appointment:
        appointment = current if n == 0 and current else appointment_get(appointment_id=appointment_id)
        return _update(appointment, dict(changes), if_match)

    return retry_lost_races(attempt)


def _update(appointment: Appointment, changes: dict, if_match: int | None) -> Appointment:
    check_if_match(appointment, if_match)
    # Values equal to the stored ones (a client echoing the record back) change nothing.
    changes = {name: value for name, value in changes.items() if getattr(appointment, name) != value}
    if "reason" in changes and (changes["reason"] or None) == appointment.reason:
        del changes["reason"]
    if not changes:
        return appointment
    fixed = (
        ("patientId", "patient_id"),
        ("doctorId", "doctor_id"),
        ("countryId", "country_id"),
        ("appointmentTypeId", "appointment_type_id"),
    )
    for field, attribute in fixed:
        if attribute in changes:
            raise InvalidInput(field, "cannot be changed; cancel this appointment and book a new one.")
    if changes.get("state") == SCHEDULED:
        raise Conflict(
            "An appointment becomes scheduled when its country's processing accepts it; it cannot be set.",
            code="invalid_transition",
        )
    new_time = changes.get("appointment_date")
    if "state" in changes and (new_time or changes.get("duration_minutes")):
        raise InvalidInput("state", "Change the state and the time in separate requests.")
    if "reason" in changes:
        appointment.reason = changes["reason"] or None
    if new_time or changes.get("duration_minutes"):
        return appointment_reschedule(
            appointment=appointment,
            appointment_date=new_time or appointment.appointment_date,
            duration_minutes=changes.get("duration_minutes"),
            if_match=if_match,
        )
    if "state" in changes:
        return appointment_transition(
            appointment_id=appointment.appointment_id,
            state=changes["state"],
            if_match=if_match,
            appointment=appointment,
        )
    appointment.touch()
    commit_change(appointment, appointment.state, if_match, event_type=None)  # not a state change: no event
    return appointment
