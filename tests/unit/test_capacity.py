"""The capacity model (bench/capacity.py): pure arithmetic, no services and no database fixtures."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "capacity.py"
_spec = importlib.util.spec_from_file_location("capacity", _PATH)
capacity = importlib.util.module_from_spec(_spec)
sys.modules["capacity"] = capacity  # dataclasses look their module up there
_spec.loader.exec_module(capacity)


def loads(**params) -> dict:
    return {load.name: load for load in capacity.busiest_keys(capacity.Params(**params))}


SMALL = {
    "bookings_per_second": 100,
    "countries": 2,
    "busiest_share": 0.5,
    "sparse_shards": 4,
    "country_day_shards": 4,
    "audit_list_shards": 1,
}


def test_small_case_worked_by_hand():
    # Defaults otherwise: reminders at 1440 and 120 minutes, one completion, so a booking changes its
    # appointment 5 times (book, schedule, 2 reminders, complete), sets its enqueued marker once (a
    # plain UpdateItem that rewrites its GSI entries too) and makes 5 events; the appointment (1.2 KB)
    # is 2 units per GSI write, an event (0.6 KB) 1.
    keys = loads(**SMALL)
    # byState: 100/s over 4 shards = 25/s per key, entering, the marker and leaving = 3 writes of 2 units → 150.
    assert keys["appointments.byState"].wcu == pytest.approx(150)
    # byReminder: 25/s × (enter + a move, which is delete and put, + leave = 4 writes × 2 units) = 200;
    # the sweep reads each due item twice: 25 × 2 × 1.2 KB / 4 KB × 0.5 = 7.5.
    assert keys["appointments.byReminder"].wcu == pytest.approx(200)
    assert keys["appointments.byReminder"].rcu == pytest.approx(7.5)
    # byUnpublished: 25/s × 5 events × (enter + leave) × 1 unit = 250.
    assert keys["events.byUnpublished"].wcu == pytest.approx(250)
    # byCountryDay: 100 × 50% / 4 shards = 12.5/s per key. Today's key: booking and scheduling of the
    # 10% booked for today (booking, marker, scheduling: 3 × 0.1 × 2 units = 0.6), plus every 120-minute
    # reminder (2) and every completion (2) of the country, since those happen today: 4.6 × 12.5 = 57.5
    # (tomorrow's: 2.6 × 12.5).
    assert keys["appointments.byCountryDay"].wcu == pytest.approx(57.5)
    # Listings: 50 bookings/s × 10 reads × 1% = 5 listings/s, half of them of today; each reads a
    # page of 50 × 1.2 KB = 60 KB from every shard: 15 × 0.5 = 7.5 units → 2.5 × 7.5 = 18.75.
    assert keys["appointments.byCountryDay"].rcu == pytest.approx(18.75)
    # audit.byObject: the 5 listings/s are keyed by the country (1 shard), 2 units each (50 ids make
    # the entry 1.65 KB) = 10, more than one appointment's own entries (booking, completion, 2 reads) = 4.
    assert keys["audit.byObject"].wcu == pytest.approx(10)
    # A contested slot: 20 racing attempts/s, each a transactional put of a lock (2 units).
    assert keys["slots"].wcu == pytest.approx(40)
    assert not any(load.hot for load in keys.values())


def test_small_case_per_booking_units_and_cost():
    totals = capacity.totals(capacity.Params(**SMALL))
    # appointments: 5 transactional puts of 2 KB = 20, the marker's UpdateItem 2;
    # events: 5 × 2 (transaction) + 5 × 1 (published) = 15;
    # slots: 12 locks × 2 + 5 events × 3 messages × 1 dedupe put = 39.
    assert totals.by_table["appointments"][0] == pytest.approx(22)
    assert totals.by_table["events"][0] == pytest.approx(15)
    assert totals.by_table["slots"][0] == pytest.approx(39)
    # All of it: 22 + byDoctor 12 + byPatient 12 + byCountryDay 12 + byState 6 + byReminder 8 + events 15
    # + byUnpublished 10 + slots 39 + doctor and patient checks 2 + 2 + audit 8.1 + byObject 6.1 + byActor 6.1.
    assert totals.write_units_per_booking == pytest.approx(160.3)
    expected = totals.write_units_per_booking * 0.625 + totals.read_units_per_booking * 0.125
    assert totals.cost_per_million_bookings == pytest.approx(expected)
    assert totals.monthly_cost == pytest.approx(expected / 1e6 * 100 * 30 * 24 * 3600)


def test_ten_thousand_bookings_over_sixty_countries_keep_every_key_under_half_its_limit():
    keys = loads(bookings_per_second=10_000, countries=60, busiest_share=0.30)
    assert [name for name, load in keys.items() if load.hot] == []
    assert max(max(load.write_share, load.read_share) for load in keys.values()) <= 0.5
    assert capacity.main(["--check"]) == 0


def test_one_shard_the_old_design_makes_the_sparse_indexes_hot():
    keys = loads(sparse_shards=1)
    for name in ("appointments.byState", "appointments.byReminder", "events.byUnpublished"):
        assert keys[name].hot, name
        assert keys[name].wcu > capacity.WRITE_LIMIT  # throttled outright, not only without headroom
    assert capacity.main(["--sparse-shards", "1", "--check"]) == 1
    assert capacity.main(["--sparse-shards", "1"]) == 0  # a report, unless asked to check


def test_the_first_shard_counts_are_too_few_at_ten_thousand_bookings():
    # SPARSE_INDEX_SHARDS 128, COUNTRY_DAY_SHARDS 4 and unsharded country listing audits.
    keys = loads(sparse_shards=128, country_day_shards=4, audit_list_shards=1)
    hot = {name for name, load in keys.items() if load.hot}
    assert hot == {"appointments.byCountryDay", "appointments.byReminder", "events.byUnpublished", "audit.byObject"}
    needed = capacity.recommended_shards(capacity.Params())
    assert needed == {"sparse_shards": 256, "country_day_shards": 32, "audit_list_shards": 2}


def test_report_lists_every_table_and_index():
    text = capacity.report(capacity.Params())
    for name in ("appointments.byCountryDay", "events.byUnpublished", "audit.byActor", "tokens", "countries"):
        assert name in text
    assert "no key over 50% of its limit" in text
