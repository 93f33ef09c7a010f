"""The shared DynamoDB layer's pure parts: signed cursors, the retry of lost races, the malloc arena
cap (the transactions against DynamoDB Local are in tests/integration/scheduler/test_db.py)."""

import pytest

from scheduler import db
from scheduler.exceptions import InvalidInput


def test_cursor_round_trip_and_scope():
    key = {"countryId": {"S": "002"}}
    cursor = db.encode_cursor(key, "all")
    assert db.decode_cursor(cursor, "all") == key
    with pytest.raises(InvalidInput) as other:
        db.decode_cursor(cursor, "country:001")
    assert other.value.field == "cursor"
    with pytest.raises(InvalidInput):
        db.decode_cursor(cursor[:-2] + "xx", "all")
    with pytest.raises(InvalidInput):
        db.decode_cursor("not-a-cursor", "all")
    assert db.encode_cursor(None, "all") is None
    assert db.decode_cursor(None, "all") is None


def test_a_lost_race_is_judged_again_until_it_wins():
    from scheduler.db import retry_lost_races
    from scheduler.exceptions import VersionConflict

    seen = []

    def attempt(n):
        seen.append(n)
        if n < 2:
            raise VersionConflict("lost")
        return "won"

    assert retry_lost_races(attempt) == "won"
    assert seen == [0, 1, 2]


def test_a_race_lost_every_time_ends_in_its_409():
    from scheduler.db import retry_lost_races
    from scheduler.exceptions import VersionConflict

    seen = []

    def attempt(n):
        seen.append(n)
        raise VersionConflict("lost")

    with pytest.raises(VersionConflict) as raised:
        retry_lost_races(attempt, attempts=4)
    assert seen == [0, 1, 2, 3] and raised.value.status_code == 409


@pytest.mark.parametrize("error", ["conflict", "precondition"])
def test_other_conflicts_and_a_pinned_version_are_not_retried(error):
    from scheduler.db import retry_lost_races, version_conflict
    from scheduler.exceptions import Conflict

    seen = []
    failure = Conflict("slot taken", field="doctorId") if error == "conflict" else version_conflict(3)

    def attempt(n):
        seen.append(n)
        raise failure

    with pytest.raises(type(failure)):
        retry_lost_races(attempt)
    assert seen == [0]
    assert failure.status_code == (409 if error == "conflict" else 412)


def test_malloc_arenas_are_capped_where_the_c_library_is_glibc():
    import platform

    from scheduler.memory import limit_malloc_arenas

    assert limit_malloc_arenas(0) is False  # 0 leaves glibc's default
    if platform.libc_ver()[0] == "glibc":
        assert limit_malloc_arenas(2) is True
