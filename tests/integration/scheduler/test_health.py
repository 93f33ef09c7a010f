import logging

import boto3
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from scheduler import db, views
from scheduler.messaging import aws


@pytest.fixture(autouse=True)
def fresh_readiness():
    """Each test computes readiness itself, and leaves no (failing) answer behind for the next."""
    views.ready_cache.clear()
    yield
    views.ready_cache.clear()


def test_live(api):
    response = api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_everything_answers(api):
    response = api.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json()["components"] == {"dynamodb": "ok", "sqs": "ok", "sns": "ok"}


def test_not_ready_names_the_part_that_is_down(api, monkeypatch, caplog):
    real_client = aws.client

    def client(service):
        if service == "sqs":  # a port nothing listens on
            return boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        return real_client(service)

    monkeypatch.setattr(aws, "client", client)
    with caplog.at_level(logging.WARNING, logger="scheduler.views"):
        response = api.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["sqs"]
    assert body["components"] == {"dynamodb": "ok", "sqs": "unavailable", "sns": "ok"}
    assert "sqs: unreachable" in caplog.text  # the reason is for the operators' log


def test_not_ready_when_a_table_is_missing_names_no_table(api, monkeypatch, caplog):
    from countries.models import Country

    monkeypatch.setattr(Country.Meta, "table_name", "no-such-table")
    with caplog.at_level(logging.WARNING, logger="scheduler.views"):
        response = APIClient().get("/health/ready")  # anonymous, as a load balancer asks
    assert response.status_code == 503
    assert response.json()["failing"] == ["dynamodb"]
    assert response.json()["components"]["dynamodb"] == "unavailable"
    assert b"no-such-table" not in response.content and b"test-" not in response.content
    assert "missing tables: no-such-table" in caplog.text


@pytest.fixture
def aws_calls(monkeypatch):
    """Every API call the readiness clients make, by operation name (botocore's before-call event)."""
    calls: list[str] = []

    def counted(model, **kwargs):
        calls.append(model.name)

    clients = [db.dynamodb_client(), aws.client("sqs"), aws.client("sns")]
    for client in clients:
        client.meta.events.register("before-call", counted, unique_id="health-test-counter")
    monkeypatch.setattr(aws, "_found_topics", {})  # the topic's look-up is one of the calls
    yield calls
    for client in clients:
        client.meta.events.unregister("before-call", unique_id="health-test-counter")


def test_a_flood_of_readiness_checks_makes_few_aws_calls(api, monkeypatch, aws_calls):
    now = [1000.0]
    monkeypatch.setattr(views.ready_cache, "clock", lambda: now[0])
    anonymous = APIClient()
    assert anonymous.get("/health/ready").status_code == 200
    one_check = len(aws_calls)
    assert one_check >= 3  # DynamoDB, SQS and SNS each asked
    for _ in range(50):
        assert anonymous.get("/health/ready").status_code == 200
    assert len(aws_calls) == one_check  # answered from the process's cache
    now[0] += 60
    assert anonymous.get("/health/ready").status_code == 200
    assert len(aws_calls) == 2 * one_check - 1  # stale: asked again, once (the topic's ARN is kept)


def test_readiness_is_rate_limited_per_address(api):
    with override_settings(HEALTH_RATE_LIMIT="5/minute"):
        flood = [APIClient().get("/health/ready", REMOTE_ADDR="192.0.2.77") for _ in range(7)]
        assert [r.status_code for r in flood] == [200] * 5 + [429] * 2
        assert flood[-1].json()["code"] == "throttled" and int(flood[-1]["Retry-After"]) > 0
        assert APIClient().get("/health/ready", REMOTE_ADDR="192.0.2.78").status_code == 200


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/auth/login"])
def test_head_is_answered_wherever_get_is(api, path):
    """api.md: HEAD is answered wherever GET is, health checks included (load balancers use it)."""
    got, head = api.get(path), api.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
