"""The responses of issue 19's routes and fields, checked against the OpenAPI schema the server
publishes (/schema), as a generated client would read them: every field's type, nullability and
required-ness, on real bodies (a typed and an untyped appointment, a type, availability with a type,
a country's holidays, a doctor with a region)."""

from datetime import timedelta

import pytest
from openapi_schema_validator import OAS30Validator

from tests.helpers import book, next_local

MONDAY = 0


@pytest.fixture
def schema(api):
    response = api.get("/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.0")
    return document


def check(schema: dict, path: str, method: str, response) -> None:
    """The body matches the schema of that operation's response for its status code."""
    operation = schema["paths"][path][method]
    assert str(response.status_code) in operation["responses"], (path, method, response.status_code)
    body_schema = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    validator = OAS30Validator({**body_schema, "components": schema["components"]})
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(response.json())]
    assert not errors, (path, method, errors)
    # The validator forgives a missing readOnly property that the schema lists as required; a
    # generated client does not (it raises KeyError): every required name must be in the body.
    missing = _missing_required(schema, body_schema, response.json())
    assert not missing, (path, method, missing)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _missing_required(schema: dict, node: dict, body, where: str = "") -> list[str]:
    node = _resolve(schema, node)
    if isinstance(body, list):
        return [
            m
            for index, item in enumerate(body)
            for m in _missing_required(schema, node.get("items", {}), item, f"{where}[{index}]")
        ]
    if not isinstance(body, dict) or "properties" not in node:
        return []
    missing = [f"{where}.{name}" for name in node.get("required", []) if name not in body]
    for name, value in body.items():
        if name in node["properties"]:
            missing += _missing_required(schema, node["properties"][name], value, f"{where}.{name}")
    return missing


def test_the_new_bodies_are_what_the_schema_says(clinic, schema):
    api = clinic
    body = {"appointmentTypeId": "visit", "countryId": "002", "name": "Visit", "durationMinutes": 45}
    created = api.post("/appointment-types", {**body, "bufferAfterMinutes": 15}, format="json")
    check(schema, "/appointment-types", "post", created)
    check(schema, "/appointment-types/{appointmentTypeId}", "get", api.get("/appointment-types/visit"))
    check(schema, "/appointment-types", "get", api.get("/appointment-types?countryId=002"))
    edited = api.patch("/appointment-types/visit", {"active": False}, format="json")
    check(schema, "/appointment-types/{appointmentTypeId}", "patch", edited)
    assert api.patch("/appointment-types/visit", {"active": True}, format="json").status_code == 200

    doctor = api.patch("/doctors/doctor001", {"appointmentTypeIds": ["visit"]}, format="json")
    check(schema, "/doctors/{doctorId}", "patch", doctor)
    assert doctor.json()["subdivision"] is None  # null, as the schema must allow

    at = next_local(MONDAY, "10:00")
    typed = book(api, at=at, appointmentTypeId="visit", appointmentId="t-1")
    check(schema, "/appointments", "post", typed)
    replay = book(api, at=at, appointmentTypeId="visit", appointmentId="t-1")
    assert replay.status_code == 200
    check(schema, "/appointments", "post", replay)  # the idempotent replay's 200 is listed
    untyped = book(api, at=at + timedelta(hours=2), patient="0316")
    assert untyped.json()["appointmentTypeId"] is None and untyped.json()["bufferAfterMinutes"] is None
    check(schema, "/appointments", "post", untyped)
    check(schema, "/appointments", "get", api.get("/appointments?doctorId=doctor001"))

    day = at.date()
    for query in (f"from={day}&to={day}", f"from={day}&to={day}&appointmentTypeId=visit"):
        check(schema, "/doctors/{doctorId}/availability", "get", api.get(f"/doctors/doctor001/availability?{query}"))

    closures = {"closures": [{"date": "2026-12-24", "name": "Nochebuena"}]}
    check(schema, "/countries/{countryId}", "patch", api.patch("/countries/002", closures, format="json"))
    holidays = api.get("/countries/002/holidays?year=2026")
    check(schema, "/countries/{countryId}/holidays", "get", holidays)


def test_the_new_errors_are_listed_with_their_status(clinic, schema):
    api = clinic
    in_use = {"appointmentTypeId": "visit", "countryId": "002", "name": "Visit", "durationMinutes": 30}
    assert api.post("/appointment-types", in_use, format="json").status_code == 201
    assert api.patch("/doctors/doctor001", {"appointmentTypeIds": ["visit"]}, format="json").status_code == 200
    check(schema, "/appointment-types/{appointmentTypeId}", "delete", api.delete("/appointment-types/visit"))
    bad = api.post("/appointment-types", {**in_use, "appointmentTypeId": "x", "durationMinutes": 7}, format="json")
    check(schema, "/appointment-types", "post", bad)
    not_offered = book(api, at=next_local(MONDAY, "10:00"), appointmentTypeId="nope")
    check(schema, "/appointments", "post", not_offered)
    check(schema, "/countries/{countryId}/holidays", "get", api.get("/countries/002/holidays?year=1066"))
