"""Booking: a new appointment, or the replay of one already made with the same appointmentId.

A booking is one TransactWriteItems: the appointment (if its id is new) and one lock item per
5-minute bucket of the doctor's time (widened by an appointment type's buffers) and of the patient's
(if none of them exists). It all happens
or nothing does, so no doctor or patient is ever booked twice, however many API processes race.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from appointment_types.models import AppointmentType
from appointments import outbox, timegrid
from appointments.locks import lock_keys_for, put_locks
from appointments.models import PENDING, Appointment
from appointments.selectors import (
    MAX_DURATION_MINUTES,
    appointment_get,
    booking_shape,
    check_offered_type,
    doctor_agenda,
)
from appointments.signals import announce
from countries.models import Country
from countries.selectors import country_policy
from doctors.models import Doctor
from doctors.selectors import doctor_slot_minutes
from patients.models import Patient
from scheduler.db import Transaction, batch_get, new_id, run_transaction, utcnow
from scheduler.exceptions import ApplicationError, Conflict, InvalidInput
from scheduler.security import audit

# DynamoDB's limit on the items of one TransactWriteItems.
MAX_TRANSACTION_ITEMS = 100


class _IdTaken(ApplicationError):
    """Internal: the appointment id exists already (an idempotent retry, or a clash)."""

    status_code = Conflict.status_code
    default_code = "duplicate"


# --- Checks ------------------------------------------------------------------------------------


def check_time(
    *, doctor: Doctor, country: Country, start: datetime, shape: timegrid.Shape, now: datetime, typed: bool = False
) -> None:
    """400 naming appointmentDate (or durationMinutes) when a booking of this shape (duration and
    buffers) cannot start then: the rules of timegrid.refusal, which availability offers by. Held time
    is not judged here: the booking's lock items are, in its transaction. `typed`: the duration is an
    appointment type's, which need not be a multiple of the doctor's slots."""
    duration_minutes = shape.duration
    if not typed and duration_minutes % doctor_slot_minutes(doctor):
        raise InvalidInput(
            "durationMinutes",
            f"{duration_minutes} is not a multiple of the doctor's {doctor_slot_minutes(doctor)}-minute slots.",
        )
    if duration_minutes > MAX_DURATION_MINUTES:
        raise InvalidInput("durationMinutes", f"An appointment lasts at most {MAX_DURATION_MINUTES} minutes.")
    agenda = doctor_agenda(doctor, country, now=now)
    refused = timegrid.refusal(agenda, shape, start)
    if refused is not None:
        raise InvalidInput(refused.field, refused.message)


# --- Booking -----------------------------------------------------------------------------------


def _same_request(
    existing: Appointment,
    doctor: Doctor | None,
    *,
    patient_id,
    doctor_id,
    start,
    duration_minutes,
    country_id,
    reason,
    appointment_type_id,
) -> bool:
    """The stored booking is what this request asks for, defaults resolved as they were at booking."""
    default_duration = existing.duration_minutes if existing.appointment_type_id or not doctor else doctor.slot_minutes
    return (
        (existing.appointment_type_id or None) == (appointment_type_id or None)
        and existing.patient_id == patient_id
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
    appointment_type_id: str | None = None,
    check_parties: Callable[[Doctor | None, Patient | None], None] | None = None,
    may_see: Callable[[Appointment], bool] | None = None,
) -> tuple[Appointment, bool]:
    """Book a time: (appointment, True) when created, (stored appointment, False) when the same
    request was made before with this appointmentId. `state` may ask for "scheduled": every booking
    starts `pending` and the country's worker schedules it. `check_parties(doctor, patient)`, given
    the records as read (None when missing), may refuse them: the caller's access check, on this read.
    `may_see(stored)`: whether the caller may see the appointment stored under its appointmentId; one
    it may not is never replayed and answers exactly as a clash with other details does."""
    request = {
        "patient_id": patient_id,
        "doctor_id": doctor_id,
        "start": appointment_date,
        "duration_minutes": duration_minutes,
        "country_id": country_id,
        "reason": reason,
        "appointment_type_id": appointment_type_id,
    }
    keys: list[tuple[type[Doctor | Patient | Appointment | AppointmentType], str]] = [
        (Doctor, doctor_id),
        (Patient, patient_id),
    ]
    if appointment_type_id:
        keys.append((AppointmentType, appointment_type_id))
    if appointment_id:
        keys.append((Appointment, appointment_id))
    found = batch_get(keys)
    # batch_get gives each key's item, of that key's model, in the keys' order.
    doctor, patient = cast("Doctor | None", found[0]), cast("Patient | None", found[1])
    appointment_type = cast("AppointmentType | None", found[2]) if appointment_type_id else None
    existing = cast("list[Appointment | None]", found[3 if appointment_type_id else 2 :])
    if check_parties is not None:
        check_parties(doctor, patient)
    if existing and existing[0] is not None:
        return _replay(existing[0], doctor, request, may_see)
    if doctor is None:
        raise InvalidInput("doctorId", f"Doctor '{doctor_id}' does not exist.")
    if patient is None:
        raise InvalidInput("patientId", f"Patient '{patient_id}' does not exist.")
    if country_id is not None and country_id != doctor.country_id:
        raise InvalidInput(
            "countryId", f"Doctor '{doctor_id}' practises in country '{doctor.country_id}', not '{country_id}'."
        )
    if appointment_type_id:
        check_offered_type(doctor, appointment_type, appointment_type_id)
    shape = booking_shape(doctor, appointment_type, duration_minutes=duration_minutes)
    if appointment_type is not None and duration_minutes not in (None, shape.duration):
        raise InvalidInput(
            "durationMinutes",
            f"An appointment of type '{appointment_type_id}' lasts {shape.duration} minutes; "
            "leave durationMinutes out or give that.",
        )
    country = country_policy(country_id=doctor.country_id)
    duration = shape.duration
    typed = appointment_type is not None
    check_time(doctor=doctor, country=country, start=appointment_date, shape=shape, now=utcnow(), typed=typed)

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
    if appointment_type is not None:
        appointment.appointment_type_id = appointment_type.appointment_type_id
        appointment.buffer_before_minutes, appointment.buffer_after_minutes = shape.before, shape.after
    appointment.set_state(PENDING)
    appointment.lock_keys = lock_keys_for(appointment)
    appointment.touch()
    event = outbox.event_for(appointment, PENDING)

    def build(tx: Transaction) -> None:
        tx.put(
            appointment,
            condition=Appointment.appointment_id.does_not_exist(),
            on_fail=lambda: _IdTaken("taken"),
        )
        put_locks(tx, appointment, appointment.lock_keys)
        tx.put(event)
        # The doctor's schedule as checked above, and the patient, are still there at commit.
        tx.check(
            Doctor,
            doctor_id,
            condition=Doctor.version == doctor.version,
            on_fail=lambda: Conflict(f"Doctor '{doctor_id}' changed while booking; retry."),
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
        return _replay(appointment_get(appointment_id=appointment.appointment_id), doctor, request, may_see)
    announce(appointment, event)
    return appointment, True


def _replay(
    existing: Appointment, doctor: Doctor | None, request: dict, may_see: Callable[[Appointment], bool] | None
) -> tuple[Appointment, bool]:
    # The message names only the id the client chose: someone else's booking shows nothing of itself.
    if (may_see is None or may_see(existing)) and _same_request(existing, doctor, **request):
        return existing, False
    raise Conflict(
        f"Appointment '{existing.appointment_id}' already exists with other details; "
        "use a new appointmentId for a new booking.",
        code="duplicate",
    )
