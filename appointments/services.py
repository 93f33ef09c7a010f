"""Booking, rescheduling and the appointment lifecycle.

A booking is one TransactWriteItems: the appointment (if its id is new) and one lock item per
5-minute bucket of the doctor's and of the patient's time (if none of them exists). It all happens
or nothing does, so no doctor or patient is ever booked twice, however many API processes race.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from appointments import outbox, processors, timegrid
from appointments.models import (
    ACTIVE_STATES,
    CANCELLED,
    COMPLETED,
    NO_SHOW,
    PENDING,
    REMINDER_DUE,
    SCHEDULED,
    TRANSITIONS,
    Appointment,
    Event,
)
from appointments.selectors import MAX_DURATION_MINUTES, appointment_get
from appointments.signals import announce
from countries.models import Country
from countries.selectors import country_policy
from doctors.models import Doctor
from patients.models import Patient
from scheduler.db import (
    Transaction,
    batch_get,
    check_if_match,
    new_id,
    query_shards,
    retry_lost_races,
    run_transaction,
    sweep_keys,
    utcnow,
    version_conflict,
)
from scheduler.db.locks import Lock
from scheduler.exceptions import ApplicationError, Conflict, InvalidInput, NotFound, VersionConflict
from scheduler.security import audit

logger = logging.getLogger(__name__)

# DynamoDB's limit on the items of one TransactWriteItems.
MAX_TRANSACTION_ITEMS = 100
# Lock items stay this long after their time has passed, then DynamoDB's TTL removes them.
LOCK_RETENTION = timedelta(days=7)


class _IdTaken(ApplicationError):
    """Internal: the appointment id exists already (an idempotent retry, or a clash)."""


# --- Checks ------------------------------------------------------------------------------------


def _check_time(*, doctor: Doctor, country: Country, start: datetime, duration_minutes: int, now: datetime) -> None:
    """400 naming appointmentDate (or durationMinutes) when the time cannot be booked."""
    if duration_minutes % doctor.slot_minutes:
        raise InvalidInput(
            "durationMinutes",
            f"{duration_minutes} is not a multiple of the doctor's {doctor.slot_minutes}-minute slots.",
        )
    end = start + timedelta(minutes=duration_minutes)
    if start < now:
        raise InvalidInput("appointmentDate", f"{timegrid.iso_z(start)} is in the past.")
    if start < now + timedelta(minutes=country.min_notice_minutes):
        raise InvalidInput(
            "appointmentDate",
            f"{timegrid.iso_z(start)} is too soon: book at least {country.min_notice_minutes} minutes ahead.",
        )
    if start > now + timedelta(days=country.max_advance_days):
        raise InvalidInput(
            "appointmentDate",
            f"{timegrid.iso_z(start)} is too far ahead: book at most {country.max_advance_days} days ahead.",
        )
    if duration_minutes > MAX_DURATION_MINUTES:
        raise InvalidInput("durationMinutes", f"An appointment lasts at most {MAX_DURATION_MINUTES} minutes.")
    windows = timegrid.stored_windows(doctor.available_times)
    problem = timegrid.schedule_problem(
        start, duration_minutes, windows, slot_minutes=doctor.slot_minutes, zone=ZoneInfo(doctor.time_zone)
    )
    if problem:
        raise InvalidInput("appointmentDate", problem)
    for period in doctor.unavailable or []:
        if timegrid.overlaps(start, end, period.start, period.end):
            why = f" ({period.reason})" if period.reason else ""
            raise InvalidInput(
                "appointmentDate",
                f"The doctor is unavailable from {timegrid.iso_z(period.start)} to {timegrid.iso_z(period.end)}{why}.",
            )


def _locks_for(appointment: Appointment) -> list[str]:
    start, end = appointment.appointment_date, appointment.end_date
    return timegrid.lock_keys("doctor", appointment.doctor_id, start, end) + timegrid.lock_keys(
        "patient", appointment.patient_id, start, end
    )


def _put_locks(tx: Transaction, appointment: Appointment, keys: list[str]) -> None:
    expires = appointment.end_date + LOCK_RETENTION
    when = f"{timegrid.iso_z(appointment.appointment_date)}-{timegrid.iso_z(appointment.end_date)}"
    for key in keys:
        if key.startswith("doctor#"):
            message = f"Doctor '{appointment.doctor_id}' is already booked during {when}."
            field = "doctorId"
        else:
            message = f"Patient '{appointment.patient_id}' already has an appointment overlapping {when}."
            field = "patientId"
        tx.put(
            Lock(key, owner=appointment.appointment_id, expires_at=expires),
            condition=Lock.slot_key.does_not_exist(),
            on_fail=lambda message=message, field=field: Conflict(message, field=field),
        )


def _delete_locks(tx: Transaction, keys: list[str]) -> None:
    for key in keys:
        tx.delete(Lock(key))


# --- Booking -----------------------------------------------------------------------------------


def _same_request(
    existing: Appointment, doctor: Doctor | None, *, patient_id, doctor_id, start, duration_minutes, country_id, reason
) -> bool:
    """The stored booking is what this request asks for, defaults resolved as they were at booking."""
    default_duration = doctor.slot_minutes if doctor else existing.duration_minutes
    return (
        existing.patient_id == patient_id
        and existing.doctor_id == doctor_id
        and existing.appointment_date == start
        and existing.duration_minutes == (duration_minutes or default_duration)
        and existing.country_id == (country_id or existing.country_id)
        and (existing.reason or None) == (reason or None)
    )


def appointment_create(
    *,
    patient_id: str,
    doctor_id: str,
    appointment_date: datetime,
    appointment_id: str | None = None,
    duration_minutes: int | None = None,
    country_id: str | None = None,
    reason: str | None = None,
    state: str | None = None,
    check_parties: Callable[[Doctor | None, Patient | None], None] | None = None,
) -> tuple[Appointment, bool]:
    """Book a time: (appointment, True) when created, (stored appointment, False) when the same
    request was made before with this appointmentId. `state` may ask for "scheduled": every booking
    starts `pending` and the country's worker schedules it. `check_parties(doctor, patient)`, given
    the records as read (None when missing), may refuse them: the caller's access check, on this read."""
    request = {
        "patient_id": patient_id,
        "doctor_id": doctor_id,
        "start": appointment_date,
        "duration_minutes": duration_minutes,
        "country_id": country_id,
        "reason": reason,
    }
    keys: list = [(Doctor, doctor_id), (Patient, patient_id)]
    if appointment_id:
        keys.append((Appointment, appointment_id))
    doctor, patient, *existing = batch_get(keys)
    if check_parties is not None:
        check_parties(doctor, patient)
    if existing and existing[0] is not None:
        return _replay(existing[0], doctor, request)
    if doctor is None:
        raise InvalidInput("doctorId", f"Doctor '{doctor_id}' does not exist.")
    if patient is None:
        raise InvalidInput("patientId", f"Patient '{patient_id}' does not exist.")
    if country_id is not None and country_id != doctor.country_id:
        raise InvalidInput(
            "countryId", f"Doctor '{doctor_id}' practises in country '{doctor.country_id}', not '{country_id}'."
        )
    country = country_policy(country_id=doctor.country_id)
    duration = duration_minutes or doctor.slot_minutes
    _check_time(doctor=doctor, country=country, start=appointment_date, duration_minutes=duration, now=utcnow())

    appointment = Appointment(
        appointment_id or new_id(),
        patient_id=patient_id,
        doctor_id=doctor_id,
        country_id=doctor.country_id,
        appointment_date=appointment_date,
        end_date=appointment_date + timedelta(minutes=duration),
        duration_minutes=duration,
        reason=reason,
    )
    appointment.set_state(PENDING)
    appointment.lock_keys = _locks_for(appointment)
    appointment.touch()
    event = outbox.event_for(appointment, PENDING)

    def build(tx: Transaction) -> None:
        tx.put(
            appointment,
            condition=Appointment.appointment_id.does_not_exist(),
            on_fail=lambda: _IdTaken("taken"),
        )
        _put_locks(tx, appointment, appointment.lock_keys)
        tx.put(event)
        # The doctor's schedule as checked above, and the patient, are still there at commit.
        tx.check(
            Doctor,
            doctor_id,
            condition=Doctor.version == doctor.version,
            on_fail=lambda: Conflict(f"Doctor '{doctor_id}' changed while booking; retry.", field="doctorId"),
        )
        # The patient was read (strongly consistent) just before; the check that it still exists
        # gives way only where the longest bookings' locks and the audit entry fill the transaction.
        if len(appointment.lock_keys) + 5 <= MAX_TRANSACTION_ITEMS:
            tx.check(
                Patient,
                patient_id,
                condition=Patient.patient_id.exists(),
                on_fail=lambda: InvalidInput("patientId", f"Patient '{patient_id}' does not exist."),
            )
        audit.join(tx)

    try:
        run_transaction(build, default_conflict=lambda: Conflict("The booking could not be made; retry."))
    except _IdTaken:
        # Another request with this id committed first: the same booking or a clash.
        return _replay(appointment_get(appointment_id=appointment.appointment_id), doctor, request)
    announce(appointment, event)
    return appointment, True


def _replay(existing: Appointment, doctor: Doctor | None, request: dict) -> tuple[Appointment, bool]:
    if _same_request(existing, doctor, **request):
        return existing, False
    raise Conflict(
        f"Appointment '{existing.appointment_id}' already exists with other details; "
        "use a new appointmentId for a new booking.",
        field="appointmentId",
    )


# --- Changes -----------------------------------------------------------------------------------


def _state_conflict(appointment: Appointment, target: str) -> Conflict:
    allowed = sorted(TRANSITIONS.get(appointment.state, ()))
    then = f"; from it the appointment can go to: {', '.join(allowed)}" if allowed else ""
    return Conflict(
        f"Appointment '{appointment.appointment_id}' is {appointment.state} and cannot become {target}{then}.",
        field="state",
    )


def _check_cutoff(appointment: Appointment, action: str, now: datetime) -> None:
    cutoff = country_policy(country_id=appointment.country_id).cancellation_cutoff_minutes
    if now > appointment.appointment_date - timedelta(minutes=cutoff):
        limit = f"{cutoff} minutes before it starts" if cutoff else "once it has started"
        raise Conflict(f"The appointment can no longer be {action}: that closes {limit}.", field="appointmentDate")


def _commit_change(
    appointment: Appointment,
    previous_state: str,
    if_match: int | None,
    *,
    event_type: str | None,
    free: list[str] = (),
    take: list[str] = (),
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
        _delete_locks(tx, list(free))
        _put_locks(tx, appointment, list(take))
        if event is not None:
            tx.put(event)
        audit.join(tx)

    run_transaction(build, default_conflict=lambda: version_conflict(if_match))
    if event is not None:
        announce(appointment, event)
    return event


def _next_reminder(appointment: Appointment, *, after: datetime) -> datetime | None:
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
        return _transition(current, state, if_match)

    return retry_lost_races(attempt)


def _transition(appointment: Appointment, state: str, if_match: int | None) -> Appointment:
    previous = appointment.state
    if state not in TRANSITIONS.get(previous, ()):
        raise _state_conflict(appointment, state)
    now = utcnow()
    if state in (COMPLETED, NO_SHOW) and now < appointment.appointment_date:
        raise Conflict(
            f"The appointment starts at {timegrid.iso_z(appointment.appointment_date)}; "
            f"it cannot be marked {state} before then.",
            field="state",
        )
    freed: list[str] = []
    if state == CANCELLED:
        _check_cutoff(appointment, "cancelled", now)
        freed = list(appointment.lock_keys or [])
        appointment.lock_keys = []
    appointment.set_state(state)
    if state == SCHEDULED:
        appointment.set_next_reminder(_next_reminder(appointment, after=now))
    appointment.touch()
    _commit_change(appointment, previous, if_match, event_type=state, free=freed)
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
            field="appointmentDate",
        )
    now = utcnow()
    _check_cutoff(appointment, "rescheduled", now)
    (doctor,) = batch_get([(Doctor, appointment.doctor_id)])
    if doctor is None:
        raise Conflict(f"Doctor '{appointment.doctor_id}' no longer exists.", field="doctorId")
    duration = duration_minutes or appointment.duration_minutes
    country = country_policy(country_id=appointment.country_id)
    _check_time(doctor=doctor, country=country, start=appointment_date, duration_minutes=duration, now=now)
    old_keys = set(appointment.lock_keys or [])
    appointment.appointment_date = appointment_date
    appointment.duration_minutes = duration
    appointment.end_date = appointment_date + timedelta(minutes=duration)
    new_keys = _locks_for(appointment)
    moved = len(old_keys - set(new_keys)) + len(set(new_keys) - old_keys)
    if moved + 3 > MAX_TRANSACTION_ITEMS:  # with the appointment, its event and the audit entry
        raise Conflict(
            f"A {duration}-minute appointment cannot be moved this far in one step; cancel it and book the new time.",
            field="appointmentDate",
        )
    appointment.lock_keys = new_keys
    if appointment.state == SCHEDULED:
        appointment.set_next_reminder(_next_reminder(appointment, after=now))
    appointment.touch()
    # Buckets in both the old and the new time stay ours; a transaction may touch an item only once.
    _commit_change(
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
    for field, attribute in (("patientId", "patient_id"), ("doctorId", "doctor_id"), ("countryId", "country_id")):
        if attribute in changes:
            raise InvalidInput(field, "cannot be changed; cancel this appointment and book a new one.")
    if changes.get("state") == SCHEDULED:
        raise Conflict(
            "An appointment becomes scheduled when its country's processing accepts it; it cannot be set.",
            field="state",
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
    _commit_change(appointment, appointment.state, if_match, event_type=None)  # not a state change: no event
    return appointment


# --- Processing --------------------------------------------------------------------------------


def appointment_process(*, appointment_id: str) -> str:
    """What the country's worker does with a new booking: run the country's processor, then move it
    `pending` → `scheduled`, conditional on the version the processor saw (if the appointment changed
    meanwhile, the processor runs again on the new version). A second delivery of the same task finds
    it no longer pending and changes nothing, so nothing is sent twice."""

    def attempt(n: int) -> str:
        try:
            appointment = appointment_get(appointment_id=appointment_id)
        except NotFound:
            return "not found"  # deleted since it was queued: nothing to do, and nothing to retry
        if appointment.state != PENDING:
            return f"already {appointment.state}"
        country = country_policy(country_id=appointment.country_id)
        processors.for_country(country.code)(appointment, country)
        _transition(appointment, SCHEDULED, None)
        return SCHEDULED

    try:
        return retry_lost_races(attempt)
    except VersionConflict:
        raise Conflict("The appointment kept changing while it was processed; the task will retry.") from None


def _send_task(task, appointment: Appointment, what: str, **kwargs) -> bool:
    """Send a task to the appointment's country queue. A failure is logged (ids and error kind only)
    and left to the sweeps, which find what was not done through the sparse indexes."""
    try:
        code = country_policy(country_id=appointment.country_id).code
        task.apply_async(kwargs={**kwargs, "country_code": code})
        return True
    except Exception as exc:
        logger.warning(
            "could not queue %s for appointment %s (%s); a sweep will",
            what,
            appointment.appointment_id,
            type(exc).__name__,
        )
        return False


def appointment_enqueue(appointment: Appointment, *, event_id: str | None = None) -> bool:
    """The booking's one message: its processing task, carrying the booking's event to publish."""
    from appointments.tasks import process_appointment

    extra = {"event_id": event_id} if event_id else {}
    return _send_task(
        process_appointment, appointment, "processing", appointment_id=appointment.appointment_id, **extra
    )


def event_relay(*, appointment: Appointment, event_id: str) -> bool:
    from appointments.tasks import publish_event

    return _send_task(publish_event, appointment, f"event {event_id}", event_id=event_id)


# Times the sweep enqueues one appointment again before leaving it to a person (logged as an error).
MAX_REQUEUES = 5


def appointments_requeue_stale(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Enqueue again the appointments left pending longer than `older_than` (one Query per shard of
    byState, in parallel). Each requeue is recorded on the appointment, which also moves it to the
    back of the index, so an appointment is enqueued again at most once a minute and at most
    MAX_REQUEUES times."""
    now = utcnow()
    count = 0
    stale = query_shards(
        lambda key: Appointment.by_state.query(key, range_key_condition=Appointment.updated_at <= now - older_than),
        sweep_keys(PENDING),
        order=lambda appointment: appointment.updated_at,
    )
    for appointment in stale:
        try:
            if appointment.requeues >= MAX_REQUEUES or appointment.appointment_date < now:
                if appointment.requeues == MAX_REQUEUES:
                    logger.error(
                        "appointment %s is still pending after %d requeues", appointment.appointment_id, MAX_REQUEUES
                    )
                    appointment.requeues += 1
                    appointment.touch()
                    _commit_change(appointment, PENDING, None, event_type=None)
                continue
            appointment.requeues += 1
            appointment.touch()
            _commit_change(appointment, PENDING, None, event_type=None)
            count += appointment_enqueue(appointment)
        except Exception as exc:  # one appointment must not stop the sweep
            logger.warning("requeue of appointment %s failed (%s)", appointment.appointment_id, type(exc).__name__)
    return count


# --- Reminders ---------------------------------------------------------------------------------


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Emit one `appointment.reminder` event per reminder time reached (one Query per shard of the
    sparse byReminder index, in parallel). Each is a conditional update with its event, so it is
    sent exactly once."""
    now = now or utcnow()
    sent = 0
    due_now = query_shards(
        lambda key: Appointment.by_reminder.query(key, range_key_condition=Appointment.next_reminder_at <= now),
        sweep_keys(REMINDER_DUE),
        order=lambda appointment: appointment.next_reminder_at,
    )
    for appointment in due_now:
        due = appointment.next_reminder_at
        appointment.set_next_reminder(_next_reminder(appointment, after=max(due, now)))
        if appointment.state != SCHEDULED or appointment.appointment_date <= now:
            appointment.set_next_reminder(None)  # nothing to remind of any more
            event_type = None
        else:
            event_type = "reminder"
        appointment.touch()
        try:
            _commit_change(appointment, appointment.state, None, event_type=event_type)
        except Conflict:
            continue  # changed meanwhile (cancelled, rescheduled, or another sweep sent it)
        sent += event_type is not None
    return sent
