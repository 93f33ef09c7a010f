"""Public holidays and closures through HTTP: GET /countries/{id}/holidays, the countries' fields
`observesHolidays` and `closures`, the doctors' `subdivision` and `worksOnHolidays`, and what
doctor_closed_on makes of the stored records."""

from datetime import UTC, date, datetime, timedelta

import pytest

from countries import selectors as country_selectors
from countries.models import Country
from tests.helpers import set_raw

CHILE = {"countryId": "002", "name": "CHILE", "code": "CL"}
SPAIN = {"countryId": "034", "name": "ESPAÑA", "code": "ES"}
EMIRATES = {"countryId": "971", "name": "UAE", "code": "AE"}  # no subdivisions in the holidays package
DOCTOR = {"name": "Dr. Lorea", "speciality": "GP", "availableTimes": ["Monday 10am-4pm"]}


def create_country(api, body, **fields):
    response = api.post("/countries", {**body, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_doctor(api, doctor_id, country_id, **fields):
    response = api.post("/doctors", {**DOCTOR, "doctorId": doctor_id, "countryId": country_id, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def holidays(api, path):
    response = api.get(path)
    assert response.status_code == 200, response.content
    return response.json()


# --- GET /countries/{id}/holidays ------------------------------------------------------------------


def test_a_years_holidays_and_closures_sorted_by_date_with_their_kinds(api):
    closures = [{"date": "2026-12-24", "name": "Nochebuena"}, {"date": "2026-03-10", "name": "Inventario"}]
    create_country(api, CHILE, observesHolidays=True, closures=closures)
    body = holidays(api, "/countries/002/holidays?year=2026")
    assert (body["countryId"], body["year"], body["subdivision"]) == ("002", 2026, None)
    entries = body["holidays"]
    assert [entry["date"] for entry in entries] == sorted(entry["date"] for entry in entries)
    assert {"date": "2026-09-18", "name": "Día de la Independencia", "kind": "public"} in entries
    assert {"date": "2026-12-24", "name": "Nochebuena", "kind": "closure"} in entries
    assert {"date": "2026-03-10", "name": "Inventario", "kind": "closure"} in entries
    assert {entry["kind"] for entry in entries} == {"public", "closure"}
    assert all(entry["date"].startswith("2026-") for entry in entries)
    assert holidays(api, "/countries/002/holidays?year=2027")["holidays"][0] == {
        "date": "2027-01-01",
        "name": "Año Nuevo",
        "kind": "public",
    }


def test_a_country_that_does_not_observe_lists_its_closures_only(api):
    create_country(api, CHILE, observesHolidays=False, closures=[{"date": "2026-09-17", "name": "Puente"}])
    body = holidays(api, "/countries/002/holidays?year=2026")
    assert body["holidays"] == [{"date": "2026-09-17", "name": "Puente", "kind": "closure"}]


def test_a_subdivisions_holidays_are_listed_with_the_countrys(api):
    create_country(api, SPAIN, observesHolidays=True)
    madrid = holidays(api, "/countries/034/holidays?year=2026&subdivision=md")
    assert madrid["subdivision"] == "MD"
    assert {"date": "2026-05-02", "name": "Fiesta de la Comunidad de Madrid", "kind": "public"} in madrid["holidays"]
    barcelona = holidays(api, "/countries/034/holidays?year=2026&subdivision=CT")
    assert not [entry for entry in barcelona["holidays"] if entry["date"] == "2026-05-02"]
    assert {"date": "2026-09-11", "name": "Fiesta Nacional de Cataluña", "kind": "public"} in barcelona["holidays"]
    national = holidays(api, "/countries/034/holidays?year=2026")["holidays"]
    assert set(map(str, national)) < set(map(str, madrid["holidays"]))


@pytest.mark.parametrize(
    ("now", "year"),
    [
        (datetime(2027, 1, 1, 2, 0, tzinfo=UTC), 2026),  # still New Year's Eve in Santiago (UTC-3)
        (datetime(2027, 1, 1, 3, 30, tzinfo=UTC), 2027),
    ],
)
def test_the_year_defaults_to_the_current_one_in_the_countrys_zone(api, monkeypatch, now, year):
    create_country(api, CHILE, observesHolidays=True)
    monkeypatch.setattr(country_selectors, "utcnow", lambda: now)
    body = holidays(api, "/countries/002/holidays")
    assert body["year"] == year
    assert body["holidays"][0]["date"] == f"{year}-01-01"


@pytest.mark.parametrize("year", ["1899", "2101", "abc", "", "2026.5", "-2026", "+2026"])
def test_a_bad_year_is_a_400_on_year(api, year):
    create_country(api, CHILE)
    response = api.get(f"/countries/002/holidays?year={year}")
    assert response.status_code == 400, response.content
    assert response.json()["year"], response.json()
    if year not in ("",):
        assert "1900 to 2100" in response.json()["year"][0]


def test_an_unknown_subdivision_is_a_400_listing_the_valid_ones(api):
    create_country(api, SPAIN)
    response = api.get("/countries/034/holidays?subdivision=XX")
    assert response.status_code == 400, response.content
    (message,) = response.json()["subdivision"]
    assert "'XX' is not a subdivision of ES" in message
    assert "AN, AR, AS" in message and "MD" in message and "CT" in message
    create_country(api, EMIRATES)
    none_there = api.get("/countries/971/holidays?subdivision=DU")
    assert none_there.status_code == 400
    assert "has no subdivisions" in none_there.json()["subdivision"][0]


def test_unknown_country_and_unknown_parameter(api):
    missing = api.get("/countries/nope/holidays?year=2026")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    create_country(api, CHILE)
    unknown = api.get("/countries/002/holidays?region=RM")
    assert unknown.status_code == 400 and "region" in unknown.json()


def test_head_is_answered_where_get_is(api):
    create_country(api, CHILE)
    assert api.head("/countries/002/holidays?year=2026").status_code == 200


def test_the_route_is_in_the_openapi_schema(api):
    schema = api.get("/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/countries/{countryId}/holidays"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"countryId", "year", "subdivision"}
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert set(component["properties"]) >= {"countryId", "year", "holidays"}
    country = schema["components"]["schemas"]["Country"]["properties"]
    assert {"observesHolidays", "closures"} <= set(country)
    assert {"subdivision", "worksOnHolidays"} <= set(schema["components"]["schemas"]["Doctor"]["properties"])


# --- Countries: observesHolidays and closures ----------------------------------------------------------


def test_a_new_country_follows_the_setting_when_observes_holidays_is_left_out(api, settings):
    """The suite's setting is false (tests/stack.py); the server's default is true."""
    assert create_country(api, CHILE)["observesHolidays"] is False
    settings.COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT = True
    assert create_country(api, SPAIN)["observesHolidays"] is True
    assert api.get("/countries/034").json()["observesHolidays"] is True
    assert create_country(api, EMIRATES, observesHolidays=False)["observesHolidays"] is False


def test_observes_holidays_round_trips_and_put_resets_it_to_the_default(api, settings):
    create_country(api, CHILE, observesHolidays=True)
    assert api.get("/countries/002").json()["observesHolidays"] is True
    patched = api.patch("/countries/002", {"observesHolidays": False}, format="json")
    assert patched.status_code == 200 and patched.json()["observesHolidays"] is False
    untouched = api.patch("/countries/002", {"name": "Chile"}, format="json")
    assert untouched.json()["observesHolidays"] is False  # PATCH leaves it
    settings.COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT = True
    replaced = api.put("/countries/002", {"name": "Chile", "code": "CL"}, format="json")
    assert replaced.status_code == 200 and replaced.json()["observesHolidays"] is True


def test_closures_round_trip_sorted_and_trimmed(api):
    closures = [{"date": "2026-12-31", "name": " Fin de año "}, {"date": "2026-12-24", "name": "Nochebuena"}]
    body = create_country(api, CHILE, closures=closures)
    expected = [{"date": "2026-12-24", "name": "Nochebuena"}, {"date": "2026-12-31", "name": "Fin de año"}]
    assert body["closures"] == expected
    assert api.get("/countries/002").json()["closures"] == expected
    patched = api.patch("/countries/002", {"closures": [{"date": "2027-01-02", "name": "Puente"}]}, format="json")
    assert patched.status_code == 200 and patched.json()["closures"] == [{"date": "2027-01-02", "name": "Puente"}]
    assert (
        api.patch("/countries/002", {"name": "Chile"}, format="json").json()["closures"] == patched.json()["closures"]
    )
    replaced = api.put("/countries/002", {"name": "Chile", "code": "CL"}, format="json")
    assert replaced.json()["closures"] == []
    assert create_country(api, SPAIN)["closures"] == []


@pytest.mark.parametrize(
    ("closures", "fragment"),
    [
        ("2026-12-24", "Expected a list"),
        ([["2026-12-24", "X"]], "Entry 1: expected an object"),
        (
            [{"date": "2026-12-24", "name": "X"}, {"date": "2026-02-30", "name": "Y"}],
            "Entry 2 ('2026-02-30'): date: 2026-02-30 is not a day of the calendar.",
        ),
        ([{"date": "24/12/2026", "name": "X"}], "Entry 1 ('24/12/2026'): date:"),
        ([{"date": "1999-12-31", "name": "X"}], "outside the years"),
        ([{"date": 20261224, "name": "X"}], "Entry 1 ('20261224'): date:"),
        ([{"date": "2026-12-24", "name": "   "}], "Entry 1 ('2026-12-24'): name: This field may not be blank."),
        ([{"date": "2026-12-24", "name": "x" * 101}], "name: Ensure this field has no more than 100 characters."),
        ([{"date": "2026-12-24", "name": 5}], "Entry 1 ('2026-12-24'): name:"),
        ([{"date": "2026-12-24", "name": None}], "name: This field may not be null."),
        ([{"date": "2026-12-24"}], "'name' missing"),
        ([{"date": "2026-12-24", "name": "X", "kind": "closure"}], "unknown field 'kind'"),
        (
            [
                {"date": "2026-12-24", "name": "X"},
                {"date": "2026-12-25", "name": "Y"},
                {"date": "2026-12-24", "name": "Z"},
            ],
            "Entries 1 and 3 are both on 2026-12-24",
        ),
        ([{"date": "2027-01-01", "name": "X"}] * 367, "At most 366 closures"),
    ],
)
def test_bad_closures_are_a_400_naming_the_field_and_the_entry(api, closures, fragment):
    response = api.post("/countries", {**CHILE, "closures": closures}, format="json")
    assert response.status_code == 400, response.content
    messages = response.json()["closures"]
    assert any(fragment in message for message in messages), messages
    assert api.get("/countries/002").status_code == 404


def test_a_full_year_of_closures_is_accepted(api):
    days = [date(2028, 1, 1) + timedelta(days=n) for n in range(366)]  # a leap year
    body = create_country(api, CHILE, closures=[{"date": day.isoformat(), "name": "Cerrado"} for day in days])
    assert len(body["closures"]) == 366


def test_a_country_stored_before_the_fields_existed_observes_and_has_no_closures(api):
    create_country(api, CHILE, observesHolidays=False)
    set_raw(Country, "002", observesHolidays=None, closures=None)  # as an older release wrote it
    body = api.get("/countries/002").json()
    assert body["observesHolidays"] is True and body["closures"] == []
    assert country_selectors.country_observes_holidays(Country.get("002")) is True
    listed = holidays(api, "/countries/002/holidays?year=2026")["holidays"]
    assert {"date": "2026-09-18", "name": "Día de la Independencia", "kind": "public"} in listed
    patched = api.patch("/countries/002", {"name": "Chile"}, format="json")  # it saves with the new fields
    assert patched.status_code == 200 and patched.json()["observesHolidays"] is True


def test_a_change_of_holidays_or_closures_reaches_the_cached_policy(api):
    create_country(api, CHILE, observesHolidays=True)
    assert country_selectors.country_policy(country_id="002").observes_holidays is True
    closures = [{"date": "2026-12-24", "name": "Nochebuena"}]
    api.patch("/countries/002", {"observesHolidays": False, "closures": closures}, format="json")
    policy = country_selectors.country_policy(country_id="002")
    assert policy.observes_holidays is False
    assert country_selectors.country_closures(policy) == {date(2026, 12, 24): "Nochebuena"}


# --- Doctors: subdivision and worksOnHolidays -------------------------------------------------------


def test_a_doctors_subdivision_is_stored_upper_case_and_checked_against_its_country(api):
    create_country(api, SPAIN)
    assert create_doctor(api, "d-md", "034", subdivision="md")["subdivision"] == "MD"
    assert create_doctor(api, "d-ct", "034", subdivision="ES-CT")["subdivision"] == "CT"
    assert create_doctor(api, "d-es", "034")["subdivision"] is None
    response = api.post(
        "/doctors", {**DOCTOR, "doctorId": "d-xx", "countryId": "034", "subdivision": "XX"}, format="json"
    )
    assert response.status_code == 400, response.content
    (message,) = response.json()["subdivision"]
    assert "'XX' is not a subdivision of ES" in message and "AN, AR, AS" in message and "MD" in message
    assert api.get("/doctors/d-xx").status_code == 404


def test_a_subdivision_in_a_country_without_any_is_a_400_saying_so(api):
    create_country(api, EMIRATES)
    response = api.post(
        "/doctors", {**DOCTOR, "doctorId": "d-ae", "countryId": "971", "subdivision": "DU"}, format="json"
    )
    assert response.status_code == 400
    assert "has no subdivisions" in response.json()["subdivision"][0]


def test_patch_checks_a_new_subdivision_and_null_clears_it(api):
    create_country(api, SPAIN)
    create_doctor(api, "d-md", "034", subdivision="MD")
    wrong = api.patch("/doctors/d-md", {"subdivision": "QQ"}, format="json")
    assert wrong.status_code == 400 and "use one of" in wrong.json()["subdivision"][0]
    moved = api.patch("/doctors/d-md", {"subdivision": "ct"}, format="json")
    assert moved.status_code == 200 and moved.json()["subdivision"] == "CT"
    cleared = api.patch("/doctors/d-md", {"subdivision": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["subdivision"] is None


def test_a_change_of_country_checks_the_kept_subdivision_again(api):
    create_country(api, SPAIN)
    create_country(api, CHILE)
    create_doctor(api, "d-md", "034", subdivision="MD")
    refused = api.patch("/doctors/d-md", {"countryId": "002"}, format="json")
    assert refused.status_code == 400, refused.content
    (message,) = refused.json()["subdivision"]
    assert (
        "'MD' is not a subdivision of CL" in message and "RM" in message and "stays when countryId changes" in message
    )
    assert api.get("/doctors/d-md").json()["countryId"] == "034"  # nothing written
    moved = api.patch("/doctors/d-md", {"countryId": "002", "subdivision": "RM"}, format="json")
    assert moved.status_code == 200 and (moved.json()["countryId"], moved.json()["subdivision"]) == ("002", "RM")
    back = api.patch("/doctors/d-md", {"countryId": "034", "subdivision": None}, format="json")
    assert back.status_code == 200 and back.json()["subdivision"] is None


def test_works_on_holidays_round_trips_and_put_resets_the_holiday_fields(api):
    create_country(api, SPAIN)
    assert create_doctor(api, "d-1", "034")["worksOnHolidays"] is False
    body = create_doctor(api, "d-2", "034", worksOnHolidays=True, subdivision="MD")
    assert body["worksOnHolidays"] is True
    assert api.get("/doctors/d-2").json()["worksOnHolidays"] is True
    patched = api.patch("/doctors/d-2", {"worksOnHolidays": False}, format="json")
    assert patched.status_code == 200 and patched.json()["worksOnHolidays"] is False
    api.patch("/doctors/d-2", {"worksOnHolidays": True}, format="json")
    replaced = api.put("/doctors/d-2", {**DOCTOR, "countryId": "034"}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["worksOnHolidays"], replaced.json()["subdivision"]) == (False, None)
    bad = api.patch("/doctors/d-2", {"worksOnHolidays": "sometimes"}, format="json")
    assert bad.status_code == 400 and "worksOnHolidays" in bad.json()


# --- doctor_closed_on on stored records ----------------------------------------------------------------


def test_doctor_closed_on_madrid_barcelona_and_a_doctor_who_works_on_holidays(api):
    from doctors.models import Doctor
    from doctors.selectors import doctor_closed_on

    create_country(api, SPAIN, observesHolidays=True, closures=[{"date": "2026-05-04", "name": "Inventario"}])
    create_country(api, CHILE, observesHolidays=True)
    create_doctor(api, "d-md", "034", subdivision="MD")
    create_doctor(api, "d-ct", "034", subdivision="CT")
    create_doctor(api, "d-cl", "002")
    create_doctor(api, "d-cl-works", "002", worksOnHolidays=True)
    spain, chile = Country.get("034"), Country.get("002")
    madrid, barcelona = doctor_closed_on(Doctor.get("d-md"), spain), doctor_closed_on(Doctor.get("d-ct"), spain)
    assert madrid(date(2026, 5, 2)) == "Fiesta de la Comunidad de Madrid"
    assert barcelona(date(2026, 5, 2)) is None
    assert madrid(date(2026, 5, 4)) == barcelona(date(2026, 5, 4)) == "Inventario"
    assert madrid(date(2026, 5, 5)) is None
    assert doctor_closed_on(Doctor.get("d-cl"), chile)(date(2026, 9, 18)) == "Día de la Independencia"
    assert doctor_closed_on(Doctor.get("d-cl-works"), chile)(date(2026, 9, 18)) is None
    with pytest.raises(ValueError, match="not doctor 'd-cl'"):
        doctor_closed_on(Doctor.get("d-cl"), spain)
