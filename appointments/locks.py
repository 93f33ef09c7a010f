"""The lock items a booking takes: one per LOCK_MINUTES bucket of the doctor's and of the patient's
time, put with `attribute_not_exists` in the booking's own transaction, so that no doctor or patient
is ever booked twice. Booking, the lifecycle and the integrity repair all take and free them here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appointments import timegrid
from appointments.models import Appointment
from doctors.schedule import LOCK_MINUTES
from scheduler.db import Transaction
from scheduler.db.locks import Lock
from scheduler.exceptions import Conflict

__all__ = ("LOCK_MINUTES", "LOCK_RETENTION", "delete_locks", "lock_keys", "lock_keys_for", "put_locks")

# Lock items stay this long after their time has passed, then DynamoDB's TTL removes them.
LOCK_RETENTION = timedelta(days=7)


def lock_keys(kind: str, owner_id: str, start: datetime, end: datetime) -> list[str]:
    """One key per LOCK_MINUTES bucket of [start, end) for a doctor's or patient's time."""
    step = timedelta(minutes=LOCK_MINUTES)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    bucket = epoch + ((start - epoch) // step) * step
    keys = []
    while bucket < end:
        keys.append(f"{kind}#{owner_id}#{bucket.astimezone(UTC):%Y-%m-%dT%H:%MZ}")
        bucket += step
    return keys


def lock_keys_for(appointment: Appointment) -> list[str]:
    """The doctor's buckets (of the appointment's time widened by its buffers), then the patient's
    (of the appointment's own time)."""
    start, end = appointment.appointment_date, appointment.end_date
    return lock_keys("doctor", appointment.doctor_id, *appointment.doctor_span()) + lock_keys(
        "patient", appointment.patient_id, start, end
    )


def put_locks(tx: Transaction, appointment: Appointment, keys: list[str]) -> None:
    """Take `keys` for the appointment, each only where no item exists (409 naming who is booked)."""
    expires = appointment.doctor_span()[1] + LOCK_RETENTION
    when = f"{timegrid.iso_z(appointment.appointment_date)}-{timegrid.iso_z(appointment.end_date)}"
    held_start, held_end = appointment.doctor_span()
    doctor_when = f"{timegrid.iso_z(held_start)}-{timegrid.iso_z(held_end)}"
    if (held_start, held_end) != (appointment.appointment_date, appointment.end_date):
        doctor_when += " (the appointment with its buffers)"
    for key in keys:
        if key.startswith("doctor#"):
            message = f"Doctor '{appointment.doctor_id}' is already booked during {doctor_when}."
            code = "slot_taken"
        else:
            message = f"Patient '{appointment.patient_id}' already has an appointment overlapping {when}."
            code = "patient_busy"
        tx.put(
            Lock(key, owner=appointment.appointment_id, expires_at=expires),
            condition=Lock.slot_key.does_not_exist(),
            on_fail=lambda message=message, code=code: Conflict(message, code=code),
        )


def delete_locks(tx: Transaction, keys: list[str]) -> None:
    for key in keys:
        tx.delete(Lock(key))
