"""Unit tests of DoctorSerializer's validation (no DynamoDB, no HTTP)."""

from datetime import UTC, datetime

import pytest

from doctors.schedule import WeeklyWindow
from doctors.serializers import DoctorSerializer

DOCTOR = {
    "doctorId": "doctor001",
    "name": "Dr. Lorea",
    "speciality": "Estomatolog",
    "countryId": "002",
    "availableTimes": ["Monday 10am-4pm", "Wednesday 1pm-5pm"],
}


def validate(**changes):
    data = {**DOCTOR, **changes}
    data = {key: value for key, value in data.items() if value is not ...}
    serializer = DoctorSerializer(data=data)
    return serializer.is_valid(), serializer


def test_original_example_is_valid():
    valid, serializer = validate()
    assert valid, serializer.errors
    data = serializer.validated_data
    assert data["doctor_id"] == "doctor001"
    assert data["name"] == "Dr. Lorea"
    assert data["speciality"] == "Estomatolog"
    assert data["country_id"] == "002"
    assert data["available_times"] == [WeeklyWindow(0, 600, 960), WeeklyWindow(2, 780, 1020)]
    assert data["slot_minutes"] == 30
    assert "time_zone" not in data
    assert "unavailable" not in data


def test_available_times_accepts_the_object_form():
    valid, serializer = validate(
        availableTimes=[{"day": "friday", "start": "09:00", "end": "12:30"}, "Tue 09:00-12:30"]
    )
    assert valid, serializer.errors
    assert [w.as_dict() for w in serializer.validated_data["available_times"]] == [
        {"day": "tuesday", "start": "09:00", "end": "12:30"},
        {"day": "friday", "start": "09:00", "end": "12:30"},
    ]


def test_available_times_is_required():
    valid, serializer = validate(availableTimes=...)
    assert not valid
    assert serializer.errors == {"availableTimes": ["This field is required."]}


def test_available_times_may_not_be_null():
    valid, serializer = validate(availableTimes=None)
    assert not valid
    assert serializer.errors == {"availableTimes": ["This field may not be null."]}


@pytest.mark.parametrize("value", ["Monday 10am-4pm", {"day": "monday", "start": "10:00", "end": "16:00"}, 5])
def test_available_times_must_be_a_list(value):
    valid, serializer = validate(availableTimes=value)
    assert not valid
    [message] = serializer.errors["availableTimes"]
    assert message.startswith("Expected a list of weekly windows")


@pytest.mark.parametrize(
    ("entries", "quoted", "reason"),
    [
        (["Monday 10am-4pm", "Funday 1pm-5pm"], '"Funday 1pm-5pm"', "is not a day of the week"),
        (["Monday whenever"], '"Monday whenever"', "cannot read a day and a time range"),
        (["Monday 4pm-10am"], '"Monday 4pm-10am"', "the start must be before the end"),
        (["Monday 10:00-25:00"], '"Monday 10:00-25:00"', "a 24-hour time takes 00:00 to 24:00"),
        ([None], "null", "each entry is a string or an object"),
        ([{"day": "monday", "start": "10:00"}], '{"day": "monday", "start": "10:00"}', "exactly the keys"),
        (["Monday 10am-4pm", "Monday 3pm-5pm"], '"Monday 10am-4pm" and "Monday 3pm-5pm"', "overlap on Monday"),
    ],
)
def test_bad_available_times_are_refused_quoting_the_entry(entries, quoted, reason):
    valid, serializer = validate(availableTimes=entries)
    assert not valid
    assert list(serializer.errors) == ["availableTimes"]
    [message] = serializer.errors["availableTimes"]
    assert message.startswith(f"{quoted}")
    assert reason in message


@pytest.mark.parametrize("minutes", [5, 15, 30, 60, 240])
def test_slot_minutes_in_range(minutes):
    valid, serializer = validate(slotMinutes=minutes)
    assert valid, serializer.errors
    assert serializer.validated_data["slot_minutes"] == minutes


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        (4, "Ensure this value is greater than or equal to 5."),
        (0, "Ensure this value is greater than or equal to 5."),
        (-30, "Ensure this value is greater than or equal to 5."),
        (241, "Ensure this value is less than or equal to 240."),
        ("half an hour", "A valid integer is required."),
    ],
)
def test_slot_minutes_out_of_range_is_refused(minutes, message):
    valid, serializer = validate(slotMinutes=minutes)
    assert not valid
    assert serializer.errors == {"slotMinutes": [message]}


@pytest.mark.parametrize("zone", ["America/Santiago", "Europe/Madrid", "UTC", None])
def test_time_zone_accepted(zone):
    valid, serializer = validate(timeZone=zone)
    assert valid, serializer.errors
    assert serializer.validated_data["time_zone"] == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "america/santiago", "Santiago", "GMT+3"])
def test_bad_time_zone_is_refused_naming_the_field(zone):
    valid, serializer = validate(timeZone=zone)
    assert not valid
    assert serializer.errors == {"timeZone": [f"'{zone}' is not an IANA time zone (e.g. 'America/Santiago')."]}


@pytest.mark.parametrize(("field", "value"), [("slotMinutes", None), ("timeZone", ""), ("doctorId", "")])
def test_an_optional_field_sent_null_or_blank_counts_as_left_out(field, value):
    # The browsable API's form and many clients send every field; the defaults then apply.
    valid, serializer = validate(**{field: value})
    assert valid, serializer.errors
    source = {"slotMinutes": "slot_minutes", "timeZone": "time_zone", "doctorId": "doctor_id"}[field]
    default = {"slot_minutes": 30}.get(source, "absent")
    assert serializer.validated_data.get(source, "absent") == default


def test_time_zone_must_be_a_string():
    valid, serializer = validate(timeZone=3)
    assert not valid
    assert serializer.errors == {"timeZone": ["Not a valid string."]}


@pytest.mark.parametrize("field", ["availabletimes", "available_times", "slot_minutes", "phone"])
def test_unknown_fields_are_refused(field):
    valid, serializer = validate(**{field: "x"})
    assert not valid
    assert serializer.errors == {field: ["Unknown field."]}


def test_several_unknown_fields_are_all_named():
    valid, serializer = validate(foo=1, bar=2)
    assert not valid
    assert serializer.errors == {"bar": ["Unknown field."], "foo": ["Unknown field."]}


def test_read_only_fields_echoed_back_are_ignored():
    valid, serializer = validate(createdAt="2026-01-01T00:00:00Z", updatedAt="2026-01-01T00:00:00Z", version=3)
    assert valid, serializer.errors
    assert not {"created_at", "updated_at", "version"} & set(serializer.validated_data)


def test_blocked_periods_are_accepted():
    valid, serializer = validate(
        unavailable=[
            {"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z", "reason": " Christmas "},
            {"start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"},
        ]
    )
    assert valid, serializer.errors
    first, second = serializer.validated_data["unavailable"]
    assert first == {
        "start": datetime(2026, 12, 24, tzinfo=UTC),
        "end": datetime(2026, 12, 26, tzinfo=UTC),
        "reason": "Christmas",
    }
    assert second == {"start": datetime(2027, 1, 1, tzinfo=UTC), "end": datetime(2027, 1, 2, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-12-26T00:00:00Z", "2026-12-24T00:00:00Z"),
        ("2026-12-24T00:00:00Z", "2026-12-24T00:00:00Z"),
        # the same instant written in two zones is still an empty period
        ("2026-12-24T03:00:00Z", "2026-12-24T00:00:00-03:00"),
    ],
)
def test_blocked_period_ending_before_it_starts_is_refused(start, end):
    ok = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"}
    valid, serializer = validate(unavailable=[ok, {"start": start, "end": end}])
    assert not valid
    # DRF keys list items' errors by the item's index (LIST_SERIALIZER_ERRORS_AS_DICT, default True)
    assert serializer.errors == {"unavailable": {1: {"end": ["The end must be after the start."]}}}


def test_blocked_period_needs_start_and_end_and_no_other_keys():
    valid, serializer = validate(unavailable=[{"start": "2026-12-24T00:00:00Z", "until": "2026-12-26T00:00:00Z"}])
    assert not valid
    assert serializer.errors == {"unavailable": {0: {"until": ["Unknown field."]}}}

    valid, serializer = validate(unavailable=[{"start": "2026-12-24T00:00:00Z"}])
    assert not valid
    assert serializer.errors == {"unavailable": {0: {"end": ["This field is required."]}}}


@pytest.mark.parametrize("name", [42, 1.5, True, ["Dr. Lorea"], {"first": "Lorea"}])
def test_name_must_be_a_string(name):
    valid, serializer = validate(name=name)
    assert not valid
    assert serializer.errors == {"name": ["Not a valid string."]}


def test_text_is_trimmed():
    valid, serializer = validate(name="  Dr. Lorea ", speciality=" Estomatolog\n")
    assert valid, serializer.errors
    assert serializer.validated_data["name"] == "Dr. Lorea"
    assert serializer.validated_data["speciality"] == "Estomatolog"


@pytest.mark.parametrize("field", ["name", "speciality", "countryId"])
def test_required_fields(field):
    valid, serializer = validate(**{field: ...})
    assert not valid
    assert serializer.errors == {field: ["This field is required."]}


@pytest.mark.parametrize("doctor_id", ["bad id!", "x" * 65, "doctor/001"])
def test_doctor_id_pattern(doctor_id):
    valid, serializer = validate(doctorId=doctor_id)
    assert not valid
    assert list(serializer.errors) == ["doctorId"]
