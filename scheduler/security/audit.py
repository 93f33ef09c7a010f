"""The audit trail: who did what to which record, when, with which outcome. Append-only.

An entry holds ids, a role, an action and an outcome, never a name, e-mail, phone number, address or
reason. A write's entry joins the write's own transaction: each service adds it (`join`), and a
transaction that writes the announced kind of record without its entry is refused before it is sent
(`require_entry`), so a write is never committed unrecorded; a read's entry is written before the
response, and a read whose entry cannot be written is refused with 503. Whatever the method, a
response that shows a record no entry of its request names gets a read entry (`record_shown`): a
PATCH that changed nothing and a replayed booking answer the whole record too.

byObject is keyed by the record's id; the entries of a country's listing pages (and of the unfiltered
admin listing, "*"), written hundreds of times a second for a busy country, are spread over
`<id>#<k>` keys (AUDIT_LIST_SHARDS, k a hash of the entry's id), and `audit_list` reads them all.
Ids and usernames never hold "#" (their patterns), so a shard key is never another record's id.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.conf import settings
from pynamodb.attributes import ListAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from scheduler.db import (
    Page,
    Transaction,
    new_id,
    paginate,
    paginate_shards,
    register,
    register_commit_check,
    register_commit_listener,
    shard_key,
    shard_keys,
    table_meta,
    utcnow,
)
from scheduler.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

# Actions (the contract names create, read, update, delete, login_failed; the rest are richer).
CREATE, READ, LIST, UPDATE, DELETE = "create", "read", "list", "update", "delete"
LOGIN, LOGIN_FAILED, LOGOUT = "login", "login_failed", "logout"
OK, DENIED = "ok", "denied"
# An entry names at most this many records that a list page showed.
MAX_LISTED_IDS = 200


class ByObjectIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byObject"
        projection = AllProjection()

    object_id = UnicodeAttribute(hash_key=True, attr_name="objectId")
    entry_id = UnicodeAttribute(range_key=True, attr_name="entryId")


class ByActorIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byActor"
        projection = AllProjection()

    actor = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True, attr_name="entryId")


@register
class AuditEntry(Model):
    """One audited action. `entryId` is a ULID: sorting by it is sorting by time."""

    class Meta(table_meta("audit")):
        pass

    entry_id = UnicodeAttribute(hash_key=True, attr_name="entryId")
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    object_type = UnicodeAttribute(attr_name="objectType")
    object_id = UnicodeAttribute(attr_name="objectId")
    # The records a list page showed (ids only).
    object_ids = ListAttribute(of=UnicodeAttribute, null=True, attr_name="objectIds")
    outcome = UnicodeAttribute()
    # The server's id of the request; the client's own X-Request-ID, when it sent a well-formed one.
    request_id = UnicodeAttribute(null=True, attr_name="requestId")
    client_request_id = UnicodeAttribute(null=True, attr_name="clientRequestId")

    by_object = ByObjectIndex()
    by_actor = ByActorIndex()

    @property
    def subject_id(self) -> str:
        """The id the entry is about: `objectId` without the shard a listing's entry is keyed by."""
        return self.object_id.partition("#")[0]


@dataclass(frozen=True)
class Actor:
    username: str
    role: str | None
    request_id: str | None  # the server's
    client_request_id: str | None = None


@dataclass(frozen=True)
class PendingWrite:
    """What the request is about to write: its entry joins the transaction that commits it."""

    action: str
    object_type: str
    model: type[Model]
    object_id: str | None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)
_pending: contextvars.ContextVar[PendingWrite | None] = contextvars.ContextVar("audit_pending", default=None)
# The ids an entry of this request names (written, or committed with its write): what the request may
# show without another entry. One set per outermost `acting` block, shared by the blocks inside it.
_covered: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("audit_covered", default=None)


@contextmanager
def acting(actor: Actor, pending: PendingWrite | None = None) -> Iterator[None]:
    """Within this block, writes are attributed to `actor`, and `pending` names the write to record."""
    actor = _same_request(actor)
    actor_token, pending_token = _actor.set(actor), _pending.set(pending)
    covered_token = _covered.set(set()) if _covered.get() is None else None
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _pending.reset(pending_token)
        if covered_token is not None:
            _covered.reset(covered_token)


def current_actor() -> Actor | None:
    return _actor.get()


def _same_request(actor: Actor) -> Actor:
    """An actor made for this request (the user who signs in) keeps the client's request id too."""
    current = _actor.get()
    if actor.client_request_id is None and current is not None and current.request_id == actor.request_id:
        return replace(actor, client_request_id=current.client_request_id)
    return actor


def entry(
    action: str,
    object_type: str,
    object_id: str,
    *,
    outcome: str = OK,
    object_ids: list[str] | None = None,
    actor: Actor | None = None,
    spread: bool = False,
) -> AuditEntry:
    """`spread`: key the entry `<object_id>#<k>` in byObject (a country's or the admin's listing)."""
    actor = _same_request(actor) if actor else current_actor() or Actor("system", None, None)
    entry_id, object_id = new_id(), object_id or "*"
    if spread:
        object_id = shard_key(object_id, entry_id, settings.AUDIT_LIST_SHARDS)
    return AuditEntry(
        entry_id,
        at=utcnow(),
        actor=actor.username,
        role=actor.role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_ids=object_ids[:MAX_LISTED_IDS] if object_ids is not None else None,
        outcome=outcome,
        request_id=actor.request_id,
        client_request_id=actor.client_request_id,
    )


def record(action: str, object_type: str, object_id: str, **kwargs) -> None:
    """Write one entry now (reads, denials). If it cannot be written, the request fails with 503:
    nothing is served unrecorded."""
    item = entry(action, object_type, object_id, **kwargs)
    try:
        item.save(condition=AuditEntry.entry_id.does_not_exist())
    except PynamoDBException as exc:
        logger.error("audit entry not written (%s %s): %s", action, object_type, type(exc).__name__)
        raise ServiceUnavailable(
            "The audit trail cannot be written right now, so the request was refused; retry."
        ) from exc
    # A list page's entry covers every record it showed, those past MAX_LISTED_IDS too.
    _cover(item.subject_id, *(kwargs.get("object_ids") or ()))


def _cover(*object_ids: str) -> None:
    covered = _covered.get()
    if covered is not None:
        covered.update(object_ids)


def _committed(tx: Transaction) -> None:
    """A committed transaction's entries cover the records they name (registered with the DB layer)."""
    _cover(*(item.subject_id for item in tx.records if isinstance(item, AuditEntry)))


register_commit_listener(_committed)


def record_shown(object_type: str, object_ids: list[str]) -> None:
    """A response is about to show these records: a read entry for each one no entry of this request
    names yet (a PATCH that changed nothing, a replayed create). 503 if one cannot be written."""
    covered = _covered.get() or set()
    for object_id in dict.fromkeys(object_ids):
        if object_id not in covered:
            record(READ, object_type, object_id)


def join(tx: Transaction) -> None:
    """Add the entry of the write this request announced (`acting`) to `tx`, so that the write and
    its entry commit together or not at all. Every service transaction a request can make calls it
    last; it adds nothing outside a request, or when `tx` writes nothing of the announced kind."""
    item = pending_write_entry(tx.records)
    if item is not None:
        tx.put(item, condition=AuditEntry.entry_id.does_not_exist())


class UnauditedWrite(RuntimeError):
    """A service wrote the record a request announced without `join`: a bug, refused (a 500)."""


def require_entry(tx: Transaction) -> None:
    """Refuse a transaction that writes the kind of record this request announced without an audit
    entry (registered with the DynamoDB layer: it runs before every transaction is sent)."""
    pending = _pending.get()
    if pending is None or any(isinstance(item, AuditEntry) for item in tx.records):
        return
    if any(isinstance(item, pending.model) for item in tx.records):
        raise UnauditedWrite(
            f"A {pending.object_type} write without its audit entry: its service must call audit.join(tx)."
        )


register_commit_check(require_entry)


def pending_write_entry(records: list[Model]) -> AuditEntry | None:
    """The entry for the write this request announced, if any of `records` (the items a transaction
    puts or deletes) is of the announced kind."""
    pending = _pending.get()
    if pending is None:
        return None
    primary = next((item for item in records if isinstance(item, pending.model)), None)
    if primary is None:
        return None
    # The id the request named (a URL's, a sign-in's username), else the new record's own.
    object_id = pending.object_id or getattr(primary, primary._hash_keyname)
    return entry(pending.action, pending.object_type, str(object_id))


def object_keys(object_id: str) -> list[str]:
    """The byObject keys of everything about one id: its own, and its listings' shards."""
    return [object_id, *shard_keys(object_id, settings.AUDIT_LIST_SHARDS)]


def audit_list(*, limit: int, cursor: str | None, object_id: str | None = None, actor: str | None = None) -> Page:
    """Newest first. By actor: one Query on byActor per page. By object: one Query per key of
    `object_keys` (1 + AUDIT_LIST_SHARDS, in parallel) on the first page, and on each next page one per
    key not yet read to its end; merged by entryId (a ULID: time order) with one cursor for them all."""
    if actor:
        return paginate(
            AuditEntry.by_actor.query,
            hash_key=actor,
            scan_index_forward=False,
            limit=limit,
            cursor=cursor,
            scope=f"actor:{actor}",
        )
    return paginate_shards(
        AuditEntry.by_object.query,
        object_keys(object_id),
        model=AuditEntry,
        limit=limit,
        cursor=cursor,
        # The shard count is part of the listing: a cursor from before a change starts again.
        scope=f"object:{object_id}|{settings.AUDIT_LIST_SHARDS}",
        sort_name="entryId",
        key_names=("entryId", "objectId"),
        descending=True,
    )
