"""Capacity model: the busiest partition key of every DynamoDB table and index at a given booking rate,
against DynamoDB's per-key limits, and what the month costs on demand. Pure arithmetic: no services,
no Django. Run with `make capacity` (or `python bench/capacity.py --help`); `--check` exits 1 when
any key is above the planning threshold (50% of its limit).

Limits: one partition key value takes at most 1,000 write units/s and 3,000 read units/s, in a table
and in a GSI alike, and a GSI that cannot keep up throttles the writes to its base table.

What one booking makes, read from the code (appointments/services/, outbox.py, notifications.py,
scheduler/db/transactions.py, scheduler/security/audit.py, scheduler/api/views.py) — and modelled per
booking over its life:
- API, POST /appointments: the token (GetItem, strong); one BatchGetItem (strong) of doctor, patient
  and, when the client sends its appointmentId (assumed: that is how retries stay idempotent), the
  appointment; the country from the 30 s per-process cache; one TransactWriteItems of the appointment,
  12 locks (30 minutes of doctor and of patient in 5-minute buckets), the `pending` event, a condition
  check on the doctor and one on the patient, and the audit entry (it joins the write's transaction).
- Hand-off, after the response: the processing message goes to SQS, then one plain UpdateItem (not
  transactional) sets the appointment's `enqueuedAt` marker, which rewrites its entry in every GSI it
  is in (byDoctor, byPatient, byCountryDay, byState).
- Worker: publishes the pending event (event GetItem strong + UpdateItem that drops `unpublishedKey`),
  reads the appointment (strong), schedules it (transaction: appointment + `scheduled` event; no audit
  entry, the worker acts for no request), publishes that event the same way (inline, same process).
- Each reminder (countries default to two: 1440 and 120 minutes before; beat's sweep, a Query on the
  sparse byReminder index): transaction of appointment + `reminder` event, published by the relay task.
- Completion (assumed for every appointment; a staff PATCH): the appointment read (strong), then a
  transaction of appointment + `completed` event + audit entry, published by the relay task.
- Each event reaches the notifications consumer: BatchGetItem (strong) of doctor, patient and
  appointment, then per message (patient e-mail, patient SMS, doctor e-mail) a dedupe lock GetItem
  (strong) and a conditional PutItem in the slots table.
- Client reads per booking (`--reads-per-booking`, split by `--read-mix`): availability (doctor
  GetItem + Query byDoctor; not audited), appointment GET (GetItem strong + audit entry), a patient's
  agenda (Query byPatient + audit entry keyed by the patient) and a country's day listing (a Query of a
  page on every byCountryDay shard — a sorted merge needs a page from each — + audit entry keyed by one of
  the country's AUDIT_LIST_SHARDS keys, `<countryId>#<k>`). Every request also reads its token.

Units: a write is 1 unit per KB (rounded up per item), 2 per KB inside TransactWriteItems — a
ConditionCheck too; a strong read 1 unit per 4 KB, eventual 0.5; a Query sums its items' sizes before
rounding. A GSI write follows every write to an item that is in the index (ALL projection: any change
rewrites the entry), enters it or leaves it; a change of an index key (byReminder's range key when
the next reminder is set) is two GSI writes, a delete and a put. Sizes were measured on serialized
items (appointment 1.1-1.2 KB, event 0.55, doctor 0.7, patient 0.66, audit 0.2, list audit with 50
ids 1.6, lock 0.1).

Busiest key of each scope (what bounds its traffic):
- an item (appointment, event, lock, audit entry): its whole life within one second, an upper bound;
- a doctor / a patient: `--busiest-doctor-bookings` / `--busiest-patient-bookings` per second;
- a contested slot lock: `--slot-attempts` racing bookings per second (a failed attempt still writes);
- byCountryDay `<country>#<UTC day>#<k>`: the busiest country's rate ÷ COUNTRY_DAY_SHARDS, times the
  hottest day's share for writes made when booking, but times 1 for writes made when the appointment
  *happens*: all of a country's 120-minute reminders and completions land on today's key, all its
  1440-minute reminders on tomorrow's (appointments happen at the rate they are booked, steady state);
- sparse indexes `<kind>#<k>`: all countries' rate ÷ SPARSE_INDEX_SHARDS;
- an actor (audit byActor, its token): `--busiest-actor-rps` requests per second (a call-centre or
  integration account, beyond the default 20 requests/s a user gets);
- a country item: every process re-reads it every 30 s (`--processes`).

Not modelled: cancellations and reschedules (each like a completion, plus lock deletes or puts),
failed bookings, sweeps that find nothing, sign-ins, SQS/SNS, storage ($0.25 per GB-month, growing
with history), and peaks above the given rate.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

WRITE_LIMIT = 1000.0  # write units per second per partition key value
READ_LIMIT = 3000.0  # read units per second per partition key value
PLANNING_THRESHOLD = 0.5  # a key above half its limit is HOT: no headroom for a peak
SECONDS_PER_MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class Params:
    bookings_per_second: float = 10_000
    countries: int = 60
    busiest_share: float = 0.30  # of all bookings, in the busiest country
    hottest_day_share: float = 0.10  # of a country's bookings, for its busiest day
    # Design parameters (settings SPARSE_INDEX_SHARDS, COUNTRY_DAY_SHARDS, AUDIT_LIST_SHARDS): the
    # smallest powers of two that keep every key at 10,000 bookings/s under half its limit.
    sparse_shards: int = 256
    country_day_shards: int = 32
    audit_list_shards: int = 2  # byObject key of a country listing's audit entry: `<countryId>#<k>`
    # The appointment's life
    lock_items: int = 12  # 30 minutes of doctor and of patient, 5-minute buckets
    reminder_offsets_minutes: tuple[int, ...] = (1440, 120)  # countries' default
    completions: float = 1.0  # per booking, a staff PATCH to completed or no_show
    messages_per_event: int = 3  # patient e-mail, patient SMS, doctor e-mail
    client_sends_id: bool = True
    # Client reads
    reads_per_booking: float = 10.0
    read_mix: tuple[tuple[str, float], ...] = (
        ("availability", 0.60),
        ("appointment", 0.20),
        ("patient", 0.19),
        ("country", 0.01),
    )
    availability_items: int = 20  # appointments a doctor's availability Query returns
    agenda_items: int = 10  # a patient's agenda page
    page_items: int = 50  # a country-day listing page (per shard)
    listing_day_share: float = 0.5  # of a country's listings, of its busiest day (today)
    # Hot entities
    busiest_doctor_bookings: float = 1.0  # per second
    busiest_patient_bookings: float = 0.1
    slot_attempts: float = 20.0  # bookings racing for one slot in one second
    busiest_actor_rps: float = 200.0
    processes: int = 1000  # API and worker processes, each caching countries for 30 s
    country_cache_seconds: float = 30.0
    # Item sizes in KB
    appointment_kb: float = 1.2
    event_kb: float = 0.6
    doctor_kb: float = 0.7
    patient_kb: float = 0.7
    lock_kb: float = 0.1
    audit_kb: float = 0.25
    audit_id_kb: float = 0.028  # per id a list entry names
    token_kb: float = 0.3
    country_kb: float = 0.5
    # On-demand prices, us-east-1, in force since 2024-11-01 (USD per million request units)
    price_date: str = "2024-11-01"
    write_price_per_million: float = 0.625
    read_price_per_million: float = 0.125

    def mix(self, kind: str) -> float:
        return dict(self.read_mix).get(kind, 0.0)


# Scopes: what one key of an index or table carries (see the module docstring).
ITEM, DOCTOR, PATIENT, COUNTRY_DAY, SPARSE, COUNTRY_LIST, ACTOR, SLOT, PROCESS = (
    "item",
    "doctor",
    "patient",
    "country-day",
    "sparse",
    "country-list",
    "actor",
    "slot",
    "process",
)


@dataclass(frozen=True)
class Op:
    """One kind of request unit use: `per_booking` times per booking, `wu`/`ru` units each."""

    table: str
    index: str | None
    what: str
    scope: str
    key: str
    per_booking: float
    wu: float = 0.0
    ru: float = 0.0
    items: float = 1.0  # distinct items `per_booking` spreads over (ITEM scope)
    share: float = 1.0  # share of the scope's traffic on its busiest key before sharding
    day: int | None = None  # COUNTRY_DAY: the day it lands on counted from today; None: any day

    @property
    def name(self) -> str:
        return f"{self.table}.{self.index}" if self.index else self.table


def write_units(kb: float, *, transactional: bool = False) -> float:
    return math.ceil(kb) * (2 if transactional else 1)


def read_units(kb: float, *, strong: bool = True) -> float:
    return math.ceil(kb / 4) * (1.0 if strong else 0.5)


def query_units(items: float, kb: float) -> float:
    """An eventually consistent Query (every GSI Query is): item sizes summed, then rounded up."""
    return math.ceil(items * kb / 4) * 0.5 if items else 0.0


def events_per_booking(p: Params) -> float:
    return 2 + len(p.reminder_offsets_minutes) + p.completions


def requests_per_booking(p: Params) -> float:
    return 1 + p.completions + p.reads_per_booking


def operations(p: Params) -> list[Op]:
    """Every request unit a booking causes over its life, by table and index."""
    ops: list[Op] = []
    add = ops.append
    reminders = len(p.reminder_offsets_minutes)
    changes = 1 + 1 + reminders + p.completions  # booking, scheduling, each reminder, completion
    events = events_per_booking(p)
    reads = p.reads_per_booking
    availability, gets, agendas, listings = (
        reads * p.mix(kind) for kind in ("availability", "appointment", "patient", "country")
    )
    appt_tx = write_units(p.appointment_kb, transactional=True)
    appt_gsi = write_units(p.appointment_kb)

    # appointments and its GSIs
    add(Op("appointments", None, "put in a transaction", ITEM, "appointmentId", changes, wu=appt_tx))
    add(Op("appointments", None, "enqueued marker (UpdateItem)", ITEM, "appointmentId", 1, wu=appt_gsi))
    entry_writes = changes + 1  # every change and the enqueued marker rewrite the GSI entries
    item_reads = (1 if p.client_sends_id else 0) + 1 + p.completions + events + gets
    add(
        Op(
            "appointments",
            None,
            "GetItem / BatchGetItem (strong)",
            ITEM,
            "appointmentId",
            item_reads,
            ru=read_units(p.appointment_kb),
        )
    )
    add(Op("appointments", "byDoctor", "entry written", DOCTOR, "doctorId", entry_writes, wu=appt_gsi))
    add(
        Op(
            "appointments",
            "byDoctor",
            "availability Query",
            DOCTOR,
            "doctorId",
            availability,
            ru=query_units(p.availability_items, p.appointment_kb),
        )
    )
    add(Op("appointments", "byPatient", "entry written", PATIENT, "patientId", entry_writes, wu=appt_gsi))
    add(
        Op(
            "appointments",
            "byPatient",
            "agenda Query",
            PATIENT,
            "patientId",
            agendas,
            ru=query_units(p.agenda_items, p.appointment_kb),
        )
    )
    country_day = "<countryId>#<UTC day>#<k>"
    add(
        Op(
            "appointments",
            "byCountryDay",
            "booking, its enqueued marker and scheduling",
            COUNTRY_DAY,
            country_day,
            3,
            wu=appt_gsi,
            share=p.hottest_day_share,
        )
    )
    for offset in p.reminder_offsets_minutes:
        add(
            Op(
                "appointments",
                "byCountryDay",
                f"reminder {offset} min before",
                COUNTRY_DAY,
                country_day,
                1,
                wu=appt_gsi,
                day=offset // 1440,
            )
        )
    add(Op("appointments", "byCountryDay", "completion", COUNTRY_DAY, country_day, p.completions, wu=appt_gsi, day=0))
    add(
        Op(
            "appointments",
            "byCountryDay",
            "listing: a page from every shard",
            COUNTRY_DAY,
            country_day,
            listings * p.country_day_shards,
            ru=query_units(p.page_items, p.appointment_kb),
            share=p.listing_day_share,
        )
    )
    add(
        Op(
            "appointments",
            "byState",
            "enters on booking, rewritten by the enqueued marker, leaves when scheduled",
            SPARSE,
            "pending#<k>",
            3,
            wu=appt_gsi,
        )
    )
    if reminders:
        # Enters when scheduled; each reminder sent but the last moves its range key (delete + put);
        # the last one leaves.
        add(
            Op(
                "appointments",
                "byReminder",
                "enters, moves, leaves",
                SPARSE,
                "due#<k>",
                1 + 2 * (reminders - 1) + 1,
                wu=appt_gsi,
            )
        )
        add(
            Op("appointments", "byReminder", "sweep Query", SPARSE, "due#<k>", reminders, ru=p.appointment_kb / 4 * 0.5)
        )

    # events (the outbox)
    add(
        Op(
            "events",
            None,
            "put in a transaction",
            ITEM,
            "eventId",
            events,
            wu=write_units(p.event_kb, transactional=True),
            items=events,
        )
    )
    add(
        Op(
            "events",
            None,
            "marked published (UpdateItem)",
            ITEM,
            "eventId",
            events,
            wu=write_units(p.event_kb),
            items=events,
        )
    )
    add(
        Op(
            "events",
            None,
            "GetItem (strong) before publishing",
            ITEM,
            "eventId",
            events,
            ru=read_units(p.event_kb),
            items=events,
        )
    )
    add(
        Op(
            "events",
            "byUnpublished",
            "enters on put, leaves when published",
            SPARSE,
            "unpublished#<k>",
            2 * events,
            wu=write_units(p.event_kb),
        )
    )

    # slots: time locks and the consumer's dedupe keys
    add(
        Op(
            "slots",
            None,
            "lock put in the booking transaction",
            SLOT,
            "doctor#<id>#<bucket> (contested)",
            p.lock_items,
            wu=write_units(p.lock_kb, transactional=True),
        )
    )
    messages = events * p.messages_per_event
    add(
        Op(
            "slots",
            None,
            "notification dedupe key put",
            ITEM,
            "event#<eventId>#<channel>",
            messages,
            wu=write_units(p.lock_kb),
            items=messages,
        )
    )
    add(
        Op(
            "slots",
            None,
            "notification dedupe key GetItem (strong)",
            ITEM,
            "event#<eventId>#<channel>",
            messages,
            ru=read_units(p.lock_kb),
            items=messages,
        )
    )

    # doctors and patients: read at booking and by the consumer, checked in the booking transaction
    add(
        Op(
            "doctors",
            None,
            "BatchGetItem (strong): booking, consumer",
            DOCTOR,
            "doctorId",
            1 + events,
            ru=read_units(p.doctor_kb),
        )
    )
    add(
        Op(
            "doctors",
            None,
            "GetItem for availability",
            DOCTOR,
            "doctorId",
            availability,
            ru=read_units(p.doctor_kb, strong=False),
        )
    )
    add(
        Op(
            "doctors",
            None,
            "ConditionCheck in the booking",
            DOCTOR,
            "doctorId",
            1,
            wu=write_units(p.doctor_kb, transactional=True),
        )
    )
    add(
        Op(
            "patients",
            None,
            "BatchGetItem (strong): booking, consumer",
            PATIENT,
            "patientId",
            1 + events,
            ru=read_units(p.patient_kb),
        )
    )
    add(
        Op(
            "patients",
            None,
            "ConditionCheck in the booking",
            PATIENT,
            "patientId",
            1,
            wu=write_units(p.patient_kb, transactional=True),
        )
    )

    # audit: writes join their transaction; reads of appointments are recorded on their own
    list_kb = p.audit_kb + p.audit_id_kb * p.page_items
    agenda_kb = p.audit_kb + p.audit_id_kb * p.agenda_items
    audit_tx = write_units(p.audit_kb, transactional=True)
    entries = 1 + p.completions + gets + agendas + listings
    add(
        Op(
            "audit",
            None,
            "entries (in the write's transaction for writes)",
            ITEM,
            "entryId",
            entries,
            wu=(
                audit_tx * (1 + p.completions)
                + write_units(p.audit_kb) * gets
                + write_units(agenda_kb) * agendas
                + write_units(list_kb) * listings
            )
            / entries
            if entries
            else 0,
            items=entries,
        )
    )
    add(
        Op(
            "audit",
            "byObject",
            "booking, completion, appointment reads",
            ITEM,
            "appointmentId",
            1 + p.completions + gets,
            wu=write_units(p.audit_kb),
            items=1,
        )
    )
    add(Op("audit", "byObject", "patient agenda reads", PATIENT, "patientId", agendas, wu=write_units(agenda_kb)))
    add(Op("audit", "byObject", "country listings", COUNTRY_LIST, "<countryId>#<k>", listings, wu=write_units(list_kb)))
    # The busiest actor's requests are costed at the larger entry (a country listing's).
    add(Op("audit", "byActor", "record entries", ACTOR, "username", entries - listings, wu=write_units(p.audit_kb)))
    add(Op("audit", "byActor", "country listing entries", ACTOR, "username", listings, wu=write_units(list_kb)))

    # tokens and countries
    add(
        Op(
            "tokens",
            None,
            "GetItem (strong) per request",
            ACTOR,
            "tokenHash",
            requests_per_booking(p),
            ru=read_units(p.token_kb),
        )
    )
    country_reads = p.processes * p.countries / p.country_cache_seconds / p.bookings_per_second
    add(
        Op(
            "countries",
            None,
            "GetItem per process every 30 s",
            PROCESS,
            "countryId",
            country_reads,
            ru=read_units(p.country_kb, strong=False),
        )
    )
    return ops


def scope_rate(p: Params, scope: str) -> float:
    """Occurrences per second, on the busiest key, of what `per_booking` counts (ITEM: per item)."""
    busiest_country = p.bookings_per_second * p.busiest_share
    return {
        ITEM: 1.0,
        DOCTOR: p.busiest_doctor_bookings,
        PATIENT: p.busiest_patient_bookings,
        COUNTRY_DAY: busiest_country / p.country_day_shards,
        SPARSE: p.bookings_per_second / p.sparse_shards,
        COUNTRY_LIST: busiest_country / p.audit_list_shards,
        # Per request of the busiest actor, per racing attempt, per country re-read: not per booking.
        ACTOR: p.busiest_actor_rps,
        SLOT: p.slot_attempts,
        PROCESS: p.processes / p.country_cache_seconds,
    }[scope]


@dataclass(frozen=True)
class KeyLoad:
    name: str
    key: str
    wcu: float
    rcu: float

    @property
    def write_share(self) -> float:
        return self.wcu / WRITE_LIMIT

    @property
    def read_share(self) -> float:
        return self.rcu / READ_LIMIT

    @property
    def hot(self) -> bool:
        return max(self.write_share, self.read_share) > PLANNING_THRESHOLD


def _scope_load(p: Params, scope: str, ops: list[Op]) -> tuple[float, float]:
    rate = scope_rate(p, scope)
    if scope in (ACTOR, SLOT, PROCESS):
        # One request, attempt or re-read: its units, not its per-booking count.
        return rate * max(op.wu for op in ops), rate * max(op.ru for op in ops)
    if scope == COUNTRY_DAY:
        # Writes made at booking spread over days by `share`; those made when the appointment happens
        # land wholly on their day: the busiest day key is the day with the most.
        anyday = [op for op in ops if op.day is None]
        days = {op.day for op in ops if op.day is not None} or {0}
        loads = []
        for day in days:
            on_day = [op for op in ops if op.day == day]
            wcu = sum(op.per_booking * op.share * op.wu for op in anyday) + sum(op.per_booking * op.wu for op in on_day)
            rcu = sum(op.per_booking * op.share * op.ru for op in anyday) + sum(op.per_booking * op.ru for op in on_day)
            loads.append((rate * wcu, rate * rcu))
        return max(loads)
    wcu = sum(op.per_booking / op.items * op.share * op.wu for op in ops)
    rcu = sum(op.per_booking / op.items * op.share * op.ru for op in ops)
    return rate * wcu, rate * rcu


def busiest_keys(p: Params) -> list[KeyLoad]:
    """Per table and index, in the order first met: its busiest key's write and read units per second."""
    groups: dict[str, dict[str, list[Op]]] = {}
    for op in operations(p):
        groups.setdefault(op.name, {}).setdefault(op.scope, []).append(op)
    result = []
    for name, scopes in groups.items():
        candidates = []
        for scope, ops in scopes.items():
            wcu, rcu = _scope_load(p, scope, ops)
            candidates.append(KeyLoad(name, ops[0].key, wcu, rcu))
        result.append(max(candidates, key=lambda load: (max(load.write_share, load.read_share), load.wcu)))
    return result


@dataclass(frozen=True)
class Totals:
    write_units_per_booking: float
    read_units_per_booking: float
    write_units_per_second: float
    read_units_per_second: float
    monthly_cost: float
    cost_per_million_bookings: float
    by_table: dict[str, tuple[float, float]] = field(default_factory=dict)  # per booking (write, read)


def totals(p: Params) -> Totals:
    by_table: dict[str, tuple[float, float]] = {}
    for op in operations(p):
        write, read = by_table.get(op.name, (0.0, 0.0))
        by_table[op.name] = (write + op.per_booking * op.wu, read + op.per_booking * op.ru)
    wu = sum(write for write, _ in by_table.values())
    ru = sum(read for _, read in by_table.values())
    per_booking_cost = (wu * p.write_price_per_million + ru * p.read_price_per_million) / 1e6
    return Totals(
        write_units_per_booking=wu,
        read_units_per_booking=ru,
        write_units_per_second=wu * p.bookings_per_second,
        read_units_per_second=ru * p.bookings_per_second,
        monthly_cost=per_booking_cost * p.bookings_per_second * SECONDS_PER_MONTH,
        cost_per_million_bookings=per_booking_cost * 1e6,
        by_table=by_table,
    )


def shards_needed(p: Params, index: str, parameter: str, *, limit: int = 4096) -> int | None:
    """The smallest power of two for `parameter` that keeps `index`'s busiest key at or under the
    planning threshold (None if none up to `limit` does: sharding does not help that key)."""
    shards = 1
    while shards <= limit:
        trial = Params(**{**_as_dict(p), parameter: shards})
        load = next(load for load in busiest_keys(trial) if load.name == index)
        if not load.hot:
            return shards
        shards *= 2
    return None


# Each design parameter and the indexes whose keys it divides.
SHARDED = {
    "sparse_shards": ("appointments.byState", "appointments.byReminder", "events.byUnpublished"),
    "country_day_shards": ("appointments.byCountryDay",),
    "audit_list_shards": ("audit.byObject",),
}


def recommended_shards(p: Params) -> dict[str, int | None]:
    """Per design parameter: the smallest power of two that keeps all its indexes under the threshold."""
    needed: dict[str, int | None] = {}
    for parameter, indexes in SHARDED.items():
        counts = [shards_needed(p, index, parameter) for index in indexes]
        needed[parameter] = None if None in counts else max(counts)
    return needed


def _as_dict(p: Params) -> dict:
    return {f.name: getattr(p, f.name) for f in fields(p)}


# --- The report ------------------------------------------------------------------------------------


def report(p: Params) -> str:
    loads = busiest_keys(p)
    lines = [
        f"{p.bookings_per_second:,.0f} bookings/s over {p.countries} countries, {p.busiest_share:.0%} in the busiest; "
        f"shards: sparse {p.sparse_shards}, country-day {p.country_day_shards}, audit list {p.audit_list_shards}",
        "",
        f"{'table.index':<26} {'busiest key':<34} {'WCU/s':>8} {'%1000':>6} {'RCU/s':>8} {'%3000':>6}  flag",
    ]
    for load in loads:
        lines.append(
            f"{load.name:<26} {load.key:<34} {load.wcu:>8.1f} {load.write_share:>6.1%} {load.rcu:>8.1f} "
            f"{load.read_share:>6.1%}  {'HOT' if load.hot else 'OK'}"
        )
    t = totals(p)
    lines += [
        "",
        f"per booking: {t.write_units_per_booking:.1f} write units, {t.read_units_per_booking:.1f} read units "
        f"(life of the booking, GSIs and client reads included)",
        f"all tables: {t.write_units_per_second:,.0f} WRU/s, {t.read_units_per_second:,.0f} RRU/s",
        f"on demand (us-east-1, prices of {p.price_date}: ${p.write_price_per_million} per million WRU, "
        f"${p.read_price_per_million} per million RRU):",
        f"  ${t.cost_per_million_bookings:,.2f} per million bookings; "
        f"${t.monthly_cost:,.0f} per 30-day month at this rate",
    ]
    needed = ", ".join(f"{name} {count or 'none helps'}" for name, count in recommended_shards(p).items())
    lines.append(f"shards needed at this rate (powers of two, every key under 50%): {needed}")
    hot = [load.name for load in loads if load.hot]
    lines.append(
        f"HOT (over {PLANNING_THRESHOLD:.0%} of a limit; a hot GSI throttles its base table's writes): {', '.join(hot)}"
        if hot
        else "no key over 50% of its limit"
    )
    return "\n".join(lines)


def _parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    pairs = []
    for part in text.split(","):
        kind, _, share = part.partition("=")
        pairs.append((kind.strip(), float(share)))
    return tuple(pairs)


def parse_args(argv: Iterable[str] | None = None) -> tuple[Params, bool]:
    defaults = Params()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in fields(Params):
        value = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if f.name == "read_mix":
            parser.add_argument(
                flag,
                type=_parse_mix,
                default=value,
                help="kind=share,... (default: " + ",".join(f"{k}={s}" for k, s in value) + ")",
            )
        elif f.name == "reminder_offsets_minutes":
            parser.add_argument(
                flag,
                type=lambda s: tuple(int(x) for x in s.split(",") if x),
                default=value,
                help=f"comma-separated (default: {','.join(map(str, value))})",
            )
        elif isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value, help=f"default: {value}")
    parser.add_argument("--check", action="store_true", help="exit 1 when a key is over 50%% of its limit")
    args = vars(parser.parse_args(list(argv) if argv is not None else None))
    check = args.pop("check")
    return Params(**args), check


def main(argv: Iterable[str] | None = None) -> int:
    p, check = parse_args(argv)
    print(report(p))
    return 1 if check and any(load.hot for load in busiest_keys(p)) else 0


if __name__ == "__main__":
    sys.exit(main())
