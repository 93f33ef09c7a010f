"""The shared DynamoDB layer against DynamoDB Local: transactions under faults the emulator cannot produce,
one client per process (cursors and lost races, without services: tests/unit/test_db.py)."""

from botocore.stub import Stubber
from pynamodb.connection import Connection

from scheduler import db

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


# --- Lost races -----------------------------------------------------------------------------------


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
