"""Telling patients and doctors: one domain event (from the notifications queue) becomes an e-mail to
each recipient with an address and an SMS to the patient's phone. Events arrive at least once, so
each message sent is recorded under its eventId (with a TTL) and not sent again."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.mail import send_mail
from pynamodb.exceptions import PutError

from appointments import timegrid
from appointments.models import SCHEDULED, Appointment
from doctors.models import Doctor
from patients.models import Patient
from scheduler.db import batch_get, error_code, utcnow
from scheduler.db.locks import Lock
from scheduler.messaging import aws

logger = logging.getLogger(__name__)

# How long an eventId is remembered: longer than SQS keeps a message (4 days by default).
DEDUP_RETENTION = timedelta(days=7)

_PATIENT_TEXT = {
    "appointment.pending": "We have received your appointment request with {doctor} for {when}.",
    "appointment.scheduled": "Your appointment with {doctor} is confirmed for {when}.",
    "appointment.rescheduled": "Your appointment with {doctor} has been moved to {when}.",
    "appointment.cancelled": "Your appointment with {doctor} on {when} has been cancelled.",
    "appointment.completed": "Thank you for your visit to {doctor} on {when}.",
    "appointment.no_show": "You missed your appointment with {doctor} on {when}.",
    "appointment.reminder": "Reminder: your appointment with {doctor} is on {when}.",
}
_DOCTOR_TEXT = {
    "appointment.pending": "New appointment request from {patient} for {when}.",
    "appointment.scheduled": "Appointment with {patient} confirmed for {when}.",
    "appointment.rescheduled": "Appointment with {patient} moved to {when}.",
    "appointment.cancelled": "Appointment with {patient} on {when} cancelled.",
    "appointment.reminder": "Reminder: appointment with {patient} on {when}.",
}


class PermanentFailure(Exception):
    """A message that will never go through (an address the server refuses, a number SNS rejects)."""


def _already_sent(key: str) -> bool:
    try:
        Lock.get(key, consistent_read=True)
        return True
    except Lock.DoesNotExist:
        return False


def _record_sent(key: str) -> None:
    try:
        Lock(key, owner="notifications", expires_at=utcnow() + DEDUP_RETENTION).save(
            condition=Lock.slot_key.does_not_exist()
        )
    except PutError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":  # None: no answer, raised
            raise


def notification_handle(*, event: dict) -> int:
    """Send what one event calls for; the number of messages sent now (0 for a repeated event).
    Each message (recipient and channel) is recorded under the eventId once sent, so a redelivery
    sends only what did not go out; an error other than a permanent refusal is raised, and the
    queue delivers the event again (then moves it to its dead-letter queue)."""
    sent = 0
    for key, send in _messages(event):
        if _already_sent(key):
            continue
        try:
            send()
        except PermanentFailure as exc:
            logger.warning("event %s: %s refused for good (%s)", event["eventId"], key.rsplit("#", 1)[-1], exc)
        else:
            sent += 1
        _record_sent(key)
    logger.info("event %s: %d notification(s) sent", event["eventId"], sent)  # no addresses in logs
    return sent


def _messages(event: dict) -> list[tuple[str, Callable[[], None]]]:
    """(dedup key, sender) for each message the event calls for."""
    data = event["appointment"]
    event_type = event["eventType"]
    keys = [(Doctor, data["doctorId"]), (Patient, data["patientId"]), (Appointment, data["appointmentId"])]
    doctor, patient, appointment = batch_get(keys)
    if event_type == "appointment.reminder" and (
        appointment is None
        or appointment.state != SCHEDULED
        or timegrid.iso_z(appointment.appointment_date) != data["appointmentDate"]
    ):
        return []  # cancelled or moved since the reminder was due: the reminder would be wrong
    zone = ZoneInfo(doctor.time_zone) if doctor else UTC
    start = datetime.fromisoformat(data["appointmentDate"].replace("Z", "+00:00")).astimezone(zone)
    # The time as the doctor's clinic tells it: in the doctor's zone.
    when = f"{start:%A %d %B %Y at %H:%M} ({zone.key})"
    if patient and patient.undecryptable_fields:  # those read None: no message to a value we cannot read
        logger.warning("patient %s: %s do not decrypt", patient.patient_id, ", ".join(patient.undecryptable_fields))
    names = {
        "doctor": doctor.name if doctor else "your doctor",
        "patient": patient.name if patient and patient.name else "a patient",
    }
    subject = f"Appointment {event_type.removeprefix('appointment.').replace('_', ' ')}: {start:%d %b %Y %H:%M}"
    prefix = f"event#{event['eventId']}"
    messages: list[tuple[str, Callable[[], None]]] = []
    if patient and event_type in _PATIENT_TEXT:
        text = _PATIENT_TEXT[event_type].format(when=when, **names)
        if patient.email:
            messages.append((f"{prefix}#patient-email", partial(email_send, patient.email, subject, text)))
        if patient.phone_number:
            messages.append((f"{prefix}#patient-sms", partial(sms_send, patient.phone_number, text)))
    if doctor and doctor.email and event_type in _DOCTOR_TEXT:
        text = _DOCTOR_TEXT[event_type].format(when=when, **names)
        messages.append((f"{prefix}#doctor-email", partial(email_send, doctor.email, subject, text)))
    return messages


def email_send(address: str, subject: str, text: str) -> None:
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
    except smtplib.SMTPRecipientsRefused:
        raise PermanentFailure("address refused by the mail server") from None


def sms_send(phone_number: str, text: str) -> None:
    if settings.SMS_BACKEND != "sns":
        logger.info("SMS of %d characters not sent: SMS_BACKEND=log", len(text))
        return
    try:
        aws.client("sns").publish(PhoneNumber=phone_number, Message=text)
    except ClientError as exc:
        if error_code(exc) == "InvalidParameter":
            raise PermanentFailure("number rejected by SNS") from None
        raise
