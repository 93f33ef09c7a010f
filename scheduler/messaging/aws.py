"""SQS and SNS: clients built from settings, the names of every queue and the topic, and the
infrastructure bootstrap (tables, queues with dead-letter queues, topic, subscription)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from scheduler import db


@cache
def client(service: str):
    endpoints = {"sqs": settings.SQS_ENDPOINT, "sns": settings.SNS_ENDPOINT, "dynamodb": settings.DYNAMODB_ENDPOINT}
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


# --- Bootstrap -----------------------------------------------------------------------------------

Report = Callable[[str, str], None]  # (what happened: "created" | "found", what)


def ensure_tables(report: Report, *, wait: bool) -> None:
    """Create the missing tables; on AWS, also turn point-in-time recovery on for every table
    (emulators such as DynamoDB Local do not have it)."""
    recovery = is_aws_endpoint(settings.DYNAMODB_ENDPOINT)
    for model in db.registered_models():
        _ensure_table(model, report, wait=wait)
        if recovery:
            ensure_point_in_time_recovery(model.Meta.table_name, report)


def _ensure_table(model, report: Report, *, wait: bool) -> None:
    name = model.Meta.table_name
    if model.exists():
        report("found", f"table {name}")
        ensure_indexes(model, report)
        return
    try:
        model.create_table(wait=wait, billing_mode="PAY_PER_REQUEST")
    except Exception as exc:  # another bootstrap created it in between
        if "ResourceInUseException" not in repr(exc) and "Table already exists" not in str(exc):
            raise
        report("found", f"table {name}")
        return
    report("created", f"table {name}")


def is_aws_endpoint(endpoint: str | None) -> bool:
    """Whether an endpoint setting means AWS itself: none (boto3 picks AWS's) or an amazonaws.com
    host. Anything else is an emulator (DynamoDB Local, moto)."""
    if not endpoint:
        return True
    host = (urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname or "").rstrip(".")
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


# A table created a moment ago refuses backups for a while ("Backups are being enabled for the table").
RECOVERY_ATTEMPTS = 10
_RECOVERY_NOT_YET = {"ContinuousBackupsUnavailableException", "TableNotFoundException"}


def ensure_point_in_time_recovery(table_name: str, report: Report) -> None:
    """Turn DynamoDB point-in-time recovery on for a table (35 days of restorable history)."""
    dynamodb = client("dynamodb")
    for attempt in range(RECOVERY_ATTEMPTS):
        try:
            description = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
            status = description.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
            if status in ("ENABLED", "ENABLING"):
                report("found", f"point-in-time recovery of {table_name}")
                return
            dynamodb.update_continuous_backups(
                TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            report("created", f"point-in-time recovery of {table_name}")
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _RECOVERY_NOT_YET or attempt + 1 == RECOVERY_ATTEMPTS:
                raise
            time.sleep(min(2**attempt, 10))


# DynamoDB builds a new GSI from the table's items; a big table takes minutes to hours.
INDEX_ACTIVE_TIMEOUT_SECONDS = 6 * 3600


def index_statuses(table: str) -> dict[str, str]:
    """The table's GSIs and their status (CREATING, ACTIVE, DELETING...), from one DescribeTable."""
    indexes = client("dynamodb").describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    return {index["IndexName"]: index["IndexStatus"] for index in indexes}


def ensure_indexes(model, report: Report) -> None:
    """Add the GSIs the model declares that its existing table lacks: one per UpdateTable (DynamoDB
    builds one at a time), each waited for until ACTIVE. Indexes the model no longer declares stay
    (`backfill_keys --drop-old-indexes` removes them, on purpose, never bootstrap)."""
    dynamodb = client("dynamodb")
    name = model.Meta.table_name
    existing = index_statuses(name)
    for index in model._get_schema()["global_secondary_indexes"]:
        index_name = index["index_name"]
        if index_name in existing:
            continue
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index_name,
                        # DynamoDB wants the hash key first; PynamoDB's schema lists them in any order.
                        "KeySchema": sorted(index["key_schema"], key=lambda key: key["KeyType"] != "HASH"),
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        wait_for_index(name, index_name, lambda status: status == "ACTIVE")
        report("created", f"index {index_name} of table {name}")


def drop_index(model, index_name: str) -> bool:
    """Delete one GSI of the model's table and wait until it is gone; False if it was not there."""
    dynamodb = client("dynamodb")
    name = model.Meta.table_name
    if index_name not in index_statuses(name):
        return False
    dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index_name}}])
    wait_for_index(name, index_name, lambda status: status is None)
    return True


def wait_for_index(table: str, index_name: str, done: Callable[[str | None], bool]) -> None:
    """Wait until the index's status (None once it is gone) satisfies `done`."""
    deadline = time.monotonic() + INDEX_ACTIVE_TIMEOUT_SECONDS
    while True:
        status = index_statuses(table).get(index_name)
        if done(status):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {index_name} of table {table} is still {status}")
        time.sleep(1 if status else 0.2)


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
        if exc.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
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
            if exc.response.get("Error", {}).get("Code") not in ("NotFound", "NotFoundException"):
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
        for page in client("dynamodb").get_paginator("list_tables").paginate():
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
        "dynamodb": lambda: client("dynamodb").list_tables(Limit=1),
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
