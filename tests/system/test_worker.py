"""Real Celery workers on moto server's SQS: processing end to end, country isolation, a crash."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from appointments.models import Event
from appointments.tasks import process_appointment
from scheduler.messaging import aws
from tests.helpers import book, drain, next_local
from tests.stack import CeleryWorker

MONDAY = 0


class Worker(CeleryWorker):
    """A solo-pool worker polling fast (1 s long polls), for tests that follow one task closely."""

    def __init__(
        self,
        name: str,
        queues: list[str],
        *,
        app: str = "scheduler",
        env: dict | None = None,
        all_countries=False,
        except_countries: str | None = None,
    ):
        args = ["--pool", "solo", "--queues", ",".join(queues)] + (["--all-countries"] if all_countries else [])
        args += ["--except-countries", except_countries] if except_countries else []
        fast = {"SQS_WAIT_TIME_SECONDS": "1", "SQS_POLLING_INTERVAL": "0.2"}
        super().__init__(name, args, app=app, env={**fast, **(env or {})})


@pytest.fixture
def workers():
    started: list[Worker] = []

    def start(*args, **kwargs) -> Worker:
        started.append(Worker(*args, **kwargs))
        return started[-1]

    yield start
    for worker in started:
        worker.kill(signal.SIGKILL)


def wait_for_state(api, appointment_id: str, state: str, timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if api.get(f"/appointments/{appointment_id}").json()["state"] == state:
            return time.monotonic() - began
        time.sleep(0.2)
    raise AssertionError(f"{appointment_id} not {state} after {timeout}s")


def events_of(appointment_id: str, event_type: str) -> list[dict]:
    bodies = [json.loads(event.body) for event in Event.scan()]
    return [b for b in bodies if b["appointment"]["appointmentId"] == appointment_id and b["eventType"] == event_type]


def queue_is_empty(suffix: str) -> bool:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name(suffix))["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(counts[name] == "0" for name in names)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} after {timeout}s"
        time.sleep(0.2)


def test_booking_is_scheduled_by_the_country_worker_and_notified_once(clinic, workers, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    for suffix in ("notifications", "appointments-cl"):  # nothing left by other tests
        drain(suffix)
    assert clinic.patch("/doctors/doctor001", {"email": "lorea@example.com"}, format="json").status_code == 200
    workers("cl", ["default", "appointments-cl"])
    assert book(clinic, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    assert wait_for_state(clinic, "a-1", "scheduled", timeout=20) < 20
    # The task delivered a second time changes nothing and sends nothing.
    process_appointment.apply_async(kwargs={"appointment_id": "a-1", "country_code": "CL"})
    wait_until(lambda: queue_is_empty("appointments-cl"), 20, "consumed")
    assert len(events_of("a-1", "appointment.scheduled")) == 1
    assert clinic.get("/appointments/a-1").json()["version"] == 2
    # The relay published both events; the consumer sends one e-mail per recipient and event.
    wait_until(lambda: not any(e.unpublished_key for e in Event.scan()), 20, "published")
    call_command("consume_events", once=True, wait=2, stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("consume_events", once=True, wait=1, stdout=open(os.devnull, "w"))  # noqa: SIM115
    confirmations = [m.to[0] for m in mail.outbox if "confirmed" in m.body]
    assert sorted(confirmations) == ["0315@example.com", "lorea@example.com"]
    assert sum("received your appointment request" in m.body for m in mail.outbox) == 1


def test_a_surge_in_one_country_does_not_delay_another(clinic, workers):
    assert (
        clinic.post("/countries", {"countryId": "001", "name": "USA", "code": "US"}, format="json").status_code == 201
    )
    for index in range(500):
        process_appointment.apply_async(kwargs={"appointment_id": f"us-{index}", "country_code": "US"})
    sqs = aws.client("sqs")
    us_url = sqs.get_queue_url(QueueName=aws.queue_name("appointments-us"))["QueueUrl"]
    waiting = sqs.get_queue_attributes(QueueUrl=us_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(waiting["Attributes"]["ApproximateNumberOfMessages"]) >= 500
    workers("cl-only", ["appointments-cl"])
    assert book(clinic, at=next_local(MONDAY, "10:00"), appointmentId="cl-1").status_code == 201
    assert wait_for_state(clinic, "cl-1", "scheduled", timeout=15) < 15
    sqs.purge_queue(QueueUrl=us_url)


def test_a_worker_killed_mid_task_the_message_comes_back_and_is_processed_once(clinic, workers, tmp_path):
    country = {"countryId": "858", "name": "URUGUAY", "code": "UY"}
    assert clinic.post("/countries", country, format="json").status_code == 201
    doctor = {
        "doctorId": "dr-uy",
        "name": "Dr. U",
        "speciality": "GP",
        "countryId": "858",
        "availableTimes": ["Monday 10am-4pm"],
    }
    assert clinic.post("/doctors", doctor, format="json").status_code == 201
    sqs = aws.client("sqs")
    uy_url = sqs.get_queue_url(QueueName=aws.queue_name("appointments-uy"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=uy_url, Attributes={"VisibilityTimeout": "4"})
    marker = tmp_path / "started"
    env = {"SLOW_PROCESSOR_MARKER": str(marker)}
    first = workers("uy-1", ["appointments-uy"], app="tests.system.slow_worker", env=env)
    at = next_local(MONDAY, "10:00", zone=__import__("zoneinfo").ZoneInfo("America/Montevideo"))
    assert book(clinic, at=at, doctor="dr-uy", appointmentId="uy-1").status_code == 201
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, first.log.read_text()[-3000:]
        time.sleep(0.1)
    first.kill(signal.SIGKILL)  # in the middle of the task
    killed_at = time.monotonic()
    assert clinic.get("/appointments/uy-1").json()["state"] == "pending"
    workers("uy-2", ["appointments-uy"], app="tests.system.slow_worker", env=env)
    wait_for_state(clinic, "uy-1", "scheduled", timeout=30)
    # The message came back only once its 4 s visibility timeout, counted from the first receive, ran out.
    assert time.monotonic() - killed_at >= 2
    assert len(events_of("uy-1", "appointment.scheduled")) == 1
    assert Path(marker).read_text() == "uy-1"


def test_a_worker_picks_up_a_country_created_after_it_started(clinic, workers):
    workers("all", ["default"], env={"WORKER_QUEUE_REFRESH_SECONDS": "1"}, all_countries=True)
    country = {"countryId": "604", "name": "PERU", "code": "PE"}
    assert clinic.post("/countries", country, format="json").status_code == 201
    doctor = {
        "doctorId": "dr-pe",
        "name": "Dr. P",
        "speciality": "GP",
        "countryId": "604",
        "availableTimes": ["Monday 10am-4pm"],
    }
    assert clinic.post("/doctors", doctor, format="json").status_code == 201
    at = next_local(MONDAY, "10:00", zone=__import__("zoneinfo").ZoneInfo("America/Lima"))
    assert book(clinic, at=at, doctor="dr-pe", appointmentId="pe-1").status_code == 201
    assert wait_for_state(clinic, "pe-1", "scheduled", timeout=20) < 20


def test_a_shared_worker_leaves_the_excepted_countries_to_their_dedicated_group(clinic, workers):
    country = {"countryId": "604", "name": "PERU", "code": "PE"}
    assert clinic.post("/countries", country, format="json").status_code == 201
    fast_refresh = {"WORKER_QUEUE_REFRESH_SECONDS": "1"}
    shared = workers("shared", ["default"], env=fast_refresh, all_countries=True, except_countries="CL")
    wait_until(lambda: "appointments-pe" in shared.log.read_text(), 10, "consuming Peru's queue")
    assert book(clinic, at=next_local(MONDAY, "10:00"), appointmentId="cl-1").status_code == 201
    time.sleep(3)  # three looks for new countries: Chile's queue is not among them
    assert clinic.get("/appointments/cl-1").json()["state"] == "pending"
    assert "appointments-cl" not in shared.log.read_text()
    workers("chile", ["appointments-cl"])  # its dedicated group
    assert wait_for_state(clinic, "cl-1", "scheduled", timeout=15) < 15
