"""Property tests of the time rules (appointments/timegrid.py): for random weekly schedules, slot
lengths, appointment types (duration and buffers), blocked periods, held time and closed days, on
daylight-saving days of three zones and on ordinary days, availability (`offered`) lists exactly the
starts the booking check (`refusal`) accepts. And the booking's lock buckets collide exactly when
held intervals overlap, so what the rule refuses as taken, the transaction refuses too.

Every date is fixed here; nothing reads the clock."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointment_types.rules import MAX_BUFFER_MINUTES, limits_problem
from appointments.locks import lock_keys
from appointments.timegrid import Agenda, Shape, offered, overlaps, refusal
from doctors.schedule import LOCK_MINUTES, WeeklyWindow

# Days that matter, each in its zone: the 2026 daylight-saving changes and an ordinary day.
DAYS = [
    ("America/Santiago", date(2026, 9, 6)),  # spring forward at local midnight
    ("America/Santiago", date(2026, 4, 4)),  # 23:00-23:59 happens twice
    ("America/New_York", date(2026, 3, 8)),  # 02:00-02:59 does not exist
    ("America/New_York", date(2026, 11, 1)),  # 01:00-01:59 happens twice
    ("Europe/Madrid", date(2026, 3, 29)),  # 02:00-02:59 does not exist
    ("Europe/Madrid", date(2026, 10, 25)),  # 02:00-02:59 happens twice
    ("Europe/Madrid", date(2026, 6, 15)),  # an ordinary Monday
    ("Asia/Kathmandu", date(2026, 6, 16)),  # +05:45: local grid times are not UTC quarter hours
]
STEPS = st.integers(min_value=0, max_value=24 * 60 // LOCK_MINUTES).map(lambda n: n * LOCK_MINUTES)


@st.composite
def day_windows(draw, weekday: int) -> list[WeeklyWindow]:
    """Up to three windows on the weekday, on 5-minute steps, not overlapping."""
    bounds = sorted(set(draw(st.lists(STEPS, min_size=0, max_size=6))))
    windows = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=False):
        if end > start:
            windows.append(WeeklyWindow(weekday, start, end))
    return windows


@st.composite
def shapes(draw) -> Shape:
    duration = draw(st.integers(1, 48)) * 5
    before = draw(st.integers(0, MAX_BUFFER_MINUTES // 5)) * 5
    after = draw(st.integers(0, MAX_BUFFER_MINUTES // 5)) * 5
    if limits_problem(duration, before, after):
        before = after = 0
    return Shape(duration, before, after)


def _aligned(day_start: datetime, draw) -> datetime:
    return day_start + timedelta(minutes=5 * draw(st.integers(-60, 12 * 24 + 60)))


@st.composite
def intervals(draw, day_start: datetime, max_size: int) -> tuple[tuple[datetime, datetime], ...]:
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        start = _aligned(day_start, draw)
        found.append((start, start + timedelta(minutes=5 * draw(st.integers(1, 60)))))
    return tuple(found)


@st.composite
def cases(draw):
    zone_name, day = draw(st.sampled_from(DAYS))
    zone = ZoneInfo(zone_name)
    day_start = datetime.combine(day, time(), zone).astimezone(UTC)
    closed_days = set(draw(st.lists(st.sampled_from([day - timedelta(days=1), day, day + timedelta(days=1)]))))
    agenda = Agenda(
        windows=tuple(draw(day_windows(day.weekday()))),
        slot_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])),
        zone=zone,
        now=day_start + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 24 * 60))),
        notice_minutes=draw(st.sampled_from([0, 30, 60, 600])),
        advance_days=draw(st.integers(1, 5)),
        blocked=draw(intervals(day_start, 2)),
        busy=draw(intervals(day_start, 4)),
        closed=lambda d: "Test Day" if d in closed_days else None,
    )
    return agenda, draw(shapes()), day, day_start


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_availability_lists_exactly_the_starts_the_booking_check_accepts(case):
    agenda, shape, day, day_start = case
    listed = offered(agenda, shape, first_day=day, last_day=day)
    starts = {start for start, _ in listed}
    for start, end in listed:
        assert end == start + timedelta(minutes=shape.duration)
        assert refusal(agenda, shape, start) is None, (start, refusal(agenda, shape, start))
    # Every 5 minutes of the local day (where every grid start falls: windows, slots and zone offsets
    # are on 5-minute steps), and times between them: listed exactly when accepted.
    moment, stop = day_start, datetime.combine(day + timedelta(days=1), time(), agenda.zone).astimezone(UTC)
    while moment < stop:
        for candidate in (moment, moment + timedelta(minutes=2, seconds=30)):
            accepted = refusal(agenda, shape, candidate) is None
            assert accepted == (candidate in starts), (candidate, refusal(agenda, shape, candidate))
        moment += timedelta(minutes=5)


@settings(max_examples=400, deadline=None)
@given(cases())
def test_an_accepted_start_holds_the_doctor_clear_of_every_busy_interval_and_the_patient_less(case):
    agenda, shape, day, _ = case
    for start, end in offered(agenda, shape, first_day=day, last_day=day):
        held_start, held_end = shape.held(start)
        assert held_start <= start and end <= held_end
        assert not any(overlaps(held_start, held_end, b0, b1) for b0, b1 in agenda.busy)
        assert not any(overlaps(start, end, b0, b1) for b0, b1 in agenda.blocked)
        assert agenda.closed(start.astimezone(agenda.zone).date()) is None


FIVE = st.integers(-600, 600).map(lambda n: datetime(2026, 3, 8, 7, 0, tzinfo=UTC) + timedelta(minutes=5 * n))


@settings(max_examples=500, deadline=None)
@given(FIVE, st.integers(1, 96), FIVE, st.integers(1, 96))
def test_lock_buckets_collide_exactly_when_held_intervals_overlap(a_start, a_steps, b_start, b_steps):
    """The rule's `busy` check and the transaction's locks agree: on 5-minute steps, two held
    intervals share a lock key if and only if they overlap (adjacent ones share none)."""
    a_end, b_end = a_start + timedelta(minutes=5 * a_steps), b_start + timedelta(minutes=5 * b_steps)
    shared = set(lock_keys("doctor", "d", a_start, a_end)) & set(lock_keys("doctor", "d", b_start, b_end))
    assert bool(shared) == overlaps(a_start, a_end, b_start, b_end)


def test_the_types_minute_step_is_the_lock_bucket():
    from appointment_types import rules

    assert rules.LOCK_MINUTES == LOCK_MINUTES


def test_a_type_that_one_transaction_cannot_hold_is_refused_and_the_longest_that_fits_is_not():
    assert limits_problem(240, 0, 0) is None  # 48 + 48 locks
    assert limits_problem(120, 120, 120) is None  # 72 + 24
    assert limits_problem(200, 40, 40) is None  # 56 + 40 = 96
    assert "485 minutes together" in limits_problem(200, 45, 40)
    assert limits_problem(240, 120, 120) is not None
