import re
from datetime import UTC, date, datetime, time, timedelta

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import STATES
from appointments.selectors import MAX_DURATION_MINUTES
from scheduler.api.serializers import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    BoundedDateField,
    BoundedDateTimeField,
    IdField,
    ListParamsSerializer,
    RecordSerializer,
    StrictSerializer,
    TextField,
    check_year,
    undecryptable_field,
)

_OFFSET = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)
# In a query string an unencoded "+" arrives as a space: "...T10:00:00 01:00".
_SPACE_OFFSET = re.compile(r"(T[\d:.]+) (\d{2}(:?\d{2})?)$")


class OffsetDateTimeField(BoundedDateTimeField):
    """An ISO 8601 date-time that must say its offset (`Z` or `±hh:mm`): a bare local time is
    ambiguous across countries and daylight-saving changes."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "ISO 8601 with an offset or Z, e.g. 2026-12-07T15:00:00Z or 2026-12-07T12:00:00-03:00 "
            f"(years {EARLIEST_YEAR} to {LATEST_YEAR}).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            value = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
        if not isinstance(value, str) or not _OFFSET.search(value):
            raise serializers.ValidationError(
                f"{value!r} has no time zone; give an ISO 8601 date-time with an offset or Z, "
                "e.g. 2026-12-07T15:00:00Z or 2026-12-07T12:00:00-03:00."
            )
        return super().to_internal_value(value.strip())


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
        "description": "A date-time with an offset or Z, or a date (UTC; `to` includes the whole day).",
    }
)
class BoundField(OffsetDateTimeField):
    """A list bound: a date-time with offset, or a plain date (UTC; `to` includes the whole day)."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                raise serializers.ValidationError(f"{value!r} is not a date.") from None
            check_year(day)  # before a day is added to it
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1, microseconds=-1) if self.end_of_day else moment
        return super().to_internal_value(value)


class AppointmentSerializer(RecordSerializer):
    """An appointment as the API shows it."""

    appointmentId = IdField(source="appointment_id")
    patientId = IdField(source="patient_id")
    doctorId = IdField(source="doctor_id")
    countryId = IdField(source="country_id")
    appointmentDate = serializers.DateTimeField(source="appointment_date")
    endDate = serializers.DateTimeField(source="end_date", read_only=True)
    durationMinutes = serializers.IntegerField(source="duration_minutes")
    appointmentTypeId = IdField(
        source="appointment_type_id",
        allow_null=True,
        help_text="The type it was booked with; null when booked without one.",
    )
    bufferBeforeMinutes = serializers.IntegerField(
        source="buffer_before_minutes",
        allow_null=True,
        help_text="The type's buffer before, as it was when booked: the doctor is held from "
        "appointmentDate minus this. Null without a type.",
    )
    bufferAfterMinutes = serializers.IntegerField(
        source="buffer_after_minutes",
        allow_null=True,
        help_text="The type's buffer after, as it was when booked: the doctor is held until endDate plus this. "
        "Null without a type.",
    )
    state = serializers.ChoiceField(choices=STATES)
    reason = TextField(allow_null=True)
    nextReminderAt = serializers.DateTimeField(
        source="next_reminder_at",
        read_only=True,
        allow_null=True,
        help_text="The next reminder to send; null when none is due.",
    )
    undecryptable = undecryptable_field("reason")


class AppointmentCreateSerializer(StrictSerializer):
    appointmentId = IdField(source="appointment_id", required=False)
    patientId = IdField(source="patient_id")
    doctorId = IdField(source="doctor_id")
    appointmentDate = OffsetDateTimeField(source="appointment_date")
    durationMinutes = serializers.IntegerField(
        source="duration_minutes", required=False, min_value=5, max_value=MAX_DURATION_MINUTES
    )
    countryId = IdField(source="country_id", required=False)
    appointmentTypeId = IdField(
        source="appointment_type_id",
        required=False,
        help_text="One of the doctor's active appointmentTypeIds: the duration and the doctor's buffers come "
        "from it (durationMinutes, if given, must equal the type's).",
    )
    state = serializers.ChoiceField(
        choices=["pending", "scheduled"],
        required=False,
        error_messages={"invalid_choice": '"{input}" cannot be asked for on create; use "pending" or "scheduled".'},
    )
    reason = TextField(required=False, allow_null=True, allow_blank=True, max_length=500)


class AppointmentUpdateSerializer(StrictSerializer):
    """PATCH: a new time (reschedule), a state (transition), or the reason. The ids may be echoed
    back unchanged; `createdAt` and the like are ignored."""

    ignored_keys = frozenset(
        {"createdAt", "updatedAt", "version", "endDate", "nextReminderAt", "bufferBeforeMinutes", "bufferAfterMinutes"}
    )

    appointmentId = IdField(source="appointment_id", required=False)
    appointmentDate = OffsetDateTimeField(source="appointment_date", required=False)
    durationMinutes = serializers.IntegerField(
        source="duration_minutes", required=False, min_value=5, max_value=MAX_DURATION_MINUTES
    )
    state = serializers.ChoiceField(choices=STATES, required=False)
    reason = TextField(required=False, allow_null=True, allow_blank=True, max_length=500)
    patientId = IdField(source="patient_id", required=False)
    doctorId = IdField(source="doctor_id", required=False)
    countryId = IdField(source="country_id", required=False)
    appointmentTypeId = IdField(source="appointment_type_id", required=False, allow_null=True)


class AppointmentListParams(ListParamsSerializer):
    countryId = IdField(source="country_id", required=False)
    doctorId = IdField(source="doctor_id", required=False)
    patientId = IdField(source="patient_id", required=False)
    state = serializers.ChoiceField(choices=STATES, required=False)
    # `from` is a Python keyword, so the field is declared through the class namespace.
    vars()["from"] = BoundField(
        source="start",
        required=False,
        help_text="Date-time with offset, or a date (UTC). A country's listing (countryId without doctorId or "
        "patientId) reads at most 92 days; `from` defaults there to the start of today (UTC).",
    )
    to = BoundField(
        source="end",
        required=False,
        end_of_day=True,
        help_text="Date-time with offset, or a date (UTC; the whole day). For a country's listing it defaults "
        "to 31 days after `from`; a range of 92 days or more is a 400.",
    )

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"to": ["`to` must not be before `from`."]})
        return attrs


class AvailabilityParams(StrictSerializer):
    ignored_keys = frozenset({"format"})
    blank_means_left_out = False

    vars()["from"] = BoundedDateField(source="first_day", help_text="First local day (in the doctor's zone).")
    to = BoundedDateField(source="last_day", help_text="Last local day (in the doctor's zone), inclusive.")
    appointmentTypeId = IdField(
        source="appointment_type_id",
        required=False,
        help_text="One of the doctor's active types: the starts a booking of that type would be accepted at, "
        "each with end = start + the type's duration, the doctor's buffers kept free.",
    )
