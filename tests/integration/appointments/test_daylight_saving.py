"""A 09:00 slot stays 09:00 local on both sides of a daylight-saving change."""

import pytest

from tests.helpers import set_booking_clock

# (zone, code, Monday before the change, Monday after, UTC of 09:00 before, UTC of 09:00 after)
CHANGES = [
    ("America/Santiago", "CL", "2027-03-29", "2027-04-05", "12:00", "13:00"),  # DST ends 4 April 2027
    ("America/Santiago", "CL", "2027-08-30", "2027-09-06", "13:00", "12:00"),  # DST starts 5 September 2027
    ("America/New_York", "US", "2027-03-08", "2027-03-15", "14:00", "13:00"),  # DST starts 14 March 2027
    ("America/New_York", "US", "2027-11-01", "2027-11-08", "13:00", "14:00"),  # DST ends 7 November 2027
]


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    """Today is 2026-12-01 for these tests, so that the 2027 changes stay in the future."""
    from datetime import UTC, datetime

    set_booking_clock(monkeypatch, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def doctor_in(api):
    def make(zone: str, code: str) -> str:
        country = {"countryId": code, "name": code, "code": code, "maxAdvanceDays": 730}
        assert api.post("/countries", country, format="json").status_code == 201
        doctor = {
            "doctorId": f"dr-{code}",
            "name": "Dr. X",
            "speciality": "GP",
            "countryId": code,
            "availableTimes": ["Monday 9am-12pm"],
        }
        assert api.post("/doctors", doctor, format="json").json()["timeZone"] == zone
        assert (
            api.post("/patients", {"patientId": "p", "name": "P", "countryId": code}, format="json").status_code == 201
        )
        return f"dr-{code}"

    return make


@pytest.mark.parametrize(("zone", "code", "before", "after", "utc_before", "utc_after"), CHANGES)
def test_nine_oclock_stays_nine_oclock(api, doctor_in, zone, code, before, after, utc_before, utc_after):
    doctor = doctor_in(zone, code)
    for day, utc in ((before, utc_before), (after, utc_after)):
        free = api.get(f"/doctors/{doctor}/availability?from={day}&to={day}").json()["slots"]
        assert free[0]["start"] == f"{day}T{utc}:00Z"
        assert len(free) == 6
        booked = api.post(
            "/appointments",
            {"patientId": "p", "doctorId": doctor, "appointmentDate": f"{day}T{utc}:00Z"},
            format="json",
        )
        assert booked.status_code == 201, booked.content
        hour_early = f"{day}T{int(utc[:2]) - 1:02d}:00:00Z"  # 08:00 local: before opening
        refused = api.post(
            "/appointments", {"patientId": "p", "doctorId": doctor, "appointmentDate": hour_early}, format="json"
        )
        assert refused.status_code == 400
        assert "08:00 on Monday" in refused.json()["appointmentDate"][0]


def test_what_availability_offers_on_a_change_day_can_be_booked(api, doctor_in):
    """Saturday 4 September 2027 in Santiago: midnight is skipped (clocks jump to 01:00)."""
    doctor = doctor_in("America/Santiago", "CL")
    assert (
        api.patch(f"/doctors/{doctor}", {"availableTimes": ["Saturday 22:00-24:00"]}, format="json").status_code == 200
    )
    free = api.get(f"/doctors/{doctor}/availability?from=2027-09-04&to=2027-09-04").json()["slots"]
    assert [slot["start"] for slot in free] == [
        "2027-09-05T02:00:00Z",
        "2027-09-05T02:30:00Z",
        "2027-09-05T03:00:00Z",
        "2027-09-05T03:30:00Z",
    ]
    for slot in free:
        body = {"patientId": "p", "doctorId": doctor, "appointmentDate": slot["start"]}
        response = api.post("/appointments", body, format="json")
        assert response.status_code == 201, response.content
        assert api.delete(f"/appointments/{response.json()['appointmentId']}").status_code == 204
