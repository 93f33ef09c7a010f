"""Writes: one TransactWriteItems with a per-item error for each condition that may cancel it,
the optimistic-locking checks of a client's If-Match, the retries of a lost race, and the one
UpdateItem that leaves a record's version alone (bookkeeping a client never sees).

Transactions get a `Connection` built with the models' host and region (PynamoDB issue #809).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from scheduler.db.errors import error_code
from scheduler.db.models import RecordModel, connection
from scheduler.exceptions import (
    ApplicationError,
    Conflict,
    PreconditionFailed,
    ServiceUnavailable,
    VersionConflict,
)

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


def hook_attempts(hooks: Iterable[object]) -> int:
    """How often a write that adds the items of these hooks is judged again while it loses races:
    LOST_RACE_ATTEMPTS, or more where a hook needs it. A hook declares that with an `attempts`
    attribute, a function read at each write (accounts' delete hooks update a user item, which loses
    to every sign-in of its login, so they need what a change of the user needs)."""
    declared = (getattr(hook, "attempts", None) for hook in hooks)
    return max([LOST_RACE_ATTEMPTS, *(int(attempts()) for attempts in declared if attempts is not None)])


def delete_guarded(
    read: Callable[[], RecordModel],
    record_id: str,
    *,
    if_match: int | None,
    current: RecordModel | None = None,
    guards: Iterable[Callable[[str], str | None]] = (),
    hooks: Iterable[Callable[[str], Callable[[Transaction], None] | None]] = (),
    also: Callable[[Transaction], None] | None = None,
) -> None:
    """Delete a record that the apps above may refuse (a guard's reason: 409 `in_use`) or add items to
    (a hook's, in the delete's own transaction), with `also`'s items (its audit entry). `current`, the
    record the view checked, serves the first attempt; a lost race reads it again (`read`), as often
    as the hooks need (hook_attempts)."""
    guards, hooks = list(guards), list(hooks)

    def attempt(n: int) -> None:
        record = current if n == 0 and current is not None else read()
        check_if_match(record, if_match)
        for guard in guards:
            if refusal := guard(record_id):
                raise Conflict(refusal, code="in_use")
        extras = [add for hook in hooks if (add := hook(record_id)) is not None]

        def build(tx: Transaction) -> None:
            for add in extras:
                add(tx)
            if also:
                also(tx)

        delete_record(record, if_match=if_match, also=build)

    retry_lost_races(attempt, attempts=hook_attempts(hooks))


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


def transaction_connection() -> Connection:
    """The connection TransactWriteItems goes through (tests inject faults here)."""
    return connection()


# TransactionConflict: another transaction touched one of the items; the whole write can be retried.
TRANSACTION_ATTEMPTS = 4

# Checks a layer above registers to refuse a transaction before it is sent; they add nothing to it
# (scheduler.security.audit: a write a request announced carries its audit entry).
_commit_checks: list[Callable[[Transaction], None]] = []


def register_commit_check(check: Callable[[Transaction], None]) -> None:
    """Once per process; a second registration of the same check adds nothing."""
    if check not in _commit_checks:
        _commit_checks.append(check)


# Listeners a layer above registers to learn what was committed (scheduler.security.audit: which
# records this request's committed entries already cover); they write nothing.
_commit_listeners: list[Callable[[Transaction], None]] = []


def register_commit_listener(listener: Callable[[Transaction], None]) -> None:
    """Called with each transaction after it committed; once per process, like the checks."""
    if listener not in _commit_listeners:
        _commit_listeners.append(listener)


def run_transaction(build: Callable[[Transaction], None], *, default_conflict: Callable[[], Exception]) -> None:
    """Build and commit one transaction. A cancelled condition raises the error registered for
    that item (or `default_conflict()`); a TransactionConflict is retried with jittered backoff.
    Only the items `build` adds are written: a service adds its request's audit entry itself
    (`scheduler.security.audit.join`), so that the write and its record commit together."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        plan = Transaction()
        build(plan)
        for check in _commit_checks:
            check(plan)
        ops = plan._ordered()
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for add, _ in ops:
                    add(tx)
            for listener in _commit_listeners:
                listener(plan)
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


def create_record(
    record: RecordModel, *, key: Any, kind: str, also: Callable[[Transaction], None] | None = None
) -> None:
    """Write a new record only where its hash key (`key`, the attribute; its value on the record) is
    free, else 409 `duplicate` ("Doctor 'd1' already exists."); with `also`'s items, added after the
    record so that `also` sees it in `tx.records` (the country it must be in, its audit entry)."""
    record_id = key.__get__(record, type(record))  # the attribute's value on this record

    def build(tx: Transaction) -> None:
        tx.put(
            record,
            condition=key.does_not_exist(),
            on_fail=lambda: Conflict(f"{kind} '{record_id}' already exists.", code="duplicate"),
        )
        if also:
            also(tx)

    run_transaction(build, default_conflict=lambda: Conflict(f"The {kind.lower()} could not be created; retry."))


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


def update_keeping_version(
    model: type[Model], hash_key: str, actions: Sequence[Action], *, condition: Condition
) -> bool:
    """One conditional UpdateItem of plain attributes that leaves the version as it is (PynamoDB's
    `Model.update` always raises it), so that a writer holding the version it read does not lose its
    race to this bookkeeping. False when the condition failed (the item changed, or does not exist:
    the condition is what keeps an UpdateItem from creating one). An encrypted attribute in `actions`
    is refused by its own serialize (scheduler/security/crypto.py)."""
    try:
        model._get_connection().update_item(hash_key, actions=actions, condition=condition)
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":  # None: no answer, raised
            return False
        raise
    return True
