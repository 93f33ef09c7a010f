from datetime import timedelta

import pytest

from appointments.models import Appointment
from appointments.signals import appointment_committed
from scheduler.db.locks import Lock
from tests.helpers import book, next_local, z

MONDAY = 0


@pytest.fixture
def booked(clinic):
    at = next_local(MONDAY, "10:00")
    assert book(clinic, at=at, appointmentId="a-1").status_code == 201
    return at


@pytest.fixture
def events():
    seen = []

    def receiver(sender, appointment, event_type, **kwargs):
        seen.append((appointment.appointment_id, event_type))

    appointment_committed.connect(receiver)
    yield seen
    appointment_committed.disconnect(receiver)


def test_cancel_frees_the_slot_at_once_and_keeps_the_record(clinic, booked, events):
    taken = book(clinic, at=booked, patient="0316")
    assert taken.status_code == 409 and taken.json()["code"] == "slot_taken"
    response = clinic.delete("/appointments/a-1")
    assert response.status_code == 204
    stored = clinic.get("/appointments/a-1").json()
    assert stored["state"] == "cancelled"
    assert list(Lock.scan(Lock.owner == "a-1")) == []
    assert book(clinic, at=booked, patient="0316").status_code == 201
    assert clinic.delete("/appointments/a-1").status_code == 204  # idempotent
    assert clinic.get("/appointments/a-1").json()["version"] == stored["version"]
    assert events[0] == ("a-1", "cancelled")
    assert [event for _, event in events[1:]] == ["pending"]  # the new booking


def test_reschedule_moves_the_locks_in_one_step(clinic, booked, events):
    new_time = booked + timedelta(hours=2)
    response = clinic.patch("/appointments/a-1", {"appointmentDate": z(new_time)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["appointmentDate"] == z(new_time)
    assert response.json()["state"] == "pending"
    assert book(clinic, at=booked, patient="0316").status_code == 201  # the old time is free
    assert book(clinic, at=new_time, patient="0316").status_code == 409  # the new one is taken
    assert [event for event in events if event[0] == "a-1"] == [("a-1", "rescheduled")]


def test_reschedule_overlapping_its_own_time(clinic, booked):
    assert clinic.patch("/appointments/a-1", {"durationMinutes": 60}, format="json").status_code == 200
    shifted = booked + timedelta(minutes=30)
    response = clinic.patch("/appointments/a-1", {"appointmentDate": z(shifted)}, format="json")
    assert response.status_code == 200, response.content
    keys = sorted(lock.slot_key for lock in Lock.scan(Lock.owner == "a-1"))
    assert len(keys) == 24  # 12 buckets of 5 minutes, doctor and patient
    assert keys == sorted(Appointment.get("a-1").lock_keys)
    assert book(clinic, at=booked, patient="0316").status_code == 201


def test_reschedule_into_a_taken_slot_is_409_and_changes_nothing(clinic, booked):
    other = booked + timedelta(hours=1)
    assert book(clinic, at=other, patient="0316").status_code == 201
    response = clinic.patch("/appointments/a-1", {"appointmentDate": z(other)}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "slot_taken"
    stored = clinic.get("/appointments/a-1").json()
    assert stored["appointmentDate"] == z(booked) and stored["version"] == 1
    assert book(clinic, at=booked, patient="0316").status_code == 409  # still held


def test_reschedule_outside_hours_is_400(clinic, booked):
    response = clinic.patch("/appointments/a-1", {"appointmentDate": z(booked + timedelta(hours=8))}, format="json")
    assert response.status_code == 400
    assert "outside the doctor's available times" in response.json()["appointmentDate"][0]


def test_transitions(clinic, booked, events):
    bad = clinic.patch("/appointments/a-1", {"state": "completed"}, format="json")
    assert bad.status_code == 409 and bad.json()["code"] == "invalid_transition"
    assert "is pending and cannot become completed" in bad.json()["detail"]  # it names the current state
    manual = clinic.patch("/appointments/a-1", {"state": "scheduled"}, format="json")
    assert manual.status_code == 409 and manual.json()["code"] == "invalid_transition"
    from appointments import services

    assert services.appointment_process(appointment_id="a-1") == "scheduled"
    back = clinic.patch("/appointments/a-1", {"state": "pending"}, format="json")
    assert back.status_code == 409 and back.json()["code"] == "invalid_transition"
    assert "is scheduled" in back.json()["detail"]
    early = clinic.patch("/appointments/a-1", {"state": "no_show"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert clinic.delete("/appointments/a-1").status_code == 204
    again = clinic.patch("/appointments/a-1", {"state": "completed"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert "is cancelled" in again.json()["detail"]
    moved = clinic.patch("/appointments/a-1", {"appointmentDate": z(booked + timedelta(hours=1))}, format="json")
    assert moved.status_code == 409 and moved.json()["code"] == "invalid_transition"
    assert events == [("a-1", "scheduled"), ("a-1", "cancelled")]


def test_completed_after_the_start(clinic, booked, monkeypatch):
    from appointments import services
    from appointments.services import lifecycle

    assert services.appointment_process(appointment_id="a-1") == "scheduled"
    monkeypatch.setattr(lifecycle, "utcnow", lambda: booked + timedelta(minutes=40))
    done = clinic.patch("/appointments/a-1", {"state": "completed"}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "completed"
    refused = clinic.delete("/appointments/a-1")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"


def test_cancellation_cutoff(clinic, booked, monkeypatch):
    from appointments.services import lifecycle

    assert clinic.patch("/countries/002", {"cancellationCutoffMinutes": 120}, format="json").status_code == 200
    monkeypatch.setattr(lifecycle, "utcnow", lambda: booked - timedelta(minutes=90))
    response = clinic.delete("/appointments/a-1")
    assert response.status_code == 409 and response.json()["code"] == "cutoff_passed"
    assert "120 minutes before it starts" in response.json()["detail"]  # it names the country's cutoff


def test_patch_rules(clinic, booked):
    both = clinic.patch(
        "/appointments/a-1", {"state": "cancelled", "appointmentDate": z(booked + timedelta(hours=1))}, format="json"
    )
    assert both.status_code == 400 and "separate requests" in both.json()["state"][0]
    other_doctor = clinic.patch("/appointments/a-1", {"doctorId": "doctor002"}, format="json")
    assert other_doctor.status_code == 400 and "cannot be changed" in other_doctor.json()["doctorId"][0]
    reason = clinic.patch("/appointments/a-1", {"reason": "follow-up", "doctorId": "doctor001"}, format="json")
    assert reason.status_code == 200 and reason.json()["reason"] == "follow-up"
    stale = clinic.patch("/appointments/a-1", {"reason": "x"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert clinic.put("/appointments/a-1", {}, format="json").status_code == 405
    missing = clinic.get("/appointments/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert clinic.delete("/appointments/nope").status_code == 404


def test_patch_echoing_the_record_changes_only_what_differs(clinic, booked, events):
    record = clinic.get("/appointments/a-1").json()
    same = clinic.patch("/appointments/a-1", record, format="json")
    assert same.status_code == 200 and same.json()["version"] == 1
    response = clinic.patch("/appointments/a-1", {**record, "reason": "follow-up"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "follow-up" and response.json()["version"] == 2
    assert events == []  # no state change, no event
    other_id = clinic.patch("/appointments/a-1", {"appointmentId": "a-2"}, format="json")
    assert other_id.status_code == 400 and "appointmentId" in other_id.json()


def test_cancel_right_after_the_worker_scheduled_it(clinic, booked, monkeypatch):
    """A stale read (pending) loses to the worker's change (scheduled): the cancel is judged again."""
    from appointments import selectors, services

    stale = selectors.appointment_get(appointment_id="a-1")
    assert services.appointment_process(appointment_id="a-1") == "scheduled"
    cancelled = services.appointment_transition(appointment_id="a-1", state="cancelled", appointment=stale)
    assert cancelled.state == "cancelled"
    assert clinic.get("/appointments/a-1").json()["state"] == "cancelled"


def test_a_long_appointment_cannot_be_moved_far_in_one_step(clinic):
    long_slots = {"slotMinutes": 240, "availableTimes": ["Monday 08:00-16:00"]}
    assert clinic.patch("/doctors/doctor001", long_slots, format="json").status_code == 200
    at = next_local(MONDAY, "08:00")
    assert book(clinic, at=at, appointmentId="long").status_code == 201
    far = clinic.patch("/appointments/long", {"appointmentDate": z(at + timedelta(hours=4))}, format="json")
    assert far.status_code == 409 and far.json()["code"] == "conflict"
    assert "cancel it and book the new time" in far.json()["detail"]  # it says what to do instead
    assert clinic.get("/appointments/long").json()["appointmentDate"] == z(at)


def test_a_change_that_keeps_losing_races_is_a_409_version_mismatch(clinic, booked, monkeypatch):
    """Without If-Match a lost race is judged again; one lost every time ends in a 409 a client can
    tell from a wrong request by its code."""
    from appointments.services import lifecycle

    def always_lost(build, *, default_conflict):
        raise default_conflict()

    monkeypatch.setattr(lifecycle, "run_transaction", always_lost)
    response = clinic.patch("/appointments/a-1", {"state": "cancelled"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "version_mismatch"
    monkeypatch.undo()
    assert clinic.get("/appointments/a-1").json()["state"] == "pending"
