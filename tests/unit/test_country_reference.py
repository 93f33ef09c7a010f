"""Unit tests of the ISO 3166 / IANA reference data and CountrySerializer (no DynamoDB, no HTTP)."""

import pytest

from countries import reference
from countries.serializers import CountrySerializer

CHILE = {"countryId": "002", "name": "CHILE", "code": "CL"}


def validate(**changes):
    data = {**CHILE, **changes}
    data = {key: value for key, value in data.items() if value is not ...}
    serializer = CountrySerializer(data=data)
    return serializer.is_valid(), serializer


# --- reference data ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["CL", "US", "PE", "AR", "ES", "cl", "us", "Pe"])
def test_is_country_code_true(code):
    assert reference.is_country_code(code) is True


@pytest.mark.parametrize("code", ["XX", "ZZ", "", "C", "CHL", "USA", "12", " CL"])
def test_is_country_code_false(code):
    assert reference.is_country_code(code) is False


@pytest.mark.parametrize(("code", "name"), [("CL", "Chile"), ("US", "United States"), ("PE", "Peru"), ("ES", "Spain")])
def test_country_names(code, name):
    assert reference.country_names()[code] == name


def test_country_names_are_upper_case_alpha_2():
    names = reference.country_names()
    assert len(names) > 240
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in names)


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("CL", "America/Santiago"),
        ("cl", "America/Santiago"),
        ("US", "America/New_York"),
        ("us", "America/New_York"),
        ("PE", "America/Lima"),
        ("AR", "America/Argentina/Buenos_Aires"),
        ("ES", "Europe/Madrid"),
    ],
)
def test_principal_zone(code, zone):
    assert reference.principal_zone(code) == zone


@pytest.mark.parametrize("code", ["XX", "ZZ", ""])
def test_principal_zone_of_unknown_code_is_none(code):
    assert reference.principal_zone(code) is None


@pytest.mark.parametrize(
    "name", ["America/Santiago", "America/New_York", "America/Lima", "Europe/Madrid", "UTC", "Asia/Tokyo"]
)
def test_is_time_zone_true(name):
    assert reference.is_time_zone(name) is True


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "america/santiago", "AMERICA/SANTIAGO", "Santiago", "", "America/", "../etc/passwd", "CL"],
)
def test_is_time_zone_false(name):
    assert reference.is_time_zone(name) is False


# --- CountrySerializer -------------------------------------------------------------------------


def test_original_example_gets_the_defaults():
    valid, serializer = validate()
    assert valid, serializer.errors
    assert serializer.validated_data == {
        "country_id": "002",
        "name": "CHILE",
        "code": "CL",
        "min_notice_minutes": 60,
        "max_advance_days": 180,
        "cancellation_cutoff_minutes": 0,
    }


@pytest.mark.parametrize(("code", "stored"), [("cl", "CL"), ("CL", "CL"), ("Us", "US"), (" pe ", "PE")])
def test_code_is_upper_cased(code, stored):
    valid, serializer = validate(code=code)
    assert valid, serializer.errors
    assert serializer.validated_data["code"] == stored


@pytest.mark.parametrize("code", ["ZZ", "XX", "CHL", "C", "12"])
def test_bad_code_is_refused_naming_code(code):
    valid, serializer = validate(code=code)
    assert not valid
    assert serializer.errors == {"code": [f"'{code}' is not an ISO 3166-1 alpha-2 country code (e.g. 'CL')."]}


@pytest.mark.parametrize(
    ("code", "message"),
    [("", "This field may not be blank."), (56, "Not a valid string."), (None, "This field may not be null.")],
)
def test_code_must_be_a_non_blank_string(code, message):
    valid, serializer = validate(code=code)
    assert not valid
    assert serializer.errors == {"code": [message]}


def test_code_is_required():
    valid, serializer = validate(code=...)
    assert not valid
    assert serializer.errors == {"code": ["This field is required."]}


@pytest.mark.parametrize(
    ("offsets", "normalised"),
    [
        ([120, 1440], [1440, 120]),
        ([1440, 120], [1440, 120]),
        ([60, 1440, 60, 120, 1440], [1440, 120, 60]),
        ([5], [5]),
        ([], []),
        (["30", 10], [30, 10]),
    ],
)
def test_reminder_offsets_are_sorted_descending_and_deduplicated(offsets, normalised):
    valid, serializer = validate(reminderOffsetsMinutes=offsets)
    assert valid, serializer.errors
    assert serializer.validated_data["reminder_offsets_minutes"] == normalised


@pytest.mark.parametrize("offsets", [[0], [-5], [43_201], [60, "soon"], [1.5]])
def test_reminder_offsets_out_of_range_are_refused(offsets):
    valid, serializer = validate(reminderOffsetsMinutes=offsets)
    assert not valid
    assert list(serializer.errors) == ["reminderOffsetsMinutes"]


def test_at_most_ten_reminder_offsets():
    valid, serializer = validate(reminderOffsetsMinutes=list(range(1, 11)))
    assert valid, serializer.errors
    assert serializer.validated_data["reminder_offsets_minutes"] == list(range(10, 0, -1))

    valid, serializer = validate(reminderOffsetsMinutes=list(range(1, 12)))
    assert not valid
    assert serializer.errors == {"reminderOffsetsMinutes": ["Ensure this field has no more than 10 elements."]}


def test_reminder_offsets_must_be_a_list():
    valid, serializer = validate(reminderOffsetsMinutes=60)
    assert not valid
    assert list(serializer.errors) == ["reminderOffsetsMinutes"]


@pytest.mark.parametrize("zone", ["America/Santiago", "America/Punta_Arenas", "UTC", None])
def test_time_zone_accepted(zone):
    valid, serializer = validate(timeZone=zone)
    assert valid, serializer.errors
    assert serializer.validated_data["time_zone"] == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "america/santiago", "Chile"])
def test_bad_time_zone_is_refused_naming_the_field(zone):
    valid, serializer = validate(timeZone=zone)
    assert not valid
    assert serializer.errors == {"timeZone": [f"'{zone}' is not an IANA time zone (e.g. 'America/Santiago')."]}


def test_time_zone_too_long_is_refused():
    valid, serializer = validate(timeZone="America/" + "x" * 60)
    assert not valid
    assert serializer.errors == {"timeZone": ["Ensure this field has no more than 64 characters."]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("minNoticeMinutes", -1, "Ensure this value is greater than or equal to 0."),
        ("minNoticeMinutes", 525_601, "Ensure this value is less than or equal to 525600."),
        ("maxAdvanceDays", 0, "Ensure this value is greater than or equal to 1."),
        ("maxAdvanceDays", 731, "Ensure this value is less than or equal to 730."),
        ("cancellationCutoffMinutes", -1, "Ensure this value is greater than or equal to 0."),
        ("cancellationCutoffMinutes", 43_201, "Ensure this value is less than or equal to 43200."),
    ],
)
def test_policy_limits(field, value, message):
    valid, serializer = validate(**{field: value})
    assert not valid
    assert serializer.errors == {field: [message]}


@pytest.mark.parametrize("field", ["Code", "country_code", "timezone"])
def test_unknown_fields_are_refused(field):
    valid, serializer = validate(**{field: "x"})
    assert not valid
    assert serializer.errors == {field: ["Unknown field."]}
