"""Integrity of what booking keeps in several tables: appointments and their lock items, events and
their appointments, pending appointments and the sparse index the pending sweep reads.

`integrity_report()` reads (three Scans, with parallel segments), `integrity_repair()` writes the
few safe fixes, each one conditional write. A problem names ids and kinds only, never a patient's
name or reason.

The Scans see a table that keeps changing (bookings, cancellations, reschedules go on), so a problem
that spans two items (a lock and its appointment, an event and its appointment) is only a candidate
until both are read again, strongly consistent, and judged once more.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from appointments.locks import LOCK_RETENTION, lock_keys_for, put_locks
from appointments.models import ACTIVE_STATES, COMPLETED, NO_SHOW, PENDING, Appointment, Event
from appointments.services.pipeline import MAX_REQUEUES
from scheduler.db import Transaction, batch_get, run_transaction, save_record, utcnow
from scheduler.db.locks import Lock
from scheduler.exceptions import ApplicationError, Conflict
from scheduler.progress import Progress, ProgressFactory, no_progress

# States whose appointment keeps its lock items: active ones hold the time; completed and no-show
# ones keep theirs until TTL removes them (only a cancellation frees locks).
LOCK_HOLDING_STATES = (*ACTIVE_STATES, COMPLETED, NO_SHOW)
# Lock kinds that are 5 minutes of someone's time; `event#` is a consumer's dedupe record and any
# other kind a unique value (`country-code#CL`), neither owned by an appointment.
SLOT_KINDS = ("doctor", "patient")
DEDUPE_KIND = "event"
SCAN_SEGMENTS = 4
SCAN_PAGE_SIZE = 500

# Problem kinds.
MISSING_LOCK = "missing_lock"  # an active appointment's lock item is gone (repairable)
LOCK_HELD_BY_OTHER = "lock_held_by_other"  # another appointment holds it too: a double booking
LOCK_KEYS_MISMATCH = "lock_keys_mismatch"  # lockKeys are not what the appointment's time needs
ORPHANED_LOCK = "orphaned_lock"  # a slot lock no appointment holds (repairable)
EVENT_WITHOUT_APPOINTMENT = "event_without_appointment"
PENDING_NOT_QUEUED = "pending_not_queued"  # pending without its pending index key (repairable)
PENDING_REQUEUES_EXHAUSTED = "pending_requeues_exhausted"  # the sweep gave up on it: a person must look
STRAY_PENDING_KEY = "stray_pending_key"  # the pending index key on an appointment that is not pending

REPAIRABLE = (ORPHANED_LOCK, MISSING_LOCK, PENDING_NOT_QUEUED)  # in the order they are repaired


@dataclass(frozen=True)
class Problem:
    kind: str
    appointment_id: str | None = None
    lock_key: str | None = None
    event_id: str | None = None
    # The appointment holding `lock_key` when that is not `appointment_id` (None for an orphan's
    # missing owner), or the state that makes the problem.
    other: str | None = None

    @property
    def repairable(self) -> bool:
        return self.kind in REPAIRABLE

    def __str__(self) -> str:
        parts = [self.kind]
        for name in ("appointment_id", "lock_key", "event_id", "other"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        return " ".join(parts)


@dataclass
class IntegrityReport:
    counts: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RepairOutcome:
    repaired: list[Problem] = field(default_factory=list)
    # Unfixable problems, and repairs whose condition failed because something changed meanwhile.
    remaining: list[Problem] = field(default_factory=list)


# --- Reading -------------------------------------------------------------------------------------


class _Holder:
    """What the lock check needs of one appointment, kept small: 100k of them must fit in memory.
    Whether it claims a lock key is judged from the first and last 5-minute bucket of the doctor's
    time (buffers included) and of the patient's, as `lock_keys_for` builds them, unless its lockKeys
    differ from that (then they are kept as they are)."""

    __slots__ = ("state", "doctor_id", "patient_id", "spans", "odd_keys", "required", "found")

    def __init__(self, appointment: Appointment, now: datetime) -> None:
        self.state = appointment.state
        self.doctor_id = appointment.doctor_id
        self.patient_id = appointment.patient_id
        needed = lock_keys_for(appointment)
        self.spans: dict[str, tuple[str, str]] = {}
        for kind in SLOT_KINDS:
            buckets = [_bucket(key) for key in needed if _lock_kind(key) == kind]
            if buckets:
                self.spans[kind] = (buckets[0], buckets[-1])
        keys = list(appointment.lock_keys or [])
        self.odd_keys = None if sorted(keys) == sorted(needed) else frozenset(keys)
        # How many lock items it must hold now, and how many the lock Scan found with it as owner.
        self.required = len(set(keys)) if _locks_required(appointment, now) else 0
        self.found = 0

    def claims(self, key: str) -> bool:
        if self.state not in LOCK_HOLDING_STATES:
            return False
        if self.odd_keys is not None:
            return key in self.odd_keys
        kind, _, rest = key.partition("#")
        owner_id, _, bucket = rest.rpartition("#")
        expected = {"doctor": self.doctor_id, "patient": self.patient_id}.get(kind)
        first, last = self.spans.get(kind, ("~", ""))
        return owner_id == expected and first <= bucket <= last


def _bucket(key: str) -> str:
    # Bucket starts are `%Y-%m-%dT%H:%MZ`, so their text sorts as their time does.
    return key.rpartition("#")[2]


def _lock_kind(key: str) -> str:
    return key.partition("#")[0]


def _claims(appointment: Appointment | None, key: str) -> bool:
    """The appointment holds `key` as its own: in a state that keeps locks, and listed in its
    lockKeys or needed by its time (a mismatch between the two is reported on its own)."""
    return (
        appointment is not None
        and appointment.state in LOCK_HOLDING_STATES
        and (key in (appointment.lock_keys or []) or key in lock_keys_for(appointment))
    )


def _locks_required(appointment: Appointment, now: datetime) -> bool:
    """An active appointment must hold its locks until TTL may remove them: not before its start
    plus LOCK_RETENTION (a lock kept through a reschedule expires a little before the new end's)."""
    return appointment.state in ACTIVE_STATES and now < appointment.appointment_date + LOCK_RETENTION


def _pending_key_expected(appointment: Appointment) -> bool:
    """Whether the appointment should carry a pending index key (its value is sharded; only its
    presence is judged here)."""
    return appointment.index_keys()[0] is not None


def _scan(model: type, attributes: list[str], segments: int) -> Iterator[Iterator]:
    """One iterator per parallel Scan segment, strongly consistent, of only the attributes named."""
    for segment in range(segments):
        yield model.scan(
            segment=segment,
            total_segments=segments,
            consistent_read=True,
            page_size=SCAN_PAGE_SIZE,
            attributes_to_get=attributes,
        )


def _in_parallel(
    iterators: list[Iterator], handle: Callable[[object], None], bar: Progress, lock: threading.Lock
) -> None:
    """Run `handle` on every item of every segment, one thread per segment."""

    def drain(items: Iterator) -> None:
        seen = 0
        for item in items:
            handle(item)
            seen += 1
            if seen % 100 == 0:
                with lock:
                    bar.update(100)
        with lock:
            bar.update(seen % 100)

    with ThreadPoolExecutor(max_workers=len(iterators)) as pool:
        for future in [pool.submit(drain, items) for items in iterators]:
            future.result()


# The attributes each Scan reads: never the (encrypted) reason.
_APPOINTMENT_ATTRIBUTES = [
    "appointmentId",
    "patientId",
    "doctorId",
    "countryId",
    "appointmentDate",
    "endDate",
    "durationMinutes",
    "bufferBeforeMinutes",
    "bufferAfterMinutes",
    "state",
    "lockKeys",
    "pendingKey",
    "requeues",
    "version",
]


def integrity_report(*, segments: int = SCAN_SEGMENTS, progress: ProgressFactory | None = None) -> IntegrityReport:
    """Check every appointment, lock item and event; `progress`: the commands' progress bars (none
    when None). Counts are per check; problems are confirmed by consistent reads."""
    now = utcnow()
    report = IntegrityReport()
    counts = report.counts
    lock = threading.Lock()
    holders: dict[str, _Holder] = {}
    problems: list[Problem] = []

    def walk(model: type, desc: str, attributes: list[str], handle: Callable[[object], None]) -> None:
        """Every item of the model's table through `handle`, in parallel Scan segments, with its bar."""
        bar = progress(desc, model.count()) if progress is not None else no_progress(desc, None)
        try:
            _in_parallel(list(_scan(model, attributes, segments)), handle, bar, lock)
        finally:
            bar.close()

    # 1. Appointments: what each one says of itself.
    def check_appointment(appointment: Appointment) -> None:
        found: list[Problem] = []
        holder = _Holder(appointment, now)
        appointment_id = appointment.appointment_id
        if appointment.state in ACTIVE_STATES and holder.odd_keys is not None:
            found.append(Problem(LOCK_KEYS_MISMATCH, appointment_id=appointment_id, other=appointment.state))
        queued, expected = appointment.pending_key is not None, _pending_key_expected(appointment)
        if queued != expected:
            kind = PENDING_NOT_QUEUED if expected else STRAY_PENDING_KEY
            found.append(Problem(kind, appointment_id=appointment_id, other=appointment.state))
        if appointment.state == PENDING and (appointment.requeues or 0) >= MAX_REQUEUES:
            found.append(Problem(PENDING_REQUEUES_EXHAUSTED, appointment_id=appointment_id))
        with lock:
            holders[appointment_id] = holder
            counts["appointments"] += 1
            counts[f"appointments.{appointment.state}"] += 1
            counts["appointments.holding_time"] += holder.required > 0
            problems.extend(found)

    walk(Appointment, "appointments", _APPOINTMENT_ATTRIBUTES, check_appointment)

    # 2. Lock items: each slot lock claimed by its owner; each owner's locks all there.
    orphan_candidates: list[tuple[str, str | None]] = []

    def check_lock(item: Lock) -> None:
        key, owner = item.slot_key, item.owner
        kind = _lock_kind(key)
        with lock:
            counts["locks"] += 1
            if kind == DEDUPE_KIND:
                counts["locks.dedupe"] += 1
                return
            if kind not in SLOT_KINDS:
                counts["locks.unique_value"] += 1
                return
            counts["locks.slot"] += 1
            holder = holders.get(owner) if owner else None
            if holder is not None and holder.claims(key):
                holder.found += 1
                counts["locks.slot.held"] += 1
            elif item.expires_at is not None and item.expires_at <= now:
                counts["locks.slot.expired"] += 1  # awaiting TTL deletion
            else:
                orphan_candidates.append((key, owner))

    walk(Lock, "locks", ["slotKey", "owner", "expiresAt"], check_lock)

    # 3. Events: each one's appointment exists.
    event_candidates: list[tuple[str, str]] = []

    def check_event(event: Event) -> None:
        appointment_id = (json.loads(event.body or "{}").get("appointment") or {}).get("appointmentId")
        with lock:
            counts["events"] += 1
            if appointment_id is None:
                counts["events.not_of_an_appointment"] += 1
            elif appointment_id not in holders:
                event_candidates.append((event.event_id, appointment_id))

    walk(Event, "events", ["eventId", "body"], check_event)

    # 4. Candidates, read again and judged on what is stored now.
    missing_candidates = [appointment_id for appointment_id, h in holders.items() if h.found < h.required]
    holders.clear()
    counts["rechecked"] = len(missing_candidates) + len(orphan_candidates) + len(event_candidates)
    for appointment_id in missing_candidates:
        problems += _confirm_locks_of(appointment_id, now)
    problems += _confirm_orphans(orphan_candidates, now)
    for chunk in _chunks(event_candidates):
        appointments = _read_many(Appointment, [appointment_id for _, appointment_id in chunk])
        problems += [
            Problem(EVENT_WITHOUT_APPOINTMENT, appointment_id=appointment_id, event_id=event_id)
            for event_id, appointment_id in chunk
            if appointments[appointment_id] is None
        ]
    report.problems = sorted(set(problems), key=lambda p: (p.kind, p.appointment_id or "", p.lock_key or ""))
    for problem in report.problems:
        counts[f"problems.{problem.kind}"] += 1
    return report


def _confirm_locks_of(appointment_id: str, now: datetime) -> list[Problem]:
    """The lock items of an active appointment, as stored now: missing ones, and ones another holds.
    The appointment is read before and after its locks: a change between them (its cancellation, say,
    which deletes its locks) makes the locks read no proof, and the next run judges it again."""
    (appointment,) = batch_get([(Appointment, appointment_id)])
    if appointment is None or not _locks_required(appointment, now):
        return []
    locks = _read_many(Lock, list(appointment.lock_keys or []))
    wrong = {key: item for key, item in locks.items() if item is None or item.owner != appointment_id}
    if not wrong:
        return []
    (again,) = batch_get([(Appointment, appointment_id)])
    if again is None or again.version != appointment.version:
        return []
    others = _read_many(Appointment, [item.owner for item in wrong.values() if item is not None and item.owner])
    problems = []
    for key, item in wrong.items():
        if item is None:
            problems.append(Problem(MISSING_LOCK, appointment_id=appointment_id, lock_key=key))
            continue
        # The other appointment's own lock: two bookings of one time. Otherwise an orphan that
        # stands in the way; once it is deleted, the missing lock can be put back.
        kind = LOCK_HELD_BY_OTHER if _claims(others.get(item.owner), key) else MISSING_LOCK
        problems.append(Problem(kind, appointment_id=appointment_id, lock_key=key, other=item.owner))
    return problems


def _confirm_orphans(candidates: list[tuple[str, str | None]], now: datetime) -> list[Problem]:
    """The candidate orphans still there, with the same owner, not expired, and not their owner's
    own. Each lock is read before and after its owner: an owner that freed it meanwhile (a
    cancellation deletes its locks) leaves it gone at the second read."""

    def suspects(locks: dict, chunk: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        return [
            (key, owner)
            for key, owner in chunk
            if locks[key] is not None
            and locks[key].owner == owner
            and (locks[key].expires_at is None or locks[key].expires_at > now)
        ]

    problems = []
    for chunk in _chunks(candidates):
        chunk = suspects(_read_many(Lock, [key for key, _ in chunk]), chunk)
        owners = _read_many(Appointment, [owner for _, owner in chunk if owner])
        chunk = [(key, owner) for key, owner in chunk if not _claims(owners.get(owner), key)]
        chunk = suspects(_read_many(Lock, [key for key, _ in chunk]), chunk)
        problems += [Problem(ORPHANED_LOCK, lock_key=key, other=owner) for key, owner in chunk]
    return problems


_READ_BATCH = 100  # keys per BatchGetItem


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), _READ_BATCH // 2):
        yield items[start : start + _READ_BATCH // 2]


def _read_many(model: type, keys: list[str]) -> dict:
    """Items by hash key (None where absent), strongly consistent, in BatchGetItems of at most 100."""
    unique = list(dict.fromkeys(keys))
    found: dict = {}
    for start in range(0, len(unique), _READ_BATCH):
        part = unique[start : start + _READ_BATCH]
        found.update(zip(part, batch_get([(model, key) for key in part]), strict=True))
    return found


# --- Repairing -----------------------------------------------------------------------------------


def integrity_repair(*, report: IntegrityReport) -> RepairOutcome:
    """Fix what can be fixed without judgement, each fix one conditional write that changes nothing
    if the items changed since they were judged: orphaned slot locks are deleted (first, so that a
    missing lock they stood in for can be put back), missing locks of active appointments put back
    (never over a lock another holds), pending appointments that lost their index key given it back.
    Everything else, and any fix whose condition failed, is `remaining`."""
    outcome = RepairOutcome()
    order = {kind: n for n, kind in enumerate(REPAIRABLE)}
    missing: dict[str, list[Problem]] = {}
    for problem in sorted(report.problems, key=lambda p: order.get(p.kind, len(order))):
        if problem.kind == MISSING_LOCK:
            missing.setdefault(problem.appointment_id, []).append(problem)
            continue
        if not problem.repairable:
            outcome.remaining.append(problem)
            continue
        fix = _delete_orphan if problem.kind == ORPHANED_LOCK else _restore_pending_key
        _attempt(fix, [problem], outcome)
    for problems in missing.values():
        _attempt(_put_missing_locks, problems, outcome)
    return outcome


def _attempt(fix: Callable[[list[Problem]], None], problems: list[Problem], outcome: RepairOutcome) -> None:
    try:
        fix(problems)
    except ApplicationError:
        outcome.remaining.extend(problems)  # changed meanwhile: left as it is, for the next run
    else:
        outcome.repaired.extend(problems)


def _changed() -> Conflict:
    return Conflict("Changed since it was checked; left as it is.")


def _delete_orphan(problems: list[Problem]) -> None:
    """Delete the lock while its owner is the one judged and that owner does not hold it (absent,
    or unchanged since it was read without it)."""
    (problem,) = problems
    owner = problem.other
    (appointment,) = batch_get([(Appointment, owner)]) if owner else (None,)
    if _claims(appointment, problem.lock_key):
        raise _changed()

    def build(tx: Transaction) -> None:
        same_owner = Lock.owner == owner if owner else Lock.owner.does_not_exist()
        tx.delete(Lock(problem.lock_key), condition=same_owner, on_fail=_changed)
        if owner:
            unchanged = (
                Appointment.appointment_id.does_not_exist()
                if appointment is None
                else Appointment.version == appointment.version
            )
            tx.check(Appointment, owner, condition=unchanged, on_fail=_changed)

    run_transaction(build, default_conflict=_changed)


def _put_missing_locks(problems: list[Problem]) -> None:
    """Put back an active appointment's missing locks, each only where no item exists (so a slot
    another appointment took is never taken from it), with the appointment unchanged since read."""
    appointment_id = problems[0].appointment_id
    (appointment,) = batch_get([(Appointment, appointment_id)])
    keys = [problem.lock_key for problem in problems]
    if appointment is None or appointment.state not in ACTIVE_STATES or not set(keys) <= set(appointment.lock_keys):
        raise _changed()

    def build(tx: Transaction) -> None:
        put_locks(tx, appointment, keys)
        tx.check(Appointment, appointment_id, condition=Appointment.version == appointment.version, on_fail=_changed)

    run_transaction(build, default_conflict=_changed)


def _restore_pending_key(problems: list[Problem]) -> None:
    """Give a pending appointment its index key again, so the pending sweep finds it."""
    (problem,) = problems
    (appointment,) = batch_get([(Appointment, problem.appointment_id)])
    if appointment is None or appointment.pending_key is not None or not _pending_key_expected(appointment):
        raise _changed()
    appointment.set_state(appointment.state)
    appointment.touch()
    save_record(appointment, if_match=None)  # conditional on the version read
