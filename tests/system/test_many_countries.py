"""Per-country processing at the scale users reach: one worker, started as `make run` starts it
(prefork, `--all-countries`, the production polling settings), consuming 60 country queues on moto
server. pending → scheduled is measured from the appointment's own timestamps (createdAt at booking,
updatedAt when scheduled); these are functional guarantees, not benchmark figures."""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from appointments.models import SCHEDULED, Appointment, Event
from appointments.tasks import process_appointment, publish_pending_events, requeue_stale_pending, send_due_reminders
from countries.reference import principal_zone
from scheduler.db import utcnow
from scheduler.messaging import aws
from scheduler.messaging.workers import PERIODIC_QUEUE
from tests.helpers import PASSWORD, anchor_monday, clear_tables, open_country, scale_codes
from tests.stack import CeleryWorker, EventConsumer
from tests.system.faults import SwitchableProxy

COUNTRIES = 60
codes = scale_codes


class Stack:
    """Countries, each with a doctor working every day and a patient, and one worker on them all."""

    def __init__(self) -> None:
        from accounts import services

        services.user_create(username="scale-admin", password=PASSWORD, role="admin")
        self.api = APIClient()
        token = self.api.post("/auth/token", {"username": "scale-admin", "password": PASSWORD}, format="json")
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
        self.zones: dict[str, str] = {}
        self.slot = 0

    def add_country(self, code: str) -> None:
        open_country(self.api, code)
        self.zones[code] = principal_zone(code)

    def book(self, code: str) -> str:
        """A booking in the test week on the doctor's 5-minute grid (a new time each call)."""
        self.slot += 1
        zone = ZoneInfo(self.zones[code])
        day = anchor_monday() + timedelta(days=self.slot // 200)
        local = datetime(day.year, day.month, day.day, 1, 0, tzinfo=zone) + timedelta(minutes=5 * (self.slot % 200))
        body = {"patientId": f"p-{code}-0", "doctorId": f"d-{code}-0", "appointmentDate": local.isoformat()}
        response = self.api.post("/appointments", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["appointmentId"]


@pytest.fixture(scope="module")
def stack(aws_stack):
    """60 countries; the countries worker and the sweeper worker as the Procfile runs them, both
    reaching SNS through a proxy the outage test switches off."""
    clear_tables()  # only this module's countries: the worker consumes every country's queue
    stack = Stack()
    for code in codes(COUNTRIES):
        stack.add_country(code)
    stack.sns = SwitchableProxy(urlsplit(os.environ["AWS_ENDPOINT_URL_SNS"]).port)
    # A status line every 5 s instead of every minute, for the operator's test.
    env = {"AWS_ENDPOINT_URL_SNS": stack.sns.url, "WORKER_STATUS_SECONDS": "5"}
    # As the Procfile runs them, with the settings a user gets, but for the status interval and the
    # suite's NEW_COUNTRY_DEFAULT_QUEUE_SECONDS=0 (tests/stack.py; the new-country test sets the default).
    stack.worker = CeleryWorker("countries", ["--queues", "default", "--all-countries", "--concurrency", "2"], env=env)
    stack.sweeper = CeleryWorker("sweeper", ["--queues", PERIODIC_QUEUE, "--concurrency", "1"], env=env)
    stack.consumer = EventConsumer("countries")
    yield stack
    for process in (stack.worker, stack.sweeper, stack.consumer):
        process.stop()
    stack.sns.close()


def latencies(appointment_ids: list[str], timeout: float) -> list[float]:
    """Seconds from booking to scheduled for each appointment, once all are scheduled."""
    deadline = time.monotonic() + timeout
    while True:
        items = list(Appointment.batch_get(appointment_ids))
        if all(item.state == SCHEDULED for item in items) and len(items) == len(appointment_ids):
            return [(item.updated_at - item.created_at).total_seconds() for item in items]
        waiting = [item.appointment_id for item in items if item.state != SCHEDULED]
        assert time.monotonic() < deadline, f"not scheduled after {timeout}s: {waiting[:10]}"
        time.sleep(0.25)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_sixty_countries_are_each_scheduled_within_seconds(stack):
    log = stack.worker.log.read_text()
    assert "SQS: " in log and "connections for 61 queues" in log  # one per queue, sized at start
    country_codes = codes(COUNTRIES)
    booked = []
    for index in range(100):
        booked.append(stack.book(country_codes[(index * 7) % COUNTRIES]))  # spread over every country
        time.sleep(0.05)
    seconds = latencies(booked, timeout=60)
    assert p95(seconds) <= 2.0, sorted(seconds)[-10:]
    assert max(seconds) <= 5.0, sorted(seconds)[-10:]


def test_a_country_created_while_running_is_served_within_twelve_seconds(stack):
    (code,) = codes(1, skip=COUNTRIES)
    stack.add_country(code)
    began = utcnow()
    (seconds,) = latencies([stack.book(code)], timeout=30)
    assert seconds <= 12.0
    assert (utcnow() - began).total_seconds() <= 15


ADDED = 80  # countries added while the worker runs: far more than its margin of connections at start


def test_countries_added_while_running_are_served_without_a_restart(stack):
    started_with = len(stack.zones)
    added = codes(ADDED, skip=started_with)
    for code in added:
        stack.add_country(code)
    queues = started_with + ADDED + 1  # and the default queue
    deadline = time.monotonic() + 30
    while f"({queues} queues," not in stack.worker.log.read_text():
        assert time.monotonic() < deadline, stack.worker.log.read_text()[-2000:]
        time.sleep(0.5)
    log = stack.worker.log.read_text()
    assert "restart" not in log
    grown = int(log.rsplit(f"({queues} queues, ", 1)[1].split(" ", 1)[0])
    assert grown >= queues  # a connection for each queue, grown without a restart
    booked = []
    for index in range(60):
        booked.append(stack.book(added[(index * 7) % ADDED]))
        time.sleep(0.05)
    seconds = latencies(booked, timeout=60)
    assert p95(seconds) <= 2.0, sorted(seconds)[-10:]
    assert max(seconds) <= 5.0, sorted(seconds)[-10:]


def test_a_new_countrys_first_bookings_are_scheduled_within_two_seconds(stack, settings):
    """As a user runs it: a new country's tasks go to the default queue until the workers have found
    its own queue (NEW_COUNTRY_DEFAULT_QUEUE_SECONDS, 30 s by default)."""
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 3 * settings.WORKER_QUEUE_REFRESH_SECONDS
    first, second = codes(2, skip=len(stack.zones))
    stack.add_country(first)
    at_once = stack.book(first)
    stack.add_country(second)
    time.sleep(1)
    a_second_later = stack.book(second)
    for seconds in latencies([at_once, a_second_later], timeout=30):
        assert seconds <= 2.0


def send_surge(code: str, count: int, prefix: str) -> None:
    """`count` processing tasks for one country, sent by 16 threads, faster than the worker drains
    them even on a loaded machine (their appointments do not exist: each costs the worker a GetItem;
    with 4 threads a full run once saw the worker keep up with the sends, and no backlog formed)."""
    from concurrent.futures import ThreadPoolExecutor

    def send(index: int) -> None:
        process_appointment.apply_async(kwargs={"appointment_id": f"{prefix}-{index}", "country_code": code})

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, range(count)))


def test_a_surge_in_one_country_does_not_delay_the_others_in_the_same_worker(stack):
    surge_code, *others = codes(COUNTRIES)
    send_surge(surge_code, 1500, "surge")
    booked = [stack.book(others[0])]
    # The others are booked while the surge's backlog is still there.
    assert aws.queue_depth(f"appointments-{surge_code.lower()}") > 0
    for index in range(1, 40):
        booked.append(stack.book(others[(index * 11) % len(others)]))
        time.sleep(0.05)
    seconds = latencies(booked, timeout=60)
    assert p95(seconds) <= 2.0, sorted(seconds)[-10:]
    # The operator sees the backlog: how many wait, how many are in flight, how long they waited.
    surge_queue = f"appointments-{surge_code.lower()}"
    line = re.compile(
        rf"status: \d+ queues, \d+ SQS connections, holding \d+ messages; backlog: .*"
        rf"{surge_queue} \d+ waiting, \d+ in flight, [1-9]\d* received, oldest received waited [\d.]+s"
    )
    deadline = time.monotonic() + 15  # a status line every 5 s
    while not line.search(stack.worker.log.read_text()):
        assert time.monotonic() < deadline, stack.worker.log.read_text()[-2000:]
        time.sleep(0.5)
    purge_country_queue(surge_code)  # what is left of it would hold up that country in the next tests


def purge_country_queue(code: str) -> None:
    sqs = aws.client("sqs")
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=aws.queue_name(f"appointments-{code.lower()}"))["QueueUrl"])


def test_the_sweeps_run_on_their_own_worker_during_a_surge(stack):
    surge_code = codes(2)[1]  # not the previous test's (SQS purges a queue at most once a minute)
    for index in range(300):
        process_appointment.apply_async(kwargs={"appointment_id": f"surge-b-{index}", "country_code": surge_code})
    sent = []
    for task in (publish_pending_events, requeue_stale_pending, send_due_reminders):
        # As beat sends them: to the periodic queue, expiring before the next run is due.
        sent.append(task.apply_async(queue=PERIODIC_QUEUE, expires=25).id)
    deadline = time.monotonic() + 15
    while not all(f"[{task_id}] succeeded" in stack.sweeper.log.read_text() for task_id in sent):
        assert time.monotonic() < deadline, stack.sweeper.log.read_text()[-3000:]
        time.sleep(0.2)
    logs = stack.sweeper.log.read_text() + stack.worker.log.read_text()
    assert "Discarding revoked task" not in logs
    purge_country_queue(surge_code)


def test_an_sns_outage_neither_delays_processing_nor_loses_an_event(stack):
    sqs, sns = aws.client("sqs"), aws.client("sns")
    probe = sqs.create_queue(QueueName=aws.queue_name("sns-probe"))["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=aws.topic_arn(), Protocol="sqs", Endpoint=probe_arn, Attributes={"RawMessageDelivery": "true"}
    )["SubscriptionArn"]
    try:
        stack.sns.set_up(False)
        booked = []
        for index in range(30):
            booked.append(stack.book(codes(COUNTRIES)[(index * 13) % COUNTRIES]))
            time.sleep(0.05)
        seconds = latencies(booked, timeout=60)
        assert p95(seconds) <= 2.0, sorted(seconds)[-10:]
        mine = [e for e in Event.scan() if json_of(e)["appointment"]["appointmentId"] in booked]
        assert len(mine) == 60 and all(e.unpublished_key for e in mine)  # nothing reached SNS

        stack.sns.set_up(True)
        time.sleep(11)  # the sweep leaves events younger than its grace period to the relay
        publish_pending_events.apply_async(queue=PERIODIC_QUEUE)  # what beat sends every 30 s
        deadline = time.monotonic() + 60
        while any(Event.get(e.event_id).unpublished_key for e in mine):
            assert time.monotonic() < deadline, "events still unpublished after SNS came back"
            time.sleep(0.5)
        delivered = []
        while batch := sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
            delivered += [json.loads(message["Body"])["eventId"] for message in batch]
            sqs.delete_message_batch(
                QueueUrl=probe,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        ids = {e.event_id for e in mine}
        assert sorted(i for i in delivered if i in ids) == sorted(ids)  # each exactly once
    finally:
        stack.sns.set_up(True)
        sns.unsubscribe(SubscriptionArn=subscription)  # before deleting its queue (moto)
        sqs.delete_queue(QueueUrl=probe)


def json_of(event) -> dict:
    return json.loads(event.body)
