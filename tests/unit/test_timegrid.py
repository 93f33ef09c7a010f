"""The time-grid rules of appointments/timegrid.py called directly, on fixed dates (never the clock):
where slots fall, which 5-minute lock buckets a booking takes, the booking check's notice and past
(with its clock passed in), and daylight saving in Santiago and New York.

The 2026 transitions, as zoneinfo gives them:
- America/Santiago springs forward at local midnight of Sunday 2026-09-06 (00:00-00:59 does not
  exist, -04 -> -03) and falls back at the end of Saturday 2026-04-04 (23:00-23:59 happens twice,
  -03 -> -04).
- America/New_York springs forward at 02:00 of Sunday 2026-03-08 (02:00-02:59 does not exist) and
  falls back at 02:00 of Sunday 2026-11-01 (01:00-01:59 happens twice)."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from appointments import timegrid
from appointments.locks import LOCK_MINUTES, lock_keys
from appointments.services.booking import check_time as _check_time
from appointments.timegrid import grid_slots, schedule_problem
from doctors.schedule import WeeklyWindow
from scheduler.exceptions import InvalidInput

SANTIAGO = ZoneInfo("America/Santiago")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY, TUESDAY, SATURDAY, SUNDAY = 0, 1, 5, 6

# Monday 2026-06-01: Santiago is on -04 all day (winter), far from any transition.
JUNE_MONDAY = date(2026, 6, 1)
MONDAY_10_TO_16 = WeeklyWindow(MONDAY, 10 * 60, 16 * 60)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def slots(windows, zone, first_day, last_day=None, slot_minutes=30) -> list[tuple[datetime, datetime]]:
    return list(
        grid_slots(windows, slot_minutes=slot_minutes, zone=zone, first_day=first_day, last_day=last_day or first_day)
    )


def starts_local(found, zone) -> list[str]:
    return [start.astimezone(zone).strftime("%H:%M%z") for start, _ in found]


def test_the_fixed_dates_are_the_2026_transitions():
    """The dates below are only meaningful if the zone data says so: pin it."""

    def offset(zone, *moment):
        return datetime(*moment, tzinfo=UTC).astimezone(zone).utcoffset()

    assert date(2026, 9, 6).weekday() == SUNDAY and date(2026, 4, 4).weekday() == SATURDAY
    assert offset(SANTIAGO, 2026, 9, 6, 3, 59) == timedelta(hours=-4)
    assert offset(SANTIAGO, 2026, 9, 6, 4, 0) == timedelta(hours=-3)
    assert offset(SANTIAGO, 2026, 4, 5, 2, 59) == timedelta(hours=-3)
    assert offset(SANTIAGO, 2026, 4, 5, 3, 0) == timedelta(hours=-4)
    assert offset(NEW_YORK, 2026, 3, 8, 6, 59) == timedelta(hours=-5)
    assert offset(NEW_YORK, 2026, 3, 8, 7, 0) == timedelta(hours=-4)
    assert offset(NEW_YORK, 2026, 11, 1, 5, 59) == timedelta(hours=-4)
    assert offset(NEW_YORK, 2026, 11, 1, 6, 0) == timedelta(hours=-5)


# --- The slot grid ---------------------------------------------------------------------------------


def test_slots_start_at_the_window_start_and_step_by_the_slot_length():
    found = slots([MONDAY_10_TO_16], SANTIAGO, JUNE_MONDAY)
    assert len(found) == 12
    assert found[0] == (utc(2026, 6, 1, 14, 0), utc(2026, 6, 1, 14, 30))  # 10:00 -04
    assert found[-1] == (utc(2026, 6, 1, 19, 30), utc(2026, 6, 1, 20, 0))  # 15:30 -04, ends at 16:00
    assert all(end - start == timedelta(minutes=30) for start, end in found)
    assert all(b[0] == a[1] for a, b in zip(found, found[1:], strict=False))


def test_a_slot_that_would_run_past_the_window_end_is_not_offered():
    found = slots([WeeklyWindow(MONDAY, 10 * 60, 11 * 60 + 45)], SANTIAGO, JUNE_MONDAY)
    assert starts_local(found, SANTIAGO) == ["10:00-0400", "10:30-0400", "11:00-0400"]


def test_slots_come_in_time_order_only_on_the_windows_weekdays():
    windows = [WeeklyWindow(MONDAY, 14 * 60, 15 * 60), WeeklyWindow(MONDAY, 9 * 60, 10 * 60)]
    week = slots(windows, SANTIAGO, JUNE_MONDAY, JUNE_MONDAY + timedelta(days=6), slot_minutes=60)
    assert [start for start, _ in week] == [utc(2026, 6, 1, 13, 0), utc(2026, 6, 1, 18, 0)]
    assert slots(windows, SANTIAGO, JUNE_MONDAY + timedelta(days=1)) == []  # a Tuesday


def test_a_booking_fits_on_the_grid_over_consecutive_slots_up_to_the_window_end():
    def problem(start, minutes=30):
        return schedule_problem(start, minutes, [MONDAY_10_TO_16], slot_minutes=30, zone=SANTIAGO)

    assert problem(utc(2026, 6, 1, 14, 0)) is None  # 10:00
    assert problem(utc(2026, 6, 1, 14, 30), 90) is None  # 10:30-12:00, three slots
    assert problem(utc(2026, 6, 1, 19, 0), 60) is None  # 15:00-16:00 ends with the window


@pytest.mark.parametrize(
    "start, minutes, message",
    [
        (
            utc(2026, 6, 1, 14, 15),
            30,
            "10:15 on Monday 2026-06-01 in America/Santiago is not on the doctor's 30-minute grid; "
            "slots in Monday 10:00-16:00 start at 10:00, 10:30, …",
        ),
        (
            utc(2026, 6, 1, 14, 0, 30),
            30,
            "10:00 on Monday 2026-06-01 in America/Santiago is not on the slot grid: slots start on whole minutes.",
        ),
        (
            utc(2026, 6, 2, 14, 0),
            30,
            "The doctor does not work on Tuesdays (10:00 on Tuesday 2026-06-02 in America/Santiago).",
        ),
        (
            utc(2026, 6, 1, 19, 30),
            60,
            "15:30 on Monday 2026-06-01 in America/Santiago to 16:30 is outside the doctor's available times "
            "(Monday 10:00-16:00).",
        ),
        (
            utc(2026, 6, 1, 13, 30),
            30,
            "09:30 on Monday 2026-06-01 in America/Santiago to 10:00 is outside the doctor's available times "
            "(Monday 10:00-16:00).",
        ),
    ],
)
def test_a_time_off_the_grid_says_why_in_local_time(start, minutes, message):
    assert schedule_problem(start, minutes, [MONDAY_10_TO_16], slot_minutes=30, zone=SANTIAGO) == message


def test_a_booking_is_judged_on_the_doctors_zone_not_utc():
    """In June New York and Santiago are both on -04: 14:00Z is 10:00 in either, and 13:00Z is 09:00 in
    New York, before the window, as the message says in the doctor's zone."""
    assert schedule_problem(utc(2026, 6, 1, 14, 0), 30, [MONDAY_10_TO_16], slot_minutes=30, zone=NEW_YORK) is None
    ny_nine = utc(2026, 6, 1, 13, 0)  # 09:00 EDT
    assert schedule_problem(ny_nine, 30, [MONDAY_10_TO_16], slot_minutes=30, zone=NEW_YORK) == (
        "09:00 on Monday 2026-06-01 in America/New_York to 09:30 is outside the doctor's available times "
        "(Monday 10:00-16:00)."
    )


# --- Lock buckets ----------------------------------------------------------------------------------


def test_locks_are_taken_per_five_minute_bucket_in_utc():
    assert LOCK_MINUTES == 5
    keys = lock_keys("doctor", "d1", utc(2026, 6, 1, 14, 0), utc(2026, 6, 1, 14, 30))
    assert keys == [f"doctor#d1#2026-06-01T14:{minute:02d}Z" for minute in range(0, 30, 5)]
    local = datetime(2026, 6, 1, 10, 0, tzinfo=SANTIAGO)  # the same instant, given in local time
    assert lock_keys("doctor", "d1", local, local + timedelta(minutes=30)) == keys


def test_a_start_inside_a_bucket_takes_that_bucket_and_the_end_is_exclusive():
    assert lock_keys("patient", "p1", utc(2026, 6, 1, 14, 3), utc(2026, 6, 1, 14, 7)) == [
        "patient#p1#2026-06-01T14:00Z",
        "patient#p1#2026-06-01T14:05Z",
    ]
    assert lock_keys("patient", "p1", utc(2026, 6, 1, 14, 0), utc(2026, 6, 1, 14, 5)) == [
        "patient#p1#2026-06-01T14:00Z"
    ]


def test_overlapping_bookings_on_different_grids_share_a_bucket_and_adjacent_ones_do_not():
    thirty = set(lock_keys("doctor", "d1", utc(2026, 6, 1, 14, 0), utc(2026, 6, 1, 14, 30)))
    twenty = set(lock_keys("doctor", "d1", utc(2026, 6, 1, 14, 20), utc(2026, 6, 1, 14, 40)))
    assert thirty & twenty == {"doctor#d1#2026-06-01T14:20Z", "doctor#d1#2026-06-01T14:25Z"}
    next_one = set(lock_keys("doctor", "d1", utc(2026, 6, 1, 14, 30), utc(2026, 6, 1, 15, 0)))
    assert thirty & next_one == set()
    assert timegrid.overlaps(utc(2026, 6, 1, 14), utc(2026, 6, 1, 14, 30), utc(2026, 6, 1, 14, 20), utc(2026, 6, 1, 15))
    assert not timegrid.overlaps(
        utc(2026, 6, 1, 14), utc(2026, 6, 1, 14, 30), utc(2026, 6, 1, 14, 30), utc(2026, 6, 1, 15)
    )


# --- Notice and the past, with the clock passed in -------------------------------------------------

NOW = utc(2026, 6, 1, 12, 0)  # 08:00 in Santiago, two hours before the Monday window opens


def check(start: datetime, *, minutes: int = 30, notice: int = 60, advance: int = 365) -> None:
    """The booking check of appointments.services with a doctor and a country as plain records of the
    attributes it reads, and this test's clock."""
    doctor = SimpleNamespace(
        doctor_id="d1",
        country_id="002",
        slot_minutes=30,
        available_times=[SimpleNamespace(day="monday", start="10:00", end="16:00")],
        time_zone="America/Santiago",
        unavailable=[],
        subdivision=None,
        works_on_holidays=False,
    )
    country = SimpleNamespace(
        country_id="002",
        code="CL",
        min_notice_minutes=notice,
        max_advance_days=advance,
        observes_holidays=False,
        closures=[],
    )
    _check_time(doctor=doctor, country=country, start=start, shape=timegrid.Shape(minutes), now=NOW)


def test_a_slot_after_the_notice_is_bookable():
    check(utc(2026, 6, 1, 14, 0))  # 10:00 local, two hours ahead
    check(utc(2026, 6, 1, 14, 0), notice=120)  # exactly the notice


def test_a_slot_inside_the_notice_is_too_soon():
    with pytest.raises(InvalidInput) as raised:
        check(utc(2026, 6, 1, 14, 0), notice=121)
    assert raised.value.field == "appointmentDate"
    assert raised.value.message == "2026-06-01T14:00:00Z is too soon: book at least 121 minutes ahead."


def test_a_slot_before_now_is_in_the_past_whatever_the_notice():
    with pytest.raises(InvalidInput) as raised:
        check(utc(2026, 5, 25, 14, 0), notice=0)  # the Monday before
    assert raised.value.field == "appointmentDate"
    assert raised.value.message == "2026-05-25T14:00:00Z is in the past."


def test_a_slot_beyond_the_horizon_counted_from_now_is_too_far_ahead():
    with pytest.raises(InvalidInput) as raised:
        check(utc(2026, 6, 29, 14, 0), advance=28)  # 28 days and two hours after NOW
    assert raised.value.field == "appointmentDate"
    assert raised.value.message == "2026-06-29T14:00:00Z is too far ahead: book at most 28 days ahead."
    check(utc(2026, 6, 29, 14, 0), advance=29)
    check(utc(2026, 6, 22, 14, 0), advance=28)


# --- Daylight saving -------------------------------------------------------------------------------


def test_santiago_spring_forward_skips_the_midnight_hour():
    """Sunday 2026-09-06: local 00:00-00:59 does not exist; the slots that start in it are not
    offered and the first one after the change starts at 01:00 -03."""
    sunday = date(2026, 9, 6)
    found = slots([WeeklyWindow(SUNDAY, 0, 2 * 60)], SANTIAGO, sunday)
    assert starts_local(found, SANTIAGO) == ["01:00-0300", "01:30-0300"]
    assert found[0] == (utc(2026, 9, 6, 4, 0), utc(2026, 9, 6, 4, 30))
    window = [WeeklyWindow(SUNDAY, 0, 2 * 60)]
    assert schedule_problem(utc(2026, 9, 6, 4, 0), 60, window, slot_minutes=30, zone=SANTIAGO) is None


def test_santiago_offsets_change_across_the_spring_forward_week():
    windows = [WeeklyWindow(SATURDAY, 9 * 60, 10 * 60), WeeklyWindow(MONDAY, 9 * 60, 10 * 60)]
    found = slots(windows, SANTIAGO, date(2026, 9, 5), date(2026, 9, 7), slot_minutes=60)
    assert found == [
        (utc(2026, 9, 5, 13, 0), utc(2026, 9, 5, 14, 0)),  # Saturday 09:00 -04
        (utc(2026, 9, 7, 12, 0), utc(2026, 9, 7, 13, 0)),  # Monday 09:00 -03
    ]


def test_santiago_fall_back_offers_the_repeated_hour_once():
    """Saturday 2026-04-04: 23:00-23:59 happens at -03 and again at -04. The grid offers its first
    pass only (02:00Z and 02:30Z); a booking in the second pass (03:00Z) is refused and says why."""
    window = [WeeklyWindow(SATURDAY, 22 * 60, 24 * 60)]
    found = slots(window, SANTIAGO, date(2026, 4, 4))
    assert [start for start, _ in found] == [
        utc(2026, 4, 5, 1, 0),
        utc(2026, 4, 5, 1, 30),
        utc(2026, 4, 5, 2, 0),
        utc(2026, 4, 5, 2, 30),
    ]
    assert starts_local(found, SANTIAGO) == ["22:00-0300", "22:30-0300", "23:00-0300", "23:30-0300"]
    assert schedule_problem(utc(2026, 4, 5, 2, 0), 60, window, slot_minutes=30, zone=SANTIAGO) is None
    assert schedule_problem(utc(2026, 4, 5, 3, 0), 30, window, slot_minutes=30, zone=SANTIAGO) == (
        "23:00 on Saturday 2026-04-04 in America/Santiago is not a bookable slot that day: the clocks change then."
    )


def test_new_york_spring_forward_skips_two_oclock():
    """Sunday 2026-03-08: 02:00-02:59 does not exist. The 01:30 slot ends at 03:00 EDT, so an hour from
    01:30 runs over two consecutive slots of the grid (01:30 and 03:00)."""
    window = [WeeklyWindow(SUNDAY, 1 * 60, 4 * 60)]
    found = slots(window, NEW_YORK, date(2026, 3, 8))
    assert starts_local(found, NEW_YORK) == ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]
    assert found[1] == (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0))
    assert schedule_problem(utc(2026, 3, 8, 6, 30), 60, window, slot_minutes=30, zone=NEW_YORK) is None


def test_new_york_fall_back_offers_one_oclock_once():
    """Sunday 2026-11-01: 01:00-01:59 happens at EDT and again at EST; the second pass is not a slot."""
    window = [WeeklyWindow(SUNDAY, 0, 3 * 60)]
    found = slots(window, NEW_YORK, date(2026, 11, 1))
    assert starts_local(found, NEW_YORK) == [
        "00:00-0400",
        "00:30-0400",
        "01:00-0400",
        "01:30-0400",
        "02:00-0500",
        "02:30-0500",
    ]
    assert utc(2026, 11, 1, 6, 0) not in {start for start, _ in found}  # 01:00 EST
    assert schedule_problem(utc(2026, 11, 1, 6, 0), 30, window, slot_minutes=30, zone=NEW_YORK) == (
        "01:00 on Sunday 2026-11-01 in America/New_York is not a bookable slot that day: the clocks change then."
    )
    # An hour from 01:30 EDT would run into the repeated hour: refused too.
    assert schedule_problem(utc(2026, 11, 1, 5, 30), 60, window, slot_minutes=30, zone=NEW_YORK) is not None


def test_lock_buckets_follow_utc_through_the_repeated_hour():
    """The two passes of New York's 01:00 are different instants, so they take different locks."""
    first = lock_keys("doctor", "d1", utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30))
    second = lock_keys("doctor", "d1", utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 6, 30))
    assert not set(first) & set(second)
    assert first[0] == "doctor#d1#2026-11-01T05:00Z" and second[0] == "doctor#d1#2026-11-01T06:00Z"
