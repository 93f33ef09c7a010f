"""`import`'s batch writes and point-in-time recovery's endpoint rule, no services: DynamoDB Local never
leaves items unprocessed, so the client is stubbed (the round trips are in
tests/integration/scheduler/test_backup.py)."""

import pytest
from botocore.stub import Stubber

from scheduler import db
from scheduler.db import tables


def raw_client():
    return db.connection().client


def test_unprocessed_items_are_sent_again(monkeypatch):
    """DynamoDB Local never leaves items unprocessed; AWS does under load. So the client is stubbed."""
    monkeypatch.setattr(db.batch.time, "sleep", lambda seconds: None)
    items = [{"slotKey": {"S": f"k{i}"}} for i in range(3)]
    client = raw_client()
    with Stubber(client) as stub:
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {"t": [{"PutRequest": {"Item": items[2]}}]}},
            {"RequestItems": {"t": [{"PutRequest": {"Item": item}} for item in items]}},
        )
        stub.add_response(
            "batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"t": [{"PutRequest": {"Item": items[2]}}]}}
        )
        db.batch_put_raw("t", items)
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("endpoint", "is_aws"),
    [
        (None, True),
        ("", True),
        ("https://dynamodb.eu-west-1.amazonaws.com", True),
        ("https://dynamodb-fips.us-east-1.amazonaws.com", True),
        ("https://dynamodb.cn-north-1.amazonaws.com.cn", True),
        ("http://127.0.0.1:4200", False),
        ("http://localhost:8000", False),
        ("http://dynamodb:8000", False),
        ("https://notamazonaws.com", False),
    ],
)
def test_which_endpoints_are_aws(endpoint, is_aws):
    assert tables.is_aws_endpoint(endpoint) is is_aws
