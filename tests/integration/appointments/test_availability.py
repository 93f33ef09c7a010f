from datetime import datetime, timedelta

import pytest

from tests.helpers import book, next_local, set_booking_clock, z

MONDAY = 0


def slots(api, doctor: str, first, last) -> list[str]:
    response = api.get(f"/doctors/{doctor}/availability?from={first}&to={last}")
    assert response.status_code == 200, response.content
    return [slot["start"] for slot in response.json()["slots"]]


def test_free_slots_of_a_week(clinic):
    monday = next_local(MONDAY, "10:00")
    week = (monday.date(), monday.date() + timedelta(days=6))
    free = slots(clinic, "doctor001", *week)
    assert len(free) == 12 + 8  # Monday 10-16 and Wednesday 13-17 in 30-minute slots
    assert free[0] == z(monday)
    response = clinic.get(f"/doctors/doctor001/availability?from={week[0]}&to={week[1]}").json()
    assert response["timeZone"] == "America/Santiago"
    assert response["slots"][0]["end"] == z(monday + timedelta(minutes=30))

    assert book(clinic, at=monday, durationMinutes=60).status_code == 201
    blocked = {"start": z(monday + timedelta(hours=5)), "end": z(monday + timedelta(hours=6))}
    assert clinic.patch("/doctors/doctor001", {"unavailable": [blocked]}, format="json").status_code == 200
    after = slots(clinic, "doctor001", *week)
    assert z(monday) not in after and z(monday + timedelta(minutes=30)) not in after
    assert z(monday + timedelta(hours=1)) in after
    assert z(monday + timedelta(hours=5)) not in after and z(monday + timedelta(hours=5, minutes=30)) not in after
    assert len(after) == 20 - 2 - 2
    assert (
        clinic.delete(
            f"/appointments/{clinic.get('/appointments?doctorId=doctor001').json()['results'][0]['appointmentId']}"
        ).status_code
        == 204
    )
    assert z(monday) in slots(clinic, "doctor001", *week)


def test_past_and_notice_are_left_out(clinic, monkeypatch):
    days = [f"{day} 00:00-24:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert clinic.patch("/doctors/doctor001", {"availableTimes": days}, format="json").status_code == 200
    now = next_local(MONDAY, "09:10")  # the listing's clock: Monday of the test week, in Santiago
    set_booking_clock(monkeypatch, now)
    today = now.date()
    free = slots(clinic, "doctor001", today, today + timedelta(days=1))
    earliest = now + timedelta(minutes=60)
    assert free and all(datetime.fromisoformat(start) >= earliest for start in free)
    assert len(free) < 96
    # 00:00 to 10:00 is past or inside the 60 minutes' notice: the first free slot is 10:30.
    assert free[0] == z(next_local(MONDAY, "10:30"))
    assert len(free) == 96 - 21


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-12-01", "to"),
        ("to=2026-12-01", "from"),
        ("from=2026-12-10&to=2026-12-01", "to"),
        ("from=2026-12-01&to=2027-01-15", "to"),
        ("from=12/01/2026&to=2026-12-07", "from"),
        ("from=9999-12-31&to=9999-12-31", "from"),
        ("from=0001-01-01&to=0001-01-02", "from"),
    ],
)
def test_bad_ranges_are_400(clinic, query, field):
    response = clinic.get(f"/doctors/doctor001/availability?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_unknown_doctor_is_404(clinic):
    assert clinic.get("/doctors/nobody/availability?from=2026-12-01&to=2026-12-07").status_code == 404


def test_a_range_outside_the_bookable_window_is_empty(clinic):
    assert slots(clinic, "doctor001", "2020-01-01", "2020-01-07") == []
    assert slots(clinic, "doctor001", "2199-01-01", "2199-01-07") == []
