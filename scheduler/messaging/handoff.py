"""Work that follows a committed write but need not hold up its response: handing a new booking to
its country's queue, relaying an event to SNS. A few daemon threads per process do it after the
response has gone, so a booking costs its DynamoDB calls and no SQS round trip.

Nothing is lost if a hand-off is: the process dying before it is sent, or SQS not answering, leaves
the appointment pending and the event unpublished in DynamoDB, where the sweeps find them through
the sparse indexes (appointments.services.appointments_requeue_stale, outbox.events_publish_pending).
With HANDOFF_BACKGROUND off, or the queue full (back-pressure), the caller's thread sends it itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)


class Handoff:
    def __init__(self) -> None:
        self._queue: queue.Queue | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], object], what: str) -> None:
        """Run `work` soon, on a hand-off thread. It must log its own failures; `what` (ids only)
        names it in the log if it raises anyway."""
        if not settings.HANDOFF_BACKGROUND:
            _run(work, what)
            return
        try:
            self._started().put_nowait((work, what))
        except queue.Full:
            _run(work, what)  # the threads are behind: this request pays for its own send

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every hand-off submitted by this process so far is done; False on timeout."""
        pending = self._queue if self._pid == os.getpid() else None
        if pending is None:
            return True
        deadline = time.monotonic() + (settings.HANDOFF_FLUSH_SECONDS if timeout is None else timeout)
        while pending.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return pending.unfinished_tasks == 0

    def _started(self) -> queue.Queue:
        # Threads do not survive fork (gunicorn and Celery fork workers): start them in each process.
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    work: queue.Queue = queue.Queue(maxsize=settings.HANDOFF_QUEUE_SIZE)
                    for n in range(settings.HANDOFF_THREADS):
                        threading.Thread(target=_serve, args=(work,), name=f"handoff-{n}", daemon=True).start()
                    self._queue, self._pid = work, pid
        return self._queue


def _serve(work: queue.Queue) -> None:
    while True:
        job, what = work.get()
        try:
            _run(job, what)
        finally:
            work.task_done()


def _run(job: Callable[[], object], what: str) -> None:
    try:
        job()
    except Exception as exc:  # a sweep makes up for it; the committed write stands
        logger.warning("hand-off %s failed (%s); a sweep will do it", what, type(exc).__name__)


handoff = Handoff()
atexit.register(handoff.flush)
