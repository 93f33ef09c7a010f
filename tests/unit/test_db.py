"""The shared DynamoDB layer's pure parts: signed cursors, the retry of lost races, the malloc arena
cap (the transactions against DynamoDB Local are in tests/integration/scheduler/test_db.py)."""

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import PutError, TransactWriteError

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
    failure = Conflict("slot taken", code="slot_taken") if error == "conflict" else version_conflict(3)

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


# --- Error codes ----------------------------------------------------------------------------------


def client_error(code: str, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "refused"}}, operation)


def test_the_code_of_a_pynamodb_error_is_its_causes():
    error = PutError("Failed to put item", cause=client_error("ConditionalCheckFailedException"))
    assert db.error_code(error) == "ConditionalCheckFailedException"


def test_a_pynamodb_error_without_an_answer_has_no_code():
    """A DynamoDB that stopped answering mid-transaction: the cause is botocore's ReadTimeoutError, whose
    `response` is None (PynamoDB's `cause_response_code` raises AttributeError on it)."""
    error = TransactWriteError("Failed to write transaction items", cause=ReadTimeoutError(endpoint_url="http://db"))
    assert db.error_code(error) is None
    assert db.error_code(PutError("Failed to put item")) is None  # no cause at all


def test_the_code_of_a_client_error():
    assert db.error_code(client_error("QueueDoesNotExist", "GetQueueUrl")) == "QueueDoesNotExist"
    assert db.error_code(ClientError({}, "Publish")) is None  # a response without an error in it


def test_an_exception_that_is_not_an_aws_answer_has_no_code():
    assert db.error_code(ValueError("no")) is None
    assert db.error_code(ReadTimeoutError(endpoint_url="http://sqs")) is None
