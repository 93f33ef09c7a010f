"""The shared DynamoDB layer: transactions under faults the emulator cannot produce, cursors, the
reading of AWS error codes."""

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError

from scheduler import db
from scheduler.exceptions import InvalidInput

CHILE = {"countryId": "002", "name": "CHILE", "code": "CL"}


def conflicting_connection(times: int):
    """A `db.transactions.transaction_connection` replacement whose first `times` connections answer TransactWriteItems
    with a TransactionConflict cancellation, as DynamoDB does under contention."""
    real = db.connection
    made = {"count": 0, "stubbers": []}

    def connection() -> Connection:
        made["count"] += 1
        if made["count"] > times:
            return real()
        conn = real.__wrapped__()  # a connection of its own, so that the stub stays on it
        stubber = Stubber(conn.client)
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled, please refer cancellation reasons for specific reasons",
            http_status_code=400,
            modeled_fields={
                "CancellationReasons": [
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
                    {"Code": "None"},
                ]
            },
        )
        stubber.activate()
        made["stubbers"].append(stubber)
        return conn

    return connection, made


def test_transaction_conflict_is_retried(api, monkeypatch):
    connection, made = conflicting_connection(times=2)
    monkeypatch.setattr(db.transactions, "transaction_connection", connection)
    response = api.post("/countries", CHILE, format="json")
    assert response.status_code == 201, response.content
    assert made["count"] == 3  # two conflicts, then the real commit
    for stubber in made["stubbers"]:
        stubber.assert_no_pending_responses()
    assert api.get("/countries/002").status_code == 200


def test_persistent_transaction_conflict_is_409_and_writes_nothing(api, monkeypatch):
    connection, made = conflicting_connection(times=db.TRANSACTION_ATTEMPTS)
    monkeypatch.setattr(db.transactions, "transaction_connection", connection)
    response = api.post("/countries", CHILE, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert made["count"] == db.TRANSACTION_ATTEMPTS
    monkeypatch.undo()
    assert api.get("/countries/002").status_code == 404


def test_unreachable_dynamodb_is_503_not_500(api, monkeypatch):
    from countries.models import Country

    monkeypatch.setattr(Country.Meta, "host", "http://127.0.0.1:9")
    monkeypatch.setattr(Country.Meta, "max_retry_attempts", 0)
    monkeypatch.setattr(Country, "_connection", None)
    response = api.get("/countries/002")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"


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


# --- Lost races -----------------------------------------------------------------------------------


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
    assert failure.code == ("slot_taken" if error == "conflict" else "version_mismatch")


# --- One client per process ------------------------------------------------------------------------


def test_every_table_shares_the_process_dynamodb_client(aws_stack):
    """A botocore client per model meant a botocore session per model: ~9 MB of parsed service data
    each, ~90 MB of every API process with ten tables."""
    clients = {id(model._get_connection().connection.client) for model in db.registered_models()}
    assert clients == {id(db.connection().client)}


def test_a_model_pointed_elsewhere_keeps_its_own_client(aws_stack, monkeypatch):
    from countries.models import Country

    monkeypatch.setattr(Country.Meta, "host", "http://127.0.0.1:9")
    monkeypatch.setattr(Country, "_connection", None)
    assert Country._get_connection().connection.client is not db.connection().client


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
