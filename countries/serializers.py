import re
from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from countries import reference
from countries.holidays import HOLIDAY_KINDS
from countries.selectors import country_observes_holidays
from scheduler.api.serializers import (
    BoundedDateField,
    IdField,
    ListParamsSerializer,
    QueryIntegerField,
    RecordSerializer,
    StrictSerializer,
    TextField,
)

MAX_CLOSURES = 366
CLOSURE_NAME_MAX = 100
_CLOSURE_SHAPE = '{"date": "YYYY-MM-DD", "name": "..."}'


@extend_schema_field(
    {
        "type": "array",
        "maxItems": MAX_CLOSURES,
        "items": {
            "type": "object",
            "properties": {
                "date": {"type": "string", "format": "date", "example": "2026-12-24"},
                "name": {"type": "string", "minLength": 1, "maxLength": CLOSURE_NAME_MAX, "example": "Nochebuena"},
            },
            "required": ["date", "name"],
            "additionalProperties": False,
        },
        "description": "Extra closed days (local dates), one name per date; they close every doctor of the "
        "country, whether or not it observes public holidays. Responses list them by date.",
    }
)
class ClosuresField(serializers.Field):
    """A list of {"date", "name"}: each error names the entry (its position and date)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError(f"Expected a list of {_CLOSURE_SHAPE}.")
        if len(data) > MAX_CLOSURES:
            raise serializers.ValidationError(f"At most {MAX_CLOSURES} closures ({len(data)} were given).")
        closures: list[dict] = []
        first_on: dict[date, int] = {}
        for position, entry in enumerate(data, start=1):
            closure = self._entry(position, entry)
            if closure["date"] in first_on:
                raise serializers.ValidationError(
                    f"Entries {first_on[closure['date']]} and {position} are both on {closure['date']}: "
                    "give one name per date."
                )
            first_on[closure["date"]] = position
            closures.append(closure)
        return closures

    @staticmethod
    def _entry(position: int, entry) -> dict:
        if not isinstance(entry, dict):
            raise serializers.ValidationError(f"Entry {position}: expected an object {_CLOSURE_SHAPE}.")
        unknown = sorted(set(entry) - {"date", "name"})
        missing = [name for name in ("date", "name") if name not in entry]
        label = f"Entry {position}" + (f" ({str(entry['date'])[:20]!r})" if "date" in entry else "")
        if unknown or missing:
            problems = [f"unknown field '{name[:20]}'" for name in unknown] + [f"'{m}' missing" for m in missing]
            fields = ", ".join(problems)
            raise serializers.ValidationError(f"{label}: {fields}; expected {_CLOSURE_SHAPE}.")
        day = entry["date"]
        if isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) and not _is_calendar_date(day):
            raise serializers.ValidationError(f"{label}: date: {day} is not a day of the calendar.")
        checked = {}
        for name, field in (("date", BoundedDateField()), ("name", TextField(max_length=CLOSURE_NAME_MAX))):
            try:
                checked[name] = field.run_validation(entry[name])
            except serializers.ValidationError as exc:
                detail = exc.detail if isinstance(exc.detail, list) else [exc.detail]
                raise serializers.ValidationError(f"{label}: {name}: {' '.join(map(str, detail))}") from None
        return checked

    def to_representation(self, value):
        entries = [{"date": closure.date, "name": closure.name} for closure in value or []]
        return sorted(entries, key=lambda entry: entry["date"])


def _is_calendar_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class ObservesHolidaysField(serializers.BooleanField):
    """Read through country_observes_holidays: a country stored without the attribute observes."""

    def get_attribute(self, instance):
        return country_observes_holidays(instance)


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

    observesHolidays = ObservesHolidaysField(
        source="observes_holidays",
        required=False,
        help_text="Whether the country's public holidays (the holidays package's, for its code and each "
        "doctor's subdivision) close its doctors. Default on create: the server's "
        "COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT (true unless configured otherwise).",
    )
    closures = ClosuresField(required=False)

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


class HolidaysParams(StrictSerializer):
    ignored_keys = frozenset({"format"})  # the browsable API's ?format=json|api
    blank_means_left_out = False

    year = QueryIntegerField(
        required=False,
        min_value=1900,
        max_value=2100,
        error_messages={
            key: "Use a year from 1900 to 2100; the current year in the country's zone when left out."
            for key in ("invalid", "min_value", "max_value", "max_string_length")
        },
        help_text="Default: the current year in the country's zone.",
    )
    subdivision = TextField(
        required=False,
        max_length=10,
        help_text="ISO 3166-2 subdivision without the country part (e.g. MD for Madrid): its holidays too.",
    )


class HolidaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(help_text="In the holidays package's language for the country; a closure's own.")
    kind = serializers.ChoiceField(choices=HOLIDAY_KINDS)


class CountryHolidaysSerializer(serializers.Serializer):
    countryId = serializers.CharField()
    year = serializers.IntegerField()
    subdivision = serializers.CharField(allow_null=True, help_text="As asked for (upper case), or null.")
    holidays = HolidaySerializer(
        many=True,
        help_text="Sorted by date. Public holidays only when the country observes them; a date with several "
        "holidays has one entry per name.",
    )
