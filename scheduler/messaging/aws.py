"""SQS and SNS: clients built from settings, the names of every queue and the topic, their
bootstrap (queues with dead-letter queues, topic, subscription) and every service's readiness.
The tables' bootstrap is the DynamoDB layer's (`scheduler.db.tables`)."""

from __future__ import annotations

import json
import time
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from scheduler import db
from scheduler.db.tables import Report


@cache
def client(service: str):
    """The SQS or SNS client (DynamoDB's is `db.dynamodb_client()`, the DynamoDB layer's own)."""
    endpoints = {"sqs": settings.SQS_ENDPOINT, "sns": settings.SNS_ENDPOINT}
    return boto3.client(
        service,
        region_name=settings.AWS_REGION,
        endpoint_url=endpoints[service],
        config=Config(
            connect_timeout=settings.AWS_CONNECT_TIMEOUT,
            # SQS long polls hold a request up to 20 s: a shorter timeout would lose received messages.
            read_timeout=settings.AWS_READ_TIMEOUT + (20 if service == "sqs" else 0),
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )


# --- Names ---------------------------------------------------------------------------------------


def queue_name(suffix: str) -> str:
    return f"{settings.SQS_QUEUE_PREFIX}{suffix}"


def country_queue_suffix(country_code: str) -> str:
    return f"appointments-{country_code.lower()}"


def dead_letter_name(name: str) -> str:
    return f"{name}-dlq"


def base_queue_suffixes(country_codes: list[str]) -> list[str]:
    """Celery's default queue, beat's periodic queue, the notifications queue and one queue per country."""
    return [settings.CELERY_TASK_DEFAULT_QUEUE, "periodic", "notifications"] + [
        country_queue_suffix(code) for code in sorted(set(country_codes))
    ]


# What SQS answers for a queue that does not exist (the query API's code, and the JSON API's).
MISSING_QUEUE_CODES = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")

_found_topics: dict[str, str] = {}


def topic_arn() -> str | None:
    """The configured topic, else the one named SNS_TOPIC_NAME if it exists (bootstrap creates it)."""
    if settings.SNS_TOPIC_ARN:
        return settings.SNS_TOPIC_ARN
    name = settings.SNS_TOPIC_NAME
    if name in _found_topics:
        return _found_topics[name]
    for page in client("sns").get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].endswith(f":{name}"):
                _found_topics[name] = topic["TopicArn"]
                return topic["TopicArn"]
    return None


# --- Depth ---------------------------------------------------------------------------------------


def queue_counts(suffix: str, *, url: str | None = None) -> tuple[int, int]:
    """A queue's (messages waiting, visible or delayed; messages in flight, received and not yet
    deleted); (0, 0) for a queue that does not exist. SQS's counts are approximate (eventually
    consistent): a guide for sweeps and operators, not a ledger. Its dead-letter queue is not counted."""
    sqs = client("sqs")
    try:
        url = url or sqs.get_queue_url(QueueName=queue_name(suffix))["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        ).get("Attributes", {})
    except ClientError as exc:
        if db.error_code(exc) not in MISSING_QUEUE_CODES:
            raise
        return 0, 0
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    waiting += int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
    return waiting, int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))


def queue_depth(suffix: str) -> int:
    """Every message the queue holds: waiting, in flight and delayed."""
    return sum(queue_counts(suffix))


# --- Bootstrap -----------------------------------------------------------------------------------

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's longest: dead letters wait for a person


def ensure_queue(suffix: str, report: Report, *, reconcile: bool = False) -> str:
    """Create the queue and its dead-letter queue when missing; return the queue's URL. With
    `reconcile` (bootstrap), an existing queue's visibility timeout and redrive policy are set to
    the configured ones too; otherwise an existing queue is left as it is."""
    sqs = client("sqs")
    name = queue_name(suffix)
    dlq_name = dead_letter_name(name)
    dlq_url = _ensure_one_queue(dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}, report)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.SQS_MAX_RECEIVE_COUNT)})
    attributes = {
        "RedrivePolicy": redrive,
        "VisibilityTimeout": str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]),
    }
    url = _ensure_one_queue(name, attributes, report)
    if reconcile:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
        return url
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
    if "RedrivePolicy" not in current:  # a queue made elsewhere without one: give it its DLQ
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})
        report("created", f"redrive policy of {name}")
    return url


def _ensure_one_queue(name: str, attributes: dict, report: Report) -> str:
    sqs = client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        report("found", f"queue {name}")
        return url
    except ClientError as exc:
        if db.error_code(exc) not in MISSING_QUEUE_CODES:
            raise
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    report("created", f"queue {name}")
    return url


# When this process last made sure the topic and its subscription exist; 0 until its first publish, and
# again after it sees SNS or SQS fail or a queue vanish (an emulator restarted empty): a topic made
# again by another process may not have its subscription yet, and what is published to it is lost.
_topic_checked_at = 0.0
TOPIC_CHECK_SECONDS = 60.0


def topic_check_due() -> bool:
    return time.monotonic() - _topic_checked_at > TOPIC_CHECK_SECONDS


def request_topic_check() -> None:
    global _topic_checked_at
    _topic_checked_at = 0.0


def ensure_publishable_topic() -> str:
    """The topic ARN, after making sure (at most once a minute, and after a failure) that the topic,
    the notifications queue and the queue's subscription all exist, making what is missing."""
    global _topic_checked_at
    if not topic_check_due():
        arn = topic_arn()
        if arn:
            return arn
    queue_url = settings.SQS_QUEUE_URL or ensure_queue("notifications", lambda *_: None)
    arn = ensure_topic_and_subscription(queue_url, lambda *_: None)
    _topic_checked_at = time.monotonic()
    return arn


def ensure_topic_and_subscription(notifications_url: str, report: Report) -> str:
    sns, sqs = client("sns"), client("sqs")
    arn = topic_arn()
    if arn and not settings.SNS_TOPIC_ARN:
        try:
            sns.get_topic_attributes(TopicArn=arn)
        except ClientError as exc:  # found earlier, gone since (moto restarted empty): make it again
            if db.error_code(exc) not in ("NotFound", "NotFoundException"):
                raise
            _found_topics.pop(settings.SNS_TOPIC_NAME, None)
            arn = None
    if arn:
        sns.get_topic_attributes(TopicArn=arn)
        report("found", f"topic {arn}")
    else:
        arn = sns.create_topic(Name=settings.SNS_TOPIC_NAME)["TopicArn"]
        _found_topics[settings.SNS_TOPIC_NAME] = arn
        report("created", f"topic {arn}")
    queue_arn = sqs.get_queue_attributes(QueueUrl=notifications_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    if any(s["Endpoint"] == queue_arn and s["Protocol"] == "sqs" for s in subscriptions):
        report("found", f"subscription {queue_arn}")
    else:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        report("created", f"subscription {queue_arn} (raw delivery)")
    # Let the topic deliver to the queue (AWS checks this policy; moto does not).
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=notifications_url, Attributes={"Policy": json.dumps(policy)})
    return arn


def notifications_queue_url() -> str:
    """The queue the topic delivers to: the original service's SQS_QUEUE_URL when given."""
    return settings.SQS_QUEUE_URL or client("sqs").get_queue_url(QueueName=queue_name("notifications"))["QueueUrl"]


# --- Readiness -----------------------------------------------------------------------------------


def readiness() -> dict[str, str]:
    """Each component's state: "ok" or why it is not ready."""
    components: dict[str, str] = {}
    try:
        names = set()
        for page in db.dynamodb_client().get_paginator("list_tables").paginate():
            names.update(page["TableNames"])
        missing = [m.Meta.table_name for m in db.registered_models() if m.Meta.table_name not in names]
        components["dynamodb"] = f"missing tables: {', '.join(missing)}" if missing else "ok"
    except Exception as exc:  # any failure means "not ready"; the kind is enough to act on
        components["dynamodb"] = f"unreachable ({type(exc).__name__})"
    try:
        client("sqs").get_queue_url(QueueName=queue_name(settings.CELERY_TASK_DEFAULT_QUEUE))
        components["sqs"] = "ok"
    except ClientError:
        components["sqs"] = f"missing queue {queue_name(settings.CELERY_TASK_DEFAULT_QUEUE)}"
    except Exception as exc:
        components["sqs"] = f"unreachable ({type(exc).__name__})"
    try:
        arn = topic_arn()
        if arn:
            client("sns").get_topic_attributes(TopicArn=arn)
        components["sns"] = "ok" if arn else f"missing topic {settings.SNS_TOPIC_NAME}"
    except ClientError:
        components["sns"] = f"missing topic {settings.SNS_TOPIC_ARN or settings.SNS_TOPIC_NAME}"
    except Exception as exc:
        components["sns"] = f"unreachable ({type(exc).__name__})"
    return components


def unreachable_services() -> list[str]:
    """The services whose endpoint does not answer at all (used while they start)."""
    probes = {
        "dynamodb": lambda: db.dynamodb_client().list_tables(Limit=1),
        "sqs": lambda: client("sqs").list_queues(MaxResults=1),
        "sns": lambda: client("sns").list_topics(),
    }
    down = []
    for name, probe in probes.items():
        try:
            probe()
        except ClientError:
            pass  # it answered
        except Exception:
            down.append(name)
    return down
