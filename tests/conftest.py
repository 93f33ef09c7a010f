import os

import pytest

from tests.stack import LocalStack

_stack = LocalStack()


def pytest_configure(config):
    # Before pytest-django sets Django up (its pytest_configure runs last): PynamoDB models read
    # endpoints and table names from settings when they are defined.
    _stack.prepare_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
    import django

    django.setup()


def pytest_unconfigure(config):
    _stack.stop()


@pytest.fixture(scope="session")
def aws_stack():
    """DynamoDB Local and moto server up, with this run's tables, queues and topic."""
    from django.core.management import call_command

    from scheduler import aws, db

    _stack.wait_until_up()
    call_command("bootstrap", wait=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    yield _stack
    for model in db.registered_models():
        if model.exists():
            model.delete_table()
    sqs = aws.client("sqs")
    for url in sqs.list_queues(QueueNamePrefix=os.environ["SQS_QUEUE_PREFIX"]).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    arn = aws.topic_arn()
    if arn:
        aws.client("sns").delete_topic(TopicArn=arn)


@pytest.fixture
def empty_tables(aws_stack):
    """Each integration test starts with empty tables (this run's tables only)."""
    from countries.selectors import country_policy_forget
    from scheduler import db

    country_policy_forget()
    for model in db.registered_models():
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    yield


PASSWORD = "correct horse battery staple"


def signed_in(username: str, role: str = "admin", **links) -> "APIClient":  # noqa: F821
    """A client carrying a real token of a new user with this role (created through the service,
    signed in through POST /auth/token)."""
    from rest_framework.test import APIClient

    from accounts import services

    services.user_create(username=username, password=PASSWORD, role=role, **links)
    client = APIClient()
    response = client.post("/auth/token", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    client.token = response.json()["token"]
    return client


@pytest.fixture
def anonymous(empty_tables):
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api(empty_tables):
    """An admin's client: the suites that test resources, not access, act as an admin."""
    return signed_in("admin")
