"""Bad input at the edges: what a fuzzer built from the OpenAPI schema does not send. Every case is
a 4xx with a JSON body naming the problem (the field where there is one), never a 500."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from scheduler.exceptions import ERROR_CODES

LONG_ID = "a" * 10_000
MAX_BIG = 10**30


@dataclass
class Case:
    """One request: `body` is JSON-encoded unless it is bytes (sent as they are)."""

    method: str
    path: str
    body: Any = None
    status: int = 400
    names: str | None = "detail"  # the key the error body must have (the field at fault)
    content_type: str = "application/json"
    extra: dict = field(default_factory=dict)

    def send(self, client):
        body = self.body
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        if "HTTP_AUTHORIZATION" in self.extra:
            client = APIClient()  # the signed-in client's own credentials would replace the header
        response = client.generic(self.method, self.path, body or b"", content_type=self.content_type, **self.extra)
        assert response.status_code == self.status, (response.status_code, response.content[:500])
        data = response.json()
        if "detail" in data:
            assert data.get("code") in ERROR_CODES, data
        if self.names:
            assert self.names in data, data
            assert first_message(data[self.names]), data
        return data


def first_message(error) -> str:
    """The first message of an error body's entry (nested for lists and objects: {"0": [...]})."""
    while isinstance(error, list | dict) and error:
        error = error[0] if isinstance(error, list) else next(iter(error.values()))
    assert isinstance(error, str) and error.strip(), error
    return error


def cases(**named: Case) -> list:
    return [pytest.param(case, id=name) for name, case in named.items()]


def booking(**changes) -> dict:
    body = {"patientId": "p-cl", "doctorId": "d-cl", "appointmentDate": "2026-12-07T15:00:00Z"}
    return {**body, **changes}


COUNTRY = {"countryId": "009", "name": "ARGENTINA", "code": "AR"}
DOCTOR = {"doctorId": "d-new", "name": "Dr. New", "speciality": "GP", "countryId": "002", "availableTimes": []}
PATIENT = {"patientId": "p-new", "name": "New Patient", "countryId": "002"}

# --- Bodies: size, nesting, encoding, JSON oddities, content types ----------------------------------
BODIES = cases(
    too_large=Case("POST", "/countries", b'{"name": "' + b"x" * (256 * 1024) + b'"}', status=413),
    too_large_patch=Case("PATCH", "/doctors/d-cl", b'{"name": "' + b"x" * (256 * 1024) + b'"}', status=413),
    nested_arrays=Case("POST", "/countries", b"[" * 100_000),
    nested_objects=Case("POST", "/countries", b'{"a":' * 50_000),
    nested_closed=Case("POST", "/doctors", b'{"availableTimes": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    nested_in_field=Case(
        "POST", "/doctors", {**DOCTOR, "availableTimes": json.loads("[" * 900 + "]" * 900)}, names="detail"
    ),
    nested_shallow_enough=Case(
        "POST", "/doctors", {**DOCTOR, "availableTimes": json.loads("[" * 10 + "]" * 10)}, names="availableTimes"
    ),
    nested_in_list_field=Case(
        "POST",
        "/users",
        {
            "username": "someone",
            "password": "a long passphrase here",
            "role": "staff",
            "countryIds": json.loads("[" * 900 + "]" * 900),
        },
        names="detail",
    ),
    invalid_utf8=Case("POST", "/countries", b'{"name": "\xff\xfe", "code": "CL"}'),
    invalid_utf8_key=Case("POST", "/countries", b'{"na\xc3me": "X", "code": "CL"}'),
    overlong_utf8=Case("POST", "/countries", b'{"name": "\xc0\xaf", "code": "CL"}'),
    lone_surrogate_value=Case("POST", "/countries", b'{"countryId": "009", "name": "\\ud800", "code": "AR"}'),
    lone_surrogate_in_list=Case(
        "POST", "/users", b'{"username": "someone", "role": "staff", "countryIds": ["\\udfff"]}'
    ),
    lone_surrogate_key=Case("POST", "/countries", b'{"\\udc00": 1, "name": "X", "code": "AR"}'),
    lone_surrogate_email=Case("POST", "/patients", {**PATIENT, "email": "a\ud800@example.com"}),
    utf16_declared_utf8_sent=Case(
        "POST", "/countries", b'{"name": "X"}', content_type="application/json; charset=utf-16"
    ),
    unknown_charset=Case(
        "POST", "/countries", b'{"name": "X"}', content_type="application/json; charset=no-such", names="code"
    ),
    charset_not_text=Case("POST", "/countries", b'{"name": "X"}', content_type="application/json; charset=zlib"),
    nan=Case("POST", "/countries", b'{"countryId": "009", "name": "X", "code": "AR", "minNoticeMinutes": NaN}'),
    infinity=Case("POST", "/patients", b'{"patientId": "p-n", "name": "X", "countryId": "002", "age": Infinity}'),
    minus_infinity=Case(
        "POST", "/patients", b'{"patientId": "p-n", "name": "X", "countryId": "002", "age": -Infinity}'
    ),
    float_overflow=Case(
        "POST", "/patients", b'{"patientId": "p-n", "name": "X", "countryId": "002", "age": 1e400}', names="age"
    ),
    huge_integer=Case(
        "POST", "/patients", b'{"patientId": "p-n", "name": "X", "countryId": "002", "age": ' + b"9" * 5000 + b"}"
    ),
    big_integer=Case("POST", "/countries", {**COUNTRY, "minNoticeMinutes": 10**300}, names="minNoticeMinutes"),
    empty_body=Case("POST", "/countries", b"", names="name"),
    whitespace_body=Case("POST", "/countries", b"   "),
    bom=Case("POST", "/countries", b'\xef\xbb\xbf{"name": "X", "code": "AR"}'),
    text_plain=Case("POST", "/countries", b'{"name": "X"}', status=415, content_type="text/plain"),
    form=Case("POST", "/countries", b"name=X", status=415, content_type="application/x-www-form-urlencoded"),
    multipart=Case(
        "POST", "/countries", b"--b\r\n\r\n--b--", status=415, content_type="multipart/form-data; boundary=b"
    ),
    no_content_type=Case("POST", "/countries", b'{"name": "X"}', status=415, content_type=""),
    bad_content_type=Case("POST", "/countries", b'{"name": "X"}', status=415, content_type="json"),
)

# --- Types: numbers for strings, strings for numbers, null bytes ------------------------------------
TYPES = cases(
    number_for_name=Case("POST", "/countries", {**COUNTRY, "name": 12}, names="name"),
    bool_for_name=Case("POST", "/countries", {**COUNTRY, "name": True}, names="name"),
    list_for_name=Case("POST", "/countries", {**COUNTRY, "name": ["X"]}, names="name"),
    object_for_id=Case("POST", "/countries", {**COUNTRY, "countryId": {"S": "009"}}, names="countryId"),
    number_for_id=Case("POST", "/appointments", booking(patientId=315), names="patientId"),
    text_for_number=Case("POST", "/countries", {**COUNTRY, "minNoticeMinutes": "sixty"}, names="minNoticeMinutes"),
    bool_for_number=Case("POST", "/countries", {**COUNTRY, "minNoticeMinutes": True}, names="minNoticeMinutes"),
    fraction=Case("POST", "/countries", {**COUNTRY, "minNoticeMinutes": 1.5}, names="minNoticeMinutes"),
    text_for_list=Case(
        "POST", "/countries", {**COUNTRY, "reminderOffsetsMinutes": "1440"}, names="reminderOffsetsMinutes"
    ),
    list_of_text=Case(
        "POST", "/countries", {**COUNTRY, "reminderOffsetsMinutes": ["a"]}, names="reminderOffsetsMinutes"
    ),
    text_for_times=Case("POST", "/doctors", {**DOCTOR, "availableTimes": "Monday 10am-4pm"}, names="availableTimes"),
    numbers_in_times=Case("POST", "/doctors", {**DOCTOR, "availableTimes": [1, 2.5, None]}, names="availableTimes"),
    bad_object_in_times=Case(
        "POST", "/doctors", {**DOCTOR, "availableTimes": [{"day": 1, "start": [], "end": {}}]}, names="availableTimes"
    ),
    text_for_blocked=Case("POST", "/doctors", {**DOCTOR, "unavailable": "vacation"}, names="unavailable"),
    number_for_subdivision=Case("POST", "/doctors", {**DOCTOR, "subdivision": 13}, names="subdivision"),
    text_for_works_on_holidays=Case(
        "POST", "/doctors", {**DOCTOR, "worksOnHolidays": "sometimes"}, names="worksOnHolidays"
    ),
    text_for_observes_holidays=Case(
        "POST", "/countries", {**COUNTRY, "observesHolidays": "maybe"}, names="observesHolidays"
    ),
    text_for_closures=Case("POST", "/countries", {**COUNTRY, "closures": "2026-12-24"}, names="closures"),
    numbers_in_closures=Case("POST", "/countries", {**COUNTRY, "closures": [1, None]}, names="closures"),
    null_byte_closure=Case(
        "POST", "/countries", {**COUNTRY, "closures": [{"date": "2026-12-24", "name": "X\x00"}]}, names="closures"
    ),
    nested_closure_date=Case(
        "POST", "/countries", {**COUNTRY, "closures": [{"date": {"S": "2026-12-24"}, "name": "X"}]}, names="closures"
    ),
    text_for_age=Case("POST", "/patients", {**PATIENT, "age": "eighty"}, names="age"),
    bool_for_age=Case("POST", "/patients", {**PATIENT, "age": False}, names="age"),
    number_for_birth_date=Case("POST", "/patients", {**PATIENT, "birthDate": 19500102}, names="birthDate"),
    number_for_email=Case("POST", "/patients", {**PATIENT, "email": 5}, names="email"),
    number_for_phone=Case("POST", "/patients", {**PATIENT, "phoneNumber": 15555555555}, names="phoneNumber"),
    number_for_date=Case("POST", "/appointments", booking(appointmentDate=1796655600), names="appointmentDate"),
    text_for_duration=Case("POST", "/appointments", booking(durationMinutes="thirty"), names="durationMinutes"),
    number_for_state=Case("POST", "/appointments", booking(state=1), names="state"),
    list_for_state=Case("PATCH", "/appointments/a-cl", {"state": ["cancelled"]}, names="state"),
    text_for_active=Case(
        "POST",
        "/users",
        {"username": "someone", "password": "a long passphrase here", "role": "admin", "active": "maybe"},
        names="active",
    ),
    number_for_password=Case("POST", "/auth/token", {"username": "admin", "password": 123456789012}, names="password"),
    null_byte_name=Case("POST", "/countries", {**COUNTRY, "name": "CHI\x00LE"}, names="name"),
    null_byte_id=Case("POST", "/countries", {**COUNTRY, "countryId": "0\x009"}, names="countryId"),
    null_byte_reason=Case("POST", "/appointments", booking(reason="pain\x00"), names="reason"),
    null_byte_email=Case("POST", "/patients", {**PATIENT, "email": "a\x00@example.com"}, names="email"),
    null_byte_phone=Case("POST", "/patients", {**PATIENT, "phoneNumber": "+1555\x005555555"}, names="phoneNumber"),
    null_byte_time_zone=Case("POST", "/countries", {**COUNTRY, "timeZone": "UTC\x00"}, names="timeZone"),
    null_byte_times=Case(
        "POST", "/doctors", {**DOCTOR, "availableTimes": ["Monday\x00 10am-4pm"]}, names="availableTimes"
    ),
    null_byte_username=Case("POST", "/auth/token", {"username": "ad\x00min", "password": "x" * 12}, names="username"),
    control_chars_name=Case("POST", "/countries", {**COUNTRY, "name": "\x00" * 50}, names="name"),
)

# --- Ids: 10,000 characters in paths, bodies and query strings --------------------------------------
IDS = cases(
    appointment_path=Case("GET", f"/appointments/{LONG_ID}", status=404),
    doctor_path=Case("GET", f"/doctors/{LONG_ID}", status=404),
    patient_path=Case("GET", f"/patients/{LONG_ID}", status=404),
    country_path=Case("GET", f"/countries/{LONG_ID}", status=404),
    user_path=Case("GET", f"/users/{LONG_ID}", status=404),
    availability_path=Case("GET", f"/doctors/{LONG_ID}/availability?from=2026-12-01&to=2026-12-02", status=404),
    holidays_path=Case("GET", f"/countries/{LONG_ID}/holidays?year=2026", status=404),
    holidays_subdivision=Case("GET", f"/countries/002/holidays?subdivision={LONG_ID}", names="subdivision"),
    doctor_subdivision=Case("POST", "/doctors", {**DOCTOR, "subdivision": LONG_ID}, names="subdivision"),
    patch_path=Case("PATCH", f"/appointments/{LONG_ID}", {"reason": "x"}, status=404),
    delete_path=Case("DELETE", f"/doctors/{LONG_ID}", status=404),
    agenda_path=Case("GET", f"/appointments/doctor/{LONG_ID}", status=404),
    id_65=Case("GET", "/patients/" + "p" * 65, status=404),
    booking_patient=Case("POST", "/appointments", booking(patientId=LONG_ID), names="patientId"),
    booking_doctor=Case("POST", "/appointments", booking(doctorId=LONG_ID), names="doctorId"),
    booking_appointment=Case("POST", "/appointments", booking(appointmentId=LONG_ID), names="appointmentId"),
    booking_country=Case("POST", "/appointments", booking(countryId=LONG_ID), names="countryId"),
    patch_appointment_id=Case("PATCH", "/appointments/a-cl", {"appointmentId": LONG_ID}, names="appointmentId"),
    patch_doctor_id=Case("PATCH", "/appointments/a-cl", {"doctorId": LONG_ID}, names="doctorId"),
    doctor_id=Case("POST", "/doctors", {**DOCTOR, "doctorId": LONG_ID}, names="doctorId"),
    doctor_country=Case("POST", "/doctors", {**DOCTOR, "countryId": LONG_ID}, names="countryId"),
    patient_id=Case("POST", "/patients", {**PATIENT, "patientId": LONG_ID}, names="patientId"),
    patient_country=Case("PATCH", "/patients/p-cl", {"countryId": LONG_ID}, names="countryId"),
    country_id=Case("POST", "/countries", {**COUNTRY, "countryId": LONG_ID}, names="countryId"),
    country_put=Case("PUT", "/countries/002", {**COUNTRY, "countryId": LONG_ID}, names="countryId"),
    user_links=Case(
        "POST",
        "/users",
        {"username": "someone", "password": "a long passphrase here", "role": "doctor", "doctorId": LONG_ID},
        names="doctorId",
    ),
    user_countries=Case(
        "POST",
        "/users",
        {"username": "someone", "password": "a long passphrase here", "role": "staff", "countryIds": [LONG_ID]},
        names="countryIds",
    ),
    username=Case(
        "POST", "/users", {"username": LONG_ID, "password": "a long passphrase here", "role": "admin"}, names="username"
    ),
    sign_in_username=Case("POST", "/auth/token", {"username": LONG_ID, "password": "x" * 12}, names="username"),
    sign_in_password=Case("POST", "/auth/token", {"username": "admin", "password": "x" * 100_000}, names="password"),
    list_doctor=Case("GET", f"/appointments?doctorId={LONG_ID}", names="doctorId"),
    list_patient=Case("GET", f"/appointments?patientId={LONG_ID}", names="patientId"),
    list_country=Case("GET", f"/doctors?countryId={LONG_ID}", names="countryId"),
    list_speciality=Case("GET", f"/doctors?speciality={LONG_ID}", names="speciality"),
    list_code=Case("GET", f"/countries?code={LONG_ID}", names="code"),
    audit_object=Case("GET", f"/audit?objectId={LONG_ID}", names="objectId"),
    audit_actor=Case("GET", f"/audit?actor={LONG_ID}", names="actor"),
    cursor=Case("GET", f"/doctors?cursor={LONG_ID}", names="cursor"),
    bearer_token=Case("GET", "/doctors", status=401, extra={"HTTP_AUTHORIZATION": "Bearer " + "t" * 100_000}),
    bearer_binary=Case("GET", "/doctors", status=401, extra={"HTTP_AUTHORIZATION": "Bearer \xff\xfe"}),
)

# --- Encodings in query strings and paths -----------------------------------------------------------
QUERIES = cases(
    query_invalid_utf8=Case("GET", "/doctors?countryId=%ff%fe", names="countryId"),
    query_invalid_utf8_limit=Case("GET", "/doctors?limit=%ff", names="limit"),
    query_invalid_utf8_key=Case("GET", "/doctors?%ff=1", names="\ufffd"),
    query_invalid_utf8_date=Case("GET", "/appointments?from=%c0%af", names="from"),
    query_null_byte=Case("GET", "/doctors?speciality=GP%00", names="speciality"),
    query_null_byte_id=Case("GET", "/appointments?patientId=p%00", names="patientId"),
    query_cursor_binary=Case("GET", "/patients?cursor=%ff%00", names="cursor"),
    query_repeated_limit=Case("GET", "/doctors?limit=1&limit=abc", names="limit"),
    query_holidays_year=Case("GET", "/countries/002/holidays?year=%ff", names="year"),
    query_holidays_year_huge=Case("GET", f"/countries/002/holidays?year={'9' * 5000}", names="year"),
    query_holidays_null_byte=Case("GET", "/countries/002/holidays?subdivision=MD%00", names="subdivision"),
    path_invalid_utf8=Case("GET", "/doctors/%ff%fe", status=404),
    path_invalid_utf8_agenda=Case("GET", "/appointments/country/%c0%af", status=404),
    path_null_byte=Case("GET", "/patients/p%00", status=404),
    path_surrogate_escape=Case("GET", "/countries/%ed%a0%80", status=404),
    path_non_ascii=Case("GET", "/patients/%C3%A9", status=404),
    unknown_format=Case("GET", "/doctors?format=xml", status=404),
    unacceptable=Case("GET", "/doctors", status=406, extra={"HTTP_ACCEPT": "application/xml"}),
    if_match_huge=Case("DELETE", "/countries/002", status=412, extra={"HTTP_IF_MATCH": '"' + "9" * 10_000 + '"'}),
)

# --- `limit` on every list endpoint -----------------------------------------------------------------
LISTS = [
    "/countries",
    "/doctors",
    "/patients",
    "/appointments",
    "/appointments/country/002",
    "/appointments/doctor/d-cl",
    "/appointments/patient/p-cl",
    "/appointments/country/002/doctor/d-cl",
    "/users",
    "/audit?objectId=p-cl",
]
LIMITS = [str(MAX_BIG), "-1", "0", "201", "abc", "1.5"]
ODD_LIMITS = [str(-MAX_BIG), "1e3", "NaN", "Infinity", "9" * 5000, "0x10", "%EF%BC%95", "1_0", "+5", "%205"]
LIMIT_CASES = [
    pytest.param(
        Case("GET", f"{path}{'&' if '?' in path else '?'}limit={limit}", names="limit"), id=f"{path}-limit={limit[:12]}"
    )
    for path in LISTS
    for limit in LIMITS
] + [
    pytest.param(Case("GET", f"/doctors?limit={limit}", names="limit"), id=f"limit={limit[:12]}")
    for limit in ODD_LIMITS
]

# --- Dates far away, with offsets, and bad strings --------------------------------------------------
FAR_DATES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+14:00",
    "1000-01-01T00:00:00Z",
    "2026-13-01T10:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-12-07T24:00:00Z",
    "2026-12-07T15:00:00+24:00",
    "2026-12-07T15:00:00+99:99",
    "2026-12-07T15:00:00.99999999999999999999Z",
    "+12026-12-07T15:00:00Z",
    "2026-12-07 15:00:00Z\x00",
    "not a date",
]
FAR_DAYS = ["0001-01-01", "9999-12-31", "0000-01-01", "10000-01-01", "2026-02-30", "yesterday"]
# A list's bounds may be as precise as a client likes (the fractions only make a booking miss the grid).
BAD_BOUNDS = [v for v in FAR_DATES if "9999999" not in v] + FAR_DAYS
DATE_CASES = (
    [
        pytest.param(Case("POST", "/appointments", booking(appointmentDate=v), names="appointmentDate"), id=f"book-{v}")
        for v in FAR_DATES
    ]
    + [
        pytest.param(
            Case("PATCH", "/appointments/a-cl", {"appointmentDate": v}, names="appointmentDate"), id=f"reschedule-{v}"
        )
        for v in FAR_DATES
    ]
    + [
        pytest.param(Case("GET", f"/appointments?from={v.replace('+', '%2B')}", names="from"), id=f"from-{v}")
        for v in BAD_BOUNDS
    ]
    + [
        pytest.param(Case("GET", f"/appointments/doctor/d-cl?to={v.replace('+', '%2B')}", names="to"), id=f"to-{v}")
        for v in BAD_BOUNDS
    ]
    + [
        pytest.param(
            Case("GET", f"/doctors/d-cl/availability?from={v}&to=2026-12-02", names="from"), id=f"availability-from-{v}"
        )
        for v in FAR_DAYS + ["2026-12-01T00:00:00Z"]
    ]
    + [
        pytest.param(
            Case("GET", f"/doctors/d-cl/availability?from=2026-12-01&to={v}", names="to"), id=f"availability-to-{v}"
        )
        for v in FAR_DAYS
    ]
    + [
        pytest.param(
            Case(
                "PATCH",
                "/doctors/d-cl",
                {"unavailable": [{"start": v, "end": "2026-12-08T00:00:00Z"}]},
                names="unavailable",
            ),
            id=f"blocked-{v}",
        )
        for v in FAR_DATES[:7]
    ]
    + [
        pytest.param(
            Case(
                "PATCH",
                "/doctors/d-cl",
                {"unavailable": [{"start": "2026-12-01T00:00:00Z", "end": v}]},
                names="unavailable",
            ),
            id=f"blocked-end-{v}",
        )
        for v in FAR_DATES[:7]
    ]
    + [
        pytest.param(Case("PATCH", "/patients/p-cl", {"birthDate": v}, names="birthDate"), id=f"birth-{v}")
        for v in FAR_DAYS
    ]
)

# --- Time zones that do not exist ---------------------------------------------------------------------
ZONES = [
    "Mars/Olympus",
    "../../etc/passwd",
    "/etc/localtime",
    "America/../Europe/Paris",
    "x" * 10_000,
    "america/santiago",
    "UTC/../UTC",
    "Etc/GMT+99",
    5,
    ["UTC"],
    {"zone": "UTC"},
    True,
]
ZONE_CASES = [
    pytest.param(Case("POST", "/countries", {**COUNTRY, "timeZone": v}, names="timeZone"), id=f"country-{v!s:.20}")
    for v in ZONES
] + [
    pytest.param(Case("PATCH", "/doctors/d-cl", {"timeZone": v}, names="timeZone"), id=f"doctor-{v!s:.20}")
    for v in ZONES
]


ALL = BODIES + TYPES + IDS + QUERIES + LIMIT_CASES + DATE_CASES + ZONE_CASES


def needs_records(case: Case) -> bool:
    """PATCH/PUT find the record first, availability the doctor, holidays the country, a booking its
    doctor and patient."""
    return (
        case.method in ("PATCH", "PUT")
        or "availability" in case.path
        or "/holidays" in case.path
        or (case.method == "POST" and case.path == "/appointments")
    )


@pytest.mark.parametrize("case", [c for c in ALL if not needs_records(c.values[0])])
def test_bad_input_is_a_4xx_that_names_the_problem(api, case):
    case.send(api)


@pytest.mark.parametrize("case", [c for c in ALL if needs_records(c.values[0])])
def test_bad_input_about_existing_records_is_a_4xx_that_names_the_problem(world, case):
    case.send(world["admin"])


def wsgi_post(token: str, path: str, body: bytes, **environ) -> tuple[int, dict]:
    """A POST as gunicorn hands a chunked one to the application: no Content-Length, the body
    already de-chunked, and `wsgi.input_terminated` saying reading to its end is safe."""
    from wsgiref.util import setup_testing_defaults

    from scheduler.wsgi import application

    env = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        **environ,
    }
    setup_testing_defaults(env)
    answered = []
    chunks = application(env, lambda status, headers, exc_info=None: answered.append(status))
    return int(answered[0].split()[0]), json.loads(b"".join(chunks))


def test_a_chunked_body_over_the_limit_is_413(api):
    body = json.dumps({**COUNTRY, "name": "x" * settings.MAX_BODY_BYTES}).encode()
    status, data = wsgi_post(api.token, "/countries", body)
    assert status == 413
    assert data == {
        "detail": f"The request body is more than {settings.MAX_BODY_BYTES} bytes; "
        f"the limit is {settings.MAX_BODY_BYTES} bytes.",
        "code": "too_large",
    }


def test_a_chunked_body_within_the_limit_is_read(api):
    status, data = wsgi_post(api.token, "/countries", json.dumps(COUNTRY).encode())
    assert status == 201, data
    assert data["code"] == "AR"


def test_a_chunked_body_the_server_cannot_end_is_left_unread(api):
    """Without `wsgi.input_terminated`, reading to the end could wait forever: Django sees no body."""
    status, data = wsgi_post(api.token, "/countries", json.dumps(COUNTRY).encode(), **{"wsgi.input_terminated": False})
    assert status == 400
    assert "name" in data


@pytest.mark.parametrize("length", ["lots", "-5", "1e3"])
def test_a_content_length_that_is_not_a_byte_count_is_400(api, length):
    response = api.generic("POST", "/countries", b"{}", content_type="application/json", CONTENT_LENGTH=length)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "Content-Length" in response.json()["detail"]  # it names the header at fault


def test_nothing_personal_reaches_the_log_of_a_refused_body(api, caplog):
    """The log line of a refused request names the path, never a value from the body."""
    caplog.set_level(logging.DEBUG)
    secret = {**PATIENT, "name": "Secret Person", "birthDate": "9999-12-31"}
    api.post("/patients", secret, format="json")
    body = json.dumps({**secret, "email": "a\ud800@example.com"}).encode()
    assert api.generic("POST", "/patients", body, content_type="application/json").status_code == 400
    assert "/patients" in caplog.text
    assert "Secret Person" not in caplog.text


# --- The last line of defence: what validation missed is still a 400 ---------------------------------


def test_a_key_dynamodb_refuses_is_a_400_not_a_500(api, monkeypatch, caplog):
    """Were an id ever to get past its field, DynamoDB's ValidationException (here: a hash key over
    2048 bytes) answers 400 and is logged without the value."""
    from countries import selectors
    from countries.views import CountryViewSet

    api.post("/countries", COUNTRY, format="json")
    monkeypatch.setattr(CountryViewSet, "get_record", lambda self, record_id: selectors.country_get(country_id=LONG_ID))
    response = api.get("/countries/009")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "too long or malformed" in response.json()["detail"]
    assert "GetError in CountryViewSet" in caplog.text
    assert LONG_ID not in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        OverflowError("date value out of range"),
        RecursionError(),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
)
def test_an_arithmetic_or_decoding_error_from_input_is_a_400(api, monkeypatch, error):
    from doctors.views import DoctorViewSet

    def fail(self, record_id):
        raise error

    monkeypatch.setattr(DoctorViewSet, "get_record", fail)
    response = api.get("/doctors/d-cl")
    assert response.status_code == 400
    assert response.json()["detail"] and response.json()["code"] == "invalid"


def test_a_blank_time_zone_counts_as_left_out(api):
    """The house rule for optional fields (a form sends every field): "" is no zone, so the
    country's principal one; only a non-blank name must be an IANA zone."""
    response = api.post("/countries", {**COUNTRY, "timeZone": ""}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["timeZone"] == "America/Argentina/Buenos_Aires"
