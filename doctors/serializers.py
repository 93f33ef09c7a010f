from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from countries import reference
from doctors.schedule import EXAMPLES, LOCK_MINUTES, ScheduleError, WeeklyWindow, format_clock, parse_available_times
from scheduler.api.serializers import (
    BoundedDateTimeField,
    EmailAddressField,
    IdField,
    ListParamsSerializer,
    RecordSerializer,
    StrictSerializer,
    TextField,
)

_WINDOW_SCHEMA = {
    "type": "object",
    "properties": {
        "day": {"type": "string", "example": "monday"},
        "start": {"type": "string", "example": "10:00"},
        "end": {"type": "string", "example": "16:00"},
    },
    "required": ["day", "start", "end"],
}


@extend_schema_field(
    {
        "type": "array",
        "items": {"oneOf": [{"type": "string", "example": "Monday 10am-4pm"}, _WINDOW_SCHEMA]},
        "description": f"Weekly windows in the doctor's zone, {EXAMPLES}. Responses give the object form.",
    }
)
class AvailableTimesField(serializers.Field):
    """Takes the original strings and the object form; gives the object form."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError(f"Expected a list of weekly windows, {EXAMPLES}.")
        try:
            return parse_available_times(data)
        except ScheduleError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return [{"day": window.day, "start": window.start, "end": window.end} for window in value or []]


class BlockedPeriodSerializer(StrictSerializer):
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
    reason = TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text="Shown only to admins, staff of the doctor's country and the doctor itself.",
    )

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        return attrs


MAX_OFFERED_TYPES = 50


class DoctorSerializer(RecordSerializer):
    doctorId = IdField(source="doctor_id", required=False)
    name = TextField(max_length=200)
    speciality = TextField(max_length=100)
    countryId = IdField(source="country_id")
    availableTimes = AvailableTimesField(
        source="available_times",
        help_text='Weekly windows in the doctor\'s zone: "Monday 10am-4pm", "Tue 09:00-12:30", or '
        '{"day": "monday", "start": "10:00", "end": "16:00"}; shown in the object form.',
    )
    slotMinutes = serializers.IntegerField(source="slot_minutes", min_value=5, max_value=240, default=30)
    timeZone = TextField(
        source="time_zone",
        required=False,
        allow_null=True,
        max_length=64,
        help_text="IANA zone; default: the country's.",
    )
    email = EmailAddressField(
        required=False,
        allow_null=True,
        help_text="Where the doctor is notified. Shown only to admins, staff of the doctor's country and the "
        "doctor itself.",
    )
    unavailable = BlockedPeriodSerializer(many=True, required=False, max_length=200)
    appointmentTypeIds = serializers.ListField(
        source="appointment_type_ids",
        child=IdField(),
        required=False,
        max_length=MAX_OFFERED_TYPES,
        help_text="The appointment types (of the doctor's country) the doctor offers; a booking may name one.",
    )
    subdivision = TextField(
        required=False,
        allow_null=True,
        max_length=10,
        help_text="ISO 3166-2 subdivision of the country without the country part, e.g. MD for Madrid (ES-MD "
        "is taken too), upper-cased: its public holidays close the doctor besides the country's. One the "
        "holidays package does not know for the country's code is a 400 listing the valid ones.",
    )
    worksOnHolidays = serializers.BooleanField(
        source="works_on_holidays",
        default=False,
        help_text="Works on public holidays (the country's closures still apply).",
    )

    def validate_slotMinutes(self, value: int) -> int:
        if value % LOCK_MINUTES:
            raise serializers.ValidationError(f"Use a multiple of {LOCK_MINUTES} minutes.")
        return value

    def validate_availableTimes(self, windows: list[WeeklyWindow]) -> list[WeeklyWindow]:
        for window in windows:
            if window.start % LOCK_MINUTES or window.end % LOCK_MINUTES:
                raise serializers.ValidationError(
                    f"{window.day.capitalize()} {format_clock(window.start)}-{format_clock(window.end)}: "
                    f"start and end on {LOCK_MINUTES}-minute steps (e.g. 09:05, not 09:07)."
                )
        return windows

    def validate_appointmentTypeIds(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # each once, in the order given

    def validate_timeZone(self, value):
        if value is not None and not reference.is_time_zone(value):
            raise serializers.ValidationError(f"'{value}' is not an IANA time zone (e.g. 'America/Santiago').")
        return value


class DoctorListParams(ListParamsSerializer):
    countryId = IdField(source="country_id", required=False)
    speciality = TextField(required=False, max_length=100)
