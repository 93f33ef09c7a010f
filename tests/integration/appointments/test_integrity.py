"""check_integrity: appointments, their lock items, events and the pending queue agree; --repair fixes
what is safe and leaves a double booking to a person."""

import io
import json
from datetime import UTC, timedelta

from django.core.management import CommandError, call_command

from appointments import locks, services
from appointments.integrity import (
    EVENT_WITHOUT_APPOINTMENT,
    LOCK_HELD_BY_OTHER,
    PENDING_NOT_QUEUED,
    PENDING_REQUEUES_EXHAUSTED,
    STRAY_PENDING_KEY,
    Problem,
    integrity_report,
)
from appointments.models import COMPLETED, PENDING, SCHEDULED, Appointment, Event
from appointments.services import pipeline
from scheduler.db import utcnow
from scheduler.db.locks import Lock
from tests.helpers import later, z


def check(*args: str) -> tuple[bool, str]:
    """(clean, output) of one run of the command."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_integrity", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


def test_clean_after_bookings_cancellations_and_reschedules(world):
    api = world["admin"]
    extra = {"appointmentId": "a-cl-2", "patientId": "p-cl", "doctorId": "d-cl"}
    assert (
        api.post("/appointments", {**extra, "appointmentDate": later(world["at_cl"], 60)}, format="json").status_code
        == 201
    )
    assert (
        api.post(
            "/appointments",
            {**extra, "appointmentId": "a-cl-3", "appointmentDate": later(world["at_cl"], 120)},
            format="json",
        ).status_code
        == 201
    )
    assert api.delete("/appointments/a-cl-3").status_code == 204
    moved = api.patch("/appointments/a-cl-2", {"appointmentDate": later(world["at_cl"], 90)}, format="json")
    assert moved.status_code == 200, moved.content
    assert api.patch("/appointments/a-pe", {"durationMinutes": 60}, format="json").status_code == 200
    assert services.appointment_process(appointment_id="a-cl") == SCHEDULED

    report = integrity_report()
    assert report.problems == []
    assert report.counts["appointments"] == 4
    assert report.counts["appointments.cancelled"] == 1
    # the two country codes, and the one login each of the world's doctor and patient records has
    assert report.counts["locks.unique_value"] == 4
    assert report.counts["locks.slot"] == report.counts["locks.slot.held"] > 0
    assert report.counts["events"] >= 6
    out, err = io.StringIO(), io.StringIO()
    call_command("check_integrity", stdout=out, stderr=err)  # no CommandError: exit 0
    assert "integrity: no problems" in out.getvalue()
    assert "appointments: 4" in out.getvalue()
    assert "locks" in err.getvalue()  # the progress bars


def test_finished_appointments_and_expired_locks_are_not_problems(world):
    """Completed and no-show appointments keep their locks until TTL; locks past their expiry await
    TTL's deletion whoever held them."""
    past = utcnow().replace(second=0, microsecond=0) - timedelta(days=2)
    done = Appointment(
        "a-done",
        patient_id="p-cl",
        doctor_id="d-cl",
        country_id="002",
        appointment_date=past,
        end_date=past + timedelta(minutes=30),
        duration_minutes=30,
    )
    done.set_state(COMPLETED)
    done.lock_keys = locks.lock_keys_for(done)
    done.touch()
    done.save()
    for key in done.lock_keys:
        Lock(key, owner="a-done", expires_at=done.end_date + locks.LOCK_RETENTION).save()
    Lock(f"doctor#d-cl#{past - timedelta(days=9):%Y-%m-%dT%H:%MZ}", owner="a-long-gone", expires_at=past).save()
    Lock("event#01ABC#patient-email", owner="notifications", expires_at=utcnow() + timedelta(days=1)).save()

    report = integrity_report()
    assert report.problems == []
    assert report.counts["locks.slot.expired"] == 1
    assert report.counts["locks.dedupe"] == 1


def test_orphaned_and_missing_locks_are_found_and_repaired(world):
    appointment = Appointment.get("a-cl")
    missing = appointment.lock_keys[0]
    Lock.get(missing).delete()
    orphan = f"doctor#d-cl#{world['at_cl'] + timedelta(days=7):%Y-%m-%dT%H:%MZ}"
    Lock(orphan, owner="a-gone", expires_at=utcnow() + timedelta(days=30)).save()
    # A lock left by a cancelled appointment is an orphan as well.
    cancelled_orphan = f"patient#p-pe#{world['at_pe'] + timedelta(days=7):%Y-%m-%dT%H:%MZ}"
    assert world["admin"].delete("/appointments/a-pe").status_code == 204
    Lock(cancelled_orphan, owner="a-pe", expires_at=utcnow() + timedelta(days=30)).save()

    clean, output = check("--no-progress")
    assert not clean
    assert f"problem: missing_lock appointment_id=a-cl lock_key={missing}" in output
    assert f"problem: orphaned_lock lock_key={orphan} other=a-gone" in output
    assert f"problem: orphaned_lock lock_key={cancelled_orphan} other=a-pe" in output
    assert "chest pain" not in output and "Patient cl" not in output  # ids and kinds only

    clean, output = check("--repair", "--no-progress")
    assert clean, output
    assert "repaired: missing_lock appointment_id=a-cl" in output and "integrity: repaired" in output
    assert Lock.get(missing, consistent_read=True).owner == "a-cl"
    assert Lock.count(orphan, consistent_read=True) == 0
    assert Lock.count(cancelled_orphan, consistent_read=True) == 0
    assert check("--no-progress")[0]
    assert integrity_report().problems == []


def test_a_double_booking_is_reported_and_left_alone(world):
    """Another appointment on a-cl's time: its doctor locks are a-cl's; putting them back would
    take a-cl's time, deleting a-cl's would free a booked slot."""
    mine = Appointment.get("a-cl")
    double = Appointment(
        "a-double",
        patient_id="p-other",
        doctor_id="d-cl",
        country_id="002",
        appointment_date=mine.appointment_date,
        end_date=mine.end_date,
        duration_minutes=mine.duration_minutes,
    )
    double.set_state(SCHEDULED)
    double.lock_keys = locks.lock_keys_for(double)
    double.touch()
    double.save()
    for key in double.lock_keys:
        if key.startswith("patient#"):
            Lock(key, owner="a-double", expires_at=double.end_date + locks.LOCK_RETENTION).save()
    doctor_keys = [key for key in double.lock_keys if key.startswith("doctor#")]

    report = integrity_report()
    assert report.problems == [
        Problem(LOCK_HELD_BY_OTHER, appointment_id="a-double", lock_key=key, other="a-cl") for key in doctor_keys
    ]
    clean, output = check("--repair", "--no-progress")
    assert not clean
    assert f"not repaired: lock_held_by_other appointment_id=a-double lock_key={doctor_keys[0]} other=a-cl" in output
    assert {Lock.get(key, consistent_read=True).owner for key in doctor_keys} == {"a-cl"}
    assert not check("--no-progress")[0]


def test_a_pending_appointment_without_its_index_key_is_put_back_in_the_queue(world):
    # An UpdateItem, as an old release or a hand edit might make: a save would derive the key again.
    Appointment.get("a-pe").update(actions=[Appointment.pending_key.remove()])
    assert Appointment.get("a-pe", consistent_read=True).pending_key is None

    assert integrity_report().problems == [Problem(PENDING_NOT_QUEUED, appointment_id="a-pe", other=PENDING)]
    clean, output = check("--repair", "--no-progress")
    assert clean, output
    restored = Appointment.get("a-pe", consistent_read=True)
    assert restored.state == PENDING and restored.pending_key is not None
    assert restored.reason == "chest pain since Tuesday"  # the rest of the record as it was
    # The sweep's Query finds it again.
    assert "a-pe" in {a.appointment_id for a in Appointment.by_state.query(restored.pending_key)}
    assert check("--no-progress")[0]


def test_what_a_person_must_look_at_is_listed_not_repaired(world):
    gave_up = Appointment.get("a-pe")
    gave_up.requeues = pipeline.MAX_REQUEUES
    gave_up.save()
    services.appointment_process(appointment_id="a-cl")
    # Scheduled, yet still on the pending sweep's index (an UpdateItem: a save derives the key again).
    Appointment.get("a-cl").update(actions=[Appointment.pending_key.set(f"{PENDING}#0")])
    body = {"eventId": "e-1", "appointment": {"appointmentId": "a-never"}}
    Event("e-1", event_type="appointment.pending", occurred_at=utcnow(), country_id="002", body=json.dumps(body)).save()

    assert set(integrity_report().problems) == {
        Problem(PENDING_REQUEUES_EXHAUSTED, appointment_id="a-pe"),
        Problem(STRAY_PENDING_KEY, appointment_id="a-cl", other=SCHEDULED),
        Problem(EVENT_WITHOUT_APPOINTMENT, appointment_id="a-never", event_id="e-1"),
    }
    clean, output = check("--repair", "--no-progress")
    assert not clean and "3 integrity problem(s) remain" in output


def test_changes_made_during_the_scans_are_not_problems(world, monkeypatch):
    """Between the appointment Scan and the lock Scan a booking is made, one appointment cancelled and
    one moved: what the appointment Scan saw is judged again on fresh reads, not reported."""
    from appointments import integrity

    real_scan = integrity._scan

    def scan_then_book(model, attributes, segments):
        if model is Lock:
            body = {
                "appointmentId": "a-late",
                "patientId": "p-cl",
                "doctorId": "d-cl",
                "appointmentDate": z(world["at_cl"] + timedelta(hours=3)),
            }
            assert world["admin"].post("/appointments", body, format="json").status_code == 201
            assert world["admin"].delete("/appointments/a-pe").status_code == 204
            moved = {"appointmentDate": z(world["at_cl"] + timedelta(hours=1))}
            assert world["admin"].patch("/appointments/a-cl", moved, format="json").status_code == 200
        return real_scan(model, attributes, segments)

    monkeypatch.setattr(integrity, "_scan", scan_then_book)
    report = integrity_report()
    assert report.problems == []
    # a-late's locks and event, a-pe's freed locks, a-cl's old and new locks
    assert report.counts["rechecked"] >= 4


def test_a_typed_appointments_buffer_locks_are_checked_and_repaired_like_its_own(world):
    """The doctor's lock items over an appointment type's buffers are the appointment's: a lost one
    is a missing lock, put back by the repair; a clean check counts them as held."""
    api = world["admin"]
    body = {"appointmentTypeId": "proc", "countryId": "002", "name": "Proc", "durationMinutes": 30}
    assert api.post("/appointment-types", {**body, "bufferAfterMinutes": 15}, format="json").status_code == 201
    assert api.patch("/doctors/d-cl", {"appointmentTypeIds": ["proc"]}, format="json").status_code == 200
    at = world["at_cl"] + timedelta(hours=2)
    booked = {"appointmentId": "t-1", "patientId": "p-cl", "doctorId": "d-cl", "appointmentDate": z(at)}
    assert api.post("/appointments", {**booked, "appointmentTypeId": "proc"}, format="json").status_code == 201
    clean, output = check("--no-progress")
    assert clean, output
    buffer_lock = f"doctor#d-cl#{(at + timedelta(minutes=40)).astimezone(UTC):%Y-%m-%dT%H:%MZ}"  # in the buffer
    assert buffer_lock in Appointment.get("t-1").lock_keys
    Lock.get(buffer_lock).delete()
    clean, output = check("--no-progress")
    assert not clean and f"problem: missing_lock appointment_id=t-1 lock_key={buffer_lock}" in output
    assert check("--repair", "--no-progress")[0]
    assert Lock.get(buffer_lock, consistent_read=True).owner == "t-1"
