"""Benchmark: what a booking, an agenda page and an availability request cost, as ratios against a
plain DynamoDB GetItem measured in the same run on the same machine (DynamoDB Local and moto server,
started like the tests do). Run with `make bench`; prints a table. Not a test: it asserts nothing.

Load: one client, sequential requests through Django's test client (no HTTP server), N of each, signed
in as an admin (each request also reads its token, and reads of appointments write an audit entry).
"""

import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from common import admin_client, start_stack

N = int(os.environ.get("BENCH_N", "200"))


def timed(call, repeat: int) -> list[float]:
    samples = []
    for index in range(repeat):
        began = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - began)
    return samples


def main() -> None:
    stack = start_stack()
    from countries.models import Country

    try:
        api = admin_client()
        days = [f"{d} 00:00-24:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
        api.post(
            "/countries", {"countryId": "002", "name": "CHILE", "code": "CL", "minNoticeMinutes": 0}, format="json"
        )
        api.post(
            "/doctors",
            {"doctorId": "d1", "name": "Dr", "speciality": "GP", "countryId": "002", "availableTimes": days},
            format="json",
        )
        for index in range(N):
            api.post("/patients", {"patientId": f"p{index}", "name": "P", "countryId": "002"}, format="json")
        zone = ZoneInfo("America/Santiago")
        first = datetime.combine(date.today() + timedelta(days=2), clock(), zone).astimezone(UTC)

        def book(index):
            at = (first + timedelta(minutes=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
            response = api.post(
                "/appointments", {"patientId": f"p{index}", "doctorId": "d1", "appointmentDate": at}, format="json"
            )
            assert response.status_code == 201, response.content

        week = f"from={date.today() + timedelta(days=2)}&to={date.today() + timedelta(days=8)}"
        results = {
            "DynamoDB GetItem (baseline)": timed(lambda i: Country.get("002"), N),
            "POST /appointments (booking)": timed(book, N),
            "GET /appointments?doctorId= (one page of 50)": timed(lambda i: api.get("/appointments?doctorId=d1"), N),
            "GET /doctors/{id}/availability (7 days)": timed(
                lambda i: api.get(f"/doctors/d1/availability?{week}"), N // 4
            ),
        }
        baseline = statistics.median(results["DynamoDB GetItem (baseline)"])
        print(f"machine: {os.cpu_count()} cores; DynamoDB Local and moto on loopback; N={N} sequential requests each")
        print(f"{'operation':48} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
        for name, samples in results.items():
            median = statistics.median(samples)
            p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
            print(f"{name:48} {median * 1000:10.2f} {p95 * 1000:8.2f} {median / baseline:11.1f}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
