"""Unit tests of the pure parser of a doctor's weekly `availableTimes` (no DynamoDB, no HTTP)."""

import pytest

from doctors.schedule import (
    DAYS,
    MAX_ENTRIES,
    MINUTES_PER_DAY,
    ScheduleError,
    WeeklyWindow,
    format_clock,
    parse_available_times,
    parse_entry,
)


def as_dicts(windows):
    return [window.as_dict() for window in windows]


# --- the original strings ----------------------------------------------------------------------


def test_original_readme_example():
    windows = parse_available_times(["Monday 10am-4pm", "Wednesday 1pm-5pm"])
    assert as_dicts(windows) == [
        {"day": "monday", "start": "10:00", "end": "16:00"},
        {"day": "wednesday", "start": "13:00", "end": "17:00"},
    ]


def test_parse_entry_gives_minutes_from_midnight():
    window = parse_entry("Monday 10am-4pm")
    assert window == WeeklyWindow(day_index=0, start=600, end=960)
    assert window.day == "monday"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # 24 h clock
        ("Tue 09:00-12:30", ("tuesday", "09:00", "12:30")),
        ("Tue 9:00-12:30", ("tuesday", "09:00", "12:30")),
        ("Tue 9.15-17.45", ("tuesday", "09:15", "17:45")),
        ("Friday 13-18", ("friday", "13:00", "18:00")),
        ("Friday 00:00-08:00", ("friday", "00:00", "08:00")),
        ("Friday 20:00-24:00", ("friday", "20:00", "24:00")),
        ("Friday 20:00-00:00", ("friday", "20:00", "24:00")),
        ("Friday 00:00-24:00", ("friday", "00:00", "24:00")),
        # 12 h clock
        ("Monday 9am-5pm", ("monday", "09:00", "17:00")),
        ("Monday 9:30am-12:15pm", ("monday", "09:30", "12:15")),
        ("Monday 9 am - 5 pm", ("monday", "09:00", "17:00")),
        ("Monday 9a.m.-5p.m.", ("monday", "09:00", "17:00")),
        ("Monday 9 a.m. - 5 p.m.", ("monday", "09:00", "17:00")),
        ("Monday 9a-5p", ("monday", "09:00", "17:00")),
        ("Monday 10am to 4pm", ("monday", "10:00", "16:00")),
        ("Monday 10am–4pm", ("monday", "10:00", "16:00")),  # en dash
        ("Monday 10am—4pm", ("monday", "10:00", "16:00")),  # em dash
        # 12am / 12pm
        ("Sunday 12pm-3pm", ("sunday", "12:00", "15:00")),
        ("Sunday 11am-12pm", ("sunday", "11:00", "12:00")),
        ("Sunday 12am-6am", ("sunday", "00:00", "06:00")),
        ("Mon 8pm-12am", ("monday", "20:00", "24:00")),
        ("Mon 12:30pm-1pm", ("monday", "12:30", "13:00")),
        ("Mon 12:30am-1am", ("monday", "00:30", "01:00")),
        ("Mon 12am-12am", ("monday", "00:00", "24:00")),
        # the start without am/pm takes the end's, unless that would put it after the end
        ("Mon 9-11am", ("monday", "09:00", "11:00")),
        ("Mon 1-5pm", ("monday", "13:00", "17:00")),
        ("Mon 12-3pm", ("monday", "12:00", "15:00")),
        ("Mon 10-4pm", ("monday", "10:00", "16:00")),
        ("Mon 11-1pm", ("monday", "11:00", "13:00")),
        ("Mon 10-12pm", ("monday", "10:00", "12:00")),
        ("Mon 14-5pm", ("monday", "14:00", "17:00")),
        ("Mon 00:30-1am", ("monday", "00:30", "01:00")),
        # whitespace and punctuation around the day
        ("  Monday   10am - 4pm  ", ("monday", "10:00", "16:00")),
        ("Mon. 10am-4pm", ("monday", "10:00", "16:00")),
        ("Mon, 10am-4pm", ("monday", "10:00", "16:00")),
    ],
)
def test_string_entries(entry, expected):
    day, start, end = expected
    assert parse_entry(entry).as_dict() == {"day": day, "start": start, "end": end}


@pytest.mark.parametrize(
    ("word", "day"),
    [
        ("Monday", "monday"),
        ("Mon", "monday"),
        ("Tuesday", "tuesday"),
        ("Tue", "tuesday"),
        ("Tues", "tuesday"),
        ("Wednesday", "wednesday"),
        ("Wed", "wednesday"),
        ("Weds", "wednesday"),
        ("Thursday", "thursday"),
        ("Thu", "thursday"),
        ("Thur", "thursday"),
        ("Thurs", "thursday"),
        ("Friday", "friday"),
        ("Fri", "friday"),
        ("Saturday", "saturday"),
        ("Sat", "saturday"),
        ("Sunday", "sunday"),
        ("Sun", "sunday"),
    ],
)
def test_day_names_and_abbreviations(word, day):
    window = parse_entry(f"{word} 09:00-10:00")
    assert window.day == day
    assert window.day_index == DAYS.index(day)


@pytest.mark.parametrize(
    "entry",
    ["MONDAY 10AM-4PM", "monday 10am-4pm", "mOnDaY 10Am-4pM", "MON 10 A.M. - 4 P.M.", "Monday 10am TO 4pm"],
)
def test_case_insensitive(entry):
    assert parse_entry(entry).as_dict() == {"day": "monday", "start": "10:00", "end": "16:00"}


# --- the object form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"day": "monday", "start": "10:00", "end": "16:00"}, ("monday", "10:00", "16:00")),
        ({"day": "Monday", "start": "10:00", "end": "16:00"}, ("monday", "10:00", "16:00")),
        ({"day": "THU", "start": "9:30", "end": "12:45"}, ("thursday", "09:30", "12:45")),
        ({"day": "friday", "start": "10am", "end": "4pm"}, ("friday", "10:00", "16:00")),
        ({"day": "friday", "start": "8pm", "end": "12am"}, ("friday", "20:00", "24:00")),
        ({"day": "friday", "start": "20:00", "end": "24:00"}, ("friday", "20:00", "24:00")),
        ({"day": "friday", "start": "20:00", "end": "00:00"}, ("friday", "20:00", "24:00")),
        ({"day": "friday", "start": "00:00", "end": "01:00"}, ("friday", "00:00", "01:00")),
    ],
)
def test_object_entries(entry, expected):
    day, start, end = expected
    assert parse_entry(entry).as_dict() == {"day": day, "start": start, "end": end}


def test_object_form_round_trips_through_as_dict():
    entries = [
        {"day": "monday", "start": "10:00", "end": "16:00"},
        {"day": "sunday", "start": "00:00", "end": "24:00"},
    ]
    assert as_dicts(parse_available_times(entries)) == entries


def test_both_forms_mixed_give_the_same_windows():
    windows = parse_available_times(["Monday 10am-4pm", {"day": "wednesday", "start": "13:00", "end": "17:00"}])
    assert windows == [WeeklyWindow(0, 600, 960), WeeklyWindow(2, 780, 1020)]


# --- errors: each quotes the offending entry ---------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        # unparseable strings
        ("Monday", "cannot read a day and a time range"),
        ("Monday 10am", "cannot read a day and a time range"),
        ("10am-4pm", "cannot read a day and a time range"),
        ("Monday10am-4pm", "cannot read a day and a time range"),
        ("Monday 10am-4pm and more", "cannot read a day and a time range"),
        ("Monday 10m-4m", "cannot read a day and a time range"),
        ("Monday 10:5-11", "cannot read a day and a time range"),
        ("Monday 100-200", "cannot read a day and a time range"),
        ("", "cannot read a day and a time range"),
        ("   ", "cannot read a day and a time range"),
        # unknown day
        ("Funday 10am-4pm", "'Funday' is not a day of the week"),
        ("Mo 10am-4pm", "'Mo' is not a day of the week"),
        ("Mondays 10am-4pm", "'Mondays' is not a day of the week"),
        # inverted or empty ranges
        ("Monday 4pm-10am", "the start must be before the end"),
        ("Monday 16:00-10:00", "the start must be before the end"),
        ("Monday 10am-10am", "the start must be before the end"),
        ("Monday 10:00-10:00", "the start must be before the end"),
        ("Monday 12pm-12pm", "the start must be before the end"),
        ("Monday 11-1am", "the start must be before the end"),
        # clocks out of range
        ("Monday 10:60-11:00", "minutes must be 00 to 59"),
        ("Monday 10:00-11:75", "minutes must be 00 to 59"),
        ("Monday 13pm-14pm", "a 12-hour time takes hours 1 to 12"),
        ("Monday 10am-13pm", "a 12-hour time takes hours 1 to 12"),
        ("Monday 0am-5am", "a 12-hour time takes hours 1 to 12"),
        ("Monday 10:00-25:00", "a 24-hour time takes 00:00 to 24:00"),
        ("Monday 25:00-26:00", "a 24-hour time takes 00:00 to 24:00"),
        ("Monday 20:00-24:30", "a 24-hour time takes 00:00 to 24:00"),
        ("Monday 24:00-24:00", "a window cannot start at 24:00"),
    ],
)
def test_bad_strings_are_refused_quoting_the_entry(entry, reason):
    with pytest.raises(ScheduleError) as info:
        parse_entry(entry)
    message = str(info.value)
    assert message.startswith(f'"{entry}": ')
    assert reason in message


@pytest.mark.parametrize(
    ("entry", "quoted", "reason"),
    [
        (
            {"day": "monday", "start": "10:00"},
            '{"day": "monday", "start": "10:00"}',
            "exactly the keys day, start and end",
        ),
        (
            {"day": "monday", "start": "10:00", "end": "16:00", "room": "3"},
            '{"day": "monday", "end": "16:00", "room": "3", "start": "10:00"}',
            "exactly the keys day, start and end",
        ),
        ({}, "{}", "exactly the keys day, start and end"),
        (
            {"day": "funday", "start": "10:00", "end": "16:00"},
            '{"day": "funday", "end": "16:00", "start": "10:00"}',
            "'funday' is not a day of the week",
        ),
        (
            {"day": 1, "start": "10:00", "end": "16:00"},
            '{"day": 1, "end": "16:00", "start": "10:00"}',
            "1 is not a day of the week",
        ),
        (
            {"day": "monday", "start": 10, "end": "16:00"},
            '{"day": "monday", "end": "16:00", "start": 10}',
            'start must be a time such as "10:00"',
        ),
        (
            {"day": "monday", "start": "10:00", "end": "late"},
            '{"day": "monday", "end": "late", "start": "10:00"}',
            'end must be a time such as "10:00"',
        ),
        (
            {"day": "monday", "start": "16:00", "end": "10:00"},
            '{"day": "monday", "end": "10:00", "start": "16:00"}',
            "the start must be before the end",
        ),
        (
            {"day": "monday", "start": "10:00", "end": "10:00"},
            '{"day": "monday", "end": "10:00", "start": "10:00"}',
            "the start must be before the end",
        ),
        (
            {"day": "monday", "start": "10:61", "end": "11:00"},
            '{"day": "monday", "end": "11:00", "start": "10:61"}',
            "minutes must be 00 to 59",
        ),
        (
            {"day": "monday", "start": "24:00", "end": "24:00"},
            '{"day": "monday", "end": "24:00", "start": "24:00"}',
            "a window cannot start at 24:00",
        ),
        # non-string, non-object entries
        (5, "5", "each entry is a string or an object"),
        (None, "null", "each entry is a string or an object"),
        (True, "true", "each entry is a string or an object"),
        (1.5, "1.5", "each entry is a string or an object"),
        (["Monday", "10am", "4pm"], '["Monday", "10am", "4pm"]', "each entry is a string or an object"),
    ],
)
def test_bad_entries_are_refused_quoting_the_entry(entry, quoted, reason):
    with pytest.raises(ScheduleError) as info:
        parse_entry(entry)
    message = str(info.value)
    assert message.startswith(f"{quoted}: ")
    assert reason in message


def test_unparseable_string_suggests_the_accepted_forms():
    with pytest.raises(ScheduleError, match=r'e\.g\. "Monday 10am-4pm", "Tue 09:00-12:30"'):
        parse_entry("whenever")


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_a_bad_entry_in_a_list_is_quoted():
    with pytest.raises(ScheduleError) as info:
        parse_available_times(["Monday 10am-4pm", "Funday 1pm-5pm"])
    assert str(info.value).startswith('"Funday 1pm-5pm": ')


# --- lists: overlaps, order, size --------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "first", "second", "day"),
    [
        (["Monday 10am-4pm", "Monday 3pm-5pm"], '"Monday 10am-4pm"', '"Monday 3pm-5pm"', "Monday"),
        (["Monday 3pm-5pm", "Monday 10am-4pm"], '"Monday 10am-4pm"', '"Monday 3pm-5pm"', "Monday"),
        (["Tue 09:00-18:00", "Tue 10:00-11:00"], '"Tue 09:00-18:00"', '"Tue 10:00-11:00"', "Tuesday"),
        (["Wed 10-12", "Wed 10-12"], '"Wed 10-12"', '"Wed 10-12"', "Wednesday"),
        (
            ["Thu 10am-4pm", {"day": "thursday", "start": "15:59", "end": "17:00"}],
            '"Thu 10am-4pm"',
            '{"day": "thursday", "end": "17:00", "start": "15:59"}',
            "Thursday",
        ),
        # an overlap hidden behind a shorter window in between is still found
        (["Fri 08:00-18:00", "Fri 09:00-10:00", "Fri 11:00-12:00"], '"Fri 08:00-18:00"', '"Fri 09:00-10:00"', "Friday"),
    ],
)
def test_overlapping_windows_on_one_day_are_refused_naming_both(entries, first, second, day):
    with pytest.raises(ScheduleError) as info:
        parse_available_times(entries)
    assert str(info.value) == f"{first} and {second} overlap on {day}."


def test_overlap_with_a_long_window_is_found_past_a_shorter_one():
    with pytest.raises(ScheduleError, match="overlap on Friday"):
        parse_available_times(["Fri 11:00-12:00", "Fri 08:00-18:00"])


@pytest.mark.parametrize(
    "entries",
    [
        ["Monday 10:00-12:00", "Monday 12:00-14:00"],
        ["Monday 12pm-2pm", "Monday 10am-12pm"],
        ["Monday 8am-12pm", "Monday 12pm-8pm", "Monday 8pm-12am"],
    ],
)
def test_adjacent_windows_are_accepted(entries):
    windows = parse_available_times(entries)
    assert len(windows) == len(entries)
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))


def test_same_hours_on_different_days_are_accepted():
    windows = parse_available_times(["Monday 10am-4pm", "Tuesday 10am-4pm", "Sunday 10:00-16:00"])
    assert as_dicts(windows) == [
        {"day": "monday", "start": "10:00", "end": "16:00"},
        {"day": "tuesday", "start": "10:00", "end": "16:00"},
        {"day": "sunday", "start": "10:00", "end": "16:00"},
    ]


def test_output_is_sorted_by_day_then_start():
    windows = parse_available_times(
        [
            "Sunday 9am-10am",
            "Wednesday 3pm-5pm",
            "Monday 2pm-4pm",
            {"day": "wednesday", "start": "08:00", "end": "09:00"},
            "Monday 8am-9am",
            "Tue 12:00-13:00",
        ]
    )
    assert [(w.day, format_clock(w.start)) for w in windows] == [
        ("monday", "08:00"),
        ("monday", "14:00"),
        ("tuesday", "12:00"),
        ("wednesday", "08:00"),
        ("wednesday", "15:00"),
        ("sunday", "09:00"),
    ]


def test_empty_list_is_accepted():
    assert parse_available_times([]) == []


def test_at_most_max_entries():
    # 7 days x 10 one-hour windows = 70 entries, none overlapping
    entries = [f"{day} {hour:02d}:00-{hour + 1:02d}:00" for day in DAYS for hour in range(8, 18)]
    assert len(entries) == MAX_ENTRIES == 70
    assert len(parse_available_times(entries)) == MAX_ENTRIES
    with pytest.raises(ScheduleError, match=f"At most {MAX_ENTRIES} entries"):
        parse_available_times([*entries, "Monday 20:00-21:00"])


@pytest.mark.parametrize("entries", ["Monday 10am-4pm", {"day": "monday", "start": "10:00", "end": "16:00"}, None, 5])
def test_not_a_list_is_refused(entries):
    with pytest.raises(ScheduleError, match="Expected a list of entries"):
        parse_available_times(entries)


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "00:00"), (5, "00:05"), (600, "10:00"), (754, "12:34"), (MINUTES_PER_DAY, "24:00")]
)
def test_format_clock(minutes, text):
    assert format_clock(minutes) == text


def test_windows_order_by_day_then_start_then_end():
    assert sorted([WeeklyWindow(1, 0, 60), WeeklyWindow(0, 120, 180), WeeklyWindow(0, 60, 120)]) == [
        WeeklyWindow(0, 60, 120),
        WeeklyWindow(0, 120, 180),
        WeeklyWindow(1, 0, 60),
    ]
