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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import click
from celery import Task, bootsteps, current_app
from celery.signals import beat_init, celeryd_after_setup, worker_process_init

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
    """The one routing rule: a task that names a country goes to that country's queue; any other
    to its own or the default queue."""
    from scheduler.messaging import aws

    code = (kwargs or {}).get("country_code")
    if code:
        return {"queue": declare_queue(aws.country_queue_suffix(code))}
    queue = options.get("queue") or _app().conf.task_default_queue
    declare_queue(getattr(queue, "name", queue))  # a name, or the kombu Queue Celery made of it
    return None


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


# --- One connection per consumed queue -----------------------------------------------------------


def connections_needed(queue_count: int) -> int:
    """Connections for a worker consuming `queue_count` queues: one each, a margin for sends and
    for countries created while it runs, and never fewer than the setting."""
    from django.conf import settings

    return max(settings.WORKER_SQS_CONNECTIONS, queue_count + settings.WORKER_SQS_CONNECTIONS_MARGIN)


class SqsConnections(bootsteps.StartStopStep):
    """Before any queue is polled, give the worker's event loop an HTTP client with enough
    connections. This sets kombu's `hub._current_http_client` (private: kombu is pinned, and
    tests/system/test_many_countries.py checks the assumption), the client kombu's
    `get_client()` hands to every SQS connection of the worker."""

    requires = ("celery.worker.components:Hub",)

    def __init__(self, worker, all_countries=False, **kwargs):
        self.all_countries = all_countries
        super().__init__(worker, **kwargs)

    def create(self, worker):
        hub = getattr(worker, "hub", None)
        if hub is None:  # a pool without an event loop (solo, threads) polls synchronously
            return
        from kombu.asynchronous.http.curl import CurlClient

        queues = len(worker.app.amqp.queues.consume_from or ())
        if self.all_countries:
            queues += len(_country_suffixes() or ())
        size = connections_needed(queues)
        previous = getattr(hub, "_current_http_client", None)
        hub._current_http_client = CurlClient(hub, max_clients=size)
        if previous is not None:
            previous.close()
        worker.sqs_connections = size
        logger.info("SQS: %d connections for %d queues", size, queues)


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

    def __init__(self, parent, all_countries=False, **kwargs):
        self.enabled = all_countries
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
        for suffix in sorted(wanted - consumed):
            consumer.add_task_queue(declare_queue(suffix))
            logger.info("now consuming %s", suffix)
        capacity = getattr(consumer.controller, "sqs_connections", None)
        if capacity is not None and len(consumed | wanted) > capacity:
            logger.error(
                "consuming %d queues with %d SQS connections: queues now wait their turn; restart the worker "
                "(it sizes its connections at start) or raise WORKER_SQS_CONNECTIONS",
                len(consumed | wanted),
                capacity,
            )


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


def install(app, *, country_codes: Callable[[], Iterable[str]] | None = None) -> None:
    """Attach the worker's steps and signals to the project's `app`; `country_codes` lists the
    countries whose queues `--all-countries` consumes."""
    _installed.update(app=app, country_codes=country_codes)
    worker_process_init.connect(fresh_connections, weak=False)
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
    app.steps["worker"].add(SqsConnections)
    app.steps["consumer"].add(CountryQueues)
