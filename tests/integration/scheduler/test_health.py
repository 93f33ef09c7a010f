import boto3

from scheduler.messaging import aws


def test_live(api):
    response = api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_everything_answers(api):
    response = api.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json()["components"] == {"dynamodb": "ok", "sqs": "ok", "sns": "ok"}


def test_not_ready_names_the_part_that_is_down(api, monkeypatch):
    real_client = aws.client

    def client(service):
        if service == "sqs":  # a port nothing listens on
            return boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        return real_client(service)

    monkeypatch.setattr(aws, "client", client)
    response = api.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["sqs"]
    assert body["components"]["sqs"].startswith("unreachable")
    assert body["components"]["dynamodb"] == "ok"


def test_not_ready_when_a_table_is_missing(api, monkeypatch, settings):
    from countries.models import Country

    monkeypatch.setattr(Country.Meta, "table_name", "no-such-table")
    response = api.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["components"]["dynamodb"] == "missing tables: no-such-table"
