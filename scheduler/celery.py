"""The Celery app, in the layout of Celery's own Django example, on the SQS broker.

Queue declaration, routing by country and the worker's own steps live in the platform's
`scheduler/messaging/workers.py`, which is handed this app (`install`) rather than importing it, so
dependencies point one way: the project's app → the platform's workers.
"""

import os

from celery import Celery

from scheduler.memory import limit_malloc_arenas
from scheduler.messaging import workers

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")

app = Celery("scheduler", task_cls="scheduler.messaging.workers:DelayGuardTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def country_codes():
    from countries.selectors import country_codes  # an app's models: only once Django is set up

    return country_codes()


def country_created_at(code):
    from countries.selectors import country_created_at

    return country_created_at(code=code)


workers.install(app, country_codes=country_codes, country_created_at=country_created_at)
# Worker, beat and the prefork children they fork share the cap (see scheduler/memory.py).
limit_malloc_arenas()
