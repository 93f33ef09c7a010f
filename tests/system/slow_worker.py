"""A worker app for the crash test: Uruguay's processor hangs the first time it runs, so that the
test can kill the worker in the middle of a task."""

import os
import time

from appointments import processors
from scheduler.celery import app  # noqa: F401 - `celery -A tests.system.slow_worker` finds it here


@processors.register("UY")
def hang_the_first_time(appointment, country):
    marker = os.environ["SLOW_PROCESSOR_MARKER"]
    if not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(appointment.appointment_id)
        time.sleep(60)
