import pytest

CHILE = {"countryId": "002", "name": "CHILE", "code": "CL"}


def test_create_country_from_original_example(api):
    response = api.post("/countries", CHILE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["countryId"] == "002"
    assert body["code"] == "CL"
    assert body["timeZone"] == "America/Santiago"
    assert body["version"] == 1
    assert body["createdAt"].endswith("Z")
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
