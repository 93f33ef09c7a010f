"""Queues, routing and the worker's steps.

Each country's appointments go to that country's own queue, `<prefix>appointments-<code>` (one
routing function), so a surge in one country never delays another; beat's sweeps go to their own
`periodic` queue, served by a worker of their own, so no surge delays them either. Queues and their
dead-letter queues are created by `bootstrap`, when a country is created, or on first use here;
kombu knows them as predefined queues and never creates one itself.

How one worker reaches many queues: kombu's SQS transport runs a polling loop per queue, but all of
a worker's loops share one async HTTP client, of 10 connections in kombu, and an empty long poll holds
its connection for `wait_time_seconds`. With more queues than connections each queue waits its turn
(with 49 queues, about every 40 s). `SqsConnections` gives the worker's hub a client with a connection
for every queue it consumes, plus a margin, before any queue is polled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import click
from celery import Task, bootsteps, current_app
from celery.signals import beat_init, celeryd_after_setup, worker_process_init, worker_shutdown

from scheduler.messaging import sqs

logger = logging.getLogger(__name__)

PERIODIC_QUEUE = "periodic"


class DelayGuardTask(Task):
    """Refuses a countdown or ETA longer than SQS's visibility timeout allows: SQS would hand the
    message to another worker while this one still holds it back."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None, **options):
        limit = max_delay_seconds(self.app)
        delay = options.get("countdown") or 0
        if options.get("eta") is not None:
            eta = options["eta"]
            delay = max(delay, (eta - datetime.now(eta.tzinfo or UTC)).total_seconds())
        if delay > limit:
            raise ValueError(f"A delay of {delay:.0f}s exceeds the {limit:.0f}s the SQS visibility timeout allows.")
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, **options)


def max_delay_seconds(app) -> float:
    # Half the visibility timeout leaves room for the task's own run time.
    return app.conf.broker_transport_options.get("visibility_timeout", 300) / 2


_declare_lock = threading.Lock()

# Set by `install`: the project's app, and where the countries' codes come from (an app's selector,
# which this platform module may not import).
_installed: dict = {}


def _app():
    return _installed.get("app") or current_app


def declare_queue(suffix: str) -> str:
    """Make sure a queue and its dead-letter queue exist, and declare the queue to kombu as a
    predefined queue (Celery copies the transport options shallowly, so every connection of this
    process sees the shared dict). Called once per queue and process; returns the suffix."""
    from scheduler.messaging import aws

    predefined = _app().conf.broker_transport_options["predefined_queues"]
    name = aws.queue_name(suffix)
    if name not in predefined:
        with _declare_lock:
            if name not in predefined:
                predefined[name] = {"url": aws.ensure_queue(suffix, lambda *_: None)}
    return suffix


def route_task(name, args, kwargs, options, task=None, **kw):
    """The one routing rule: a task that names a country goes to that country's queue, except in the
    country's first NEW_COUNTRY_DEFAULT_QUEUE_SECONDS, when it goes to the default queue (every
    shared worker consumes it; the country's own queue is found by the workers within
    WORKER_QUEUE_REFRESH_SECONDS); any other task to its own or the default queue."""
    from scheduler.messaging import aws

    code = (kwargs or {}).get("country_code")
    if code and not is_new_country(code):
        return {"queue": declare_queue(aws.country_queue_suffix(code))}
    if code:
        return {"queue": declare_queue(_app().conf.task_default_queue)}
    queue = options.get("queue") or _app().conf.task_default_queue
    declare_queue(getattr(queue, "name", queue))  # a name, or the kombu Queue Celery made of it
    return None


def is_new_country(code: str) -> bool:
    """Whether the country was created too recently for the workers to consume its queue yet (a
    country not found yet, as an index that lags reads it, is new too)."""
    from django.conf import settings

    window = settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS
    created_at = _installed.get("country_created_at")
    if not window or created_at is None:
        return False
    try:
        created = created_at(code)
    except Exception:  # DynamoDB not answering: the country's own queue, as before
        logger.warning("could not read when country %s was created", code, exc_info=True)
        return False
    return created is None or (datetime.now(UTC) - created).total_seconds() < window


def declare_worker_queues(sender, instance, **kwargs):
    """The queues a worker consumes (-Q) are predefined before it starts consuming them."""
    app = instance.app
    declare_queue(app.conf.task_default_queue)
    for queue_name in app.amqp.queues.consume_from:
        declare_queue(queue_name)


def declare_beat_queues(sender, **kwargs):
    """Beat's producer opens its channel before routing anything: predefine its queues first."""
    declare_queue(_app().conf.task_default_queue)
    declare_queue(PERIODIC_QUEUE)


# --- Connections and receiving ------------------------------------------------------------------


def connections_needed(queue_count: int) -> int:
    """Connections for a worker consuming `queue_count` queues: one each (an empty long poll holds
    its connection for the whole wait), a margin for queues added before the next look for new
    countries, and never fewer than the setting."""
    from django.conf import settings

    return max(settings.WORKER_SQS_CONNECTIONS, queue_count + settings.WORKER_SQS_CONNECTIONS_MARGIN)


def _growing_curl_client():
    from kombu.asynchronous.http.curl import CurlClient

    class GrowingCurlClient(CurlClient):
        """kombu's pycurl client, whose pool of handles can grow while the worker runs (kombu's is
        fixed when it is made). A handle is one connection; requests beyond them wait their turn."""

        def grow_to(self, size: int) -> int:
            if size > self.max_clients and not self._closed:
                added = [self.Curl() for _ in range(size - self.max_clients)]
                self._curls.extend(added)
                self._free_list.extend(added)
                self.max_clients = size
                self._process_queue()
            return self.max_clients

    return GrowingCurlClient


def ensure_connections(hub, queue_count: int) -> int | None:
    """Make sure the worker's event loop has a growing HTTP client with the connections `queue_count`
    queues need, and return how many it has (None without an event loop, where a pool polls
    synchronously). A client that cannot grow, or is gone (the hub closes its client when the consumer
    restarts after a lost connection, and kombu would make one of 10), is replaced."""
    if hub is None:
        return None
    size = connections_needed(queue_count)
    client = getattr(hub, "_current_http_client", None)
    if client is not None and hasattr(client, "grow_to") and not client._closed:
        return client.grow_to(size)
    hub._current_http_client = _growing_curl_client()(hub, max_clients=size)
    if client is not None:
        client.close()
    return size


class SqsConnections(bootsteps.StartStopStep):
    """Each time the consumer starts (at the worker's start and after every reconnect), before any
    queue is polled: give the worker's event loop an HTTP client with a connection for each queue it
    will consume (and a margin), which CountryQueues grows as countries are added. This sets kombu's
    `hub._current_http_client` (private: kombu is pinned, and tests/system/test_many_countries.py checks
    the assumption), the client kombu's `get_client()` hands to every SQS connection of the worker. It
    also sets how many messages each queue may hold (scheduler/messaging/sqs.py)."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent, all_countries=False, except_countries=None, **kwargs):
        self.all_countries = all_countries
        self.excluded = excluded_suffixes(except_countries)
        super().__init__(parent, **kwargs)

    def start(self, consumer):
        worker = consumer.controller
        configure_receiving(getattr(worker, "concurrency", None) or 1)
        names = set(consumer.app.amqp.queues.consume_from or ())
        if self.all_countries:
            names |= (_country_suffixes() or set()) - self.excluded
        queues = len(names)
        size = ensure_connections(getattr(worker, "hub", None), queues)
        if size is None:
            return
        logger.info(
            "SQS: %d connections for %d queues; a queue holds at most %d messages, all together %d",
            size,
            queues,
            sqs.Channel.per_queue,
            sqs.Channel.total,
        )


def configure_receiving(concurrency: int) -> None:
    from django.conf import settings

    per_queue = settings.WORKER_QUEUE_PREFETCH or max(sqs.SQS_BATCH, 2 * concurrency)
    sqs.Channel.per_queue = per_queue
    sqs.Channel.total = max(per_queue, settings.WORKER_PREFETCH_LIMIT or 2 * per_queue)


def excluded_suffixes(except_countries: str | None) -> set[str]:
    """The queues of the countries named in --except-countries (codes, comma-separated), which a
    shared worker group leaves to their dedicated groups."""
    from scheduler.messaging import aws

    codes = [code.strip() for code in (except_countries or "").split(",") if code.strip()]
    return {aws.country_queue_suffix(code) for code in codes}


def _country_suffixes() -> set[str] | None:
    from scheduler.messaging import aws

    country_codes = _installed.get("country_codes")
    if country_codes is None:
        return set()
    try:
        return {aws.country_queue_suffix(code) for code in country_codes()}
    except Exception:  # DynamoDB briefly unreachable: the caller tries again later
        logger.warning("could not list countries", exc_info=True)
        return None


# --- Workers follow new countries ----------------------------------------------------------------


class CountryQueues(bootsteps.StartStopStep):
    """With --all-countries: consume each country's queue, and look for new countries from time to time."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, all_countries=False, except_countries=None, **kwargs):
        self.enabled = all_countries
        self.excluded = excluded_suffixes(except_countries)
        self.timer_entry = None
        super().__init__(parent, **kwargs)

    def start(self, consumer):
        self.refresh(consumer)
        from django.conf import settings

        self.timer_entry = consumer.timer.call_repeatedly(
            settings.WORKER_QUEUE_REFRESH_SECONDS, self.refresh, (consumer,)
        )

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()

    def refresh(self, consumer):
        wanted = _country_suffixes()
        if wanted is None:
            return
        consumed = {queue.name for queue in consumer.task_consumer.queues}
        added = sorted(wanted - consumed - self.excluded)
        if not added:
            return
        # Connections first: the new queues' long polls must not wait for the others'.
        size = ensure_connections(getattr(consumer.controller, "hub", None), len(consumed) + len(added))
        for suffix in added:
            consumer.add_task_queue(declare_queue(suffix))
        logger.info(
            "now consuming %s (%d queues, %s SQS connections)",
            ", ".join(added),
            len(consumed) + len(added),
            size if size is not None else "synchronous",
        )


# --- What a worker tells its operator -------------------------------------------------------------


class QueueStatus(bootsteps.StartStopStep):
    """Every WORKER_STATUS_SECONDS, one log line: the queues the worker consumes, its connections, what
    it holds, and each queue with a backlog (messages waiting and in flight, from GetQueueAttributes,
    read on a thread so the event loop does not wait) with how long its oldest message received in the
    interval had waited, or how long nothing was received while messages waited."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        self.timer_entry = None
        self.reporting: threading.Thread | None = None
        self.backlog_since: dict[str, float] = {}
        super().__init__(parent, **kwargs)

    def start(self, consumer):
        from django.conf import settings

        if settings.WORKER_STATUS_SECONDS > 0:
            self.timer_entry = consumer.timer.call_repeatedly(settings.WORKER_STATUS_SECONDS, self.report, (consumer,))

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()

    def report(self, consumer):
        """On the event loop: what only it may read; the rest on a thread."""
        channel = consumer.task_consumer.channel
        forgotten = channel.take_forgotten() if isinstance(channel, sqs.Channel) else 0
        names = sorted(queue.name for queue in consumer.task_consumer.queues)
        held = {name: channel.held(name) for name in names} if isinstance(channel, sqs.Channel) else {}
        client = getattr(getattr(consumer.controller, "hub", None), "_current_http_client", None)
        connections = getattr(client, "max_clients", None)
        if self.reporting is not None and self.reporting.is_alive():
            return  # the last report is still reading the queues: skip this one
        args = (names, held, connections, forgotten, sqs.stats.take())
        self.reporting = threading.Thread(target=self._log, args=args, name="queue-status", daemon=True)
        self.reporting.start()

    def _log(self, names, held, connections, forgotten, received) -> None:
        try:
            depths = queue_depths(names)
        except Exception as exc:
            logger.warning("status: could not read the queues' depths (%s)", type(exc).__name__)
            return
        now = time.time()
        backlog = []
        for name in names:
            waiting, in_flight = depths.get(name, (0, 0))
            counters = received.get(name)
            if not waiting:
                self.backlog_since.pop(name, None)
            else:
                self.backlog_since.setdefault(name, now)
            if not (waiting or in_flight):
                continue
            if counters and counters.received:
                age = f"oldest received waited {counters.oldest_wait:.1f}s"
            else:
                since = max(counters.last_received if counters else 0, self.backlog_since.get(name, now))
                age = f"nothing received for {now - since:.0f}s"
            taken = counters.received if counters else 0
            backlog.append((waiting, f"{name} {waiting} waiting, {in_flight} in flight, {taken} received, {age}"))
        backlog.sort(reverse=True)
        shown = "; ".join(text for _, text in backlog[:10])
        more = f"; and {len(backlog) - 10} more" if len(backlog) > 10 else ""
        logger.info(
            "status: %d queues, %s SQS connections, holding %d messages%s; %s",
            len(names),
            connections if connections is not None else "synchronous",
            sum(held.values()),
            f" ({forgotten} never acknowledged, forgotten)" if forgotten else "",
            f"backlog: {shown}{more}" if backlog else "no backlog",
        )


def queue_depths(suffixes: list[str]) -> dict[str, tuple[int, int]]:
    """Each queue's (messages waiting, messages in flight), read in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    from scheduler.messaging import aws

    predefined = _app().conf.broker_transport_options["predefined_queues"]

    def depth(suffix: str) -> tuple[int, int]:
        url = (predefined.get(aws.queue_name(suffix)) or {}).get("url")
        return aws.queue_counts(suffix, url=url)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(suffixes, pool.map(depth, suffixes), strict=True))


def fresh_connections(**kwargs) -> None:
    """In each forked pool process: drop the AWS connections inherited from the worker's main process
    (which reads the countries before forking). Two processes on one inherited socket read each
    other's responses: a country "not found", a Query answered with a GetItem's body."""
    from scheduler import db
    from scheduler.messaging import aws

    db.connection.cache_clear()
    aws.client.cache_clear()
    for model in db.registered_models():
        model._connection = None


def install(
    app,
    *,
    country_codes: Callable[[], Iterable[str]] | None = None,
    country_created_at: Callable[[str], datetime | None] | None = None,
) -> None:
    """Attach the worker's steps and signals to the project's `app`; `country_codes` lists the
    countries whose queues `--all-countries` consumes, `country_created_at` says when a code's country
    was created (for the routing of a new country's first tasks)."""
    _installed.update(app=app, country_codes=country_codes, country_created_at=country_created_at)
    worker_process_init.connect(fresh_connections, weak=False)
    worker_shutdown.connect(sqs.flush_deletes, weak=False)
    celeryd_after_setup.connect(declare_worker_queues, weak=False)
    beat_init.connect(declare_beat_queues, weak=False)
    app.user_options["worker"].add(
        click.Option(
            ["--all-countries"],
            is_flag=True,
            default=False,
            help="Also consume every country's queue, including countries created after the worker started.",
        )
    )
    app.user_options["worker"].add(
        click.Option(
            ["--except-countries"],
            default=None,
            help="With --all-countries: leave these countries' queues (codes, comma-separated, e.g. US,BR) "
            "to their dedicated worker groups.",
        )
    )
    app.steps["consumer"].add(SqsConnections)
    app.steps["consumer"].add(CountryQueues)
    app.steps["consumer"].add(QueueStatus)
