"""The Celery app, in the layout of Celery's own Django example, on the SQS broker.

Queue declaration, routing by country and the worker's own steps live beside it in
`scheduler/messaging/workers.py`.
"""

import os

from celery import Celery

from scheduler.memory import limit_malloc_arenas

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")

app = Celery("scheduler", task_cls="scheduler.messaging.workers:DelayGuardTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from scheduler.messaging import workers  # noqa: E402 - the worker steps attach to the app made above

workers.install(app)
# Worker, beat and the prefork children they fork share the cap (see scheduler/memory.py).
limit_malloc_arenas()
