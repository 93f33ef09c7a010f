"""Booking with an appointment type: its duration and buffers frozen on the appointment, the doctor
held over the buffers and the patient not, availability per type agreeing with booking exactly."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import book, next_local, z

MONDAY = 0


def add_type(api, type_id: str, duration: int, before: int = 0, after: int = 0, country: str = "002") -> None:
    body = {
        "appointmentTypeId": type_id,
        "countryId": country,
        "name": type_id,
        "durationMinutes": duration,
        "bufferBeforeMinutes": before,
        "bufferAfterMinutes": after,
    }
    assert api.post("/appointment-types", body, format="json").status_code == 201


@pytest.fixture
def typed(clinic):
    """Dr. Lorea on a 15-minute grid offering a 30-minute procedure with 15 minutes of clean-up after,
    a 45-minute first visit with 10 minutes before, and a 15-minute follow-up."""
    add_type(clinic, "procedure", 30, after=15)
    add_type(clinic, "first-visit", 45, before=10)
    add_type(clinic, "follow-up", 15)
    change = {"slotMinutes": 15, "appointmentTypeIds": ["procedure", "first-visit", "follow-up"]}
    assert clinic.patch("/doctors/doctor001", change, format="json").status_code == 200
    return clinic


def free(api, day, type_id: str | None = None, doctor: str = "doctor001") -> list[str]:
    query = f"/doctors/{doctor}/availability?from={day}&to={day}"
    if type_id:
        query += f"&appointmentTypeId={type_id}"
    response = api.get(query)
    assert response.status_code == 200, response.content
    return [slot["start"] for slot in response.json()["slots"]]


def test_the_type_sets_the_duration_and_its_buffers_are_frozen_on_the_appointment(typed):
    at = next_local(MONDAY, "10:00")
    response = book(typed, at=at, appointmentTypeId="procedure", appointmentId="a1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["appointmentTypeId"], body["durationMinutes"]) == ("procedure", 30)
    assert (body["bufferBeforeMinutes"], body["bufferAfterMinutes"]) == (0, 15)
    assert body["endDate"] == z(at + timedelta(minutes=30))
    # The same request again is a replay; without the type it is another booking.
    assert book(typed, at=at, appointmentTypeId="procedure", appointmentId="a1").status_code == 200
    assert book(typed, at=at, appointmentId="a1").status_code == 409
    plain = book(typed, at=next_local(MONDAY, "14:00"), patient="0316").json()
    assert (plain["appointmentTypeId"], plain["bufferBeforeMinutes"], plain["bufferAfterMinutes"]) == (None, None, None)


def test_an_after_buffer_hides_and_refuses_the_next_slot_and_frees_the_one_after(typed):
    """The issue's example: 10:00-10:30 with 15 minutes after hides 10:30, refuses a direct 10:30
    booking (of any kind, any patient), accepts 10:45."""
    at = next_local(MONDAY, "10:00")
    day = at.date()
    assert z(at + timedelta(minutes=30)) in free(typed, day, "follow-up")
    assert book(typed, at=at, appointmentTypeId="procedure").status_code == 201
    for type_id in (None, "follow-up"):
        listed = free(typed, day, type_id)
        assert z(at + timedelta(minutes=30)) not in listed and z(at + timedelta(minutes=45)) in listed
    refused = book(typed, at=at + timedelta(minutes=30), patient="0316", appointmentTypeId="follow-up")
    assert refused.status_code == 409 and refused.json()["code"] == "slot_taken"
    assert book(typed, at=at + timedelta(minutes=30), patient="0316").status_code == 409
    assert book(typed, at=at + timedelta(minutes=45), patient="0316", appointmentTypeId="follow-up").status_code == 201


def test_a_before_buffer_needs_the_doctor_free_ahead_of_the_start(typed):
    at = next_local(MONDAY, "11:00")
    assert book(typed, at=at - timedelta(minutes=15), appointmentTypeId="follow-up").status_code == 201  # 10:45-11:00
    # The first visit at 11:00 needs the doctor from 10:50: taken. At 11:15 (from 11:05): free.
    listed = free(typed, at.date(), "first-visit")
    assert z(at) not in listed and z(at + timedelta(minutes=15)) in listed
    refused = book(typed, at=at, patient="0316", appointmentTypeId="first-visit")
    assert refused.status_code == 409 and "buffers" in refused.json()["detail"]
    assert (
        book(typed, at=at + timedelta(minutes=15), patient="0316", appointmentTypeId="first-visit").status_code == 201
    )
    # The window opens at 10:00: the first visit's buffer may reach before it (09:50), its time may not.
    assert z(next_local(MONDAY, "10:00", weeks=2)) in free(typed, at.date() + timedelta(days=7), "first-visit")


def test_the_patient_is_held_only_for_the_appointment_itself(typed):
    doctor = {
        "doctorId": "doctor002",
        "name": "Dr. Two",
        "speciality": "GP",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm"],
        "slotMinutes": 15,
    }
    assert typed.post("/doctors", doctor, format="json").status_code == 201
    at = next_local(MONDAY, "10:00")
    assert book(typed, at=at, appointmentTypeId="procedure").status_code == 201
    # The same patient, another doctor, in the first doctor's clean-up time: allowed.
    assert book(typed, at=at + timedelta(minutes=30), doctor="doctor002").status_code == 201
    clash = book(typed, at=at + timedelta(minutes=15), doctor="doctor002")
    assert clash.status_code == 409 and clash.json()["code"] == "patient_busy"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"appointmentTypeId": "nope"}, "'nope' does not exist"),
        ({"appointmentTypeId": "procedure", "durationMinutes": 45}, "lasts 30 minutes"),
        ({"appointmentTypeId": "pe-type"}, "does not offer appointment type 'pe-type'"),
        ({"appointmentTypeId": "unoffered"}, "does not offer appointment type 'unoffered'"),
    ],
)
def test_a_type_that_cannot_be_used_is_a_400_naming_it(typed, extra, message):
    assert (
        typed.post("/countries", {"countryId": "003", "name": "PERU", "code": "PE"}, format="json").status_code == 201
    )
    add_type(typed, "pe-type", 30, country="003")
    add_type(typed, "unoffered", 30)
    response = book(typed, at=next_local(MONDAY, "10:00"), **extra)
    assert response.status_code == 400, response.content
    field = "durationMinutes" if "durationMinutes" in extra else "appointmentTypeId"
    assert message in response.json()[field][0]
    if "durationMinutes" not in extra:  # availability refuses the same type the same way
        day = next_local(MONDAY, "10:00").date()
        query = f"/doctors/doctor001/availability?from={day}&to={day}&appointmentTypeId={extra['appointmentTypeId']}"
        listed = typed.get(query)
        assert listed.status_code == 400 and message in listed.json()["appointmentTypeId"][0]


def test_a_retired_type_is_no_longer_booked_nor_offered(typed):
    assert typed.patch("/appointment-types/procedure", {"active": False}, format="json").status_code == 200
    response = book(typed, at=next_local(MONDAY, "10:00"), appointmentTypeId="procedure")
    assert response.status_code == 400 and "retired" in response.json()["appointmentTypeId"][0]
    day = next_local(MONDAY, "10:00").date()
    listed = typed.get(f"/doctors/doctor001/availability?from={day}&to={day}&appointmentTypeId=procedure")
    assert listed.status_code == 400


def test_editing_a_type_changes_no_booked_appointment_and_a_reschedule_keeps_the_booked_values(typed):
    at = next_local(MONDAY, "10:00")
    booked = book(typed, at=at, appointmentTypeId="procedure", appointmentId="a1").json()
    edit = {"durationMinutes": 60, "bufferAfterMinutes": 0, "bufferBeforeMinutes": 30}
    assert typed.patch("/appointment-types/procedure", edit, format="json").status_code == 200
    after = typed.get("/appointments/a1").json()
    assert {k: after[k] for k in ("durationMinutes", "bufferBeforeMinutes", "bufferAfterMinutes", "endDate")} == {
        "durationMinutes": 30,
        "bufferBeforeMinutes": 0,
        "bufferAfterMinutes": 15,
        "endDate": booked["endDate"],
    }
    # Moved to 13:00: still 30 minutes with 15 after, so 13:30 is held and 13:45 is free.
    moved = typed.patch("/appointments/a1", {"appointmentDate": z(at + timedelta(hours=3))}, format="json")
    assert moved.status_code == 200, moved.content
    assert (moved.json()["durationMinutes"], moved.json()["bufferAfterMinutes"]) == (30, 15)
    listed = free(typed, at.date(), "follow-up")
    assert z(at + timedelta(hours=3, minutes=30)) not in listed and z(at + timedelta(hours=3, minutes=45)) in listed
    assert z(at) in listed  # the old time and its buffer are free again
    longer = typed.patch("/appointments/a1", {"durationMinutes": 45}, format="json")
    assert longer.status_code == 400 and "as booked" in longer.json()["durationMinutes"][0]
    # New bookings take the edited values: 60 minutes with 30 before.
    new = book(typed, at=at + timedelta(hours=1), patient="0316", appointmentTypeId="procedure").json()
    assert (new["durationMinutes"], new["bufferBeforeMinutes"]) == (60, 30)
    # Cancelling frees the doctor's buffers with the rest.
    assert typed.delete("/appointments/a1").status_code == 204
    assert z(at + timedelta(hours=3, minutes=30)) in free(typed, at.date(), "follow-up")


def test_availability_per_type_and_booking_agree_at_every_five_minutes_of_a_day(typed):
    """With two bookings in the way, every 5-minute start of Monday is booked (then cancelled) or
    refused, and it is booked exactly when availability listed it."""
    monday = next_local(MONDAY, "10:00")
    assert book(typed, at=monday + timedelta(hours=1), appointmentTypeId="procedure").status_code == 201  # 11:00
    assert (
        book(typed, at=monday + timedelta(hours=3), patient="0316", appointmentTypeId="first-visit").status_code == 201
    )
    listed = set(free(typed, monday.date(), "first-visit"))
    assert listed  # the day is not all taken
    start = monday - timedelta(minutes=30)
    accepted = set()
    for step in range(0, 6 * 12 + 12):
        at = start + timedelta(minutes=5 * step)
        response = book(typed, at=at, patient="0316", appointmentTypeId="first-visit")
        assert response.status_code in (201, 400, 409), response.content
        if response.status_code == 201:
            accepted.add(z(at))
            assert typed.delete(f"/appointments/{response.json()['appointmentId']}").status_code == 204
    assert accepted == listed


def test_old_appointments_without_a_type_keep_working(typed):
    """An appointment stored before types (no type attributes at all) reads, holds and frees as before."""
    from tests.helpers import put_appointment

    at = next_local(MONDAY, "12:00")
    put_appointment("old-1", at=at, state="scheduled", country="002")
    shown = typed.get("/appointments/old-1").json()
    assert (shown["appointmentTypeId"], shown["bufferAfterMinutes"]) == (None, None)
    assert z(at) not in free(typed, at.date())
    assert datetime.fromisoformat(shown["endDate"]).astimezone(UTC) == at.astimezone(UTC) + timedelta(minutes=30)


def test_an_appointment_completed_early_still_holds_its_buffer(typed, monkeypatch):
    """Completed or no-show appointments keep their locks (only a cancellation frees them), so
    availability keeps their remaining time and buffer hidden: it offers nothing booking would refuse."""
    from appointments import services
    from tests.helpers import set_booking_clock

    assert typed.patch("/countries/002", {"minNoticeMinutes": 0}, format="json").status_code == 200
    at = next_local(MONDAY, "10:00")
    assert book(typed, at=at, appointmentTypeId="procedure", appointmentId="a1").status_code == 201  # held to 10:45
    services.appointment_transition(appointment_id="a1", state="scheduled")
    set_booking_clock(monkeypatch, at + timedelta(minutes=20))
    assert typed.patch("/appointments/a1", {"state": "completed"}, format="json").status_code == 200
    listed = free(typed, at.date(), "follow-up")
    assert z(at + timedelta(minutes=30)) not in listed and z(at + timedelta(minutes=45)) in listed
    assert book(typed, at=at + timedelta(minutes=30), patient="0316", appointmentTypeId="follow-up").status_code == 409
    assert book(typed, at=at + timedelta(minutes=45), patient="0316", appointmentTypeId="follow-up").status_code == 201
