"""The Celery app, in the layout of Celery's own Django example, on the SQS broker.

Each country's appointments go to that country's own queue, `<prefix>appointments-<code>` (one
routing function), so a surge in one country never delays another. Queues and their dead-letter
queues are created by `bootstrap`, when a country is created, or on first use here; kombu knows them
as predefined queues and never creates one itself.
"""

import logging
import os
import threading
from datetime import UTC, datetime

import click
from celery import Celery, Task, bootsteps
from celery.signals import beat_init, celeryd_after_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")

logger = logging.getLogger(__name__)


class DelayGuardTask(Task):
    """Refuses a countdown or ETA longer than SQS's visibility timeout allows: SQS would hand the
    message to another worker while this one still holds it back."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None, **options):
        limit = max_delay_seconds()
        delay = options.get("countdown") or 0
        if options.get("eta") is not None:
            eta = options["eta"]
            delay = max(delay, (eta - datetime.now(eta.tzinfo or UTC)).total_seconds())
        if delay > limit:
            raise ValueError(f"A delay of {delay:.0f}s exceeds the {limit:.0f}s the SQS visibility timeout allows.")
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, **options)


app = Celery("scheduler", task_cls=DelayGuardTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def max_delay_seconds() -> float:
    # Half the visibility timeout leaves room for the task's own run time.
    return app.conf.broker_transport_options.get("visibility_timeout", 300) / 2


_declare_lock = threading.Lock()


def declare_queue(suffix: str) -> str:
    """Make sure a queue and its dead-letter queue exist, and declare the queue to kombu as a
    predefined queue (Celery copies the transport options shallowly, so every connection of this
    process sees the shared dict). Called once per queue and process; returns the suffix."""
    from scheduler import aws

    predefined = app.conf.broker_transport_options["predefined_queues"]
    name = aws.queue_name(suffix)
    if name not in predefined:
        with _declare_lock:
            if name not in predefined:
                predefined[name] = {"url": aws.ensure_queue(suffix, lambda *_: None)}
    return suffix


def route_task(name, args, kwargs, options, task=None, **kw):
    """The one routing rule: a task that names a country goes to that country's queue; any other
    to its own or the default queue."""
    from scheduler import aws

    code = (kwargs or {}).get("country_code")
    if code:
        return {"queue": declare_queue(aws.country_queue_suffix(code))}
    declare_queue(options.get("queue") or app.conf.task_default_queue)
    return None


@celeryd_after_setup.connect
def declare_worker_queues(sender, instance, **kwargs):
    """The queues a worker consumes (-Q) are predefined before it starts consuming them."""
    declare_queue(app.conf.task_default_queue)
    for queue_name in instance.app.amqp.queues.consume_from:
        declare_queue(queue_name)


@beat_init.connect
def declare_beat_queues(sender, **kwargs):
    """Beat's producer opens its channel before routing anything: predefine its queue first."""
    declare_queue(app.conf.task_default_queue)


# --- Workers follow new countries ----------------------------------------------------------------

app.user_options["worker"].add(
    click.Option(
        ["--all-countries"],
        is_flag=True,
        default=False,
        help="Also consume every country's queue, including countries created after the worker started.",
    )
)


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
        from countries.selectors import country_codes
        from scheduler import aws

        try:
            wanted = {aws.country_queue_suffix(code) for code in country_codes()}
        except Exception:  # DynamoDB briefly unreachable: try again at the next tick
            logger.warning("could not list countries; country queues unchanged", exc_info=True)
            return
        consumed = {queue.name for queue in consumer.task_consumer.queues}
        for suffix in sorted(wanted - consumed):
            consumer.add_task_queue(declare_queue(suffix))
            logger.info("now consuming %s", suffix)


app.steps["consumer"].add(CountryQueues)
