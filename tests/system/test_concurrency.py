"""Races through real HTTP against two API processes: a slot is booked at most once."""

import threading
from datetime import timedelta

import pytest
import requests

from appointments.models import Appointment
from scheduler.db.locks import Lock
from tests.helpers import next_local, z
from tests.stack import start_api

MONDAY = 0


@pytest.fixture(scope="module")
def servers(aws_stack):
    """Two API processes on this run's tables, as two instances behind a load balancer."""
    processes, urls = zip(*(start_api(f"api-{index}") for index in range(2)), strict=True)
    yield urls
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def race(requests_to_send: list[tuple[str, dict]], token: str) -> list[int]:
    """Send every request at the same moment, one thread each, with this token; return the status codes."""
    barrier = threading.Barrier(len(requests_to_send))
    codes: list[int] = [0] * len(requests_to_send)

    def send(index: int, url: str, body: dict) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        codes[index] = session.post(f"{url}/appointments", json=body, timeout=60).status_code

    threads = [threading.Thread(target=send, args=(i, url, body)) for i, (url, body) in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_forty_clients_four_slots(clinic, servers):
    for index in range(40):
        patient = {"patientId": f"p{index}", "name": f"Patient {index}", "countryId": "002"}
        assert clinic.post("/patients", patient, format="json").status_code == 201
    slots = [next_local(MONDAY, clock) for clock in ("10:00", "10:30", "11:00", "11:30")]
    bodies = [
        (
            servers[index % 2],
            {"patientId": f"p{index}", "doctorId": "doctor001", "appointmentDate": z(slots[index % 4])},
        )
        for index in range(40)
    ]
    codes = race(bodies, clinic.token)
    assert sorted(codes) == [201] * 4 + [409] * 36
    appointments = list(Appointment.scan())
    assert sorted(a.appointment_date for a in appointments) == slots
    doctor_locks = list(Lock.scan(Lock.slot_key.startswith("doctor#doctor001#")))
    assert len(doctor_locks) == 4 * 6
    assert {lock.owner for lock in doctor_locks} == {a.appointment_id for a in appointments}


def test_one_patient_two_doctors_same_time(clinic, servers):
    second = {
        "doctorId": "doctor002",
        "name": "Dr. B",
        "speciality": "GP",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm"],
    }
    assert clinic.post("/doctors", second, format="json").status_code == 201
    at = z(next_local(MONDAY, "10:00"))
    bodies = [
        (servers[index % 2], {"patientId": "0315", "doctorId": f"doctor00{1 + index % 2}", "appointmentDate": at})
        for index in range(10)
    ]
    codes = race(bodies, clinic.token)
    assert sorted(codes) == [201] + [409] * 9
    assert len(list(Appointment.scan())) == 1


def test_forty_clients_over_buffered_slots_never_overlap_a_doctors_held_time(clinic, servers):
    """A 30-minute procedure with 15 minutes before and 15 after, on a 15-minute grid: 40 clients on
    two API processes race for eight starts 15 minutes apart, where any two within 45 minutes clash.
    What is booked never overlaps (buffers included), and the starts booked are a maximal set: every
    refused start clashes with a booked one."""
    body = {
        "appointmentTypeId": "procedure",
        "countryId": "002",
        "name": "Procedure",
        "durationMinutes": 30,
        "bufferBeforeMinutes": 15,
        "bufferAfterMinutes": 15,
    }
    assert clinic.post("/appointment-types", body, format="json").status_code == 201
    change = {"slotMinutes": 15, "appointmentTypeIds": ["procedure"]}
    assert clinic.patch("/doctors/doctor001", change, format="json").status_code == 200
    for index in range(40):
        patient = {"patientId": f"p{index}", "name": f"Patient {index}", "countryId": "002"}
        assert clinic.post("/patients", patient, format="json").status_code == 201
    first = next_local(MONDAY, "10:30")
    starts = [first + timedelta(minutes=15 * step) for step in range(8)]
    bodies = [
        (
            servers[index % 2],
            {
                "patientId": f"p{index}",
                "doctorId": "doctor001",
                "appointmentDate": z(starts[index % 8]),
                "appointmentTypeId": "procedure",
            },
        )
        for index in range(40)
    ]
    codes = race(bodies, clinic.token)
    assert set(codes) <= {201, 409} and codes.count(201) >= 2, codes
    booked = sorted(Appointment.scan(), key=lambda a: a.appointment_date)
    assert len(booked) == codes.count(201)
    spans = [a.doctor_span() for a in booked]
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False)), spans
    for start in starts:  # every start (booked or refused) needs time that a booked one holds
        need = (start - timedelta(minutes=15), start + timedelta(minutes=45))
        assert any(need[0] < end and begin < need[1] for begin, end in spans), start
    # Every lock item belongs to a booked appointment, and each holds exactly its span's buckets.
    locks = [lock for lock in Lock.scan() if lock.slot_key.startswith(("doctor#", "patient#"))]
    owners = {lock.owner for lock in locks}
    assert owners == {a.appointment_id for a in booked}
    assert len(locks) == len(booked) * (60 // 5 + 30 // 5)
