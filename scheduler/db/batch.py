"""Low-level reads and writes of many items at once, in DynamoDB JSON as the client speaks it:
BatchGetItem, BatchWriteItem (puts and deletes) and whole-table Scans for the admin commands."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from pynamodb.models import Model

from scheduler.db.models import connection
from scheduler.exceptions import ServiceUnavailable

M = TypeVar("M", bound=Model)


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


def batch_get(keys: Sequence[tuple[type[M], Any]]) -> list[M | None]:
    """Read one item from each of several tables in one BatchGetItem (strongly consistent);
    None where an item does not exist. Unprocessed keys, if DynamoDB returns any, are asked again.
    Each key's item is of its key's model: keys of one model give that model back; a caller mixing
    models gets their common base and casts each position to its key's model."""
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
    results: list[M | None] = []
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
    _batch_write(table_name, [{"PutRequest": {"Item": item}} for item in items], attempts=attempts)


def batch_delete_raw(table_name: str, keys: list[dict], *, attempts: int = 8) -> None:
    """Delete up to 25 items of one table by their raw keys with BatchWriteItem, as batch_put_raw."""
    _batch_write(table_name, [{"DeleteRequest": {"Key": key}} for key in keys], attempts=attempts)


def _batch_write(table_name: str, requests: list[dict], *, attempts: int) -> None:
    if len(requests) > BATCH_WRITE_LIMIT:
        raise ValueError(f"BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, not {len(requests)}")
    request = {table_name: requests}
    client = connection().client
    for attempt in range(attempts):
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        if not request:
            return
        if attempt + 1 < attempts:
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
    raise ServiceUnavailable("The database is busy right now; retry shortly.")
