from datetime import date

import phonenumbers
from rest_framework import serializers

from scheduler.api.serializers import (
    EmailAddressField,
    IdField,
    ListParamsSerializer,
    RecordSerializer,
    TextField,
    undecryptable_field,
)

MAX_AGE = 150


def age_on(born: date, today: date) -> int:
    """Completed years between a birth date and a day."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class PatientSerializer(RecordSerializer):
    patientId = IdField(source="patient_id", required=False)
    name = TextField(max_length=200)
    countryId = IdField(source="country_id")
    age = serializers.IntegerField(min_value=0, max_value=MAX_AGE, required=False, allow_null=True)
    birthDate = serializers.DateField(source="birth_date", required=False, allow_null=True)
    address = TextField(max_length=500, required=False, allow_null=True, allow_blank=True)
    email = EmailAddressField(required=False, allow_null=True)
    phoneNumber = TextField(
        source="phone_number",
        max_length=40,
        required=False,
        allow_null=True,
        help_text="International format (leading +); stored as E.164.",
    )
    undecryptable = undecryptable_field("name", "birthDate", "address", "email", "phoneNumber")

    def validate_phoneNumber(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise serializers.ValidationError(
                f"'{value}' is not a possible phone number; use the international format, e.g. +56 9 1234 5678."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def validate_birthDate(self, value: date | None) -> date | None:
        if value is None:
            return None
        if value > date.today():
            raise serializers.ValidationError("The birth date is in the future.")
        if age_on(value, date.today()) > MAX_AGE:
            raise serializers.ValidationError(f"The birth date is more than {MAX_AGE} years ago.")
        return value

    def validate(self, attrs):
        age, born = attrs.get("age"), attrs.get("birth_date")
        if age is not None and born is not None and age != age_on(born, date.today()):
            raise serializers.ValidationError({"age": [f"An age of {age} does not match the birth date {born}."]})
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("age") is None and data.get("birthDate"):
            data["age"] = age_on(date.fromisoformat(data["birthDate"]), date.today())
        return data


class PatientListParams(ListParamsSerializer):
    countryId = IdField(source="country_id", required=False)
