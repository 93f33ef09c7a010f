"""Benchmark: pending → scheduled with 10, 60 and 120 countries on one worker started as `make run`
starts it (prefork, concurrency 2, `--all-countries`, the production polling settings), against
DynamoDB Local and moto server on this machine. Prints p50/p95/max of 100 bookings spread over the
countries (one every 50 ms, through Django's test client in this process) and the worker's RSS.
Not a test: it asserts nothing. Run with `make bench-countries`.
"""

import os
import statistics
import sys
import time
from pathlib import Path

from common import admin_client, children, rss_mb, start_stack

SIZES = [int(size) for size in os.environ.get("BENCH_COUNTRIES", "10,60,120").split(",")]
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100"))


def main() -> None:
    stack = start_stack()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from appointments.models import SCHEDULED, Appointment
    from tests.appointments.test_many_countries import Stack as World
    from tests.appointments.test_many_countries import codes
    from tests.stack import CeleryWorker

    rows = []
    try:
        world = World.__new__(World)
        world.api, world.zones, world.slot = admin_client(), {}, 0
        made = 0
        for size in SIZES:
            for code in codes(size - made, skip=made):
                world.add_country(code)
            made = size
            worker = CeleryWorker(f"bench-{size}", ["--queues", "default", "--all-countries", "--concurrency", "2"])
            try:
                time.sleep(2)
                booked = []
                every = codes(size)
                for index in range(BOOKINGS):
                    booked.append(world.book(every[(index * 7) % size]))
                    time.sleep(0.05)
                deadline = time.monotonic() + 120
                while True:
                    items = list(Appointment.batch_get(booked))
                    if all(item.state == SCHEDULED for item in items) or time.monotonic() > deadline:
                        break
                    time.sleep(0.25)
                seconds = sorted((i.updated_at - i.created_at).total_seconds() for i in items if i.state == SCHEDULED)
                pid = worker.process.pid
                rows.append(
                    (
                        size,
                        len(seconds),
                        statistics.median(seconds),
                        statistics.quantiles(seconds, n=20)[-1],
                        seconds[-1],
                        rss_mb(pid),
                        max((rss_mb(child) for child in children(pid)), default=0.0),
                    )
                )
            finally:
                worker.stop()
                # SQS may still answer the stopped worker's last long polls (up to the 15 s wait) and
                # hide what they took for the visibility timeout: let them lapse before the next run.
                time.sleep(16)
    finally:
        stack.stop()
    print(f"machine: {os.cpu_count()} cores; DynamoDB Local and moto server on loopback; one worker, concurrency 2")
    print(f"load: {BOOKINGS} bookings, one every 50 ms, spread over the countries; latency = booked → scheduled")
    header = ("countries", "scheduled", "p50 s", "p95 s", "max s", "main RSS MB", "child RSS MB")
    print(" ".join(f"{name:>12}" for name in header))
    for size, done, p50, p95, worst, main_rss, child_rss in rows:
        print(f"{size:>12} {done:>12} {p50:12.2f} {p95:12.2f} {worst:12.2f} {main_rss:12.0f} {child_rss:12.0f}")


if __name__ == "__main__":
    main()
