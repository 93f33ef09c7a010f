"""Cursor pagination: a page per Query or Scan call, signed cursors bound to one listing, and the
pages of a listing merged over several sharded keys of one index."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django.core import signing
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator

from scheduler.db.sharding import in_parallel
from scheduler.exceptions import InvalidInput

M = TypeVar("M", bound=Model)

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


def paginate(
    fetch: Callable[..., ResultIterator[M]], *, limit: int, cursor: str | None, scope: str, **kwargs: Any
) -> Page:
    """Exactly one Query or Scan call: `fetch(**kwargs, page_size=limit, last_evaluated_key=...)`.
    With a filter the page may hold fewer than `limit` items (even none) and still have a `next`."""
    iterator = fetch(page_size=limit, last_evaluated_key=decode_cursor(cursor, scope), **kwargs)
    page = next(iterator.page_iter, None)
    raw_items = page.get("Items", []) if page else []
    # PynamoDB's ResultIterator would fetch more pages to fill `limit` after filtering; read one page
    # and turn its raw items into models the way the iterator does (its map function).
    items = [iterator._map_fn(item) for item in raw_items] if iterator._map_fn else raw_items
    return Page(items=items, next=encode_cursor(iterator.page_iter.last_evaluated_key, scope))


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
            partial(
                query_page, query, key, after=positions.get(key), page_size=limit, scan_index_forward=not descending
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
