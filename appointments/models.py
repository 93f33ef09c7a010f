from datetime import UTC, datetime, timedelta

from django.conf import settings
from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from scheduler.db import register, shard_key, table_meta
from scheduler.security.crypto import EncryptedRecord, EncryptedUnicodeAttribute

PENDING, SCHEDULED, COMPLETED, NO_SHOW, CANCELLED = "pending", "scheduled", "completed", "no_show", "cancelled"
STATES = (PENDING, SCHEDULED, COMPLETED, NO_SHOW, CANCELLED)
ACTIVE_STATES = (PENDING, SCHEDULED)  # the ones that hold the doctor's and patient's time
# The lifecycle: state → the states it may move to.
TRANSITIONS = {PENDING: {SCHEDULED, CANCELLED}, SCHEDULED: {COMPLETED, NO_SHOW, CANCELLED}}


def _by(index: str, hash_attr: str, hash_name: str) -> type[GlobalSecondaryIndex]:
    """A GSI on (`hash_attr`, appointmentDate): one agenda ordered by time."""
    meta = type("Meta", (), {"index_name": index, "projection": AllProjection()})
    return type(
        f"{index}Index",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            hash_name: UnicodeAttribute(hash_key=True, attr_name=hash_attr),
            "appointment_date": UTCDateTimeAttribute(range_key=True, attr_name="appointmentDate"),
        },
    )


class ByStateIndex(GlobalSecondaryIndex):
    """Sparse: only appointments that are still pending carry `pendingKey` (`pending#<shard>`)."""

    class Meta:
        index_name = "byState"
        projection = AllProjection()

    pending_key = UnicodeAttribute(hash_key=True, attr_name="pendingKey")
    updated_at = UTCDateTimeAttribute(range_key=True, attr_name="updatedAt")


class ByReminderIndex(GlobalSecondaryIndex):
    """Sparse: only appointments with a reminder still to send carry `reminderKey` (`due#<shard>`)."""

    class Meta:
        index_name = "byReminder"
        projection = AllProjection()

    reminder_key = UnicodeAttribute(hash_key=True, attr_name="reminderKey")
    next_reminder_at = UTCDateTimeAttribute(range_key=True, attr_name="nextReminderAt")


class ByCountryDayIndex(GlobalSecondaryIndex):
    """A country's appointments of one UTC day, spread over COUNTRY_DAY_SHARDS keys
    (`<countryId>#<YYYY-MM-DD>#<shard>`), ordered by time: no country is one hot partition."""

    class Meta:
        index_name = "byCountryDay"
        projection = AllProjection()

    country_day = UnicodeAttribute(hash_key=True, attr_name="countryDay")
    appointment_date = UTCDateTimeAttribute(range_key=True, attr_name="appointmentDate")


class ByTypeIndex(GlobalSecondaryIndex):
    """Sparse: only appointments booked with a type carry `appointmentTypeId`, so that a type's
    deletion can ask whether an upcoming appointment uses it in one Query."""

    class Meta:
        index_name = "byType"
        projection = IncludeProjection(["state", "endDate"])

    appointment_type_id = UnicodeAttribute(hash_key=True, attr_name="appointmentTypeId")
    appointment_date = UTCDateTimeAttribute(range_key=True, attr_name="appointmentDate")


def country_day_kind(country_id: str, day: str) -> str:
    """The unsharded part of a countryDay key: shard_key(country_day_kind(...), id, n) is the key."""
    return f"{country_id}#{day}"


@register
class Appointment(EncryptedRecord):
    class Meta(table_meta("appointments")):
        pass

    appointment_id = UnicodeAttribute(hash_key=True, attr_name="appointmentId")
    patient_id = UnicodeAttribute(attr_name="patientId")
    doctor_id = UnicodeAttribute(attr_name="doctorId")
    country_id = UnicodeAttribute(attr_name="countryId")
    appointment_date = UTCDateTimeAttribute(attr_name="appointmentDate")
    end_date = UTCDateTimeAttribute(attr_name="endDate")
    duration_minutes = NumberAttribute(attr_name="durationMinutes")
    # The appointment type it was booked with, and that type's buffers as they were then (an edit of
    # the type changes no appointment). None on appointments booked without a type: no buffers.
    appointment_type_id = UnicodeAttribute(null=True, attr_name="appointmentTypeId")
    buffer_before_minutes = NumberAttribute(null=True, attr_name="bufferBeforeMinutes")
    buffer_after_minutes = NumberAttribute(null=True, attr_name="bufferAfterMinutes")
    state = UnicodeAttribute()
    reason = EncryptedUnicodeAttribute(null=True)  # may say something about the patient's health
    # The lock items this appointment holds in the slots table (freed on cancel and reschedule).
    # PynamoDB types `of` as the element's Python type, not its attribute class (PynamoDB issue #1246).
    lock_keys = ListAttribute[str](of=UnicodeAttribute, attr_name="lockKeys", default=list)  # type: ignore[arg-type]
    pending_key = UnicodeAttribute(null=True, attr_name="pendingKey")
    next_reminder_at = UTCDateTimeAttribute(null=True, attr_name="nextReminderAt")
    # How often the pending sweep enqueued it again (an enqueue lost after commit, or a stuck task).
    requeues = NumberAttribute(default=0)
    # When its processing message was last sent to SQS (set by one UpdateItem after the send, which
    # leaves the version alone): the pending sweep sends again only what has none, or whose country
    # queue is empty. None: never handed to SQS, or the marker's write failed.
    enqueued_at = UTCDateTimeAttribute(null=True, attr_name="enqueuedAt")
    reminder_key = UnicodeAttribute(null=True, attr_name="reminderKey")
    country_day = UnicodeAttribute(null=True, attr_name="countryDay")

    by_doctor = _by("byDoctor", "doctorId", "doctor_id")()
    by_patient = _by("byPatient", "patientId", "patient_id")()
    by_country_day = ByCountryDayIndex()
    by_state = ByStateIndex()
    by_reminder = ByReminderIndex()
    by_type = ByTypeIndex()
    # byCountry (countryId, appointmentDate), the index before byCountryDay, is no longer declared: a
    # table made before keeps it until `backfill_keys --drop-old-indexes`.

    ENCRYPTED = ("reason",)

    def buffers(self) -> tuple[int, int]:
        """(before, after) in minutes; 0 for an appointment booked without a type. A NumberAttribute
        is a float to PynamoDB's types; these are only written from integers, so int() changes nothing."""
        return int(self.buffer_before_minutes or 0), int(self.buffer_after_minutes or 0)

    def doctor_span(self) -> tuple[datetime, datetime]:
        """The doctor's time this appointment holds: its own, widened by its buffers."""
        before, after = self.buffers()
        return self.appointment_date - timedelta(minutes=before), self.end_date + timedelta(minutes=after)

    def set_state(self, state: str) -> None:
        self.state = state
        if state not in ACTIVE_STATES:
            self.set_next_reminder(None)
        self.set_index_keys()

    def set_next_reminder(self, moment: datetime | None) -> None:
        self.next_reminder_at = moment
        self.set_index_keys()

    def set_index_keys(self) -> None:
        """The index keys follow from state, reminder time, country and date; every write (a save, a
        transaction's put) serializes the model, so they are set here, never by hand."""
        self.pending_key, self.reminder_key, self.country_day = self.index_keys()

    def index_keys(self) -> tuple[str | None, str | None, str | None]:
        """(pendingKey, reminderKey, countryDay) as this appointment should carry them."""
        item_id, shards = self.appointment_id, settings.SPARSE_INDEX_SHARDS
        pending = shard_key(PENDING, item_id, shards) if self.state == PENDING else None
        reminder = shard_key(REMINDER_DUE, item_id, shards) if self.next_reminder_at else None
        day = None
        if self.country_id and self.appointment_date:
            utc_day = self.appointment_date.astimezone(UTC).date().isoformat()
            day = shard_key(country_day_kind(self.country_id, utc_day), item_id, settings.COUNTRY_DAY_SHARDS)
        return pending, reminder, day

    def serialize(self, null_check: bool = True) -> dict:
        if self.appointment_id is not None:
            self.set_index_keys()
        return super().serialize(null_check=null_check)


REMINDER_DUE = "due"


class ByUnpublishedIndex(GlobalSecondaryIndex):
    """Sparse: only events not yet published to SNS carry `unpublishedKey` (`unpublished#<shard>`)."""

    class Meta:
        index_name = "byUnpublished"
        projection = AllProjection()

    unpublished_key = UnicodeAttribute(hash_key=True, attr_name="unpublishedKey")
    occurred_at = UTCDateTimeAttribute(range_key=True, attr_name="occurredAt")


UNPUBLISHED = "unpublished"


@register
class Event(Model):
    """The outbox: a domain event, written in the same transaction as the change it reports, and
    published to SNS after commit (by the relay, or by the sweep if the relay did not)."""

    class Meta(table_meta("events")):
        pass

    event_id = UnicodeAttribute(hash_key=True, attr_name="eventId")
    event_type = UnicodeAttribute(attr_name="eventType")
    occurred_at = UTCDateTimeAttribute(attr_name="occurredAt")
    country_id = UnicodeAttribute(attr_name="countryId")
    # The message exactly as published: ids, state and time only, never names or contact details.
    body = UnicodeAttribute()
    unpublished_key = UnicodeAttribute(null=True, attr_name="unpublishedKey")
    # A publisher's claim: until then no other relay or sweep publishes it (appointments/outbox.py).
    claimed_until = UTCDateTimeAttribute(null=True, attr_name="claimedUntil")
    published_at = UTCDateTimeAttribute(null=True, attr_name="publishedAt")
    expires_at = TTLAttribute(null=True, attr_name="expiresAt")

    by_unpublished = ByUnpublishedIndex()
