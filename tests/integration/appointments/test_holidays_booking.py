"""Holidays and closures where a doctor's time is read: availability offers nothing on a closed
local day and a booking there is a 400 naming the date and the holiday, judged in the doctor's zone,
for the doctor's country and subdivision. The clock is the test's (set_booking_clock): the dates are
fixed 2026 holidays."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.helpers import book, set_booking_clock, z

MADRID, SANTIAGO = ZoneInfo("Europe/Madrid"), ZoneInfo("America/Santiago")


def post(api, path, body):
    response = api.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def free(api, doctor: str, first, last=None) -> list[str]:
    response = api.get(f"/doctors/{doctor}/availability?from={first}&to={last or first}")
    assert response.status_code == 200, response.content
    return [slot["start"] for slot in response.json()["slots"]]


def holiday_name(api, country: str, day: str, subdivision: str = "") -> str:
    query = f"/countries/{country}/holidays?year={day[:4]}" + (f"&subdivision={subdivision}" if subdivision else "")
    return next(h["name"] for h in api.get(query).json()["holidays"] if h["date"] == day)


def spain(api, monkeypatch):
    set_booking_clock(monkeypatch, datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    post(api, "/countries", {"countryId": "034", "name": "ESPAÑA", "code": "ES", "observesHolidays": True})
    for doctor_id, region in (("mad", "MD"), ("bcn", "CT")):
        body = {"doctorId": doctor_id, "name": doctor_id, "speciality": "GP", "countryId": "034"}
        post(api, "/doctors", {**body, "subdivision": region, "availableTimes": ["Monday 09:00-14:00"]})
    for patient_id in ("p1", "p2"):
        post(api, "/patients", {"patientId": patient_id, "name": patient_id, "countryId": "034"})


def test_madrids_regional_holiday_closes_a_madrid_doctor_and_not_a_barcelona_one(api, monkeypatch):
    """Monday 2026-12-07 is a holiday in the Community of Madrid, not in Catalonia."""
    spain(api, monkeypatch)
    assert free(api, "mad", "2026-12-07") == []
    assert len(free(api, "bcn", "2026-12-07")) == 10
    at = datetime(2026, 12, 7, 9, 0, tzinfo=MADRID)
    refused = book(api, at=at, patient="p1", doctor="mad")
    assert refused.status_code == 400, refused.content
    message = refused.json()["appointmentDate"][0]
    assert "2026-12-07" in message and holiday_name(api, "034", "2026-12-07", "MD") in message
    assert book(api, at=at, patient="p2", doctor="bcn").status_code == 201
    # The Monday after is an ordinary day for both.
    assert len(free(api, "mad", "2026-12-14")) == 10
    assert book(api, at=at + timedelta(days=7), patient="p1", doctor="mad").status_code == 201
    # A doctor who works on holidays is open on them; the country's national holiday (Tuesday
    # 2026-12-08) closes the others, whatever their region.
    assert api.patch("/doctors/mad", {"worksOnHolidays": True}, format="json").status_code == 200
    assert len(free(api, "mad", "2026-12-07")) == 10
    assert book(api, at=at, patient="p1", doctor="mad").status_code == 201
    assert api.patch("/doctors/bcn", {"availableTimes": ["Tuesday 09:00-14:00"]}, format="json").status_code == 200
    assert free(api, "bcn", "2026-12-08") == []


def test_a_holiday_is_the_doctors_local_date_not_the_utc_one(api, monkeypatch):
    """18 September is Independence Day in Chile. 21:00 on the 17th in Santiago is already the 18th in
    UTC (and in Madrid): bookable. 22:00 on the 18th in Santiago is the 19th in UTC: refused."""
    set_booking_clock(monkeypatch, datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    post(api, "/countries", {"countryId": "002", "name": "CHILE", "code": "CL", "observesHolidays": True})
    body = {"doctorId": "scl", "name": "Dr. Lorea", "speciality": "GP", "countryId": "002"}
    post(api, "/doctors", {**body, "availableTimes": ["Thu 18:00-24:00", "Fri 18:00-24:00"]})
    post(api, "/patients", {"patientId": "p1", "name": "Ana", "countryId": "002"})
    eve = datetime(2026, 9, 17, 21, 0, tzinfo=SANTIAGO)
    assert eve.astimezone(UTC).date().isoformat() == "2026-09-18"
    listed = free(api, "scl", "2026-09-17", "2026-09-18")
    assert listed and all(datetime.fromisoformat(s).astimezone(SANTIAGO).day == 17 for s in listed)
    assert book(api, at=eve, patient="p1", doctor="scl").status_code == 201
    night = datetime(2026, 9, 18, 22, 0, tzinfo=SANTIAGO)
    assert night.astimezone(UTC).date().isoformat() == "2026-09-19"
    refused = book(api, at=night, patient="p1", doctor="scl")
    assert refused.status_code == 400
    assert holiday_name(api, "002", "2026-09-18") in refused.json()["appointmentDate"][0]
    # A doctor who works on holidays takes it.
    assert api.patch("/doctors/scl", {"worksOnHolidays": True}, format="json").status_code == 200
    assert book(api, at=night, patient="p1", doctor="scl").status_code == 201


def test_a_closure_applies_to_every_doctor_and_leaves_what_was_booked_before(api, monkeypatch):
    spain(api, monkeypatch)
    assert api.patch("/doctors/mad", {"worksOnHolidays": True}, format="json").status_code == 200
    at = datetime(2026, 12, 14, 10, 0, tzinfo=MADRID)
    booked = book(api, at=at, patient="p1", doctor="mad", appointmentId="before")
    assert booked.status_code == 201
    closure = {"closures": [{"date": "2026-12-14", "name": "Inventario"}], "observesHolidays": False}
    assert api.patch("/countries/034", closure, format="json").status_code == 200
    assert free(api, "mad", "2026-12-14") == [] and free(api, "bcn", "2026-12-14") == []
    refused = book(api, at=at + timedelta(hours=1), patient="p2", doctor="mad")
    assert refused.status_code == 400 and "Inventario" in refused.json()["appointmentDate"][0]
    # The appointment booked before the closure stays as it was, and can still be cancelled...
    kept = api.get("/appointments/before")
    assert kept.status_code == 200 and kept.json()["state"] in ("pending", "scheduled")
    # ...but not moved within the closed day.
    moved = api.patch("/appointments/before", {"appointmentDate": z(at + timedelta(hours=2))}, format="json")
    assert moved.status_code == 400 and "Inventario" in moved.json()["appointmentDate"][0]
    # Not observing holidays: Madrid's 7 December is an ordinary day again, for every Madrid doctor.
    assert api.patch("/doctors/mad", {"worksOnHolidays": False}, format="json").status_code == 200
    assert len(free(api, "mad", "2026-12-07")) == 10
    assert api.delete("/appointments/before").status_code == 204
