"""Unit tests of PatientSerializer's validation and representation (no DynamoDB, no HTTP)."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from patients.serializers import PatientSerializer
from scheduler.api.serializers import ID_MESSAGE

PATIENT = {
    "patientId": "0315",
    "name": "Jorge Moros",
    "age": 85,
    "address": "Av. Siempre Viva 742",
    "email": "johndoe@example.com",
    "phoneNumber": "+1-555-555-5555",
    "countryId": "001",
}


def validate(**changes):
    data = {**PATIENT, **changes}
    data = {key: value for key, value in data.items() if value is not ...}
    serializer = PatientSerializer(data=data)
    return serializer.is_valid(), serializer


class FixedDate(date):
    """`date` whose today() is 2026-06-15, to make age arithmetic deterministic."""

    @classmethod
    def today(cls):
        return cls(2026, 6, 15)


@pytest.fixture
def today_is_2026_06_15(monkeypatch):
    monkeypatch.setattr("patients.serializers.date", FixedDate)


def test_original_example_is_valid_and_normalised():
    valid, serializer = validate()
    assert valid, serializer.errors
    assert serializer.validated_data == {
        "patient_id": "0315",
        "name": "Jorge Moros",
        "age": 85,
        "address": "Av. Siempre Viva 742",
        "email": "johndoe@example.com",
        "phone_number": "+15555555555",
        "country_id": "001",
    }


# --- email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "normalised"),
    [
        ("JohnDoe@Example.COM", "johndoe@example.com"),
        ("johndoe@example.com", "johndoe@example.com"),
        ("  JOHN.DOE+tag@EXAMPLE.cl ", "john.doe+tag@example.cl"),
    ],
)
def test_email_is_validated_and_lower_cased(email, normalised):
    valid, serializer = validate(email=email)
    assert valid, serializer.errors
    assert serializer.validated_data["email"] == normalised


@pytest.mark.parametrize(
    "email", ["not-an-email", "john@", "@example.com", "john doe@example.com", "john@@example.com", "john@localhost"]
)
def test_bad_email_is_refused_naming_the_field(email):
    valid, serializer = validate(email=email)
    assert not valid
    assert list(serializer.errors) == ["email"]
    [message] = serializer.errors["email"]
    assert message.startswith(f"'{email}' is not a valid e-mail address")


def test_email_is_optional_and_nullable():
    valid, serializer = validate(email=...)
    assert valid, serializer.errors
    assert "email" not in serializer.validated_data

    valid, serializer = validate(email=None)
    assert valid, serializer.errors
    assert serializer.validated_data["email"] is None


def test_blank_email_is_refused():
    valid, serializer = validate(email="   ")
    assert not valid
    assert serializer.errors == {"email": ["This field may not be blank."]}


# --- phone number ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+1-555-555-5555", "+15555555555"),
        ("+56 9 1234 5678", "+56912345678"),
        ("+56912345678", "+56912345678"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("+44 20 7946 0958", "+442079460958"),
        (" +51 1 234 5678 ", "+5112345678"),
    ],
)
def test_phone_number_is_normalised_to_e164(phone, e164):
    valid, serializer = validate(phoneNumber=phone)
    assert valid, serializer.errors
    assert serializer.validated_data["phone_number"] == e164


@pytest.mark.parametrize("phone", ["12345", "abc", "+1234", "555-555-5555", "+", "+56 9 1234 5678 9999 9999"])
def test_impossible_phone_number_is_refused(phone):
    valid, serializer = validate(phoneNumber=phone)
    assert not valid
    assert list(serializer.errors) == ["phoneNumber"]
    [message] = serializer.errors["phoneNumber"]
    assert message == (f"'{phone}' is not a possible phone number; use the international format, e.g. +56 9 1234 5678.")


def test_phone_number_must_be_a_string():
    valid, serializer = validate(phoneNumber=15555555555)
    assert not valid
    assert serializer.errors == {"phoneNumber": ["Not a valid string."]}


def test_phone_number_nullable():
    valid, serializer = validate(phoneNumber=None)
    assert valid, serializer.errors
    assert serializer.validated_data["phone_number"] is None


# --- age and birth date ------------------------------------------------------------------------


@pytest.mark.parametrize("age", [0, 1, 85, 150])
def test_age_in_range(age):
    valid, serializer = validate(age=age)
    assert valid, serializer.errors
    assert serializer.validated_data["age"] == age


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (151, "Ensure this value is less than or equal to 150."),
        (-1, "Ensure this value is greater than or equal to 0."),
        (85.5, "A valid integer is required."),
        ("eighty-five", "A valid integer is required."),
        ("", "A valid integer is required."),
    ],
)
def test_age_out_of_range_is_refused(age, message):
    valid, serializer = validate(age=age)
    assert not valid
    assert serializer.errors == {"age": [message]}


@pytest.mark.parametrize(("age", "value"), [("85", 85), (" 85 ", 85), (85.0, 85), ("85.0", 85)])
def test_age_as_numeric_string_or_integral_float_is_coerced(age, value):
    # DRF's IntegerField coerces integral strings and floats; the serializer keeps that behaviour
    valid, serializer = validate(age=age)
    assert valid, serializer.errors
    assert serializer.validated_data["age"] == value
    assert type(serializer.validated_data["age"]) is int


def test_age_and_birth_date_are_optional():
    valid, serializer = validate(age=...)
    assert valid, serializer.errors
    assert "age" not in serializer.validated_data
    assert "birth_date" not in serializer.validated_data

    valid, serializer = validate(age=None, birthDate=None)
    assert valid, serializer.errors
    assert serializer.validated_data["age"] is None
    assert serializer.validated_data["birth_date"] is None


@pytest.mark.parametrize("birth", ["1941-03-02", "2026-06-15", "1876-01-01"])
def test_birth_date_accepted(today_is_2026_06_15, birth):
    valid, serializer = validate(age=..., birthDate=birth)
    assert valid, serializer.errors
    assert serializer.validated_data["birth_date"] == date.fromisoformat(birth)


@pytest.mark.parametrize("birth", ["2026-06-16", "2027-01-01", "2999-12-31"])
def test_birth_date_in_the_future_is_refused(today_is_2026_06_15, birth):
    valid, serializer = validate(age=..., birthDate=birth)
    assert not valid
    assert serializer.errors == {"birthDate": ["The birth date is in the future."]}


def test_birth_date_tomorrow_is_refused_with_the_real_clock():
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    valid, serializer = validate(age=..., birthDate=tomorrow)
    assert not valid
    assert serializer.errors == {"birthDate": ["The birth date is in the future."]}


@pytest.mark.parametrize("birth", ["1800-01-01", "1875-01-01"])
def test_birth_date_too_long_ago_is_refused(today_is_2026_06_15, birth):
    valid, serializer = validate(age=..., birthDate=birth)
    assert not valid
    assert serializer.errors == {"birthDate": ["The birth date is more than 150 years ago."]}


@pytest.mark.parametrize("birth", ["15/06/1980", "1980-02-30", "yesterday", 19800615])
def test_birth_date_must_be_an_iso_date(birth):
    valid, serializer = validate(age=..., birthDate=birth)
    assert not valid
    assert list(serializer.errors) == ["birthDate"]
    [message] = serializer.errors["birthDate"]
    assert message.startswith("Date has wrong format.")


# --- text, ids, unknown fields -----------------------------------------------------------------


def test_text_fields_are_trimmed():
    valid, serializer = validate(name="Jorge Moros ", address="  Av. Siempre Viva 742\n")
    assert valid, serializer.errors
    assert serializer.validated_data["name"] == "Jorge Moros"
    assert serializer.validated_data["address"] == "Av. Siempre Viva 742"


@pytest.mark.parametrize(("address", "stored"), [("", ""), ("   ", ""), (None, None)])
def test_address_may_be_blank_or_null(address, stored):
    valid, serializer = validate(address=address)
    assert valid, serializer.errors
    assert serializer.validated_data["address"] == stored


@pytest.mark.parametrize(("name", "message"), [("   ", "This field may not be blank."), (85, "Not a valid string.")])
def test_bad_name_is_refused(name, message):
    valid, serializer = validate(name=name)
    assert not valid
    assert serializer.errors == {"name": [message]}


def test_name_too_long_is_refused():
    valid, serializer = validate(name="x" * 201)
    assert not valid
    assert serializer.errors == {"name": ["Ensure this field has no more than 200 characters."]}


@pytest.mark.parametrize("country_id", ["001", "CL", "a_b.c:d-e", "x" * 64])
def test_country_id_accepted(country_id):
    valid, serializer = validate(countryId=country_id)
    assert valid, serializer.errors
    assert serializer.validated_data["country_id"] == country_id


@pytest.mark.parametrize("country_id", ["bad id!", " 001", "001 ", "país", "a/b", "x" * 65])
def test_country_id_pattern_is_enforced(country_id):
    valid, serializer = validate(countryId=country_id)
    assert not valid
    assert list(serializer.errors) == ["countryId"]
    messages = serializer.errors["countryId"]
    if len(country_id) > 64:
        assert "Ensure this field has no more than 64 characters." in messages
    else:
        assert messages == [ID_MESSAGE]


def test_country_id_is_required():
    valid, serializer = validate(countryId=...)
    assert not valid
    assert serializer.errors == {"countryId": ["This field is required."]}


@pytest.mark.parametrize("patient_id", ["bad id!", "x" * 65])
def test_patient_id_pattern_is_enforced(patient_id):
    valid, serializer = validate(patientId=patient_id)
    assert not valid
    assert list(serializer.errors) == ["patientId"]


@pytest.mark.parametrize("field", ["phone", "Email", "birth_date", "country"])
def test_unknown_fields_are_refused(field):
    valid, serializer = validate(**{field: "x"})
    assert not valid
    assert serializer.errors == {field: ["Unknown field."]}


# --- representation ----------------------------------------------------------------------------


def patient_record(**changes):
    record = {
        "patient_id": "0315",
        "name": "Jorge Moros",
        "country_id": "001",
        "age": None,
        "birth_date": "1941-03-02",
        "address": "Av. Siempre Viva 742",
        "email": "johndoe@example.com",
        "phone_number": "+15555555555",
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 3, 3, 4, 5, tzinfo=UTC),
        "version": 2,
    }
    return SimpleNamespace(**{**record, **changes})


def test_representation_computes_age_from_birth_date(today_is_2026_06_15):
    data = PatientSerializer(patient_record()).data
    assert data == {
        "patientId": "0315",
        "name": "Jorge Moros",
        "countryId": "001",
        "age": 85,
        "birthDate": "1941-03-02",
        "address": "Av. Siempre Viva 742",
        "email": "johndoe@example.com",
        "phoneNumber": "+15555555555",
        "createdAt": "2026-01-02T03:04:05Z",
        "updatedAt": "2026-01-03T03:04:05Z",
        "version": 2,
    }


@pytest.mark.parametrize(
    ("birth", "age"),
    [
        ("1941-06-15", 85),  # birthday today
        ("1941-06-16", 84),  # birthday tomorrow
        ("1941-06-14", 85),
        ("1941-12-31", 84),
        ("2026-06-15", 0),
        ("2025-06-16", 0),
        ("2025-06-15", 1),
        (date(1980, 1, 1), 46),  # a date object as well as an ISO string
    ],
)
def test_representation_age_counts_whole_years(today_is_2026_06_15, birth, age):
    data = PatientSerializer(patient_record(birth_date=birth)).data
    assert data["age"] == age


def test_representation_keeps_a_stored_age(today_is_2026_06_15):
    data = PatientSerializer(patient_record(age=70)).data
    assert data["age"] == 70
    assert data["birthDate"] == "1941-03-02"


def test_representation_keeps_a_stored_age_of_zero(today_is_2026_06_15):
    assert PatientSerializer(patient_record(age=0)).data["age"] == 0


def test_representation_without_age_or_birth_date(today_is_2026_06_15):
    data = PatientSerializer(patient_record(birth_date=None)).data
    assert data["age"] is None
    assert data["birthDate"] is None
