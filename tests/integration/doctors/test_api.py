import pytest

DOCTOR = {
    "doctorId": "doctor001",
    "name": "Dr. Lorea",
    "speciality": "Estomatolog",
    "countryId": "002",
    "availableTimes": ["Monday 10am-4pm", "Wednesday 1pm-5pm"],
}


@pytest.fixture
def chile(api):
    response = api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json")
    assert response.status_code == 201
    return response.json()


def create(api, **fields):
    response = api.post("/doctors", {**DOCTOR, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_doctor_from_original_example(api, chile):
    response = api.post("/doctors", DOCTOR, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["availableTimes"] == [
        {"day": "monday", "start": "10:00", "end": "16:00"},
        {"day": "wednesday", "start": "13:00", "end": "17:00"},
    ]
    assert body["timeZone"] == "America/Santiago"  # the country's
    assert body["slotMinutes"] == 30
    assert body["unavailable"] == []
    assert body["version"] == 1
    assert response["Location"] == "/doctors/doctor001"
    stored = api.get("/doctors/doctor001")
    assert stored.json()["availableTimes"] == body["availableTimes"]
    assert stored["ETag"] == '"1"'


def test_object_form_24h_and_options(api, chile):
    body = create(
        api,
        availableTimes=[{"day": "Friday", "start": "08:00", "end": "12:30"}, "Tue 09:00-12:30"],
        slotMinutes=15,
        timeZone="America/Punta_Arenas",
        unavailable=[{"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z", "reason": "Holidays"}],
    )
    assert body["availableTimes"] == [
        {"day": "tuesday", "start": "09:00", "end": "12:30"},
        {"day": "friday", "start": "08:00", "end": "12:30"},
    ]
    assert body["slotMinutes"] == 15
    assert body["timeZone"] == "America/Punta_Arenas"
    assert body["unavailable"] == [
        {"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z", "reason": "Holidays"}
    ]


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"availableTimes": ["Monday 10am-3xx"]}, "availableTimes", '"Monday 10am-3xx"'),
        ({"availableTimes": ["Funday 10am-4pm"]}, "availableTimes", "Funday"),
        ({"availableTimes": ["Monday 4pm-10am"]}, "availableTimes", "before the end"),
        ({"availableTimes": ["Monday 9am-1pm", "Mon 12:00-14:00"]}, "availableTimes", "overlap"),
        ({"availableTimes": "Monday 10am-4pm"}, "availableTimes", "list"),
        ({"availableTimes": [{"day": "monday", "start": "10:00"}]}, "availableTimes", "day, start and end"),
        ({"slotMinutes": 4}, "slotMinutes", "greater than or equal to 5"),
        ({"slotMinutes": 241}, "slotMinutes", "less than or equal to 240"),
        ({"timeZone": "Nowhere/City"}, "timeZone", "IANA"),
        ({"name": ""}, "name", "blank"),
        ({"doctorId": "has space"}, "doctorId", "letters, digits"),
        ({"countryId": "999"}, "countryId", "'999' does not exist"),
        (
            {"unavailable": [{"start": "2026-12-26T00:00:00Z", "end": "2026-12-24T00:00:00Z"}]},
            "unavailable",
            "after the start",
        ),
    ],
)
def test_bad_input_names_the_field(api, chile, fields, field, fragment):
    response = api.post("/doctors", {**DOCTOR, **fields}, format="json")
    assert response.status_code == 400, response.content
    assert fragment in str(response.json()[field]), response.json()


def test_missing_required_fields(api, chile):
    response = api.post("/doctors", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "speciality", "countryId", "availableTimes"}


def test_duplicate_id_is_409(api, chile):
    create(api)
    response = api.post("/doctors", DOCTOR, format="json")
    assert response.status_code == 409 and response.json()["code"] == "duplicate"
    assert "doctor001" in response.json()["detail"]  # it names the id taken


def test_list_by_country_and_speciality(api, chile):
    assert api.post("/countries", {"countryId": "001", "name": "USA", "code": "US"}, format="json").status_code == 201
    create(api, doctorId="d1")
    create(api, doctorId="d2", speciality="Cardiology")
    create(api, doctorId="d3", countryId="001")
    in_chile = api.get("/doctors?countryId=002").json()
    assert [d["doctorId"] for d in in_chile["results"]] == ["d1", "d2"]
    assert in_chile["next"] is None
    cardiology = api.get("/doctors?countryId=002&speciality=cardiology").json()
    assert [d["doctorId"] for d in cardiology["results"]] == ["d2"]
    everyone = api.get("/doctors").json()
    assert sorted(d["doctorId"] for d in everyone["results"]) == ["d1", "d2", "d3"]


def test_list_pages_follow_the_cursor(api, chile):
    for index in range(5):
        create(api, doctorId=f"d{index}")
    seen, cursor = [], ""
    for _ in range(5):
        page = api.get(f"/doctors?countryId=002&limit=2{'&cursor=' + cursor if cursor else ''}").json()
        seen += [d["doctorId"] for d in page["results"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == [f"d{index}" for index in range(5)]


def test_cursor_of_one_listing_is_refused_by_another(api, chile):
    for index in range(3):
        create(api, doctorId=f"d{index}")
    cursor = api.get("/doctors?countryId=002&limit=1").json()["next"]
    response = api.get(f"/doctors?limit=1&cursor={cursor}")
    assert response.status_code == 400
    assert "another listing" in response.json()["cursor"][0]


def test_patch_schedule_and_country(api, chile):
    create(api)
    assert api.post("/countries", {"countryId": "001", "name": "USA", "code": "US"}, format="json").status_code == 201
    response = api.patch("/doctors/doctor001", {"availableTimes": ["Fri 9am-1pm"], "countryId": "001"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["availableTimes"] == [{"day": "friday", "start": "09:00", "end": "13:00"}]
    assert body["countryId"] == "001"
    assert body["timeZone"] == "America/New_York"  # follows the new country
    assert body["version"] == 2
    assert [d["doctorId"] for d in api.get("/doctors?countryId=001").json()["results"]] == ["doctor001"]
    assert api.get("/doctors?countryId=002").json()["results"] == []


def test_patch_to_unknown_country_is_400_and_changes_nothing(api, chile):
    create(api)
    response = api.patch("/doctors/doctor001", {"countryId": "nope"}, format="json")
    assert response.status_code == 400
    assert "countryId" in response.json()
    assert api.get("/doctors/doctor001").json()["version"] == 1


def test_put_replaces(api, chile):
    create(api, slotMinutes=15, timeZone="America/Punta_Arenas")
    payload = {k: v for k, v in DOCTOR.items() if k != "doctorId"}
    response = api.put("/doctors/doctor001", {**payload, "name": "Dr. L."}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["slotMinutes"], body["timeZone"]) == ("Dr. L.", 30, "America/Santiago")


def test_if_match_and_delete(api, chile):
    create(api)
    stale = api.patch("/doctors/doctor001", {"name": "X"}, format="json", HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    garbage = api.patch("/doctors/doctor001", {"name": "X"}, format="json", HTTP_IF_MATCH="garbage")
    assert garbage.status_code == 412 and garbage.json()["code"] == "precondition_failed"
    assert api.patch("/doctors/doctor001", {"name": "X"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    assert api.delete("/doctors/doctor001").status_code == 204
    assert api.get("/doctors/doctor001").status_code == 404
    assert api.patch("/doctors/doctor001", {"name": "X"}, format="json").status_code == 404
