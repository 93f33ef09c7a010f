"""The model base every stored record uses: `Meta` from settings, the registry of models that own a
table, and the one botocore client they all share.

PynamoDB resolves `Meta` when a model class is defined, so host, region and table name are read
from settings at import time (PynamoDB issues #287, #1275); transactions get a `Connection` built
with the same host and region (PynamoDB issue #809).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TypeVar

import boto3
from botocore.config import Config
from django.conf import settings
from pynamodb.attributes import UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

from scheduler.db.clock import utcnow

M = TypeVar("M", bound=Model)

# Every model that owns a table, so that bootstrap and the tests know them all.
_REGISTRY: list[type[Model]] = []


def register(model: type[M]) -> type[M]:
    """Class decorator: record a model whose table bootstrap must create, and make its PynamoDB
    connection use the process's one botocore client (`connection()`)."""
    if model not in _REGISTRY:
        _REGISTRY.append(model)
        _share_client(model)
    return model


def _share_client(model: type[Model]) -> None:
    """PynamoDB gives every model class a connection of its own, each building its botocore client
    from a botocore session of its own: ten tables made ten sessions, each holding its own parsed
    endpoint and DynamoDB service data, about 90 MB of an API process. One thread-safe client,
    made with the same host, region, timeouts and retries as the models' Meta, serves them all (a
    model whose Meta points elsewhere keeps its own)."""
    # mypy sees the bound classmethod as a plain callable, without the __func__ it has at runtime.
    own = model._get_connection.__func__  # type: ignore[attr-defined]

    def _get_connection(cls: type[Model]) -> TableConnection:
        table = own(cls)
        mine, shared = table.connection, connection()
        if _client_settings(mine) == _client_settings(shared) and mine._client is not shared.client:
            mine._client = shared.client
        return table

    # Patching PynamoDB's private classmethod on the class: an assignment to a method mypy refuses.
    model._get_connection = classmethod(_get_connection)  # type: ignore[method-assign, assignment]


def _client_settings(conn: Connection) -> tuple:
    return (
        conn.host,
        conn.region,
        conn._connect_timeout_seconds,
        conn._read_timeout_seconds,
        conn._max_retry_attempts_exception,
    )


def registered_models() -> list[type[Model]]:
    # Importing the apps' models modules fills the registry.
    from django.apps import apps

    for config in apps.get_app_configs():
        config.import_models()
    return list(_REGISTRY)


def tables_by_logical_name() -> dict[str, type[Model]]:
    """Every registered model under its table's logical name (the key of settings.DYNAMODB_TABLES,
    the same in every environment, where the real name carries the environment's prefix)."""
    logical = {real: name for name, real in settings.DYNAMODB_TABLES.items()}
    return {logical[model.Meta.table_name]: model for model in registered_models()}


def table_meta(name: str) -> type:
    """A `Meta` base for a model stored in the table called `name` in settings.DYNAMODB_TABLES."""
    return type(
        "Meta",
        (),
        {
            "table_name": settings.DYNAMODB_TABLES[name],
            # The name without the environment's prefix: what a record's ciphertexts are bound to, so
            # that an export imported under another prefix still decrypts (scheduler/security/crypto.py).
            "logical_name": name,
            "host": settings.DYNAMODB_ENDPOINT,
            "region": settings.AWS_REGION,
            "billing_mode": "PAY_PER_REQUEST",
            "connect_timeout_seconds": settings.AWS_CONNECT_TIMEOUT,
            "read_timeout_seconds": settings.AWS_READ_TIMEOUT,
            "max_retry_attempts": settings.DYNAMODB_MAX_RETRY_ATTEMPTS,
        },
    )


@cache
def connection() -> Connection:
    """The connection transactions and batch reads use (its botocore client is thread-safe)."""
    return Connection(
        host=settings.DYNAMODB_ENDPOINT,
        region=settings.AWS_REGION,
        connect_timeout_seconds=settings.AWS_CONNECT_TIMEOUT,
        read_timeout_seconds=settings.AWS_READ_TIMEOUT,
        max_retry_attempts=settings.DYNAMODB_MAX_RETRY_ATTEMPTS,
        # Request threads, hand-off threads and the shard readers all share this client's pool.
        max_pool_connections=settings.DYNAMODB_POOL_CONNECTIONS,
    )


def dynamodb_client():
    """The boto3 client of table administration (DescribeTable, UpdateTable, continuous backups) and
    readiness probes. Not the models' client: PynamoDB's skips parameter validation and retries as
    the models do, and a test stubbing this one leaves the models' calls alone. It lives as long as
    `connection()`: clearing that (in a forked worker process) drops both."""
    return _dynamodb_client_of(connection())


@lru_cache(maxsize=1)
def _dynamodb_client_of(_connection: Connection):
    return boto3.client(
        "dynamodb",
        region_name=settings.AWS_REGION,
        endpoint_url=settings.DYNAMODB_ENDPOINT,
        config=Config(
            connect_timeout=settings.AWS_CONNECT_TIMEOUT,
            read_timeout=settings.AWS_READ_TIMEOUT,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )


class RecordModel(Model):
    """Base of every stored record: timestamps and an optimistic-locking version."""

    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(attr_name="updatedAt")
    version = VersionAttribute()

    def touch(self) -> None:
        now = utcnow()
        if self.created_at is None:
            self.created_at = now
        self.updated_at = now
