"""Sharded index keys: a sparse or per-country index key spread over `<kind>#<shard>` keys, and
the parallel reads that query every shard."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from pynamodb.models import Model

M = TypeVar("M", bound=Model)
T = TypeVar("T")

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
        return list(pool.map(_call, calls))


def _call(call: Callable[[], T]) -> T:
    return call()


def query_shards(query: Callable[[str], Iterable[M]], keys: list[str], *, order: Callable[[M], Any]) -> list[M]:
    """`query(key)` for every shard key, in parallel, merged in `order` (each shard comes oldest first)."""
    per_shard = in_parallel([partial(_listed, query, key) for key in keys])
    return sorted((item for items in per_shard for item in items), key=order)


def _listed(query: Callable[[str], Iterable[M]], key: str) -> list[M]:
    return list(query(key))
