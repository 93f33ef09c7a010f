"""Appointment types through HTTP: create, read, list per country, edit, retire, and delete only
when nothing uses them; who may do which; and doctors offering them."""

import pytest

from tests.helpers import book, next_local, signed_in

MONDAY = 0
FIRST_VISIT = {
    "appointmentTypeId": "first-visit",
    "countryId": "002",
    "name": "Primera consulta",
    "durationMinutes": 45,
    "bufferAfterMinutes": 15,
}


@pytest.fixture
def types(clinic):
    assert (
        clinic.post("/countries", {"countryId": "003", "name": "PERU", "code": "PE"}, format="json").status_code == 201
    )
    response = clinic.post("/appointment-types", FIRST_VISIT, format="json")
    assert response.status_code == 201, response.content
    assert response["Location"] == "/appointment-types/first-visit"
    return clinic


def test_a_type_is_created_with_defaults_and_read_back(types):
    shown = types.get("/appointment-types/first-visit")
    assert shown.status_code == 200 and shown["ETag"] == '"1"'
    body = shown.json()
    assert {k: body[k] for k in ("appointmentTypeId", "countryId", "name", "durationMinutes")} == {
        "appointmentTypeId": "first-visit",
        "countryId": "002",
        "name": "Primera consulta",
        "durationMinutes": 45,
    }
    assert (body["bufferBeforeMinutes"], body["bufferAfterMinutes"], body["active"]) == (0, 15, True)
    made = types.post(
        "/appointment-types", {"countryId": "002", "name": "Control", "durationMinutes": 15}, format="json"
    )
    assert made.status_code == 201 and made.json()["appointmentTypeId"]


def test_listing_is_per_country(types):
    body = {"appointmentTypeId": "pe-visit", "countryId": "003", "name": "Consulta", "durationMinutes": 30}
    assert types.post("/appointment-types", body, format="json").status_code == 201
    listed = types.get("/appointment-types?countryId=002").json()
    assert [t["appointmentTypeId"] for t in listed["results"]] == ["first-visit"]
    assert {t["appointmentTypeId"] for t in types.get("/appointment-types").json()["results"]} == {
        "first-visit",
        "pe-visit",
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"durationMinutes": 4}, "durationMinutes", "greater than or equal to 5"),
        ({"durationMinutes": 241}, "durationMinutes", "less than or equal to 240"),
        ({"durationMinutes": 42}, "durationMinutes", "multiple of 5"),
        ({"bufferAfterMinutes": 121}, "bufferAfterMinutes", "less than or equal to 120"),
        ({"bufferBeforeMinutes": 7}, "bufferBeforeMinutes", "multiple of 5"),
        ({"bufferBeforeMinutes": -5}, "bufferBeforeMinutes", "greater than or equal to 0"),
        ({"durationMinutes": 240, "bufferAfterMinutes": 120}, "durationMinutes", "one atomic booking can hold"),
        ({"countryId": "999"}, "countryId", "does not exist"),
        ({"name": ""}, "name", "blank"),
        ({"active": "maybe"}, "active", "boolean"),
        ({"colour": "red"}, "colour", ""),
    ],
)
def test_bad_values_are_a_400_naming_the_field(types, change, field, words):
    response = types.post("/appointment-types", {**FIRST_VISIT, "appointmentTypeId": "x", **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert words in " ".join(response.json()[field])


def test_edits_honour_if_match_and_the_limits_and_keep_the_country(types):
    stale = types.patch("/appointment-types/first-visit", {"name": "X"}, format="json", HTTP_IF_MATCH='"9"')
    assert stale.status_code == 412
    edited = types.patch("/appointment-types/first-visit", {"durationMinutes": 60}, format="json", HTTP_IF_MATCH='"1"')
    assert edited.status_code == 200 and edited.json()["durationMinutes"] == 60 and edited.json()["version"] == 2
    too_long = types.patch(
        "/appointment-types/first-visit", {"durationMinutes": 240, "bufferBeforeMinutes": 120}, format="json"
    )
    assert too_long.status_code == 400 and "durationMinutes" in too_long.json()
    moved = types.patch("/appointment-types/first-visit", {"countryId": "003"}, format="json")
    assert moved.status_code == 400 and "stays in its country" in moved.json()["countryId"][0]
    assert types.put("/appointment-types/first-visit", FIRST_VISIT, format="json").status_code == 405


def test_a_doctor_offers_only_existing_types_of_its_own_country(types):
    pe_type = {"appointmentTypeId": "pe-visit", "countryId": "003", "name": "Consulta", "durationMinutes": 30}
    assert types.post("/appointment-types", pe_type, format="json").status_code == 201
    ok = types.patch("/doctors/doctor001", {"appointmentTypeIds": ["first-visit", "first-visit"]}, format="json")
    assert ok.status_code == 200 and ok.json()["appointmentTypeIds"] == ["first-visit"]
    foreign = types.patch("/doctors/doctor001", {"appointmentTypeIds": ["pe-visit"]}, format="json")
    assert foreign.status_code == 400
    assert "belongs to country '003'" in foreign.json()["appointmentTypeIds"][0]
    missing = types.patch("/doctors/doctor001", {"appointmentTypeIds": ["nope"]}, format="json")
    assert missing.status_code == 400 and "'nope' does not exist" in missing.json()["appointmentTypeIds"][0]
    # Moving the doctor to Peru with Chile's type still offered: refused, naming the type.
    moved = types.patch("/doctors/doctor001", {"countryId": "003"}, format="json")
    assert moved.status_code == 400 and "first-visit" in moved.json()["appointmentTypeIds"][0]
    # PUT without the field: the doctor offers none.
    doctor = types.get("/doctors/doctor001").json()
    body = {k: doctor[k] for k in ("name", "speciality", "countryId", "availableTimes")}
    assert types.put("/doctors/doctor001", body, format="json").json()["appointmentTypeIds"] == []


def test_a_type_in_use_cannot_be_deleted_and_can_be_retired(types):
    assert types.patch("/doctors/doctor001", {"appointmentTypeIds": ["first-visit"]}, format="json").status_code == 200
    offered = types.delete("/appointment-types/first-visit")
    assert offered.status_code == 409 and offered.json()["code"] == "in_use"
    assert "doctor001" in offered.json()["detail"]
    assert book(types, at=next_local(MONDAY, "10:00"), appointmentTypeId="first-visit").status_code == 201
    assert types.patch("/doctors/doctor001", {"appointmentTypeIds": []}, format="json").status_code == 200
    booked = types.delete("/appointment-types/first-visit")
    assert booked.status_code == 409 and "upcoming appointments" in booked.json()["detail"]
    # A country with types cannot go either.
    country = types.delete("/countries/002")
    assert country.status_code == 409
    retired = types.patch("/appointment-types/first-visit", {"active": False}, format="json")
    assert retired.status_code == 200 and retired.json()["active"] is False
    unused = {"appointmentTypeId": "spare", "countryId": "002", "name": "Spare", "durationMinutes": 20}
    assert types.post("/appointment-types", unused, format="json").status_code == 201
    assert types.delete("/appointment-types/spare").status_code == 204
    assert types.get("/appointment-types/spare").status_code == 404


def test_who_may_do_what(types):
    staff_cl = signed_in("staff-cl", "staff", country_ids=["002"])
    staff_pe = signed_in("staff-pe", "staff", country_ids=["003"])
    patient = signed_in("patient-1", "patient", patient_id="0315")
    doctor = signed_in("doctor-1", "doctor", doctor_id="doctor001")
    for reader in (staff_cl, staff_pe, patient, doctor):
        assert reader.get("/appointment-types/first-visit").status_code == 200
        assert reader.get("/appointment-types?countryId=002").status_code == 200
    assert staff_cl.patch("/appointment-types/first-visit", {"name": "Primera"}, format="json").status_code == 200
    assert staff_pe.patch("/appointment-types/first-visit", {"name": "Nope"}, format="json").status_code == 403
    other = {**FIRST_VISIT, "appointmentTypeId": "pe-by-cl", "countryId": "003"}
    assert staff_cl.post("/appointment-types", other, format="json").status_code == 403
    for writer in (patient, doctor):
        assert (
            writer.post("/appointment-types", {**FIRST_VISIT, "appointmentTypeId": "y"}, format="json").status_code
            == 403
        )
        assert writer.patch("/appointment-types/first-visit", {"name": "Mine"}, format="json").status_code == 403
        assert writer.delete("/appointment-types/first-visit").status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get("/appointment-types").status_code == 401
