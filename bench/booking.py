"""Benchmark (`make bench`): booking through the real server against the raw DynamoDB calls a booking
needs, measured in one run on this machine; then reads at 1k and 100k appointments, memory, capacity
units and cost. Prints tables; asserts nothing. Takes about 6 minutes on 2 cores.

What runs: DynamoDB Local and moto server (started as the tests start them), the API under gunicorn
with the settings `make run` uses (scheduler/gunicorn.conf.py) and a Celery worker as `make run` starts
it (`--all-countries`, concurrency 2), which schedules every booking while the load runs.

1. Booking, at 1, 4 and 16 clients (threads in this process, each with its own keep-alive session),
   for BENCH_SECONDS each:
   - raw: BatchGetItem of doctor and patient, then one TransactWriteItems with the items the product
     writes (the appointment, 6 doctor and 6 patient lock items, the event, 2 condition checks and
     the audit entry), through one boto3 client;
   - raw + send: the same and one SQS SendMessage of a message the size of the product's;
   - API: POST /appointments (a 30-minute booking) through HTTP, signed in with a bearer token.
2. Reads: a doctor's agenda page (GET /appointments?doctorId=) and a 7-day availability, for a doctor
   with 1,000 and one with 100,000 appointments (seeded with BatchWriteItem, not the API).
3. Memory: RSS of every API and worker process after the booking load; then after 1,000 requests of a
   soak (8 clients: bookings, agenda pages, availabilities, patient reads) and after 10,000 more.
4. Capacity units: ReturnConsumedCapacity of every DynamoDB call of one booking (request, processing
   and publishing), an agenda page and an availability request, and what a million bookings cost.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from common import PASSWORD, children, rss_mb, start_stack

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CLIENTS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "1,4,16").split(",")]
BIG = int(os.environ.get("BENCH_BIG", "100000"))
SMALL = 1000
SOAK = int(os.environ.get("BENCH_SOAK", "10000"))
READS = int(os.environ.get("BENCH_READS", "100"))
PAIRS = 64  # doctor/patient pairs the booking load spreads over (each client books its own pairs)

# On-demand prices, us-east-1, since 2024-11-01 (dollars per million request units).
PRICE_WRITE_MILLION = 0.625
PRICE_READ_MILLION = 0.125


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Slots:
    """Hands out (doctor, patient, start) so that no two bookings of the run ever collide."""

    def __init__(self, prefix: str, first: datetime) -> None:
        self.prefix, self.first, self.next, self.lock = prefix, first, 0, threading.Lock()

    def take(self) -> tuple[str, str, datetime]:
        with self.lock:
            index = self.next
            self.next += 1
        pair = index % PAIRS
        return f"d{pair}", f"p{pair}", self.first + timedelta(minutes=30 * (index // PAIRS))


def run_load(clients: int, book) -> tuple[int, list[float]]:
    """`clients` threads calling `book(session)` for SECONDS; (bookings made, latencies)."""
    import requests

    latencies: list[float] = []
    stop_at = time.perf_counter() + SECONDS
    guard = threading.Lock()

    def client() -> None:
        session = requests.Session()
        mine = []
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            book(session)
            mine.append(time.perf_counter() - began)
        with guard:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


# --- The raw calls ------------------------------------------------------------------------------


def stored_appointment(appointment_id: str, doctor_id: str, patient_id: str, start: datetime, state: str):
    """A 30-minute appointment in Chile as the product would store it (version 1)."""
    from appointments.models import Appointment

    appointment = Appointment(
        appointment_id,
        patient_id=patient_id,
        doctor_id=doctor_id,
        country_id="002",
        appointment_date=start,
        end_date=start + timedelta(minutes=30),
        duration_minutes=30,
    )
    appointment.set_state(state)
    appointment.touch()
    appointment.version = 1
    return appointment


class Raw:
    """The DynamoDB (and SQS) calls of one booking made directly with boto3, items built by the
    product's own models so that they have the product's sizes."""

    def __init__(self, queue_url: str) -> None:
        import boto3
        from botocore.config import Config
        from django.conf import settings

        # Clients of their own, with a pool as large as the API's: 16 threads on a pool of 10 would
        # reconnect all the time and make the baseline slower than it is.
        config = Config(max_pool_connections=settings.DYNAMODB_POOL_CONNECTIONS, retries={"mode": "standard"})
        region = settings.AWS_REGION
        self.dynamodb = boto3.client("dynamodb", region, endpoint_url=settings.DYNAMODB_ENDPOINT, config=config)
        self.sqs = boto3.client("sqs", region, endpoint_url=settings.SQS_ENDPOINT, config=config)
        self.queue_url = queue_url
        self.body = "x" * 1400  # about the size of the product's process message (base64 kombu envelope)

    def transact_items(self, doctor, doctor_id: str, patient_id: str, start: datetime) -> list[dict]:
        from appointments import outbox
        from appointments.locks import LOCK_RETENTION, lock_keys_for
        from appointments.models import PENDING, Appointment
        from doctors.models import Doctor
        from patients.models import Patient
        from scheduler.db import new_id
        from scheduler.db.locks import Lock
        from scheduler.security import audit

        appointment = stored_appointment(new_id(), doctor_id, patient_id, start, PENDING)
        appointment.lock_keys = lock_keys_for(appointment)
        items = [
            _put(Appointment, appointment.serialize(), "attribute_not_exists(appointmentId)"),
            *(
                _put(Lock, Lock(key, owner=appointment.appointment_id, expires_at=start + LOCK_RETENTION).serialize())
                for key in appointment.lock_keys
            ),
            _put(type(event := outbox.event_for(appointment, PENDING)), event.serialize()),
            _put(audit.AuditEntry, audit.entry("create", "appointment", appointment.appointment_id).serialize()),
            {
                "ConditionCheck": {
                    "TableName": Doctor.Meta.table_name,
                    "Key": {"doctorId": {"S": doctor_id}},
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": doctor["version"]},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": Patient.Meta.table_name,
                    "Key": {"patientId": {"S": patient_id}},
                    "ConditionExpression": "attribute_exists(patientId)",
                }
            },
        ]
        return items

    def book(self, slots: Slots, *, send: bool, capacity: list | None = None) -> None:
        from doctors.models import Doctor
        from patients.models import Patient

        doctor_id, patient_id, start = slots.take()
        extra = {"ReturnConsumedCapacity": "TOTAL"} if capacity is not None else {}
        read = self.dynamodb.batch_get_item(
            RequestItems={
                Doctor.Meta.table_name: {"Keys": [{"doctorId": {"S": doctor_id}}], "ConsistentRead": True},
                Patient.Meta.table_name: {"Keys": [{"patientId": {"S": patient_id}}], "ConsistentRead": True},
            },
            **extra,
        )
        doctor = read["Responses"][Doctor.Meta.table_name][0]
        written = self.dynamodb.transact_write_items(
            TransactItems=self.transact_items(doctor, doctor_id, patient_id, start), **extra
        )
        if capacity is not None:
            capacity.extend(read.get("ConsumedCapacity", []) + written.get("ConsumedCapacity", []))
        if send:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=self.body)


def _put(model, item: dict, condition: str | None = None) -> dict:
    if condition is None:
        condition = f"attribute_not_exists({model._hash_key_attribute().attr_name})"
    return {"Put": {"TableName": model.Meta.table_name, "Item": item, "ConditionExpression": condition}}


# --- Setup -------------------------------------------------------------------------------------


def make_world(api) -> None:
    """Chile, PAIRS doctors available around the clock with 30-minute slots, PAIRS patients, and the
    two doctors whose agendas are read (through the API, signed in as an admin)."""
    country = {"countryId": "002", "name": "CHILE", "code": "CL", "minNoticeMinutes": 0, "maxAdvanceDays": 730}
    assert api.post("/countries", country, format="json").status_code == 201
    week = [f"{day} 00:00-24:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    for doctor_id in [f"d{n}" for n in range(PAIRS)] + ["agenda-small", "agenda-big"]:
        doctor = {"doctorId": doctor_id, "name": "Dr Bench", "speciality": "GP", "countryId": "002"}
        response = api.post("/doctors", {**doctor, "availableTimes": week, "slotMinutes": 30}, format="json")
        assert response.status_code == 201, response.content
    for n in range(PAIRS):
        patient = {"patientId": f"p{n}", "name": "Bench Patient", "countryId": "002"}
        assert api.post("/patients", patient, format="json").status_code == 201


def seed_agenda(doctor_id: str, count: int, first: datetime) -> float:
    """`count` scheduled 30-minute appointments on the doctor, back to back from `first`, written
    with BatchWriteItem (4 threads); returns the seconds it took."""
    from appointments.models import SCHEDULED, Appointment
    from scheduler import db

    dynamodb = db.dynamodb_client()
    table = Appointment.Meta.table_name
    began = time.perf_counter()

    def item(index: int) -> dict:
        start = first + timedelta(minutes=30 * index)
        patient_id = f"seed-patient-{index % 5000}"
        return stored_appointment(f"{doctor_id}-{index:07d}", doctor_id, patient_id, start, SCHEDULED).serialize()

    def write(chunk: range) -> None:
        request = {table: [{"PutRequest": {"Item": item(index)}} for index in chunk]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, [range(i, min(i + 25, count)) for i in range(0, count, 25)]))
    return time.perf_counter() - began


def process_tree(pid: int) -> list[tuple[str, float]]:
    return [("main", rss_mb(pid))] + [(f"child {n}", rss_mb(child)) for n, child in enumerate(children(pid), 1)]


# --- Capacity units ----------------------------------------------------------------------------


class CapacityMeter:
    """Adds ReturnConsumedCapacity to every DynamoDB call of this process's clients and sums it."""

    def __init__(self) -> None:
        from scheduler import db

        self.clients = {db.connection().client} | {
            model._get_connection().connection.client for model in db.registered_models()
        }
        self.units = {"read": 0.0, "write": 0.0}
        self.calls = 0

    def __enter__(self):
        for client in self.clients:
            # botocore keeps one handler per unique_id per client: each event needs its own id.
            client.meta.events.register("provide-client-params.dynamodb.*", self._ask, unique_id="bench-cu-ask")
            client.meta.events.register("after-call.dynamodb.*", self._add, unique_id="bench-cu-add")
        return self

    def __exit__(self, *exc) -> None:
        for client in self.clients:
            client.meta.events.unregister("provide-client-params.dynamodb.*", unique_id="bench-cu-ask")
            client.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-cu-add")

    def _ask(self, params, model, **kwargs):
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _add(self, http_response, parsed, model, **kwargs):
        self.calls += 1
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            read, write = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
            total = entry.get("CapacityUnits", 0.0)
            if read is None and write is None:
                # TOTAL gives one figure: the operation's kind says which it is.
                kind = "write" if model.name in WRITES else "read"
                self.units[kind] += total
            else:
                self.units["read"] += read or 0.0
                self.units["write"] += write or 0.0


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def measure_capacity(client, first: datetime) -> list[tuple[str, float, float]]:
    """Capacity units of one booking (the request, the worker's processing, the publishing of its two
    events), one agenda page of 50 and one 7-day availability, run in this process."""
    from appointments import outbox
    from appointments.models import Appointment
    from appointments.services import appointment_process

    rows = []
    start = first + timedelta(days=600)  # beyond what the load booked
    with CapacityMeter() as meter:
        response = client.post(
            "/appointments", {"patientId": "p0", "doctorId": "d0", "appointmentDate": z(start)}, format="json"
        )
        assert response.status_code == 201, response.content
    rows.append(("booking: the request", meter.units["read"], meter.units["write"]))
    appointment_id = response.json()["appointmentId"]
    pending_event = _event_of(appointment_id, "appointment.pending")
    with CapacityMeter() as meter, outbox.relay_inline():
        outbox.event_publish(event_id=pending_event)
        appointment_process(appointment_id=appointment_id)
    rows.append(("booking: processing + 2 events published", meter.units["read"], meter.units["write"]))
    assert Appointment.get(appointment_id).state == "scheduled"
    with CapacityMeter() as meter:
        assert client.get("/appointments?doctorId=agenda-big&limit=50").status_code == 200
    rows.append(("agenda page (50 of 100k)", meter.units["read"], meter.units["write"]))
    week = f"from={first.date() + timedelta(days=200)}&to={first.date() + timedelta(days=206)}"
    with CapacityMeter() as meter:
        assert client.get(f"/doctors/agenda-big/availability?{week}").status_code == 200
    rows.append(("availability, 7 days (336 booked)", meter.units["read"], meter.units["write"]))
    return rows


def _event_of(appointment_id: str, event_type: str) -> str:
    from appointments.models import Event

    for event in Event.scan(Event.body.contains(appointment_id)):
        if event.event_type == event_type:
            return event.event_id
    raise LookupError(event_type)


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    began = time.perf_counter()
    stack = start_stack()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rest_framework.test import APIClient

    from accounts import services as accounts
    from scheduler.messaging import aws
    from tests.stack import CeleryWorker, start_api

    api_process = worker = None
    try:
        first = datetime.combine(date.today() + timedelta(days=2), datetime.min.time(), UTC)
        accounts.user_create(username="bench-admin", password=PASSWORD, role="admin")
        client = APIClient()
        signed = client.post("/auth/token", {"username": "bench-admin", "password": PASSWORD}, format="json")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed.json()['token']}")
        make_world(client)
        api_process, url = start_api("bench-api", gunicorn=True)
        worker = CeleryWorker("bench", ["--queues", "default", "--all-countries", "--concurrency", "2"])
        import requests

        headers = {"Authorization": f"Bearer {signed.json()['token']}"}
        queue_url = aws.ensure_queue("bench-raw", lambda *args: None)
        raw = Raw(queue_url)
        raw_slots, send_slots, api_slots = (Slots(p, first) for p in ("raw", "send", "api"))
        # Each kind books its own stretch of time: raw far ahead, the API from `first`.
        raw_slots.first = first + timedelta(days=400)
        send_slots.first = first + timedelta(days=800)
        failures = []

        def api_book(session) -> None:
            doctor_id, patient_id, start = api_slots.take()
            response = session.post(
                f"{url}/appointments",
                json={"patientId": patient_id, "doctorId": doctor_id, "appointmentDate": z(start)},
                headers=headers,
            )
            if response.status_code != 201:
                failures.append(response.status_code)

        # Warm-up: every gunicorn worker and thread pool, the boto3 clients.
        for _ in range(20):
            raw.book(raw_slots, send=True)
        run_load(4, api_book)

        booking_rows = []
        for clients in CLIENTS:
            raw_rate, raw_lat = run_load(clients, lambda session: raw.book(raw_slots, send=False))
            send_rate, send_lat = run_load(clients, lambda session: raw.book(send_slots, send=True))
            api_rate, api_lat = run_load(clients, api_book)
            booking_rows.append((clients, raw_rate, raw_lat, send_rate, send_lat, api_rate, api_lat))
        after_load = {
            "API (gunicorn)": process_tree(api_process.pid),
            "Celery worker": process_tree(worker.process.pid),
        }

        # Reads at 1k and 100k appointments.
        agendas = (("agenda-small", SMALL), ("agenda-big", BIG))
        seeded = {name: seed_agenda(name, count, first) for name, count in agendas}
        session = requests.Session()
        read_rows = []
        week = f"from={first.date() + timedelta(days=10)}&to={first.date() + timedelta(days=16)}"
        for name, count in (("agenda-small", SMALL), ("agenda-big", BIG)):
            for what, path in (
                ("agenda page of 50", f"/appointments?doctorId={name}&limit=50"),
                ("availability, 7 days", f"/doctors/{name}/availability?{week}"),
            ):
                samples = []
                for _ in range(READS):
                    t0 = time.perf_counter()
                    response = session.get(url + path, headers=headers)
                    samples.append(time.perf_counter() - t0)
                    assert response.status_code == 200, response.text
                read_rows.append((what, count, samples))

        # Soak: a mix of bookings and reads from 8 clients. RSS after a first 1,000 requests of it (the
        # processes' steady size under this load), then after SOAK more: the growth is what a leak adds.
        def soak(requests_count: int) -> float:
            done = {"count": 0}
            guard = threading.Lock()

            def soak_client() -> None:
                mine = requests.Session()
                while True:
                    with guard:
                        if done["count"] >= requests_count:
                            return
                        done["count"] += 1
                        n = done["count"]
                    if n % 4 == 0:
                        api_book(mine)
                    elif n % 4 == 1:
                        mine.get(f"{url}/appointments?doctorId=agenda-big&limit=50", headers=headers)
                    elif n % 4 == 2:
                        mine.get(f"{url}/doctors/d{n % PAIRS}/availability?{week}", headers=headers)
                    else:
                        mine.get(f"{url}/patients/p{n % PAIRS}", headers=headers)

            began = time.perf_counter()
            soakers = [threading.Thread(target=soak_client) for _ in range(8)]
            for thread in soakers:
                thread.start()
            for thread in soakers:
                thread.join()
            time.sleep(5)  # let the worker finish the soak's bookings
            return time.perf_counter() - began

        soak(1000)
        mark = {"API (gunicorn)": process_tree(api_process.pid), "Celery worker": process_tree(worker.process.pid)}
        soak_seconds = soak(SOAK)
        after_soak = {
            "API (gunicorn)": process_tree(api_process.pid),
            "Celery worker": process_tree(worker.process.pid),
        }

        # Capacity units, in this process.
        capacity_rows = measure_capacity(client, first)
    finally:
        if worker:
            worker.stop()
        if api_process:
            api_process.terminate()
            api_process.wait(timeout=30)
        stack.stop()

    print()
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}; DynamoDB Local and moto server on loopback;")
    print(f"API: gunicorn (scheduler/gunicorn.conf.py) + 1 Celery worker, as `make run`; {SECONDS:.0f} s per row")
    print()
    print("Booking (30 minutes: 6 doctor + 6 patient locks), bookings/s and latency p50 / p95 in ms")
    print(
        f"{'clients':>7} | {'raw calls':>20} | {'raw + 1 SendMessage':>20} | {'API POST /appointments':>22} |"
        f" {'API/raw+send':>12} | {'API/raw':>7}"
    )
    for clients, raw_rate, raw_lat, send_rate, send_lat, api_rate, api_lat in booking_rows:
        print(
            f"{clients:>7} | {raw_rate:6.0f}/s {pct(raw_lat, 0.5):5.1f} {pct(raw_lat, 0.95):5.1f} |"
            f" {send_rate:6.0f}/s {pct(send_lat, 0.5):5.1f} {pct(send_lat, 0.95):5.1f} |"
            f" {api_rate:6.0f}/s {pct(api_lat, 0.5):6.1f} {pct(api_lat, 0.95):6.1f}   |"
            f" {api_rate / send_rate:12.2f} | {api_rate / raw_rate:7.2f}"
        )
    if failures:
        print(f"  ({len(failures)} API bookings failed: {sorted(set(failures))})")
    print()
    took = ", ".join(f"{seconds:.0f} s" for seconds in seeded.values())
    print(f"Reads, one client, {READS} requests each (seeding took {took})")
    print(f"{'request':24} {'appointments':>12} {'p50 ms':>7} {'p95 ms':>7} {'÷ at 1k':>8}")
    base = {}
    for what, count, samples in read_rows:
        median = statistics.median(samples)
        base.setdefault(what, median)
        print(f"{what:24} {count:>12} {median * 1000:7.1f} {pct(samples, 0.95):7.1f} {median / base[what]:8.2f}")
    print()
    print(
        f"Memory (RSS MB): after the booking load | after 1,000 requests of the soak (8 clients) → after"
        f" {SOAK:,} more ({soak_seconds:.0f} s)"
    )
    for name in after_load:
        rows = zip(after_load[name], mark[name], after_soak[name], strict=False)
        for (proc, load_mb), (_, mark_mb), (_, soak_mb) in rows:
            growth = (soak_mb - mark_mb) / mark_mb * 100 if mark_mb else 0.0
            print(f"  {name:15} {proc:8} {load_mb:7.0f} | {mark_mb:7.0f} → {soak_mb:7.0f} ({growth:+.1f}%)")
    print()
    print("Capacity units (ReturnConsumedCapacity)")
    print(f"{'operation':42} {'read CU':>8} {'write CU':>9} {'$ per million':>14}")
    booking_read = booking_write = 0.0
    for what, read, write in capacity_rows:
        cost = read * PRICE_READ_MILLION + write * PRICE_WRITE_MILLION
        print(f"{what:42} {read:8.1f} {write:9.1f} {cost:14.2f}")
        if what.startswith("booking"):
            booking_read, booking_write = booking_read + read, booking_write + write
    million = booking_read * PRICE_READ_MILLION + booking_write * PRICE_WRITE_MILLION
    print(
        f"a booking in all: {booking_read:.1f} RCU + {booking_write:.1f} WCU → a million bookings ${million:.2f} "
        f"on demand (${PRICE_WRITE_MILLION}/M writes, ${PRICE_READ_MILLION}/M reads, us-east-1)"
    )
    print(f"\n(the whole benchmark took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
