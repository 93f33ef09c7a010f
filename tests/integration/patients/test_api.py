import pytest

PATIENT = {
    "patientId": "0315",
    "name": "Jorge Moros ",
    "age": 85,
    "address": "123 Main St, Anytown, USA",
    "email": "johndoe@example.com",
    "phoneNumber": "+1-555-555-5555",
    "countryId": "001",
}


@pytest.fixture
def usa(api):
    response = api.post("/countries", {"countryId": "001", "name": "USA", "code": "US"}, format="json")
    assert response.status_code == 201
    return response.json()


def test_create_patient_from_original_example(api, usa):
    response = api.post("/patients", PATIENT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Jorge Moros"
    assert body["phoneNumber"] == "+15555555555"
    assert body["email"] == "johndoe@example.com"
    assert body["age"] == 85
    assert response["Location"] == "/patients/0315"
    assert api.get("/patients/0315").json() == body


def test_email_is_lower_cased_and_birth_date_gives_age(api, usa):
    payload = {**PATIENT, "email": "Ana.Perez@Example.COM", "age": None, "birthDate": "1990-01-01"}
    body = api.post("/patients", payload, format="json").json()
    assert body["email"] == "ana.perez@example.com"
    assert body["birthDate"] == "1990-01-01"
    assert body["age"] >= 36


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"email": "not-an-email"}, "email", "not a valid e-mail"),
        ({"phoneNumber": "12345"}, "phoneNumber", "not a possible phone number"),
        ({"phoneNumber": "+1-555"}, "phoneNumber", "not a possible phone number"),
        ({"age": 151}, "age", "less than or equal to 150"),
        ({"age": -1}, "age", "greater than or equal to 0"),
        ({"age": "old"}, "age", "valid integer"),
        ({"birthDate": "2999-01-01"}, "birthDate", "future"),
        ({"age": 3, "birthDate": "1990-01-01"}, "age", "does not match the birth date"),
        ({"birthDate": "yesterday"}, "birthDate", "format"),
        ({"countryId": "404"}, "countryId", "'404' does not exist"),
        ({"name": "   "}, "name", "blank"),
        ({"patientId": "x" * 65}, "patientId", "64"),
        ({"ssn": "123"}, "ssn", "Unknown field"),
    ],
)
def test_bad_input_names_the_field(api, usa, fields, field, fragment):
    response = api.post("/patients", {**PATIENT, **fields}, format="json")
    assert response.status_code == 400, response.content
    assert fragment in str(response.json()[field]), response.json()
    assert api.get(f"/patients/{PATIENT['patientId']}").status_code == 404


def test_duplicate_is_409(api, usa):
    assert api.post("/patients", PATIENT, format="json").status_code == 201
    response = api.post("/patients", PATIENT, format="json")
    assert response.status_code == 409 and response.json()["code"] == "duplicate"
    assert "0315" in response.json()["detail"]  # it names the id taken


def test_list_by_country(api, usa):
    assert api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code == 201
    for patient_id, country_id in [("p1", "001"), ("p2", "002"), ("p3", "001")]:
        payload = {**PATIENT, "patientId": patient_id, "countryId": country_id}
        assert api.post("/patients", payload, format="json").status_code == 201
    body = api.get("/patients?countryId=001").json()
    assert [p["patientId"] for p in body["results"]] == ["p1", "p3"]
    assert len(api.get("/patients").json()["results"]) == 3


def test_patch_put_and_delete(api, usa):
    assert api.post("/patients", PATIENT, format="json").status_code == 201
    patched = api.patch("/patients/0315", {"phoneNumber": "+56 9 1234 5678", "address": "  Calle 1  "}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["phoneNumber"] == "+56912345678"
    assert patched.json()["address"] == "Calle 1"
    assert patched.json()["email"] == "johndoe@example.com"  # untouched
    put = api.put("/patients/0315", {"name": "Jorge", "countryId": "001"}, format="json")
    assert put.status_code == 200, put.content
    assert put.json()["email"] is None and put.json()["age"] is None  # PUT replaces the whole record
    assert put.json()["version"] == 3
    stale = api.delete("/patients/0315", HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert api.delete("/patients/0315").status_code == 204
    assert api.get("/patients/0315").status_code == 404
