"""Serializer pieces every resource shares: strict input, ids, date-times, record metadata, list parameters."""

import re
from datetime import date

from django.core.validators import RegexValidator
from email_validator import EmailNotValidError, validate_email
from rest_framework import serializers

from scheduler.db import DEFAULT_LIMIT, MAX_LIMIT

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
ID_MESSAGE = "Use 1 to 64 characters: letters, digits, '_', '.', ':' or '-'."


class TextField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's would turn 12 or 1.5 into text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class EmailAddressField(TextField):
    """An e-mail address, checked for syntax (not deliverability) and lower-cased."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise serializers.ValidationError(f"'{value}' is not a valid e-mail address: {exc}") from None


class IdField(TextField):
    """A client-supplied id (countryId, doctorId, ...)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("help_text", ID_MESSAGE)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(ID_PATTERN, ID_MESSAGE))


# Every date and date-time a client sends lies in these years: the scheduler has nothing before or
# after them, and arithmetic near year 1 or 9999 (a slot's end, a whole day) overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def check_year(value: date) -> None:
    """`value`: a date or a datetime (which is a date too)."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise serializers.ValidationError(f"{value.isoformat()} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}.")


class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time (UTC inside) within EARLIEST_YEAR..LATEST_YEAR."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        check_year(moment)
        return moment


class BoundedDateField(serializers.DateField):
    """An ISO 8601 date within EARLIEST_YEAR..LATEST_YEAR."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        check_year(day)
        return day


class QueryIntegerField(serializers.IntegerField):
    """An integer as a query string spells it: ASCII digits (Python's int() would also take "+5",
    " 5", "1_0" or a full-width "５")."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not re.fullmatch(r"-?[0-9]+", data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so that a misspelt field is an error, not silently lost.
    Read-only fields (as a client echoes them back from a GET) are accepted and ignored. An optional
    field sent as null (or "" for text that may not be blank) counts as left out: the browsable API's
    forms and many clients send every field."""

    ignored_keys: frozenset[str] = frozenset()
    # Bodies: yes. Query parameters: no (`?patientId=` is a mistake to point out, not "no filter").
    blank_means_left_out = True

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - self.ignored_keys)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            if self.blank_means_left_out:
                data = {name: value for name, value in data.items() if not self._left_out(name, value)}
            else:  # DRF would read `?name=` as absent; the schema says at least one character
                blank = sorted(name for name, value in data.items() if value == "" and name in self.fields)
                if blank:
                    message = "May not be blank: give a value or leave the parameter out."
                    raise serializers.ValidationError({name: [message] for name in blank})
        return super().to_internal_value(data)

    def _left_out(self, name: str, value) -> bool:
        field = self.fields.get(name)
        if field is None or field.required or field.read_only:
            return False
        if value is None:
            return not field.allow_null
        return value == "" and isinstance(field, serializers.CharField) and not field.allow_blank


class RecordSerializer(StrictSerializer):
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if "undecryptable" in data and not data["undecryptable"]:
            del data["undecryptable"]  # shown only on a record that has such a field
        return data


def undecryptable_field(*names: str) -> serializers.ListField:
    """The marker a list shows on a record whose encrypted value does not decrypt (the fields, which
    read null; a GET of the record is a 503 `undecryptable`). The OpenAPI schema marks the fields it
    may name nullable (scheduler/api/schema.py)."""
    return serializers.ListField(
        child=serializers.ChoiceField(choices=list(names)),
        source="undecryptable_fields",
        read_only=True,
        help_text=(
            "Present only when some of this record's encrypted fields do not decrypt (a missing key, or a "
            "value altered or copied from another record): those fields, shown as null. "
            "A GET of the record answers 503 `undecryptable`."
        ),
    )


class ListParamsSerializer(StrictSerializer):
    ignored_keys = frozenset({"format"})  # the browsable API's ?format=json|api
    blank_means_left_out = False
    limit = QueryIntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        default=DEFAULT_LIMIT,
        error_messages={
            key: f"Use a whole number from 1 to {MAX_LIMIT}; {DEFAULT_LIMIT} when left out."
            for key in ("invalid", "min_value", "max_value", "max_string_length")
        },
    )
    cursor = TextField(default=None, max_length=4096)
