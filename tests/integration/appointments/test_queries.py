from datetime import timedelta

import pytest

from tests.helpers import book, next_local, z

MONDAY, WEDNESDAY = 0, 2


@pytest.fixture
def agenda(clinic):
    """Five appointments: four for patient 0315 over two weeks, one for 0316; one cancelled."""
    assert (
        clinic.post("/countries", {"countryId": "001", "name": "USA", "code": "US"}, format="json").status_code == 201
    )
    times = {
        "a-3": next_local(WEDNESDAY, "14:00"),
        "a-1": next_local(MONDAY, "10:00"),
        "a-2": next_local(MONDAY, "11:00"),
        "a-4": next_local(MONDAY, "10:00", weeks=2),
    }
    for appointment_id, at in times.items():
        assert book(clinic, at=at, appointmentId=appointment_id).status_code == 201
    assert book(clinic, at=next_local(MONDAY, "12:00"), patient="0316", appointmentId="b-1").status_code == 201
    assert clinic.delete("/appointments/a-2").status_code == 204
    return times


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [appointment["appointmentId"] for appointment in response.json()["results"]]


def test_by_doctor_is_ordered_by_date(clinic, agenda):
    expected = ["a-1", "a-2", "b-1", "a-3", "a-4"]
    assert ids(clinic.get("/appointments?doctorId=doctor001")) == expected
    assert ids(clinic.get("/appointments/doctor/doctor001")) == expected
    assert ids(clinic.get("/appointments/country/002/doctor/doctor001")) == expected
    assert ids(clinic.get("/appointments/country/002")) == expected
    assert ids(clinic.get("/appointments?countryId=002")) == expected


def test_by_patient_and_state(clinic, agenda):
    assert ids(clinic.get("/appointments?patientId=0315")) == ["a-1", "a-2", "a-3", "a-4"]
    assert ids(clinic.get("/appointments/patient/0315")) == ["a-1", "a-2", "a-3", "a-4"]
    assert ids(clinic.get("/appointments?patientId=0315&state=cancelled")) == ["a-2"]
    assert ids(clinic.get("/appointments/patient/0315?state=pending")) == ["a-1", "a-3", "a-4"]
    assert ids(clinic.get("/appointments?doctorId=doctor001&patientId=0316")) == ["b-1"]
    assert ids(clinic.get("/appointments?countryId=001")) == []


def test_from_and_to(clinic, agenda):
    start, end = agenda["a-3"] - timedelta(hours=1), agenda["a-4"]
    assert ids(clinic.get(f"/appointments?doctorId=doctor001&from={z(start)}&to={z(end)}")) == ["a-3", "a-4"]
    day = agenda["a-4"].date().isoformat()
    assert ids(clinic.get(f"/appointments?doctorId=doctor001&from={day}")) == ["a-4"]
    bad = clinic.get(f"/appointments?doctorId=doctor001&from={z(end)}&to={z(start)}")
    assert bad.status_code == 400 and "to" in bad.json()
    assert clinic.get("/appointments?doctorId=doctor001&from=tomorrow").status_code == 400
    # An unencoded "+" of an offset arrives as a space; it is read as the "+" it was. Paris's own
    # offset of that day (+01:00 or +02:00): a fixed "+01:00" was an hour off in summer.
    local = agenda["a-4"].astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).isoformat(timespec="seconds")
    assert "+" in local
    assert ids(clinic.get(f"/appointments?doctorId=doctor001&from={local}")) == ["a-4"]
    assert clinic.get("/appointments?state=lost").status_code == 400


def test_pages_follow_the_cursor_in_order(clinic, agenda):
    seen, url = [], "/appointments?doctorId=doctor001&limit=2"
    for _ in range(5):
        page = clinic.get(url).json()
        seen += [a["appointmentId"] for a in page["results"]]
        if not page["next"]:
            break
        url = f"/appointments?doctorId=doctor001&limit=2&cursor={page['next']}"
    assert seen == ["a-1", "a-2", "b-1", "a-3", "a-4"]
    tampered = clinic.get(f"/appointments?doctorId=doctor001&cursor={page['next'] or 'x'}x")
    assert tampered.status_code == 400


def test_admin_listing_without_filter(clinic, agenda):
    assert sorted(ids(clinic.get("/appointments"))) == ["a-1", "a-2", "a-3", "a-4", "b-1"]
