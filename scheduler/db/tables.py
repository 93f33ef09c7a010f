"""The tables' life outside requests: bootstrap creates the missing tables and the indexes a model
declares that its table lacks, turns point-in-time recovery on against AWS, and drops an index the
models no longer use (`backfill_keys --drop-old-indexes`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.conf import settings

from scheduler.db.errors import error_code
from scheduler.db.models import dynamodb_client, registered_models

Report = Callable[[str, str], None]  # (what happened: "created" | "found", what)


def ensure_tables(report: Report, *, wait: bool) -> None:
    """Create the missing tables; on AWS, also turn point-in-time recovery on for every table
    (emulators such as DynamoDB Local do not have it)."""
    recovery = is_aws_endpoint(settings.DYNAMODB_ENDPOINT)
    for model in registered_models():
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
    dynamodb = dynamodb_client()
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
            if error_code(exc) not in _RECOVERY_NOT_YET or attempt + 1 == RECOVERY_ATTEMPTS:
                raise
            time.sleep(min(2**attempt, 10))


# DynamoDB builds a new GSI from the table's items; a big table takes minutes to hours.
INDEX_ACTIVE_TIMEOUT_SECONDS = 6 * 3600


def index_statuses(table: str) -> dict[str, str]:
    """The table's GSIs and their status (CREATING, ACTIVE, DELETING...), from one DescribeTable."""
    indexes = dynamodb_client().describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    return {index["IndexName"]: index["IndexStatus"] for index in indexes}


def ensure_indexes(model, report: Report) -> None:
    """Add the GSIs the model declares that its existing table lacks: one per UpdateTable (DynamoDB
    builds one at a time), each waited for until ACTIVE. Indexes the model no longer declares stay
    (`backfill_keys --drop-old-indexes` removes them, on purpose, never bootstrap)."""
    dynamodb = dynamodb_client()
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
    dynamodb = dynamodb_client()
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
