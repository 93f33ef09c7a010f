"""The processing pipeline: what the country's worker does with a booking, the queue messages that
carry it there, and the sweeps that make up for what was not sent (stale pending bookings, reminders).

Tasks are sent by name: appointments.tasks registers them under these names and calls this module,
which therefore never imports it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import signature
from django.conf import settings

from appointments import processors
from appointments.models import PENDING, REMINDER_DUE, SCHEDULED, Appointment
from appointments.selectors import appointment_get
from appointments.services.lifecycle import apply_transition, commit_change, next_reminder
from countries.selectors import country_policy
from scheduler.db import query_shards, retry_lost_races, sweep_keys, update_keeping_version, utcnow
from scheduler.exceptions import Conflict, NotFound, VersionConflict
from scheduler.messaging import aws

logger = logging.getLogger(__name__)

# The names appointments.tasks registers its tasks under.
PROCESS_TASK = "appointments.process"
PUBLISH_EVENT_TASK = "appointments.publish_event"
# Times the sweep enqueues one appointment again before leaving it to a person (logged as an error).
MAX_REQUEUES = 5


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
        apply_transition(appointment, SCHEDULED, None)
        return SCHEDULED

    try:
        return retry_lost_races(attempt)
    except VersionConflict:
        raise Conflict(
            "The appointment kept changing while it was processed; the task will retry.", code="version_mismatch"
        ) from None


def _send_task(name: str, appointment: Appointment, what: str, **kwargs) -> bool:
    """Send a task, by its registered name, to the appointment's country queue. A failure is logged
    (ids and error kind only) and left to the sweeps, which find what was not done through the sparse
    indexes."""
    try:
        code = country_policy(country_id=appointment.country_id).code
        # The registered task's own apply_async (appointments.tasks, imported in AppointmentsConfig.ready).
        signature(name, kwargs={**kwargs, "country_code": code}).apply_async()
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
    """The booking's one message: its processing task, carrying the booking's event to publish. Once
    SQS has it, the appointment is marked as handed over, so the pending sweep does not send it again
    while it waits in its queue."""
    extra = {"event_id": event_id} if event_id else {}
    sent = _send_task(PROCESS_TASK, appointment, "processing", appointment_id=appointment.appointment_id, **extra)
    if sent:
        _mark_enqueued(appointment.appointment_id)
    return sent


def _mark_enqueued(appointment_id: str) -> None:
    """Record when its processing message went to SQS: one UpdateItem of `enqueuedAt` alone, only
    while it is pending (else the worker was first: nothing to mark), and without raising the version,
    so that the worker's transition and a client's If-Match still hold the version they read. A
    failure leaves it unmarked: the sweep then sends it once more, which processing absorbs."""
    try:
        update_keeping_version(
            Appointment,
            appointment_id,
            [Appointment.enqueued_at.set(utcnow())],
            condition=Appointment.state == PENDING,
        )
    except Exception as exc:
        logger.warning(
            "appointment %s queued but not marked (%s); the sweep may queue it again",
            appointment_id,
            type(exc).__name__,
        )


def event_relay(*, appointment: Appointment, event_id: str) -> bool:
    return _send_task(PUBLISH_EVENT_TASK, appointment, f"event {event_id}", event_id=event_id)


# --- Sweeps ------------------------------------------------------------------------------------


def appointments_requeue_stale(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Enqueue again the appointments left pending longer than `older_than` (one Query per shard of
    byState, in parallel) whose processing message is lost: never handed to SQS (no `enqueuedAt`), or
    handed over but its country's queue holds no message at all (purged, deleted, dead-lettered), or
    handed over longer than PENDING_RESEND_SECONDS ago (dead-lettered while its queue stays busy). One
    whose message may still wait in its queue, or be in flight, is left alone and not written, so a
    backlog is not doubled. Each requeue is recorded on the appointment, which also moves it to the
    back of the index, so an appointment is enqueued again at most once a minute and at most
    MAX_REQUEUES times. Returns how many were enqueued again."""
    now = utcnow()
    count = still_queued = 0
    stale = query_shards(
        lambda key: Appointment.by_state.query(key, range_key_condition=Appointment.updated_at <= now - older_than),
        sweep_keys(PENDING),
        order=lambda appointment: appointment.updated_at,
    )
    depths: dict[str, int | None] = {}  # queue suffix → its depth, read once a run
    # A message handed over this long ago and still not processed may have been dead-lettered behind a
    # queue that never empties: send it once more anyway.
    resend_after = timedelta(seconds=settings.PENDING_RESEND_SECONDS)
    for appointment in stale:
        try:
            if appointment.requeues >= MAX_REQUEUES or appointment.appointment_date < now:
                if appointment.requeues == MAX_REQUEUES:
                    logger.error(
                        "appointment %s is still pending after %d requeues", appointment.appointment_id, MAX_REQUEUES
                    )
                    appointment.requeues += 1
                    appointment.touch()
                    commit_change(appointment, PENDING, None, event_type=None)
                continue
            handed_over = appointment.enqueued_at is not None and now - appointment.enqueued_at < resend_after
            if handed_over and _country_queue_depth(appointment, depths):
                still_queued += 1
                continue
            appointment.requeues += 1
            appointment.enqueued_at = None  # marked again once this send has gone
            appointment.touch()
            commit_change(appointment, PENDING, None, event_type=None)
            count += appointment_enqueue(appointment)
        except Exception as exc:  # one appointment must not stop the sweep
            logger.warning("requeue of appointment %s failed (%s)", appointment.appointment_id, type(exc).__name__)
    if still_queued:
        logger.info("pending sweep: %d enqueued again, %d left: their message is still queued", count, still_queued)
    return count


def _country_queue_depth(appointment: Appointment, depths: dict[str, int | None]) -> int | None:
    """The messages in the queue the appointment's message went to, read once per sweep run and queue:
    its country's, and also the default queue's when it was booked in the country's first
    NEW_COUNTRY_DEFAULT_QUEUE_SECONDS (scheduler.messaging.workers.route_task sent it there). None when
    SQS did not say (the appointment is then enqueued again, as before the marker)."""
    country = country_policy(country_id=appointment.country_id)
    suffixes = [aws.country_queue_suffix(country.code)]
    if (appointment.created_at - country.created_at).total_seconds() < settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS:
        suffixes.append(settings.CELERY_TASK_DEFAULT_QUEUE)
    total = 0
    for suffix in suffixes:
        if suffix not in depths:
            try:
                depths[suffix] = aws.queue_depth(suffix)
            except Exception as exc:
                logger.warning("depth of queue %s unknown (%s)", suffix, type(exc).__name__)
                depths[suffix] = None
        if depths[suffix] is None:
            return None
        total += depths[suffix] or 0
    return total


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
        appointment.set_next_reminder(next_reminder(appointment, after=max(due, now)))
        if appointment.state != SCHEDULED or appointment.appointment_date <= now:
            appointment.set_next_reminder(None)  # nothing to remind of any more
            event_type = None
        else:
            event_type = "reminder"
        appointment.touch()
        try:
            commit_change(appointment, appointment.state, None, event_type=event_type)
        except Conflict:
            continue  # changed meanwhile (cancelled, rescheduled, or another sweep sent it)
        sent += event_type is not None
    return sent
