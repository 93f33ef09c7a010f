from rest_framework import serializers

from countries import reference
from scheduler.api.serializers import IdField, ListParamsSerializer, RecordSerializer, TextField


class CountrySerializer(RecordSerializer):
    countryId = IdField(source="country_id", required=False)
    name = TextField(max_length=100)
    code = TextField(help_text="ISO 3166-1 alpha-2 code; case-insensitive in, upper-case out.")
    timeZone = TextField(
        source="time_zone",
        required=False,
        allow_null=True,
        max_length=64,
        help_text="IANA time zone; defaults to the country's principal zone.",
    )
    minNoticeMinutes = serializers.IntegerField(source="min_notice_minutes", min_value=0, max_value=525_600, default=60)
    maxAdvanceDays = serializers.IntegerField(source="max_advance_days", min_value=1, max_value=730, default=180)
    cancellationCutoffMinutes = serializers.IntegerField(
        source="cancellation_cutoff_minutes", min_value=0, max_value=43_200, default=0
    )
    reminderOffsetsMinutes = serializers.ListField(
        source="reminder_offsets_minutes",
        child=serializers.IntegerField(min_value=1, max_value=43_200),
        max_length=10,
        required=False,
    )

    def validate_code(self, value: str) -> str:
        code = value.strip().upper()
        if not reference.is_country_code(code):
            raise serializers.ValidationError(f"'{value}' is not an ISO 3166-1 alpha-2 country code (e.g. 'CL').")
        return code

    def validate_timeZone(self, value: str | None) -> str | None:
        if value is not None and not reference.is_time_zone(value):
            raise serializers.ValidationError(f"'{value}' is not an IANA time zone (e.g. 'America/Santiago').")
        return value

    def validate_reminderOffsetsMinutes(self, value: list[int]) -> list[int]:
        return sorted(set(value), reverse=True)


class CountryListParams(ListParamsSerializer):
    code = TextField(required=False, max_length=2)
