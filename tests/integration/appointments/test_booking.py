from datetime import timedelta

import pytest

from appointments.models import Appointment
from scheduler.db.locks import Lock
from tests.helpers import book, next_local, set_booking_clock, z

MONDAY, WEDNESDAY, FRIDAY, SUNDAY = 0, 2, 4, 6


def locks_of(appointment_id: str) -> list[str]:
    return sorted(lock.slot_key for lock in Lock.scan(Lock.owner == appointment_id))


def test_booking_reserves_the_slot_atomically(clinic):
    at = next_local(MONDAY, "10:00")
    response = book(clinic, at=at, appointmentId="appointment124", reason="check-up")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "pending"
    assert body["appointmentDate"] == z(at)
    assert body["endDate"] == z(at + timedelta(minutes=30))
    assert body["durationMinutes"] == 30
    assert body["countryId"] == "002"
    assert response["Location"] == "/appointments/appointment124"
    assert clinic.get("/appointments/appointment124").json()["reason"] == "check-up"
    keys = locks_of("appointment124")
    assert len(keys) == 12  # 6 five-minute buckets each for the doctor and the patient
    assert sum(key.startswith("doctor#doctor001#") for key in keys) == 6


def test_state_scheduled_on_create_still_starts_pending(clinic):
    response = book(clinic, at=next_local(MONDAY, "10:30"), state="scheduled")
    assert response.status_code == 201
    assert response.json()["state"] == "pending"
    assert len(response.json()["appointmentId"]) == 26  # generated ULID


def test_original_readme_example_is_rejected_clearly(clinic):
    body = {
        "appointmentId": "appointment124",
        "patientId": "0315",
        "doctorId": "doctor001",
        "appointmentDate": "2024-10-25T10:00:00Z",
        "countryId": "US",
        "state": "scheduled",
    }
    response = clinic.post("/appointments", body, format="json")
    assert response.status_code == 400
    assert "practises in country '002', not 'US'" in response.json()["countryId"][0]
    body["countryId"] = "002"
    response = clinic.post("/appointments", body, format="json")
    assert response.status_code == 400
    assert "in the past" in response.json()["appointmentDate"][0]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"appointmentDate": "2030-01-07T10:00:00"}, "appointmentDate", "no time zone"),
        ({"appointmentDate": "next monday"}, "appointmentDate", "no time zone"),
        ({"at": ("monday", "10:10")}, "appointmentDate", "not on the doctor's 30-minute grid"),
        ({"at": ("monday", "16:00")}, "appointmentDate", "outside the doctor's available times"),
        ({"at": ("monday", "15:45"), "durationMinutes": 30}, "appointmentDate", "to 16:15 is outside"),
        ({"at": ("monday", "15:30"), "durationMinutes": 60}, "appointmentDate", "outside the doctor's available"),
        ({"at": ("friday", "10:00")}, "appointmentDate", "does not work on Fridays"),
        ({"at": ("sunday", "10:00")}, "appointmentDate", "does not work on Sundays"),
        ({"durationMinutes": 45}, "durationMinutes", "not a multiple of the doctor's 30-minute slots"),
        ({"durationMinutes": 270}, "durationMinutes", "less than or equal to 240"),
        ({"patientId": "nobody"}, "patientId", "'nobody' does not exist"),
        ({"doctorId": "nobody"}, "doctorId", "'nobody' does not exist"),
        ({"countryId": "001"}, "countryId", "not '001'"),
        ({"state": "completed"}, "state", 'use "pending" or "scheduled"'),
        ({"state": "cancelled"}, "state", "cannot be asked for on create"),
        ({"appointmentId": "no spaces please"}, "appointmentId", "letters, digits"),
        ({"reason": 42}, "reason", "valid string"),
        ({"surprise": 1}, "surprise", "Unknown field"),
    ],
)
def test_bad_bookings_are_400_naming_the_field(clinic, change, field, fragment):
    change = dict(change)
    weekday, clock = change.pop("at", ("monday", "10:00"))
    at = next_local({"monday": MONDAY, "friday": FRIDAY, "sunday": SUNDAY}[weekday], clock)
    body = {"patientId": "0315", "doctorId": "doctor001", "appointmentDate": z(at), **change}
    response = clinic.post("/appointments", body, format="json")
    assert response.status_code == 400, response.content
    assert fragment in " ".join(response.json()[field]), response.json()
    assert list(Appointment.scan()) == []  # nothing half-written
    assert list(Lock.scan(Lock.slot_key.startswith("doctor#"))) == []


def test_offsets_other_than_z_are_understood(clinic):
    at = next_local(MONDAY, "10:00")
    local = at.isoformat()  # e.g. 2026-12-07T10:00:00-03:00
    response = clinic.post(
        "/appointments", {"patientId": "0315", "doctorId": "doctor001", "appointmentDate": local}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["appointmentDate"] == z(at)


def test_past_too_soon_and_too_far(clinic, monkeypatch):
    assert (
        clinic.patch("/doctors/doctor001", {"availableTimes": ["Mon-Sun 00:00-24:00"]}, format="json").status_code
        == 400
    )
    days = [f"{day} 00:00-24:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert clinic.patch("/doctors/doctor001", {"availableTimes": days}, format="json").status_code == 200
    # The booking check's clock: Monday 09:10 of the test week, so the cases do not follow the real clock.
    set_booking_clock(monkeypatch, next_local(MONDAY, "09:10"))
    on_grid = next_local(MONDAY, "09:00")
    cases = [
        (on_grid - timedelta(hours=2), "in the past"),
        (on_grid + timedelta(minutes=30), "too soon: book at least 60 minutes ahead"),
        (on_grid + timedelta(days=400), "too far ahead: book at most 365 days ahead"),
    ]
    for at, fragment in cases:
        response = book(clinic, at=at)
        assert response.status_code == 400, (at, response.content)
        assert fragment in response.json()["appointmentDate"][0]
    assert book(clinic, at=on_grid + timedelta(hours=3)).status_code == 201


def test_blocked_periods_are_refused(clinic):
    at = next_local(MONDAY, "11:00")
    blocked = {"start": z(at - timedelta(hours=1)), "end": z(at + timedelta(hours=1)), "reason": "Congress"}
    assert clinic.patch("/doctors/doctor001", {"unavailable": [blocked]}, format="json").status_code == 200
    response = book(clinic, at=at)
    assert response.status_code == 400
    (message,) = response.json()["appointmentDate"]
    assert "unavailable" in message and "Congress" not in message  # the reason is private (docs/security.md)


def test_doctor_busy_and_patient_busy_are_409_naming_who(clinic):
    assert (
        clinic.post(
            "/doctors",
            {
                "doctorId": "doctor002",
                "name": "Dr. B",
                "speciality": "GP",
                "countryId": "002",
                "availableTimes": ["Monday 08:00-18:00"],
            },
            format="json",
        ).status_code
        == 201
    )
    at = next_local(MONDAY, "10:00")
    assert book(clinic, at=at, durationMinutes=60).status_code == 201
    doctor_busy = book(clinic, at=at + timedelta(minutes=30), patient="0316")
    assert doctor_busy.status_code == 409 and doctor_busy.json()["code"] == "slot_taken"
    assert "Doctor 'doctor001' is already booked" in doctor_busy.json()["detail"]
    patient_busy = book(clinic, at=at + timedelta(minutes=30), doctor="doctor002")
    assert patient_busy.status_code == 409 and patient_busy.json()["code"] == "patient_busy"
    assert "Patient '0315' already has an appointment overlapping" in patient_busy.json()["detail"]
    # Right after the hour both are free.
    assert book(clinic, at=at + timedelta(minutes=60), patient="0316").status_code == 201
    assert book(clinic, at=at + timedelta(minutes=60), doctor="doctor002").status_code == 201


def test_same_id_and_body_is_idempotent_other_body_conflicts(clinic):
    at = next_local(MONDAY, "10:00")
    first = book(clinic, at=at, appointmentId="a-1")
    assert first.status_code == 201
    again = book(clinic, at=at, appointmentId="a-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    explicit = book(clinic, at=at, appointmentId="a-1", durationMinutes=30, countryId="002")
    assert explicit.status_code == 200  # the defaults spelled out: the same booking
    longer = book(clinic, at=at, appointmentId="a-1", durationMinutes=60)
    assert longer.status_code == 409 and longer.json()["code"] == "duplicate"
    other = book(clinic, at=at + timedelta(minutes=30), appointmentId="a-1")
    assert other.status_code == 409 and other.json()["code"] == "duplicate"
    assert "already exists with other details" in other.json()["detail"]
    assert len(list(Appointment.scan())) == 1


def test_delete_of_doctor_or_patient_with_upcoming_appointments_is_409(clinic):
    assert book(clinic, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    for path in ("/doctors/doctor001", "/patients/0315"):
        refused = clinic.delete(path)
        assert refused.status_code == 409 and refused.json()["code"] == "in_use"
    assert clinic.delete("/appointments/a-1").status_code == 204
    assert clinic.delete("/patients/0315").status_code == 204
    assert clinic.delete("/doctors/doctor001").status_code == 204


def test_transaction_conflict_on_booking_is_retried(clinic, monkeypatch):
    from scheduler import db
    from tests.integration.scheduler.test_db import conflicting_connection

    at = next_local(MONDAY, "10:00")
    book(clinic, at=at + timedelta(days=7), patient="0316")  # warm the country cache
    connection, made = conflicting_connection(times=1)
    monkeypatch.setattr(db.transactions, "transaction_connection", connection)
    response = book(clinic, at=at, appointmentId="a-1")
    assert response.status_code == 201, response.content
    assert made["count"] >= 2  # the conflicting attempt, then the one that committed
    assert len(locks_of("a-1")) == 12
