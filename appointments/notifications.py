"""Telling patients and doctors: one domain event (from the notifications queue) becomes an e-mail to
each recipient with an address and an SMS to the patient's phone. Events arrive at least once, so
each is claimed by a conditional put keyed by its eventId before anything is sent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from pynamodb.exceptions import PutError

from doctors.models import Doctor
from patients.models import Patient
from scheduler import aws
from scheduler.db import batch_get, utcnow
from scheduler.models import Lock

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


def _claim(event_id: str) -> bool:
    """True the first time an event is seen; False for a repeated delivery."""
    try:
        Lock(f"event#{event_id}", owner="notifications", expires_at=utcnow() + DEDUP_RETENTION).save(
            condition=Lock.slot_key.does_not_exist()
        )
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def notification_handle(*, event: dict) -> int:
    """Send what one event calls for; the number of messages sent (0 for a repeated event). If
    sending fails, the claim is withdrawn and the error raised, so the queue delivers it again."""
    event_id = event["eventId"]
    if not _claim(event_id):
        logger.info("event %s already handled", event_id)
        return 0
    try:
        return _send(event)
    except Exception:
        Lock(f"event#{event_id}").delete()
        raise


def _send(event: dict) -> int:
    data = event["appointment"]
    event_type = event["eventType"]
    doctor, patient = batch_get([(Doctor, data["doctorId"]), (Patient, data["patientId"])])
    zone = ZoneInfo(doctor.time_zone) if doctor else UTC
    start = datetime.fromisoformat(data["appointmentDate"].replace("Z", "+00:00")).astimezone(zone)
    # The time as the doctor's clinic tells it: in the doctor's zone.
    when = f"{start:%A %d %B %Y at %H:%M} ({zone.key})"
    names = {"doctor": doctor.name if doctor else "your doctor", "patient": patient.name if patient else "a patient"}
    subject = f"Appointment {event_type.removeprefix('appointment.').replace('_', ' ')}: {start:%d %b %Y %H:%M}"
    sent = 0
    if patient and event_type in _PATIENT_TEXT:
        text = _PATIENT_TEXT[event_type].format(when=when, **names)
        if patient.email:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [patient.email])
            sent += 1
        if patient.phone_number:
            sms_send(phone_number=patient.phone_number, text=text, event_id=event["eventId"])
            sent += 1
    if doctor and doctor.email and event_type in _DOCTOR_TEXT:
        send_mail(
            subject, _DOCTOR_TEXT[event_type].format(when=when, **names), settings.DEFAULT_FROM_EMAIL, [doctor.email]
        )
        sent += 1
    logger.info("event %s: %d notification(s) sent", event["eventId"], sent)  # no addresses in logs
    return sent


def sms_send(*, phone_number: str, text: str, event_id: str) -> None:
    if settings.SMS_BACKEND == "sns":
        aws.client("sns").publish(PhoneNumber=phone_number, Message=text)
    else:
        logger.info("SMS for event %s (%d characters) not sent: SMS_BACKEND=log", event_id, len(text))
