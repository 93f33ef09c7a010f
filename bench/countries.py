"""Benchmark (`make bench-countries`, issue 18): per-country processing as a clinic network grows and
through a surge, on the workers `make run` starts, against DynamoDB Local and moto server on this
machine. Prints Markdown tables; asserts nothing, but stops at the first error (a booking not 201, a
worker that does not start, a baseline task that does not schedule).

What runs (one process): DynamoDB Local and moto server as the tests start them; the API through
Django's test client in this process (one APIClient per thread); as the Procfile runs them, the
countries worker (`--queues default --all-countries --concurrency 2`), the sweeper (`--queues
periodic --concurrency 1`) and beat, so the real sweeps run at their settings' intervals. Latency is
booked → scheduled, from each appointment's own createdAt and updatedAt.

1. Growth: the worker starts with the first of BENCH_COUNTRIES (default 10,60,120,180,all: every
   usable code, about 240) and the others are created WHILE IT RUNS. Each new country's first booking
   is made about 1 s after the country was created (the new-country figure). After each step,
   BENCH_BOOKINGS (100) bookings spread over all the countries, one every 50 ms: scheduled, p50, p95,
   max, the worker's main RSS and its largest child's RSS.
2. Surge: BENCH_SURGE_SECONDS (60) of BENCH_SURGE_RATE (30) bookings/s in ONE country (a few threads,
   each booking its own slot over several doctor/patient pairs) while every other country gets a
   booking every 0.5 s. Time from the burst's start until its whole backlog is scheduled, the backlog
   when the burst ends, the drain rate after it, the other countries' p95/max, and duplicates:
   `Task appointments.process[...] received` lines of the worker's log during the phase ÷ the
   appointments booked in it (the sweeper, beat and the events consumer run throughout, so the pending sweep acts).
3. Backlog: with the worker stopped, BENCH_BACKLOG (M, 600) bookings in one country; the worker is
   started again and drains them: drain rate = (M − 1) ÷ (last − first scheduling). With the worker
   stopped again, M bookings in another country are processed by 2 spawned processes calling the
   processing task itself (appointments.tasks.process_appointment with the message's arguments: the
   processor, the conditional update and both events published, as the worker runs it) with no SQS
   in between: baseline = M ÷ wall time. Reported: drain ÷ baseline.

A full run takes about 8–10 minutes here when the workers keep up; longer when they do not (as on a
worker that starves the queues beyond its start-time connections): every wait for a set to be
scheduled gives up after BENCH_TIMEOUT (600 s) and reports what was scheduled. For a short run:
BENCH_COUNTRIES=10,20 BENCH_BOOKINGS=20 BENCH_SURGE_SECONDS=10 BENCH_SURGE_RATE=10
BENCH_BACKLOG=100.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import admin_token, api_client, children, rss_mb, start_stack

BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100"))
SURGE_SECONDS = float(os.environ.get("BENCH_SURGE_SECONDS", "60"))
SURGE_RATE = float(os.environ.get("BENCH_SURGE_RATE", "30"))
# Threads booking the surge: each in-process booking takes tens of ms, so 30/s needs a few.
SURGE_THREADS = int(os.environ.get("BENCH_SURGE_THREADS", str(max(2, math.ceil(SURGE_RATE / 6)))))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "600"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "600"))
OTHERS_EVERY = 0.5  # seconds between bookings in the other countries during the surge
CONCURRENCY = 2
WORKER_ARGS = ["--queues", "default", "--all-countries", "--concurrency", str(CONCURRENCY)]
SURGE_PAIRS = 4  # doctor/patient pairs of the surge country: fewer days ahead for its many slots
SLOTS_PER_DAY = 180  # 04:00–19:00 local on a 5-minute grid (clear of the night's DST changes)
RECEIVED = re.compile(rb"Task appointments\.process\[[^\]]+\] received")
REQUEUED = re.compile(rb"Task appointments\.requeue_stale_pending\[[^\]]+\] succeeded in \S+s: (\d+)")


class BenchError(RuntimeError):
    pass


RUN_STARTED = time.monotonic()


def note(text: str) -> None:
    """Progress on stderr, with the time since the run started (the tables go to stdout)."""
    print(f"[{time.monotonic() - RUN_STARTED:6.0f} s] {text}", file=sys.stderr, flush=True)


# --- Countries and bookings ----------------------------------------------------------------------


class World:
    """Countries, each with doctors working every day on a 5-minute grid and as many patients, and
    bookings that never collide: each takes the next slot of its country's next doctor/patient pair."""

    def __init__(self, token: str) -> None:
        from tests.helpers import anchor_monday

        self.token = token
        self.api = api_client(token)
        self.first_day = anchor_monday()
        self.zones: dict[str, ZoneInfo] = {}
        self.pairs: dict[str, int] = {}
        self.made: dict[str, int] = {}
        self.lock = threading.Lock()

    def add_country(self, code: str, pairs: int = 1) -> float:
        """Creates the country, then its doctors and patients; returns when the country was created."""
        from countries.reference import principal_zone
        from tests.helpers import open_country

        created_at = time.monotonic()  # the country comes first: its creation is what is timed from
        open_country(self.api, code, pairs=pairs)
        self.zones[code] = ZoneInfo(principal_zone(code))
        self.pairs[code] = pairs
        return created_at

    def book(self, code: str, api=None) -> str:
        with self.lock:
            index = self.made.get(code, 0)
            self.made[code] = index + 1
        pair, slot = index % self.pairs[code], index // self.pairs[code]
        day = self.first_day + timedelta(days=slot // SLOTS_PER_DAY)
        start = datetime(day.year, day.month, day.day, 4, 0, tzinfo=self.zones[code])
        start += timedelta(minutes=5 * (slot % SLOTS_PER_DAY))
        body = {"patientId": f"p-{code}-{pair}", "doctorId": f"d-{code}-{pair}", "appointmentDate": start.isoformat()}
        response = (api or self.api).post("/appointments", body, format="json")
        expect_201(response, f"booking in {code}")
        return response.json()["appointmentId"]


def expect_201(response, what: str) -> None:
    if response.status_code != 201:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.content[:500]!r}")


def spread(items: list[str], count: int) -> list[str]:
    """`count` picks cycling through `items` with a stride coprime to their number (neighbours apart)."""
    stride = next(s for s in (7, 11, 13, 17, 1) if math.gcd(s, len(items)) == 1)
    return [items[(index * stride) % len(items)] for index in range(count)]


def in_threads(jobs: list[Callable[[], None]]) -> None:
    """Runs each job on its own thread; the first error of any is raised here once all have ended."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def book_many(world: World, code: str, count: int, threads: int = 4) -> list[str]:
    """`count` bookings in one country as fast as `threads` clients make them."""
    booked: list[str] = []
    left = iter(range(count))
    lock = threading.Lock()

    def client() -> None:
        api = api_client(world.token)
        while True:
            with lock:
                if next(left, None) is None:
                    return
            booked.append(world.book(code, api))

    in_threads([client] * threads)
    return booked


def flush_handoffs(timeout: float = 60.0) -> float:
    """Wait for this process's hand-offs to SQS; returns how long that took. Past `timeout` it goes on:
    what is still waiting, or failed, is left to the pending sweep, as in production."""
    from scheduler.messaging.handoff import handoff

    began = time.monotonic()
    if not handoff.flush(timeout):
        note(f"  hand-offs still waiting after {timeout:.0f} s: left to the sweep")
    return time.monotonic() - began


# --- Measuring -----------------------------------------------------------------------------------


def wait_scheduled(ids: list[str], timeout: float = TIMEOUT) -> dict:
    """The appointments once all are scheduled, or when `timeout` has passed (then some are not)."""
    from appointments.models import SCHEDULED, Appointment

    found: dict = {}
    waiting = list(ids)
    deadline = time.monotonic() + timeout
    while waiting:
        for item in Appointment.batch_get(waiting):
            found[item.appointment_id] = item
        waiting = [key for key in waiting if key not in found or found[key].state != SCHEDULED]
        if waiting and time.monotonic() > deadline:
            note(f"  ! {len(waiting)} of {len(ids)} not scheduled after {timeout:.0f} s")
            break
        if waiting:
            time.sleep(0.5 if len(waiting) < 200 else 2.0)  # the figures come from the items' timestamps
    return found


def latencies(items: dict, ids: list[str]) -> list[float]:
    from appointments.models import SCHEDULED

    done = [items[key] for key in ids if key in items and items[key].state == SCHEDULED]
    return sorted((item.updated_at - item.created_at).total_seconds() for item in done)


def scheduled_times(items: dict, ids: list[str]) -> list[datetime]:
    from appointments.models import SCHEDULED

    return sorted(items[key].updated_at for key in ids if key in items and items[key].state == SCHEDULED)


def pending_count(ids: list[str]) -> int:
    from appointments.models import SCHEDULED, Appointment

    return sum(1 for item in Appointment.batch_get(ids) if item.state != SCHEDULED)


def p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# When this process's hand-off of each booking to SQS was done (its message sent), to tell the time a
# booking waits in the API process's hand-off queue from the time it waits for the worker.
HANDED_OVER: dict[str, datetime] = {}


def record_hand_offs() -> None:
    from appointments.services import pipeline
    from scheduler.db import utcnow

    send = pipeline._send_task

    def recorded(name, appointment, what, **kwargs):
        sent = send(name, appointment, what, **kwargs)
        if sent and name == pipeline.PROCESS_TASK:
            HANDED_OVER.setdefault(appointment.appointment_id, utcnow())
        return sent

    pipeline._send_task = recorded  # appointment_enqueue looks it up for each send


def from_hand_off(items: dict, ids: list[str]) -> list[float]:
    """Seconds from the hand-off's send to scheduled: the worker's part of the latency."""
    from appointments.models import SCHEDULED

    done = [items[key] for key in ids if key in items and items[key].state == SCHEDULED and key in HANDED_OVER]
    return sorted(max(0.0, (item.updated_at - HANDED_OVER[item.appointment_id]).total_seconds()) for item in done)


def p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=20)[-1]


def worst(values: list[float]) -> float | None:
    return max(values) if values else None


def received(log: Path) -> int:
    return len(RECEIVED.findall(log.read_bytes()))


def requeued(log: Path) -> int:
    return sum(int(count) for count in REQUEUED.findall(log.read_bytes()))


def settle(log: Path, quiet: float = 5.0, longest: float = 120.0) -> None:
    """Waits until the worker has received nothing for `quiet` seconds: duplicates the sweep sent
    still reach it after the last scheduling."""
    deadline = time.monotonic() + longest
    before = received(log)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = received(log)
        if now == before:
            return
        before = now


def rss(worker) -> tuple[float, float]:
    pid = worker.process.pid
    return rss_mb(pid), max((rss_mb(child) for child in children(pid)), default=0.0)


def lingering_polls_seconds() -> float:
    """How long SQS may still answer a stopped worker's last long polls (and hide what they take for
    the visibility timeout)."""
    from django.conf import settings

    return float(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("wait_time_seconds", 15)) + 1


# --- The phases ----------------------------------------------------------------------------------


def book_first(world: World, waiting: deque[tuple[str, float]], *, wait: bool) -> list[str]:
    """The first booking of each waiting country created at least 1 s ago (with `wait`: of all, each
    once its second has passed)."""
    booked = []
    while waiting and (wait or time.monotonic() - waiting[0][1] >= 1.0):
        code, created_at = waiting.popleft()
        time.sleep(max(0.0, created_at + 1.0 - time.monotonic()))
        booked.append(world.book(code))
    return booked


def grow(world: World, worker, every_code: list[str], sizes: list[int]) -> tuple[list[dict], list[float]]:
    from tests.helpers import scale_codes as codes

    rows, first_bookings = [], []
    made = sizes[0]
    for size in sizes:
        firsts: list[str] = []
        if size > made:
            # Each new country's first booking about 1 s after its creation, while later ones are created.
            waiting: deque[tuple[str, float]] = deque()
            for code in codes(size - made, skip=made):
                waiting.append((code, world.add_country(code)))
                firsts += book_first(world, waiting, wait=False)
            firsts += book_first(world, waiting, wait=True)
            made = size
        booked = []
        for code in spread(every_code[:size], BOOKINGS):
            booked.append(world.book(code))
            time.sleep(0.05)
        items = wait_scheduled(booked + firsts)
        seconds, first_seconds = latencies(items, booked), latencies(items, firsts)
        first_bookings += first_seconds
        main_rss, child_rss = rss(worker)
        rows.append(
            {
                "countries": size,
                "bookings": len(booked),
                "scheduled": len(seconds),
                "p50": p50(seconds),
                "p95": p95(seconds),
                "max": worst(seconds),
                "new": len(firsts),
                "new scheduled": len(first_seconds),
                "new max": worst(first_seconds),
                "main rss": main_rss,
                "child rss": child_rss,
            }
        )
        note(f"  growth: {rows[-1]}")
    return rows, first_bookings


def surge(world: World, worker, sweeper, surge_code: str, others: list[str]) -> dict:
    from scheduler.db import utcnow

    received_before, requeued_before = received(worker.log), requeued(sweeper.log)
    surge_ids: list[str] = []
    other_ids: list[str] = []
    turn = iter(range(10**9))
    lock = threading.Lock()
    began_at = utcnow()
    start = time.monotonic()
    stop_at = start + SURGE_SECONDS

    def surge_client() -> None:
        api = api_client(world.token)
        while True:
            with lock:
                due = start + next(turn) / SURGE_RATE
            if due >= stop_at:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            surge_ids.append(world.book(surge_code, api))

    def other_client() -> None:
        api = api_client(world.token)
        for index, code in enumerate(spread(others, int(SURGE_SECONDS / OTHERS_EVERY))):
            time.sleep(max(0.0, start + index * OTHERS_EVERY - time.monotonic()))
            other_ids.append(world.book(code, api))

    in_threads([surge_client] * SURGE_THREADS + [other_client])
    ended_at = utcnow()
    made_in = time.monotonic() - start
    backlog_at_end = pending_count(surge_ids)
    handoffs_behind = flush_handoffs(TIMEOUT)
    items = wait_scheduled(surge_ids + other_ids)
    times = scheduled_times(items, surge_ids)
    settle(worker.log)
    booked = len(surge_ids) + len(other_ids)
    tasks = received(worker.log) - received_before
    last = times[-1] if times else None
    drained_in = (last - ended_at).total_seconds() if last else None
    others_seconds = latencies(items, other_ids)
    others_worker = from_hand_off(items, other_ids)
    return {
        "bookings": len(surge_ids),
        "rate": len(surge_ids) / made_in,
        "scheduled": len(times),
        "all scheduled after": (last - began_at).total_seconds() if last else None,
        "backlog at end": backlog_at_end,
        "drain after": backlog_at_end / drained_in if backlog_at_end and drained_in and drained_in > 0 else None,
        "others": len(other_ids),
        "others scheduled": len(others_seconds),
        "others p95": p95(others_seconds),
        "others max": worst(others_seconds),
        "others p95 from hand-off": p95(others_worker),
        "others max from hand-off": worst(others_worker),
        "received": tasks,
        "booked": booked,
        "duplicates": tasks / booked if booked else None,
        "requeued": requeued(sweeper.log) - requeued_before,
        "hand-offs behind": handoffs_behind,
    }


def drain(world: World, worker_factory, code: str) -> tuple[dict, object]:
    """A backlog of BACKLOG bookings made while no worker runs, then a worker started on it."""
    time.sleep(lingering_polls_seconds())
    booked = book_many(world, code, BACKLOG)
    flush_handoffs()
    worker = worker_factory("bench-drain")
    items = wait_scheduled(booked)
    times = scheduled_times(items, booked)
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0
    settle(worker.log)
    return {
        "backlog": len(booked),
        "scheduled": len(times),
        "span": span,
        "rate": (len(times) - 1) / span if span > 0 else None,
        "received": received(worker.log),
    }, worker


def process_share(work: list[tuple[str, str, str]], ready, start, results) -> None:
    """In a spawned process: the processing task for each (appointment, country, event); the first
    one before the clock starts (imports, clients and connections are made on first use)."""
    import django

    django.setup()
    from appointments.tasks import process_appointment

    (appointment_id, code, event_id), *timed = work
    outcomes = [process_appointment(appointment_id=appointment_id, country_code=code, event_id=event_id)]
    ready.put(os.getpid())
    start.wait()
    began = time.time()
    outcomes += [process_appointment(appointment_id=a, country_code=c, event_id=e) for a, c, e in timed]
    results.put((began, time.time(), len(timed), outcomes))


def baseline(world: World, code: str, events: dict[str, str]) -> dict:
    """What CONCURRENCY processes do with the processing task when nothing comes between them and it."""
    booked = book_many(world, code, BACKLOG)
    flush_handoffs()
    work = [(key, code, events[key]) for key in booked]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited sockets or threads
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=process_share, args=(work[n::CONCURRENCY], ready, start, results))
        for n in range(CONCURRENCY)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    start.set()
    shares = [results.get(timeout=TIMEOUT) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    outcomes = [outcome for *_, share in shares for outcome in share]
    if outcomes.count("scheduled") != len(work):
        raise BenchError(f"baseline: {len(work) - outcomes.count('scheduled')} tasks did not schedule: {outcomes[:5]}")
    timed = sum(count for _, _, count, _ in shares)
    wall = max(end for _, end, _, _ in shares) - min(began for began, *_ in shares)
    return {"tasks": timed, "wall": wall, "rate": timed / wall}


# --- The run -------------------------------------------------------------------------------------


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main() -> None:
    load_before = os.getloadavg()
    stack = start_stack()
    from appointments.signals import appointment_committed
    from scheduler.messaging.workers import PERIODIC_QUEUE
    from tests.helpers import scale_codes as codes
    from tests.stack import CeleryBeat, CeleryWorker, EventConsumer

    every_code = codes(10_000)
    sizes = [
        len(every_code) if size == "all" else int(size)
        for size in os.environ.get("BENCH_COUNTRIES", "10,60,120,180,all").split(",")
    ]
    if sizes[0] < 3 or sizes != sorted(sizes) or sizes[-1] > len(every_code):
        raise BenchError(f"BENCH_COUNTRIES: increasing sizes from at least 3 to at most {len(every_code)}")
    surge_code, drain_code, baseline_code = every_code[:3]

    events: dict[str, str] = {}  # appointment → its booking's event, for the baseline's task arguments

    def remember_event(sender, appointment, event_type, event_id, **kwargs) -> None:
        if event_type == "pending":
            events[appointment.appointment_id] = event_id

    appointment_committed.connect(remember_event, weak=False, dispatch_uid="bench.remember_event")
    record_hand_offs()

    started: list = []
    try:
        world = World(admin_token())
        for code in every_code[: sizes[0]]:
            world.add_country(code, pairs=SURGE_PAIRS if code == surge_code else 1)
        sweeper = CeleryWorker("bench-sweeper", ["--queues", PERIODIC_QUEUE, "--concurrency", "1"])
        started.append(sweeper)
        started.append(CeleryBeat("bench"))
        started.append(EventConsumer("bench"))
        worker = CeleryWorker("bench-countries", WORKER_ARGS)
        started.append(worker)
        time.sleep(2)  # "ready" comes before its queues' first polls: measure the worker running

        note("growth …")
        rows, first_bookings = grow(world, worker, every_code, sizes)
        note("surge …")
        others = [code for code in every_code[: sizes[-1]] if code != surge_code]
        burst = surge(world, worker, sweeper, surge_code, others)
        note(f"  surge: {burst}")

        note("backlog drain …")
        worker.stop()

        def start_worker(name: str):
            started.append(CeleryWorker(name, WORKER_ARGS))
            return started[-1]

        drained, drainer = drain(world, start_worker, drain_code)
        note(f"  drain: {drained}")
        drainer.stop()
        note("baseline …")
        base = baseline(world, baseline_code, events)
        note(f"  baseline: {base}")
    finally:
        for process in reversed(started):
            process.stop()
        stack.stop()
    load_after = os.getloadavg()
    minutes = (time.monotonic() - RUN_STARTED) / 60

    print()
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, DynamoDB Local and moto server on loopback "
        f"on the same machine; load average {load_before[0]:.2f} before the run, {load_after[0]:.2f} after; "
        f"the run took {minutes:.1f} min."
    )
    print(
        f"Workers as the Procfile starts them: one countries worker (`--all-countries`, concurrency "
        f"{CONCURRENCY}), the sweeper, beat and the events consumer. Latency is booked → scheduled from each "
        "appointment's own timestamps."
    )
    print()
    print(
        f"Growth, countries created while the worker runs; after each step {BOOKINGS} bookings spread over "
        "all the countries, one every 50 ms; each new country's first booking about 1 s after its creation:"
    )
    print()
    print(
        "| countries | scheduled | p50 s | p95 s | max s | new countries' first bookings scheduled | "
        "their max s | worker main RSS MB | max child RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['countries']} | {row['scheduled']}/{row['bookings']} | {fmt(row['p50'])} | {fmt(row['p95'])} "
            f"| {fmt(row['max'])} | {row['new scheduled']}/{row['new']} | {fmt(row['new max'])} "
            f"| {row['main rss']:.0f} | {row['child rss']:.0f} |"
        )
    print()
    print(
        f"New countries' first booking, about 1 s after the country's creation: {len(first_bookings)} scheduled, "
        f"p50 {fmt(p50(first_bookings))} s, max {fmt(worst(first_bookings))} s."
    )
    print()
    print(
        f"Surge: {SURGE_SECONDS:.0f} s of {SURGE_RATE:.0f} bookings/s in one country ({SURGE_THREADS} clients), "
        f"a booking every {OTHERS_EVERY} s spread over the other {len(others)} countries:"
    )
    print()
    print("| measure | value |")
    print("| --- | --- |")
    surge_rows = [
        ("bookings in the surge country", f"{burst['bookings']} ({burst['rate']:.1f}/s)"),
        ("scheduled", f"{burst['scheduled']}/{burst['bookings']}"),
        ("burst start → whole backlog scheduled", f"{fmt(burst['all scheduled after'], 1)} s"),
        ("backlog (pending) when the burst ended", str(burst["backlog at end"])),
        ("drain after the burst", f"{fmt(burst['drain after'], 1)} scheduled/s"),
        (
            "other countries during the surge",
            f"{burst['others scheduled']}/{burst['others']} scheduled, p95 {fmt(burst['others p95'])} s, "
            f"max {fmt(burst['others max'])} s",
        ),
        (
            "the same, from the hand-off's send to scheduled (the worker's part)",
            f"p95 {fmt(burst['others p95 from hand-off'])} s, max {fmt(burst['others max from hand-off'])} s",
        ),
        (
            "duplicates: processing tasks received ÷ appointments booked",
            f"{burst['received']} ÷ {burst['booked']} = {fmt(burst['duplicates'], 3)}",
        ),
        ("re-enqueued by the pending sweep", str(burst["requeued"])),
        ("this process's hand-offs to SQS done after the burst", f"{fmt(burst['hand-offs behind'], 1)} s later"),
    ]
    for name, value in surge_rows:
        print(f"| {name} | {value} |")
    print()
    print(
        f"Backlog of {BACKLOG} in one country, booked while no worker ran, then the worker started; the "
        f"baseline: {CONCURRENCY} processes running the processing task with no SQS in between:"
    )
    print()
    print("| measure | value |")
    print("| --- | --- |")
    ratio = drained["rate"] / base["rate"] if drained["rate"] else None
    for name, value in [
        ("baseline (CPU-bound)", f"{base['rate']:.1f} tasks/s ({base['tasks']} in {base['wall']:.1f} s)"),
        (
            "drain on the worker (first → last scheduling)",
            f"{fmt(drained['rate'], 1)} scheduled/s ({drained['scheduled']}/{drained['backlog']} in "
            f"{drained['span']:.1f} s)",
        ),
        ("drain ÷ baseline", fmt(ratio)),
        ("processing tasks received ÷ backlog", f"{drained['received']} ÷ {drained['backlog']}"),
    ]:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
