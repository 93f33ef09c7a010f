"""The one shared DynamoDB layer: model base and Meta, the model registry, cursor pagination,
transactions with error translation, and the few helpers every app's services use.

PynamoDB resolves `Meta` when a model class is defined, so host, region and table name are read
from settings at import time (PynamoDB issues #287, #1275); transactions get a `Connection` built
with the same host and region (PynamoDB issue #809).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.core import signing
from pynamodb.attributes import UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite
from ulid import ULID

from scheduler.exceptions import (
    ApplicationError,
    Conflict,
    InvalidInput,
    PreconditionFailed,
    ServiceUnavailable,
    VersionConflict,
)

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
    own = model._get_connection.__func__

    def _get_connection(cls):
        table = own(cls)
        mine, shared = table.connection, connection()
        if _client_settings(mine) == _client_settings(shared) and mine._client is not shared.client:
            mine._client = shared.client
        return table

    model._get_connection = classmethod(_get_connection)


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


def transaction_connection() -> Connection:
    """The connection TransactWriteItems goes through (tests inject faults here)."""
    return connection()


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A server-generated id for a record created without one (sortable by creation time)."""
    return str(ULID())


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


# --- Optimistic concurrency ----------------------------------------------------------------------


def check_if_match(record: RecordModel, if_match: int | None) -> None:
    """412 when the client's `If-Match` version is not the stored one."""
    if if_match is not None and if_match != record.version:
        raise PreconditionFailed(
            f"If-Match version {if_match} does not match the current version {record.version}; "
            "fetch the record again and retry.",
            code="version_mismatch",
        )


def apply_changes(record: RecordModel, changes: dict[str, Any], *, if_match: int | None) -> None:
    """Set validated fields on a record read just before, after checking the client's version."""
    check_if_match(record, if_match)
    for name, value in changes.items():
        setattr(record, name, value)
    record.touch()


def version_conflict(if_match: int | None) -> ApplicationError:
    """The error for a write whose version condition failed because another write came first."""
    if if_match is not None:
        return PreconditionFailed(
            "The record was changed by another request; fetch it again and retry.", code="version_mismatch"
        )
    return VersionConflict("The record was changed by another request at the same time; retry.")


T = TypeVar("T")
# Times a change that keeps losing races to other writers is judged again before the 409.
LOST_RACE_ATTEMPTS = 3


def retry_lost_races(attempt: Callable[[int], T], *, attempts: int = LOST_RACE_ATTEMPTS) -> T:
    """Run `attempt(n)` (n = 0, 1, ...) again while it loses a race (VersionConflict): each attempt
    reads the record afresh and judges the change on what it finds. A client's If-Match pins the
    version instead, and its mismatch is a 412, never retried here."""
    for n in range(attempts):
        try:
            return attempt(n)
        except VersionConflict:
            if n + 1 == attempts:
                raise
    raise AssertionError("unreachable")  # attempts >= 1


# --- Transactions --------------------------------------------------------------------------------

# TransactWriteItems sends condition checks, deletes, puts and updates in this order (PynamoDB).
_KIND_ORDER = ("check", "delete", "put", "update")


@dataclass
class Transaction:
    """Collects the items of one TransactWriteItems, each with the error to raise if its
    condition is what cancelled the transaction."""

    _ops: dict[str, list[tuple[Callable[[TransactWrite], None], Callable[[], Exception] | None]]] = field(
        default_factory=lambda: {kind: [] for kind in _KIND_ORDER}
    )
    # The records put or deleted, for the audit entry of the request that writes them
    # (scheduler.security.audit.join).
    records: list[Model] = field(default_factory=list)

    def check(
        self, model_cls: type[Model], hash_key: Any, *, condition: Condition, on_fail: Callable[[], Exception]
    ) -> None:
        self._ops["check"].append((lambda tx: tx.condition_check(model_cls, hash_key, condition=condition), on_fail))

    def delete(
        self, record: Model, *, condition: Condition | None = None, on_fail: Callable[[], Exception] | None = None
    ) -> None:
        self._ops["delete"].append((lambda tx: tx.delete(record, condition=condition), on_fail))
        self.records.append(record)

    def put(
        self, record: Model, *, condition: Condition | None = None, on_fail: Callable[[], Exception] | None = None
    ) -> None:
        self._ops["put"].append((lambda tx: tx.save(record, condition=condition), on_fail))
        self.records.append(record)

    def update(
        self,
        record: Model,
        actions: list,
        *,
        condition: Condition | None = None,
        on_fail: Callable[[], Exception] | None = None,
    ) -> None:
        self._ops["update"].append((lambda tx: tx.update(record, actions, condition=condition), on_fail))

    def size(self) -> int:
        return sum(len(ops) for ops in self._ops.values())

    def _ordered(self) -> list[tuple[Callable[[TransactWrite], None], Callable[[], Exception] | None]]:
        return [op for kind in _KIND_ORDER for op in self._ops[kind]]


# TransactionConflict: another transaction touched one of the items; the whole write can be retried.
TRANSACTION_ATTEMPTS = 4


def run_transaction(build: Callable[[Transaction], None], *, default_conflict: Callable[[], Exception]) -> None:
    """Build and commit one transaction. A cancelled condition raises the error registered for
    that item (or `default_conflict()`); a TransactionConflict is retried with jittered backoff.
    Only the items `build` adds are written: a service adds its request's audit entry itself
    (`scheduler.security.audit.join`), so that the write and its record commit together."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        plan = Transaction()
        build(plan)
        ops = plan._ordered()
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for add, _ in ops:
                    add(tx)
            return
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            codes = [reason.code if reason else None for reason in reasons]
            if "ConditionalCheckFailed" in codes:
                on_fail = ops[codes.index("ConditionalCheckFailed")][1] if len(ops) == len(codes) else None
                raise (on_fail or default_conflict)() from exc
            if "TransactionConflict" in codes and attempt + 1 < TRANSACTION_ATTEMPTS:
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
                continue
            if "TransactionConflict" in codes:
                raise Conflict("Another request changed the same records at the same time; retry.") from exc
            if {"ThrottlingError", "ProvisionedThroughputExceeded"} & set(codes):
                raise ServiceUnavailable("The database is busy right now; retry shortly.") from exc
            raise


def save_record(
    record: RecordModel, *, if_match: int | None, also: Callable[[Transaction], None] | None = None
) -> None:
    """Write a changed record, conditional on the version it was read with, with `also`'s items
    (added after the record, so that `also` sees it in `tx.records`)."""

    def build(tx: Transaction) -> None:
        tx.put(record, on_fail=lambda: version_conflict(if_match))
        if also:
            also(tx)

    run_transaction(build, default_conflict=lambda: version_conflict(if_match))


def delete_record(
    record: RecordModel, *, if_match: int | None, also: Callable[[Transaction], None] | None = None
) -> None:
    """Delete a record, conditional on the version it was read with, with `also`'s items
    (added after the record, so that `also` sees it in `tx.records`)."""

    def build(tx: Transaction) -> None:
        tx.delete(record, on_fail=lambda: version_conflict(if_match))
        if also:
            also(tx)

    run_transaction(build, default_conflict=lambda: version_conflict(if_match))


# --- Sharded keys ----------------------------------------------------------------------------------
# A constant partition key (every pending appointment under "pending") caps a sparse index at one
# partition's write rate; spreading the items over `<kind>#<shard>` keys, the shard a stable hash of
# the item's id, multiplies it by the shard count. Readers query every shard.


def shard_of(item_id: str, shards: int) -> int:
    """The item's shard: stable across processes and releases (unlike hash()), uniform over ids."""
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % shards


def shard_key(kind: str, item_id: str, shards: int) -> str:
    return f"{kind}#{shard_of(item_id, shards)}"


def shard_keys(kind: str, shards: int) -> list[str]:
    """Every key of a sharded sparse index, the ones a reader queries."""
    return [f"{kind}#{shard}" for shard in range(shards)]


def sweep_keys(kind: str) -> list[str]:
    """The keys a sweep of a sparse index queries: every shard, and the pre-sharding constant key
    (`kind` itself) while items written before sharding may remain (SPARSE_INDEX_LEGACY_KEYS)."""
    keys = shard_keys(kind, settings.SPARSE_INDEX_SHARDS)
    return keys + [kind] if settings.SPARSE_INDEX_LEGACY_KEYS else keys


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls (one Query per shard) in a small thread pool; results in the calls' order.
    botocore clients are thread-safe. A pool per call: nothing to break when a server forks."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), settings.SHARD_QUERY_THREADS)) as pool:
        return list(pool.map(lambda call: call(), calls))


def query_shards(query: Callable[[str], Iterable[M]], keys: list[str], *, order: Callable[[M], Any]) -> list[M]:
    """`query(key)` for every shard key, in parallel, merged in `order` (each shard comes oldest first)."""
    per_shard = in_parallel([lambda key=key: list(query(key)) for key in keys])
    return sorted((item for items in per_shard for item in items), key=order)


# --- Reading sharded keys page by page -------------------------------------------------------------
# A listing over several keys of one index keeps each key's position in its cursor: absent, not read
# yet; a LastEvaluatedKey, read up to it; None, read to its end.
_FRESH = object()


def query_page(
    query: Callable[..., Any], key: str, *, after: dict | None, page_size: int, **kwargs: Any
) -> tuple[list[dict], dict | None]:
    """One Query of one key: at most `page_size` raw items from `after` on, and its LastEvaluatedKey."""
    iterator = query(key, page_size=page_size, last_evaluated_key=after, **kwargs)
    page = next(iterator.page_iter, None) or {}
    return page.get("Items", []), iterator.page_iter.last_evaluated_key


def _sort_value(raw: dict, name: str) -> Any:
    """An attribute's value as DynamoDB orders a range key: strings by their bytes, numbers by value."""
    (kind, value), *_ = raw[name].items()
    return Decimal(value) if kind == "N" else value


def merge_shard_pages(
    pages: dict[str, tuple[list[dict], dict | None]],
    positions: dict[str, dict | None],
    *,
    room: int,
    sort_name: str,
    key_names: tuple[str, ...],
    descending: bool = False,
) -> tuple[list[dict], dict[str, dict | None]]:
    """Merge one page of each key read (key → (raw items in the index's order, LastEvaluatedKey)) by
    the range key `sort_name`. A key's unread items all come after its LastEvaluatedKey, so only the
    items up to the nearest of those (ties included) may be emitted, up to `room`; each key's new
    position is after the last of its items emitted (`key_names`: the attributes of an index's
    LastEvaluatedKey). Keys not in `pages` keep their position; a key read from its start of which
    nothing was emitted stays absent (read from its start again)."""
    read_items = {key: [(raw, key) for raw in raw_items] for key, (raw_items, _) in pages.items()}
    limits = [_sort_value(last, sort_name) for _, last in pages.values() if last]
    bound = (max if descending else min)(limits, default=None)
    emitted: list[dict] = []
    count: dict[str, int] = {}
    merged = heapq.merge(*read_items.values(), key=lambda pair: _sort_value(pair[0], sort_name), reverse=descending)
    for raw, key in merged:
        value = _sort_value(raw, sort_name)
        if len(emitted) >= room or (bound is not None and (value < bound if descending else value > bound)):
            break
        emitted.append(raw)
        count[key] = count.get(key, 0) + 1
    new_positions = {key: at for key, at in positions.items() if key not in pages}
    for key, (raw_items, last) in pages.items():
        if count.get(key, 0) == len(raw_items):
            new_positions[key] = last  # all it returned is on the page: go on after what it read
        elif key in count:
            item = raw_items[count[key] - 1]
            new_positions[key] = {name: item[name] for name in key_names}
        elif key in positions:
            new_positions[key] = positions[key]
    return emitted, new_positions


def paginate_shards(
    query: Callable[..., Any],
    keys: list[str],
    *,
    model: type[M],
    limit: int,
    cursor: str | None,
    scope: str,
    sort_name: str,
    key_names: tuple[str, ...],
    descending: bool = False,
) -> Page:
    """One page over several keys of one index, merged in the index's order, with one cursor that keeps
    each key's position: one Query per key not yet read to its end, in parallel (at most len(keys)
    per page). Each key is read `limit` items at a time, so a page is full until the keys run out: a
    key's unread items come after `limit` of its own read ones. Only a key's page cut short by
    DynamoDB's 1 MB limit can shorten a page (follow `next`); `next` is None once every key is read to
    its end."""
    positions = (decode_cursor(cursor, scope) or {}).get("p", {})
    valid = isinstance(positions, dict) and all(
        key in keys and (at is None or isinstance(at, dict)) for key, at in positions.items()
    )
    if not valid:
        raise InvalidInput("cursor", "This cursor belongs to another listing; start again without a cursor.")
    live = [key for key in keys if positions.get(key, _FRESH) is not None]
    reads = in_parallel(
        [
            lambda key=key: query_page(
                query, key, after=positions.get(key), page_size=limit, scan_index_forward=not descending
            )
            for key in live
        ]
    )
    emitted, positions = merge_shard_pages(
        dict(zip(live, reads, strict=True)),
        positions,
        room=limit,
        sort_name=sort_name,
        key_names=key_names,
        descending=descending,
    )
    items = [model.from_raw_data(raw) for raw in emitted]
    if all(positions.get(key, _FRESH) is None for key in keys):
        return Page(items=items, next=None)
    return Page(items=items, next=encode_cursor({"p": positions}, scope))


# --- Cursor pagination ---------------------------------------------------------------------------

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
_CURSOR_SALT = "scheduler.db.cursor"


@dataclass
class Page:
    items: list[Any]
    next: str | None


def encode_cursor(last_evaluated_key: dict | None, scope: str) -> str | None:
    """Wrap DynamoDB's LastEvaluatedKey in a signed, opaque token bound to one listing."""
    if not last_evaluated_key:
        return None
    return signing.dumps({"k": last_evaluated_key, "s": scope}, salt=_CURSOR_SALT, compress=True)


def decode_cursor(cursor: str | None, scope: str) -> dict | None:
    if not cursor:
        return None
    try:
        payload = signing.loads(cursor, salt=_CURSOR_SALT)
    except signing.BadSignature:
        raise InvalidInput("cursor", "This cursor is not valid; use the `next` value of the previous page.") from None
    if not isinstance(payload, dict) or payload.get("s") != scope or not isinstance(payload.get("k"), dict):
        raise InvalidInput("cursor", "This cursor belongs to another listing; start again without a cursor.")
    return payload["k"]


def paginate(fetch: Callable[..., Iterable[M]], *, limit: int, cursor: str | None, scope: str, **kwargs: Any) -> Page:
    """Exactly one Query or Scan call: `fetch(**kwargs, page_size=limit, last_evaluated_key=...)`.
    With a filter the page may hold fewer than `limit` items (even none) and still have a `next`."""
    iterator = fetch(page_size=limit, last_evaluated_key=decode_cursor(cursor, scope), **kwargs)
    page = next(iterator.page_iter, None)
    raw_items = page.get("Items", []) if page else []
    # PynamoDB's ResultIterator would fetch more pages to fill `limit` after filtering; read one page
    # and turn its raw items into models the way the iterator does (its map function).
    items = [iterator._map_fn(item) for item in raw_items] if iterator._map_fn else raw_items
    return Page(items=items, next=encode_cursor(iterator.page_iter.last_evaluated_key, scope))


def scan_raw(table_name: str, *, page_size: int | None = None, **kwargs: Any) -> Iterator[dict]:
    """Every item of a table exactly as stored (nothing decrypted or converted), one Scan page in memory
    at a time, strongly consistent: for the admin commands that walk whole tables."""
    config = {"PageSize": page_size} if page_size else {}
    pages = (
        connection()
        .client.get_paginator("scan")
        .paginate(TableName=table_name, ConsistentRead=True, PaginationConfig=config, **kwargs)
    )
    for page in pages:
        yield from page.get("Items", [])


def batch_get(keys: list[tuple[type[Model], Any]]) -> list[Model | None]:
    """Read one item from each of several tables in one BatchGetItem (strongly consistent);
    None where an item does not exist. Unprocessed keys, if DynamoDB returns any, are asked again."""
    request: dict[str, dict] = {}
    hash_names: dict[str, str] = {}
    for model_cls, hash_key in keys:
        attribute = model_cls._hash_key_attribute()
        table = request.setdefault(model_cls.Meta.table_name, {"Keys": [], "ConsistentRead": True})
        table["Keys"].append({attribute.attr_name: {attribute.attr_type: attribute.serialize(hash_key)}})
        hash_names[model_cls.Meta.table_name] = attribute.attr_name
    found: dict[tuple[str, str], dict] = {}
    for table_name, items in batch_get_raw(request).items():
        for item in items:
            found[(table_name, json.dumps(item[hash_names[table_name]], sort_keys=True))] = item
    results: list[Model | None] = []
    for model_cls, hash_key in keys:
        attribute = model_cls._hash_key_attribute()
        key = json.dumps({attribute.attr_type: attribute.serialize(hash_key)}, sort_keys=True)
        raw = found.get((model_cls.Meta.table_name, key))
        results.append(model_cls.from_raw_data(raw) if raw else None)
    return results


def batch_get_raw(request: dict[str, dict]) -> dict[str, list[dict]]:
    """One BatchGetItem (`RequestItems` as the low-level client takes them, at most 100 keys): the raw
    items found, by table. Unprocessed keys, if DynamoDB returns any, are asked again."""
    found: dict[str, list[dict]] = {}
    client = connection().client
    for attempt in range(5):
        response = client.batch_get_item(RequestItems=request)
        for table_name, items in response.get("Responses", {}).items():
            found.setdefault(table_name, []).extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(0.05 * 2**attempt)
    raise ServiceUnavailable("The database is busy right now; retry shortly.")


# BatchWriteItem takes at most 25 requests.
BATCH_WRITE_LIMIT = 25


def batch_put_raw(table_name: str, items: list[dict], *, attempts: int = 8) -> None:
    """Put up to 25 raw items (DynamoDB JSON, as the low-level client takes them) into one table
    with BatchWriteItem, sending UnprocessedItems again with jittered backoff."""
    if len(items) > BATCH_WRITE_LIMIT:
        raise ValueError(f"BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, not {len(items)}")
    request = {table_name: [{"PutRequest": {"Item": item}} for item in items]}
    client = connection().client
    for attempt in range(attempts):
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        if not request:
            return
        if attempt + 1 < attempts:
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
    raise ServiceUnavailable("The database is busy right now; retry shortly.")
