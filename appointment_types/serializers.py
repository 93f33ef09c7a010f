from rest_framework import serializers

from appointment_types.rules import (
    LOCK_MINUTES,
    MAX_BUFFER_MINUTES,
    MAX_DURATION_MINUTES,
    MAX_HELD_MINUTES,
    MIN_DURATION_MINUTES,
)
from scheduler.api.serializers import IdField, ListParamsSerializer, RecordSerializer, TextField


def _minutes(source: str, *, low: int, high: int, **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(source=source, min_value=low, max_value=high, **kwargs)


class AppointmentTypeSerializer(RecordSerializer):
    appointmentTypeId = IdField(source="appointment_type_id", required=False)
    countryId = IdField(source="country_id")
    name = TextField(max_length=100)
    durationMinutes = _minutes(
        "duration_minutes",
        low=MIN_DURATION_MINUTES,
        high=MAX_DURATION_MINUTES,
        help_text=f"{MIN_DURATION_MINUTES}..{MAX_DURATION_MINUTES}, a multiple of {LOCK_MINUTES}. Together with the "
        f"buffers: duration × 2 + buffers ≤ {MAX_HELD_MINUTES} (what one atomic booking can hold).",
    )
    bufferBeforeMinutes = _minutes(
        "buffer_before_minutes",
        low=0,
        high=MAX_BUFFER_MINUTES,
        default=0,
        help_text="Time the doctor is held before the appointment starts (the patient is not).",
    )
    bufferAfterMinutes = _minutes(
        "buffer_after_minutes",
        low=0,
        high=MAX_BUFFER_MINUTES,
        default=0,
        help_text="Time the doctor is held after the appointment ends (clean-up, notes).",
    )
    active = serializers.BooleanField(
        default=True, help_text="Retired types (false) stay readable but can no longer be booked."
    )

    def _step(self, value: int) -> int:
        if value % LOCK_MINUTES:
            raise serializers.ValidationError(f"Use a multiple of {LOCK_MINUTES} minutes.")
        return value

    validate_durationMinutes = _step
    validate_bufferBeforeMinutes = _step
    validate_bufferAfterMinutes = _step


class AppointmentTypeListParams(ListParamsSerializer):
    countryId = IdField(source="country_id", required=False)
