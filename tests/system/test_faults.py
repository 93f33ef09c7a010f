"""Faults of the services the product stands on, with real processes: DynamoDB Local stopping to
answer (paused, then killed and restarted on its data) while 20 clients book through gunicorn; moto
(SQS and SNS) down for a minute and back empty while bookings go on and workers run.

Each scenario has its own DynamoDB Local and moto server (tests.stack.PrivateService), its own API
process and workers pointed at them, and its own table and queue prefix; it ends with
`check_integrity` (integrity_report) clean and an exactly-once ledger of what clients were told.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests

from tests.helpers import next_local, z
from tests.stack import BASE_DIR, CeleryWorker, PrivateService, start_api

PASSWORD = "correct horse battery staple"
# The AWS timeouts of the scenarios' API processes: 1 s to connect, 2 s to read, one retry.
CONNECT, READ, RETRIES = 1.0, 2.0, 1
# One DynamoDB call that gets no answer: every try times out, with at most 1 s of backoff between.
CALL_BOUND = (1 + RETRIES) * (CONNECT + READ) + 1.0
CLIENT_TIMEOUT = 30.0  # comfortably above any answer the API may take; hitting it fails the test
EVERY_DAY = [f"{day} 06:00-22:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]


def scenario_env(dynamodb: PrivateService, moto: PrivateService, **extra: str) -> dict[str, str]:
    prefix = f"fault-{uuid.uuid4().hex[:8]}-"
    env = {
        "DYNAMODB_ENDPOINT": dynamodb.url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.url,
        "AWS_ENDPOINT_URL_SQS": moto.url,
        "AWS_ENDPOINT_URL_SNS": moto.url,
        "DYNAMODB_TABLE_PREFIX": prefix,
        "SQS_QUEUE_PREFIX": prefix,
        "AWS_CONNECT_TIMEOUT": str(CONNECT),
        "AWS_READ_TIMEOUT": str(READ),
        "DYNAMODB_MAX_RETRY_ATTEMPTS": str(RETRIES),
        # Threads for every client at once: an answer's time is the API's, not a wait for a thread.
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "12",
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    return env


def manage(env: dict, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def assert_integrity_clean(env: dict) -> str:
    """integrity_report() of the scenario's own tables (in a process pointed at them): no problems."""
    result = manage(env, "check_integrity", "--no-progress", check=False)
    assert result.returncode == 0 and "integrity: no problems" in result.stdout, result.stdout + result.stderr[-2000:]
    return result.stdout


class Api:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.url}{path}", timeout=CLIENT_TIMEOUT, **kwargs)


def sign_in(url: str, env: dict) -> Api:
    manage(env, "createadmin", "--username", "admin", "--password", PASSWORD)
    response = requests.post(f"{url}/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=30)
    assert response.status_code == 201, response.text
    return Api(url, response.json()["token"])


def make_clinic(admin: Api, doctors: int, patients: int) -> None:
    """Chile, doctors available every day 06:00-22:00 (30-minute slots) and patients."""
    country = {"countryId": "002", "name": "CHILE", "code": "CL", "maxAdvanceDays": 365}
    assert admin.call("POST", "/countries", json=country).status_code == 201
    for d in range(doctors):
        doctor = {"doctorId": f"dr{d}", "name": f"Dr. {d}", "speciality": "GP", "countryId": "002"}
        response = admin.call("POST", "/doctors", json={**doctor, "availableTimes": EVERY_DAY})
        assert response.status_code == 201, response.text
    for p in range(patients):
        patient = {"patientId": f"pt{p}", "name": f"Patient {p}", "countryId": "002", "email": f"pt{p}@example.com"}
        assert admin.call("POST", "/patients", json=patient).status_code == 201


def booking(client: int, n: int, *, doctors: int) -> dict:
    """Client `client`'s n-th booking: its own patient, and a slot no other booking asks for (so
    every refusal is a fault's, never a clash)."""
    lane = client // doctors
    at = next_local(0, "07:00") + timedelta(days=n, minutes=30 * lane)
    return {
        "appointmentId": f"c{client}-{n}",
        "patientId": f"pt{client}",
        "doctorId": f"dr{client % doctors}",
        "appointmentDate": z(at),
    }


@dataclass
class Answer:
    body: dict
    started: float  # monotonic
    seconds: float
    status: int | str  # the HTTP status, or the exception's name when no answer came
    retry_after: str | None = None
    detail: str = ""


@dataclass
class Clients:
    """`count` threads, each with its own keep-alive session, booking one after another until stopped."""

    api: Api
    count: int
    doctors: int
    pace: float = 0.5  # seconds between one client's bookings: a person's pace, not a load test
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)  # cleared: clients wait before booking

    def __post_init__(self) -> None:
        self.go.set()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.count)]
        for thread in self.threads:
            thread.start()

    def _run(self, client: int) -> None:
        session = Api(self.api.url)
        session.session.headers.update(self.api.session.headers)
        n = 0
        while not self.stop.is_set():
            self.go.wait()
            body = booking(client, n, doctors=self.doctors)
            started = time.monotonic()
            try:
                response = session.call("POST", "/appointments", json=body)
                answer = Answer(
                    body,
                    started,
                    time.monotonic() - started,
                    response.status_code,
                    response.headers.get("Retry-After"),
                    response.text[:300],
                )
            except requests.RequestException as exc:
                answer = Answer(body, started, time.monotonic() - started, type(exc).__name__)
            self.answers.append(answer)
            n += 1
            time.sleep(self.pace)

    def finish(self) -> list[Answer]:
        self.stop.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)
        return self.answers


def wait_ready(api_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(f"{api_url}/health/ready", timeout=CLIENT_TIMEOUT).status_code != 200:
        assert time.monotonic() < deadline, "the API did not become ready again"
        time.sleep(0.5)


# --- 1. DynamoDB stops answering ---------------------------------------------------------------


@pytest.fixture
def services(tmp_path):
    started: list[PrivateService] = []

    def start(kind: str, name: str, **kwargs) -> PrivateService:
        started.append(PrivateService(kind, name, **kwargs))
        return started[-1]

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def processes():
    started: list = []
    yield started
    for process in started:
        if isinstance(process, CeleryWorker):
            process.stop()
        else:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def serve(env: dict, name: str, processes: list, *, doctors: int, patients: int) -> tuple[str, Api]:
    """The scenario's tables, its API under gunicorn and a clinic: (API url, signed-in admin)."""
    manage(env, "bootstrap", "--wait")
    api_process, url = start_api(name, gunicorn=True, env=env)
    processes.append(api_process)
    admin = sign_in(url, env)
    make_clinic(admin, doctors=doctors, patients=patients)
    return url, admin


def test_dynamodb_paused_then_killed_and_restarted_while_20_clients_book(services, processes, tmp_path):
    dynamodb = services("dynamodb", "faults-dynamodb", data_dir=tmp_path / "dynamodb")
    moto = services("moto", "faults-moto-1")
    env = scenario_env(dynamodb, moto)
    doctors, count = 5, 20
    url, admin = serve(env, "faults-api-dynamodb", processes, doctors=doctors, patients=count)

    clients = Clients(admin, count=count, doctors=doctors)
    time.sleep(3)  # bookings going through
    paused_at = time.monotonic()
    dynamodb.pause()
    time.sleep(2 * CALL_BOUND)
    # While it is paused, readiness names the part that failed (and answers within its own bound).
    began = time.monotonic()
    ready = requests.get(f"{url}/health/ready", timeout=CLIENT_TIMEOUT)
    ready_seconds = time.monotonic() - began
    assert ready.status_code == 503, ready.text
    assert ready.json()["failing"] == ["dynamodb"], ready.json()
    assert ready.json()["components"]["dynamodb"] == "unavailable"  # the reason is in the log only
    dynamodb.kill()  # killed while paused: whatever it had not answered never happens
    killed_at = time.monotonic()
    time.sleep(3)  # down: connections refused
    dynamodb.start()
    restarted_at = time.monotonic()
    wait_ready(url)
    time.sleep(3)  # bookings going through again
    answers = clients.finish()

    # Every request had an answer in time: a 201, or a 503 with Retry-After and a message.
    statuses = sorted({str(a.status) for a in answers})
    assert set(statuses) <= {"201", "503"}, [a for a in answers if a.status not in (201, 503)][:5]
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after and "retry" in json.loads(answer.detail)["detail"].lower(), answer
    during = [a for a in answers if paused_at - 1 <= a.started <= restarted_at]
    slowest = max(a.seconds for a in answers)
    # A request waits on at most two DynamoDB calls that get no answer (its token, then its write).
    assert slowest < 2 * CALL_BOUND + 2, sorted(a.seconds for a in answers)[-5:]
    assert any(a.status == 503 for a in during) and any(a.status == 201 for a in answers if a.started > restarted_at)
    print(
        f"\nDynamoDB fault: {len(answers)} requests, {sum(a.status == 201 for a in answers)} 201, "
        f"{sum(a.status == 503 for a in answers)} 503; slowest answer {slowest:.2f}s "
        f"(bound {2 * CALL_BOUND + 2:.1f}s); while paused/down: slowest "
        f"{max(a.seconds for a in during):.2f}s; /health/ready while paused {ready_seconds:.2f}s; "
        f"paused {killed_at - paused_at:.1f}s, down {restarted_at - killed_at:.1f}s"
    )

    # Whatever got a 201 exists with all its locks; a failed one is all there or not there at all.
    assert_integrity_clean(env)
    created = {a.body["appointmentId"] for a in answers if a.status == 201}
    failed = [a for a in answers if a.status != 201]
    # DynamoDB Local acknowledges a write a few milliseconds before it is on disk: one acknowledged
    # within that window before the SIGSTOP is lost by the SIGKILL (tests show it without the API,
    # with boto3 alone). AWS DynamoDB acknowledges only what is durable, so such a booking is the
    # emulator's loss: it must be all gone (integrity above) and its retry must book it, like a failure.
    emulator_lost = set()
    for appointment_id in created:
        if admin.call("GET", f"/appointments/{appointment_id}").status_code != 200:
            answer = next(a for a in answers if a.body["appointmentId"] == appointment_id)
            assert paused_at - 0.5 < answer.started + answer.seconds < paused_at + 0.5, answer
            emulator_lost.add(appointment_id)
            failed.append(answer)
    created -= emulator_lost
    # Retrying each failed booking with its appointmentId books it exactly once: 201, or 200 where
    # the first try had committed after all.
    retried = {}
    for answer in failed:
        response = admin.call("POST", "/appointments", json=answer.body)
        assert response.status_code in (200, 201), response.text
        retried[answer.body["appointmentId"]] = response.status_code
        again = admin.call("POST", "/appointments", json=answer.body)
        assert again.status_code == 200, again.text  # a replay, never a second booking
    # The ledger: exactly the bookings clients were told of (then or on retry) are stored, each once.
    stored = set()
    for d in range(doctors):
        cursor = None
        while True:
            params = {"doctorId": f"dr{d}", "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = admin.call("GET", "/appointments", params=params).json()
            stored.update(item["appointmentId"] for item in page["results"])
            cursor = page["next"]
            if not cursor:
                break
    assert stored == created | set(retried)
    assert_integrity_clean(env)
    print(
        f"retried {len(retried)}: {sum(s == 201 for s in retried.values())} 201, "
        f"{sum(s == 200 for s in retried.values())} 200 (had committed)"
    )


# --- 2. SQS and SNS stop answering -------------------------------------------------------------

MOTO_OUTAGE_SECONDS = float(os.environ.get("FAULTS_MOTO_OUTAGE_SECONDS", "60"))


class NotificationsReader:
    """Reads the notifications queue the topic delivers to, as the consumer would, and keeps every
    body it finds (deduplicating nothing); waits out the queue being gone or moto being down."""

    def __init__(self, moto: PrivateService, queue_name: str) -> None:
        import boto3

        self.sqs = boto3.client("sqs", endpoint_url=moto.url, region_name="us-east-1")
        self.queue_name = queue_name
        self.bodies: list[dict] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
                messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                for message in messages.get("Messages", []):
                    self.bodies.append(json.loads(message["Body"]))
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except Exception:  # moto down, or the queue not made again yet
                time.sleep(0.5)

    def events(self, appointment_id: str) -> list[str]:
        return [b["eventType"] for b in self.bodies if b["appointment"]["appointmentId"] == appointment_id]


def all_done(admin: Api, doctors: int, booked: set[str], reader: NotificationsReader) -> bool:
    states = {}
    for d in range(doctors):
        cursor = None
        while True:
            params = {"doctorId": f"dr{d}", "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = admin.call("GET", "/appointments", params=params).json()
            states.update({item["appointmentId"]: item["state"] for item in page["results"]})
            cursor = page["next"]
            if not cursor:
                break
    if set(states) != booked or any(state != "scheduled" for state in states.values()):
        return False
    return all(len(reader.events(appointment_id)) >= 2 for appointment_id in booked)


def wait_all_done(admin, doctors, answers, reader, timeout: float) -> float:
    began = time.monotonic()
    booked = {a.body["appointmentId"] for a in answers if a.status == 201}
    while not all_done(admin, doctors, booked, reader):
        assert time.monotonic() - began < timeout, f"not all scheduled and published after {timeout}s"
        time.sleep(1)
    return time.monotonic() - began


def test_sqs_and_sns_down_for_a_minute_then_back_empty_while_clients_book(services, processes, tmp_path):
    dynamodb = services("dynamodb", "faults-dynamodb-2", data_dir=tmp_path / "dynamodb")
    moto = services("moto", "faults-moto-2")
    fast = {
        # Short long polls and visibility, so nothing a worker took before the outage waits long.
        "SQS_WAIT_TIME_SECONDS": "1",
        "SQS_POLLING_INTERVAL": "0.2",
        "SQS_VISIBILITY_TIMEOUT": "30",
        "CELERY_TASK_TIME_LIMIT": "20",
        # The sweeps every 3 s, and pending ones requeued after 10 s (60 s in production).
        "SWEEP_EVENTS_SECONDS": "3",
        "SWEEP_PENDING_SECONDS": "3",
        "PENDING_REQUEUE_SECONDS": "10",
        "SNS_BREAKER_SECONDS": "3",
    }
    env = scenario_env(dynamodb, moto, **fast)
    doctors, count = 2, 4
    url, admin = serve(env, "faults-api-moto", processes, doctors=doctors, patients=count)
    # As the product runs: a worker for the country queues, the sweeper on `periodic`, and beat.
    processes.append(CeleryWorker("faults-cl", ["--pool", "solo", "--queues", "default,appointments-cl"], env=env))
    processes.append(CeleryWorker("faults-sweeper", ["--pool", "solo", "--queues", "periodic"], env=env))
    beat_log = open(tmp_path / "beat.log", "wb")  # noqa: SIM115 - kept open for the process' life
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scheduler", "beat", "-s", str(tmp_path / "beat-schedule")],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=beat_log,
        stderr=subprocess.STDOUT,
    )
    processes.append(beat)
    reader = NotificationsReader(moto, env["SQS_QUEUE_PREFIX"] + "notifications")

    clients = Clients(admin, count=count, doctors=doctors, pace=1.0)
    time.sleep(5)
    # moto keeps its queued messages in memory only (AWS keeps them): before killing it, let the
    # bookings so far be scheduled and their events read, so the ledger counts the product's work and
    # not moto's loss. The clients wait for those seconds and book through the whole outage.
    clients.go.clear()
    time.sleep(2)
    wait_all_done(admin, doctors, clients.answers, reader, timeout=60)
    moto.kill()
    killed_at = time.monotonic()
    clients.go.set()
    time.sleep(MOTO_OUTAGE_SECONDS)
    moto.start()  # empty: no queue, topic or subscription
    back_at = time.monotonic()
    time.sleep(5)
    answers = clients.finish()
    recovery = wait_all_done(admin, doctors, answers, reader, timeout=120)
    time.sleep(5)  # anything published twice would have arrived by now
    reader.stop.set()

    assert {a.status for a in answers} == {201}, [a for a in answers if a.status != 201][:5]
    during = [a for a in answers if killed_at <= a.started <= back_at]
    assert len(during) >= count * MOTO_OUTAGE_SECONDS / 3
    slowest = max(a.seconds for a in during)
    assert slowest < CONNECT + READ, sorted(a.seconds for a in during)[-5:]
    booked = {a.body["appointmentId"] for a in answers}
    counts = Counter(body["eventId"] for body in reader.bodies)
    assert [event_id for event_id, n in counts.items() if n > 1] == []
    for appointment_id in booked:
        assert sorted(reader.events(appointment_id)) == ["appointment.pending", "appointment.scheduled"]
    assert len(reader.bodies) == 2 * len(booked)
    assert_integrity_clean(env)
    print(
        f"\nmoto fault: {len(answers)} bookings, all 201; during the {MOTO_OUTAGE_SECONDS:.0f}s outage "
        f"{len(during)}, slowest {slowest:.2f}s, median {sorted(a.seconds for a in during)[len(during) // 2]:.2f}s; "
        f"all scheduled and published {recovery:.1f}s after the clients stopped "
        f"({time.monotonic() - back_at:.1f}s after moto was back); {len(reader.bodies)} events, each once"
    )
