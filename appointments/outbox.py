"""Domain events: built for the transaction that makes the change, published to SNS after commit.

Every committed state change writes its event in the same TransactWriteItems (see services), so a
change without its event, or an event without its change, cannot happen. Publishing is at least
once: the relay task publishes right after commit and marks the event published; the periodic
sweep publishes whatever is still unpublished. Consumers deduplicate by `eventId`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from pynamodb.exceptions import UpdateError

from appointments import timegrid
from appointments.models import UNPUBLISHED, Appointment, Event
from scheduler.db import error_code, new_id, query_shards, shard_key, sweep_keys, utcnow
from scheduler.messaging import aws

logger = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=7)
# The sweep leaves the newest events to the relay that is publishing them right now.
SWEEP_GRACE = timedelta(seconds=10)


def event_for(appointment: Appointment, event_type: str, *, occurred_at: datetime | None = None) -> Event:
    """The outbox item for a change of `appointment` (to be put in the change's transaction)."""
    occurred_at = occurred_at or utcnow()
    event_id = new_id()
    full_type = f"appointment.{event_type}"
    body = {
        "eventId": event_id,
        "eventType": full_type,
        "occurredAt": timegrid.iso_z(occurred_at),
        "appointment": {
            "appointmentId": appointment.appointment_id,
            "patientId": appointment.patient_id,
            "doctorId": appointment.doctor_id,
            "countryId": appointment.country_id,
            "state": appointment.state,
            "appointmentDate": timegrid.iso_z(appointment.appointment_date),
            "durationMinutes": appointment.duration_minutes,
        },
    }
    return Event(
        event_id,
        event_type=full_type,
        occurred_at=occurred_at,
        country_id=appointment.country_id,
        body=json.dumps(body, separators=(",", ":")),
        unpublished_key=shard_key(UNPUBLISHED, event_id, settings.SPARSE_INDEX_SHARDS),
    )


class _Breaker:
    """After SNS fails, this process's relay leaves events to the sweep for a while instead of
    calling SNS again: a relay waiting on a dead SNS would hold up the country's processing, which
    shares its worker. The sweep (on its own worker) publishes them once SNS answers."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.SNS_BREAKER_SECONDS


sns_breaker = _Breaker()
_inline = threading.local()


@contextmanager
def relay_inline():
    """Within a worker's task: events committed here are published at once by this process (no relay
    message); SNS failing leaves them to the sweep, as with the relay."""
    _inline.active = True
    try:
        yield
    finally:
        _inline.active = False


def relaying_inline() -> bool:
    return getattr(_inline, "active", False)


def event_publish(*, event_id: str) -> bool:
    """The relay: publish one event to the SNS topic and mark it published. False when it already
    was, another publisher holds it, or SNS is failing (the sweep publishes it later)."""
    if sns_breaker.is_open():
        return False
    try:
        event = Event.get(event_id, consistent_read=True)
    except Event.DoesNotExist:
        logger.warning("event %s not found", event_id)
        return False
    if event.unpublished_key is None:
        return False
    try:
        return _publish(event)
    except (BotoCoreError, ClientError) as exc:
        sns_breaker.trip()
        aws.request_topic_check()
        logger.warning("SNS failed (%s): events are left to the sweep for a while", type(exc).__name__)
        return False


_TOPIC_MISSING = ("NotFound", "NotFoundException")
# How long a publisher's claim on an event holds off the others (a crashed one's claim lapses).
CLAIM = timedelta(seconds=60)


def _claim(event: Event) -> datetime | None:
    """Take the event for this publisher: a conditional update, so that the relay and the sweep (or two
    sweeps) never publish the same event at the same time. None when another holds it or it is done."""
    now = utcnow()
    until = now + CLAIM
    try:
        event.update(
            actions=[Event.claimed_until.set(until)],
            condition=Event.unpublished_key.exists()
            & (Event.claimed_until.does_not_exist() | (Event.claimed_until < now)),
        )
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return until


def _release(event: Event, until: datetime) -> None:
    """Give a claim back after a failed publish, so that the next sweep need not wait for it to lapse."""
    try:
        event.update(actions=[Event.claimed_until.remove()], condition=Event.claimed_until == until)
    except Exception as exc:  # it lapses by itself
        logger.warning("claim on event %s not released (%s)", event.event_id, type(exc).__name__)


def _publish(event: Event) -> bool:
    """Claim, publish, mark published. A failure after the claim leaves the event to the sweep once the
    claim lapses (at least once); the claim keeps two publishers from sending it together."""
    until = _claim(event)
    if until is None:
        return False
    try:
        _send(event)
    except Exception:
        _release(event, until)
        raise
    # Published: leave the sparse index; keep the item a while for audit, then let TTL remove it.
    event.update(
        actions=[
            Event.unpublished_key.remove(),
            Event.claimed_until.remove(),
            Event.published_at.set(utcnow()),
            Event.expires_at.set(utcnow() + EVENT_RETENTION),
        ]
    )
    logger.info("published %s %s", event.event_type, event.event_id)
    return True


def _send(event: Event) -> None:
    message = {
        "Message": event.body,
        "MessageAttributes": {
            "eventType": {"DataType": "String", "StringValue": event.event_type},
            "countryId": {"DataType": "String", "StringValue": event.country_id},
        },
    }
    try:
        aws.client("sns").publish(TopicArn=aws.ensure_publishable_topic(), **message)
    except ClientError as exc:
        # The topic is gone (moto restarted empty, or it was deleted): a NotFound is a refusal, so
        # nothing was published. Make the topic, the notifications queue and the subscription again
        # (the same names, so the same ARN), then publish once more.
        if error_code(exc) not in _TOPIC_MISSING:
            raise
        logger.warning("SNS topic missing: making it and its subscription again")
        aws.request_topic_check()
        aws.client("sns").publish(TopicArn=aws.ensure_publishable_topic(), **message)


# Events one sweep publishes at most; the next sweep goes on (keeps a run well inside its time limit).
SWEEP_BATCH = 200


def events_publish_pending(*, now: datetime | None = None) -> int:
    """The sweep: publish the events still unpublished a little after they were written, oldest
    first. One Query per shard (in parallel), each for its share of SWEEP_BATCH, so a run publishes
    at most SWEEP_BATCH events; a shard with more than its share is caught up by the next runs.
    SNS failing stops the run; the next sweep tries again."""
    cutoff = (now or utcnow()) - SWEEP_GRACE
    published = 0
    keys = sweep_keys(UNPUBLISHED)
    share = -(-SWEEP_BATCH // len(keys))
    pending = query_shards(
        lambda key: Event.by_unpublished.query(key, range_key_condition=Event.occurred_at <= cutoff, limit=share),
        keys,
        order=lambda event: event.occurred_at,
    )
    for event in pending[:SWEEP_BATCH]:
        try:
            published += _publish(event)
        except Exception as exc:
            aws.request_topic_check()
            logger.warning(
                "could not publish event %s (%s); the next sweep retries", event.event_id, type(exc).__name__
            )
            break
    return published
