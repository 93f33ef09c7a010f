import pytest

CHILE = {"countryId": "002", "name": "CHILE", "code": "CL"}


def create(api, **fields):
    response = api.post("/countries", {**CHILE, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_country_from_original_example(api):
    response = api.post("/countries", CHILE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["countryId"] == "002"
    assert body["code"] == "CL"
    assert body["timeZone"] == "America/Santiago"
    assert body["version"] == 1
    assert body["createdAt"].endswith("Z") and body["updatedAt"] == body["createdAt"]
    assert body["minNoticeMinutes"] == 60
    assert body["maxAdvanceDays"] == 180
    assert body["cancellationCutoffMinutes"] == 0
    assert body["reminderOffsetsMinutes"] == [1440, 120]
    assert response["Location"] == "/countries/002"
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize(
    ("code", "zone"), [("us", "America/New_York"), ("PE", "America/Lima"), ("cl", "America/Santiago")]
)
def test_code_is_upper_cased_and_zone_defaults_to_principal(api, code, zone):
    response = api.post("/countries", {"name": "X", "code": code}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["code"] == code.upper()
    assert response.json()["timeZone"] == zone


def test_generated_id_when_absent(api):
    response = api.post("/countries", {"name": "Peru", "code": "PE"}, format="json")
    assert response.status_code == 201
    country_id = response.json()["countryId"]
    assert len(country_id) == 26  # a ULID
    assert api.get(f"/countries/{country_id}").json()["name"] == "Peru"


def test_policy_and_time_zone_can_be_given(api):
    body = create(
        api,
        timeZone="Pacific/Easter",
        minNoticeMinutes=0,
        maxAdvanceDays=30,
        cancellationCutoffMinutes=120,
        reminderOffsetsMinutes=[60, 1440],
    )
    assert body["timeZone"] == "Pacific/Easter"
    assert (body["minNoticeMinutes"], body["maxAdvanceDays"], body["cancellationCutoffMinutes"]) == (0, 30, 120)
    assert body["reminderOffsetsMinutes"] == [1440, 60]


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"name": "X", "code": "XX"}, "code", "ISO 3166-1"),
        ({"name": "X", "code": "CHL"}, "code", "ISO 3166-1"),
        ({"name": "X", "code": 12}, "code", "valid string"),
        ({"name": "X"}, "code", "required"),
        ({"code": "CL"}, "name", "required"),
        ({"name": "X", "code": "CL", "timeZone": "Mars/Olympus"}, "timeZone", "IANA"),
        ({"name": "X", "code": "CL", "countryId": "bad id!"}, "countryId", "letters, digits"),
        ({"name": "X", "code": "CL", "countryId": "a" * 65}, "countryId", "64"),
        ({"name": "X", "code": "CL", "minNoticeMinutes": -1}, "minNoticeMinutes", "greater than or equal"),
        ({"name": "X", "code": "CL", "maxAdvanceDays": "soon"}, "maxAdvanceDays", "valid integer"),
        ({"name": "X", "code": "CL", "reminderOffsetsMinutes": "1440"}, "reminderOffsetsMinutes", "list"),
        ({"name": "X", "code": "CL", "colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_names_the_field(api, payload, field, fragment):
    response = api.post("/countries", payload, format="json")
    assert response.status_code == 400, response.content
    messages = response.json()[field]
    assert any(fragment in message for message in messages), messages


def test_duplicate_id_and_duplicate_code_conflict(api):
    create(api)
    again = api.post("/countries", {**CHILE, "name": "Other"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    assert "002" in again.json()["detail"]
    same_code = api.post("/countries", {"countryId": "003", "name": "Chile bis", "code": "cl"}, format="json")
    assert same_code.status_code == 409 and same_code.json()["code"] == "duplicate"
    assert "code 'CL'" in same_code.json()["detail"]  # it names the code taken
    assert api.get("/countries/003").status_code == 404  # nothing half-written


def test_get_unknown_is_404(api):
    response = api.get("/countries/nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert "nope" in response.json()["detail"]


def test_list_is_paginated_with_an_opaque_cursor(api):
    for index, code in enumerate(["AR", "BR", "CL", "PE", "UY"]):
        create(api, countryId=f"c{index}", name=code, code=code)
    first = api.get("/countries?limit=2").json()
    assert [c["countryId"] for c in first["results"]] == ["c0", "c1"]
    assert first["next"]
    second = api.get(f"/countries?limit=2&cursor={first['next']}").json()
    assert [c["countryId"] for c in second["results"]] == ["c2", "c3"]
    third = api.get(f"/countries?limit=2&cursor={second['next']}").json()
    assert [c["countryId"] for c in third["results"]] == ["c4"]
    assert third["next"] is None


def test_list_filters_by_code(api):
    create(api)
    create(api, countryId="001", name="USA", code="US")
    body = api.get("/countries?code=us").json()
    assert [c["countryId"] for c in body["results"]] == ["001"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "cursor=garbage", "unknown=1"])
def test_bad_list_parameters_are_400(api, query):
    response = api.get(f"/countries?{query}")
    assert response.status_code == 400, response.content


def test_tampered_cursor_is_400(api):
    for index, code in enumerate(["AR", "BR", "CL"]):
        create(api, countryId=f"c{index}", name=code, code=code)
    cursor = api.get("/countries?limit=1").json()["next"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    response = api.get(f"/countries?limit=1&cursor={tampered}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_patch_changes_fields_and_version(api):
    create(api)
    response = api.patch("/countries/002", {"name": "Chile", "minNoticeMinutes": 30}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["minNoticeMinutes"], body["version"]) == ("Chile", 30, 2)
    assert body["updatedAt"] > body["createdAt"]
    assert response["ETag"] == '"2"'
    assert api.get("/countries/002").json()["name"] == "Chile"


def test_patch_code_moves_the_uniqueness(api):
    create(api)
    assert api.patch("/countries/002", {"code": "PE"}, format="json").status_code == 200
    # CL is free again, PE is taken.
    assert api.post("/countries", {"countryId": "009", "name": "Chile", "code": "CL"}, format="json").status_code == 201
    clash = api.post("/countries", {"countryId": "010", "name": "Peru", "code": "PE"}, format="json")
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate"


def test_put_replaces_and_restores_defaults(api):
    create(api, minNoticeMinutes=5, timeZone="Pacific/Easter")
    response = api.put("/countries/002", {"name": "Chile", "code": "CL"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["minNoticeMinutes"] == 60
    assert body["timeZone"] == "America/Santiago"


def test_put_requires_the_required_fields(api):
    create(api)
    response = api.put("/countries/002", {"name": "Chile"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()


def test_put_with_other_id_in_body_is_400(api):
    create(api)
    response = api.put("/countries/002", {**CHILE, "countryId": "999"}, format="json")
    assert response.status_code == 400
    assert "countryId" in response.json()


def test_if_match(api):
    create(api)
    stale = api.patch("/countries/002", {"name": "A"}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert api.get("/countries/002").json()["name"] == "CHILE"
    fresh = api.patch("/countries/002", {"name": "A"}, format="json", HTTP_IF_MATCH='"1"')
    assert fresh.status_code == 200
    assert api.delete("/countries/002", HTTP_IF_MATCH='"1"').status_code == 412
    assert api.delete("/countries/002", HTTP_IF_MATCH='"2"').status_code == 204


def test_delete(api):
    create(api)
    assert api.delete("/countries/002").status_code == 204
    assert api.get("/countries/002").status_code == 404
    assert api.delete("/countries/002").status_code == 404
    # The code is free again.
    assert api.post("/countries", CHILE, format="json").status_code == 201


def test_delete_of_a_country_with_doctors_or_patients_is_409(api):
    create(api)
    doctor = {
        "doctorId": "d1",
        "name": "Dr. A",
        "speciality": "GP",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm"],
    }
    assert api.post("/doctors", doctor, format="json").status_code == 201
    response = api.delete("/countries/002")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    assert "doctors" in response.json()["detail"]  # it says which records are in the way
    assert api.delete("/doctors/d1").status_code == 204
    patient = {"patientId": "p1", "name": "Ana", "countryId": "002"}
    assert api.post("/patients", patient, format="json").status_code == 201
    response = api.delete("/countries/002")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    assert "patients" in response.json()["detail"]
    assert api.delete("/patients/p1").status_code == 204
    assert api.delete("/countries/002").status_code == 204
