"""kombu's SQS transport, organised for many queues and backlogs.

kombu 5.7's transport (pinned) is kept; this module changes four things in it.

**One boto3 Session per process.** kombu builds a Session for the client of every predefined queue, and
each Session loads its own copy of the SQS service model (a worker on 60 country queues held about
600 MB). Every queue still gets its own client, made from one Session per process and credentials.

**Receiving by what each queue holds, not by prefetch.** kombu polls a queue only while the channel's
prefetch (concurrency × multiplier) has room, so with prefetch 2 a backlog is received two messages a
round trip and a worker drained about 6 a second where its processes could run 60. Here each queue
keeps at most one ReceiveMessage outstanding and may hold at most `per_queue` messages received and
not yet acknowledged (`WORKER_QUEUE_PREFETCH`, at least 10, SQS's most per call, and twice the
concurrency); a queue that holds nothing long-polls for one message, so its first message is taken at
once whatever the other queues hold; a queue that holds messages asks again, for up to 10, once it has
room for half its share and while the whole channel holds fewer than `total`
(`WORKER_PREFETCH_LIMIT`, twice `per_queue`). A backlog is thus received in batches that keep every
process busy, and a message arriving in another country waits behind at most `total` tasks in the
worker (fairness between queues by the cap on what each holds, not by prefetch 1). Acknowledgements
wake the queues that were waiting for room.

**Deletes in batches, off the event loop.** kombu deletes each acknowledged message with a blocking
DeleteMessage on the worker's event loop (one round trip per task). Here acknowledgements go to a
thread that sends DeleteMessageBatch, up to 10 a call per queue. A delete that fails leaves the message
to come back after its visibility timeout, when the idempotent task finds nothing to do.

**Queues that vanish.** moto loses every queue when it restarts, and on AWS someone may delete one.
kombu never creates a predefined queue, so here a send to a missing queue makes it again (with its
dead-letter queue, through scheduler.messaging.aws.ensure_queue) and sends once more, and a worker
polling a missing queue makes it again and goes on polling instead of crashing. Any other failure to
receive (SQS not answering) is logged and polled again a second later.

What each queue received, and how long its messages had waited, is kept in `stats` for the worker's
status line (scheduler.messaging.workers.QueueStatus).
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import queue as queue_module
import threading
import time
from collections import Counter
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from kombu.transport import SQS, virtual
from vine import ensure_promise, promise

from scheduler.db import error_code

logger = logging.getLogger(__name__)

MISSING_QUEUE_CODES = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# Seconds before a queue whose receive failed is polled again (not at once: SQS may be down).
RECEIVE_RETRY_SECONDS = 1.0
SQS_BATCH = 10  # the most messages one ReceiveMessage or DeleteMessageBatch takes
HOUSEKEEPING_SECONDS = 30.0
# Beyond the long poll's wait, how long a receive may go unanswered before it counts as lost.
RECEIVE_LOST_SECONDS = 30.0


def is_missing_queue(exc: BaseException) -> bool:
    """A send's ClientError, or the plain Exception kombu's async client raises with the body."""
    if isinstance(exc, ClientError):
        return error_code(exc) in MISSING_QUEUE_CODES
    return any(code in str(exc) for code in MISSING_QUEUE_CODES)


def ensure_queue(queue: str) -> None:
    from scheduler.messaging import aws

    aws.ensure_queue(queue, lambda *_: None)
    logger.warning("SQS queue %s was missing: made it again", queue)
    aws.request_topic_check()  # the topic and its subscription may have gone with it


_sessions: dict[tuple, boto3.Session] = {}
_lock = threading.Lock()


def shared_session(region, access_key_id, secret_access_key, session_token=None) -> boto3.Session:
    key = (os.getpid(), region, access_key_id, secret_access_key, session_token)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = boto3.Session(
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                aws_session_token=session_token,
            )
        return session


# --- What each queue received (for the worker's status line) ----------------------------------


@dataclass
class QueueCounters:
    received: int = 0  # messages received since the last report
    oldest_wait: float = 0.0  # the longest a message received since the last report had waited, s
    last_received: float = 0.0  # time.time() of the last receive that brought messages


class ReceiveStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, QueueCounters] = {}

    def record(self, queue: str, waits: list[float]) -> None:
        with self._lock:
            counters = self._queues.setdefault(queue, QueueCounters())
            counters.received += len(waits)
            counters.oldest_wait = max([counters.oldest_wait, *waits])
            counters.last_received = time.time()

    def take(self) -> dict[str, QueueCounters]:
        """The counters since the last call; `last_received` carries over."""
        with self._lock:
            taken = self._queues
            self._queues = {name: QueueCounters(last_received=c.last_received) for name, c in taken.items()}
            return taken


stats = ReceiveStats()


def message_wait(message: dict, now: float) -> float:
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return max(0.0, now - int(sent) / 1000) if sent else 0.0


# --- Deletes in batches ------------------------------------------------------------------------


class BatchDeleter:
    """Deletes acknowledged messages from a thread of its own, in DeleteMessageBatch calls of up to 10
    per queue: whatever was acknowledged while the previous call ran goes in the next."""

    def __init__(self) -> None:
        self._work: queue_module.Queue = queue_module.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def delete(self, client, queue_url: str, receipt_handle: str) -> None:
        self._started().put((client, queue_url, receipt_handle))

    def flush(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while self._work.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._work.unfinished_tasks == 0

    def _started(self) -> queue_module.Queue:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._serve, name="sqs-deletes", daemon=True)
                    self._thread.start()
        return self._work

    def _serve(self) -> None:
        while True:
            batch = [self._work.get()]
            while len(batch) < 100:
                try:
                    batch.append(self._work.get_nowait())
                except queue_module.Empty:
                    break
            try:
                self._send(batch)
            finally:
                for _ in batch:
                    self._work.task_done()

    @staticmethod
    def _send(batch: list[tuple]) -> None:
        by_queue: dict[str, tuple[object, list[str]]] = {}
        for client, url, handle in batch:
            by_queue.setdefault(url, (client, []))[1].append(handle)
        for url, (client, handles) in by_queue.items():
            for start in range(0, len(handles), SQS_BATCH):
                chunk = handles[start : start + SQS_BATCH]
                entries = [{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(chunk)]
                try:
                    failed = client.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
                except Exception as exc:  # the messages come back after their visibility timeout
                    logger.warning("deleting %d messages from %s failed (%s)", len(chunk), url, type(exc).__name__)
                    continue
                for entry in failed:
                    logger.warning("deleting a message from %s failed (%s)", url, entry.get("Code"))


# One per process: every channel's acknowledgements go through it; a stopping worker flushes it
# (scheduler.messaging.workers connects `flush_deletes` to worker_shutdown; atexit as well).
deleter = BatchDeleter()


def flush_deletes(timeout: float = 5.0, **kwargs) -> bool:
    return deleter.flush(timeout)


atexit.register(flush_deletes)


# --- The channel -------------------------------------------------------------------------------


class Channel(SQS.Channel):
    # Set by the worker (scheduler.messaging.workers.configure_receiving); these are kombu-only defaults.
    per_queue = SQS_BATCH
    total = 2 * SQS_BATCH

    def __init__(self, *args, **kwargs):
        self._held: dict[str, tuple[str, float]] = {}  # delivery tag → (queue, time received)
        self._held_count: Counter[str] = Counter()
        # queue → (messages its outstanding receive asked for, when it was sent)
        self._receiving: dict[str, tuple[int, float]] = {}
        self._waiting: dict[str, None] = {}  # queues waiting for room, in the order they began to wait
        self._housekeeping = None
        self._forgotten = 0
        super().__init__(*args, **kwargs)

    def _new_boto_client(self, service, region, access_key_id, secret_access_key, session_token=None, config=None):
        session = shared_session(region, access_key_id, secret_access_key, session_token)
        client_kwargs = {"use_ssl": self.is_secure if self.is_secure is not None else True}
        if self.endpoint_url is not None:
            client_kwargs["endpoint_url"] = self.endpoint_url
        client_config = Config(**(self.transport_options.get("client-config") or {}))
        if config is not None:
            client_config = client_config.merge(config)
        with _lock:  # creating clients from one Session is not thread-safe in boto3
            return session.client(service, config=client_config, **client_kwargs)

    def _put(self, queue, message, **kwargs):
        original = copy.deepcopy(message)  # kombu moves attributes out of the message it sends
        try:
            return super()._put(queue, message, **kwargs)
        except ClientError as exc:
            if not is_missing_queue(exc):
                raise
        ensure_queue(queue)
        return super()._put(queue, original, **kwargs)

    # Receiving ----------------------------------------------------------------------------------

    def held(self, queue: str | None = None) -> int:
        """Messages received (from `queue`, or from every queue) and not yet acknowledged."""
        return self._held_count[queue] if queue is not None else len(self._held)

    def _receive_count(self, queue: str) -> int:
        """How many messages `queue` may ask for now: 0 means wait for room."""
        held_here = self._held_count[queue]
        if not held_here:
            return 1  # its first message at once, whatever the others hold
        room = self.per_queue - held_here
        refills = sum(count for name, (count, _) in self._receiving.items() if self._held_count[name])
        room_total = self.total - len(self._held) - refills
        count = min(room, room_total, SQS_BATCH)
        return count if count >= min(SQS_BATCH, max(1, self.per_queue // 2)) else 0

    def _schedule_queue(self, queue):
        if self._housekeeping is None:
            self._housekeeping = self.hub.call_repeatedly(HOUSEKEEPING_SECONDS, self._housekeep)
        if queue not in self._active_queues or queue in self._receiving:
            return
        count = self._receive_count(queue)
        if not count:
            self._waiting[queue] = None  # an acknowledgement wakes it
            return
        self._waiting.pop(queue, None)
        self._receiving[queue] = (count, time.monotonic())
        try:
            self._get_async(queue, count)
        except Exception as exc:  # e.g. its URL not resolved: try again, never stop polling it
            self._receiving.pop(queue, None)
            logger.warning("could not poll %s (%s); polling again", queue, type(exc).__name__)
            self.hub.call_later(RECEIVE_RETRY_SECONDS, self._schedule_queue, queue)

    def _after_receive(self, queue: str, received: int) -> None:
        self._receiving.pop(queue, None)
        if received:
            self.hub.call_soon(self._schedule_queue, queue)
        elif self.connection.polling_interval:
            self.hub.call_later(self.connection.polling_interval, self._schedule_queue, queue)
        else:
            self.hub.call_soon(self._schedule_queue, queue)

    def _wake_waiting(self) -> None:
        for queue in list(self._waiting):
            if self._receive_count(queue):
                self._waiting.pop(queue, None)
                self.hub.call_soon(self._schedule_queue, queue)

    def _get_async(self, queue, count=1, callback=None):
        """kombu's, with its failures caught: a missing queue is made again; SQS not answering is
        asked again a second later. kombu would raise either into the worker's event loop."""
        q_url = self._new_queue(queue)
        qname = self.canonical_queue_name(queue)
        loop = ensure_promise(callback) if callback is not None else None

        def failed(exc):
            self._receiving.pop(queue, None)
            if is_missing_queue(exc):
                try:
                    ensure_queue(queue)
                except Exception as again:  # SQS still down: the next poll tries again
                    logger.warning("could not make queue %s again (%s)", queue, type(again).__name__)
            else:
                logger.warning("receiving from %s failed (%s); polling again", qname, type(exc).__name__)
            self.hub.call_later(RECEIVE_RETRY_SECONDS, self._schedule_queue, queue)

        def ready(response):
            try:
                received = self._on_messages_ready(q_url, queue, response) if isinstance(response, dict) else 0
            except Exception as exc:
                failed(exc)
                return
            if loop is not None:
                loop(received)
            else:
                self._after_receive(queue, received)

        return self._get_from_sqs(
            queue_name=qname,
            queue_url=q_url,
            count=count,
            connection=self.asynsqs(queue=qname),
            callback=promise(ready, on_error=failed),
        )

    def _on_messages_ready(self, queue, qname, messages):
        received = messages.get("Messages") or []
        if not received or self.connection._callbacks.get(qname) is None:
            return super()._on_messages_ready(queue, qname, messages)
        now = time.time()
        stats.record(qname, [message_wait(message, now) for message in received])
        delivered = 0
        for message in received:  # one at a time: one that cannot be delivered does not hold up the rest
            tag = message["ReceiptHandle"]
            self._held[tag] = (qname, time.monotonic())
            self._held_count[qname] += 1
            try:
                delivered += super()._on_messages_ready(queue, qname, {"Messages": [message]})
            except Exception as exc:  # SQS makes it visible again after its visibility timeout
                self._release(tag)
                logger.warning("a message from %s could not be delivered (%s)", qname, type(exc).__name__)
        return delivered

    def _release(self, delivery_tag) -> None:
        held = self._held.pop(delivery_tag, None)
        if held is None:
            return
        queue = held[0]
        self._held_count[queue] -= 1
        if self._held_count[queue] <= 0:
            del self._held_count[queue]
        if self._waiting:
            self._wake_waiting()

    def _housekeep(self) -> None:
        """On the event loop, every HOUSEKEEPING_SECONDS: forget what was received a visibility
        timeout ago and never acknowledged, and give up on a receive whose answer never came (a
        request the HTTP client dropped), so that the queue is polled again."""
        self._forgotten += self.forget_stale(self.transport_options.get("visibility_timeout", 300))
        lost_after = self.wait_time_seconds + RECEIVE_LOST_SECONDS
        cutoff = time.monotonic() - lost_after
        for queue, (_, sent) in list(self._receiving.items()):
            if sent < cutoff:
                self._receiving.pop(queue, None)
                logger.warning("no answer from %s for %.0fs; polling it again", queue, lost_after)
                self.hub.call_soon(self._schedule_queue, queue)

    def take_forgotten(self) -> int:
        """How many held messages were forgotten since the last call (for the status line)."""
        forgotten, self._forgotten = self._forgotten, 0
        return forgotten

    def forget_stale(self, older_than: float) -> int:
        """Drop what was received more than `older_than` seconds ago and never acknowledged (SQS has
        made those messages visible again), so that a lost acknowledgement cannot hold a queue's room."""
        cutoff = time.monotonic() - older_than
        stale = [tag for tag, (_, at) in self._held.items() if at < cutoff]
        for tag in stale:
            self._release(tag)
        return len(stale)

    # Acknowledging ------------------------------------------------------------------------------

    def basic_ack(self, delivery_tag, multiple=False):
        try:
            info = self.qos.get(delivery_tag).delivery_info
            queue_url, handle = info["sqs_queue"], info["sqs_message"]["ReceiptHandle"]
            queue = self.canonical_queue_name(info["routing_key"]) if "routing_key" in info else None
            client = self.sqs(queue=queue)
        except KeyError:
            pass
        else:
            deleter.delete(client, queue_url, handle)
        self._release(delivery_tag)
        virtual.Channel.basic_ack(self, delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        try:
            super().basic_reject(delivery_tag, requeue=requeue)
        finally:
            self._release(delivery_tag)

    def close(self):
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        deleter.flush()
        super().close()


class Transport(SQS.Transport):
    Channel = Channel
