"""kombu's SQS transport, with one boto3 Session per process instead of one per queue.

kombu 5.7 builds a new boto3 Session for the client of every predefined queue, and each Session loads
its own copy of the SQS service model: a worker on 60 country queues held about 600 MB, 120 queues
about 1.1 GB. Here every queue still gets its own client, as in kombu, but all are made from one
Session per process and set of credentials (60 clients: about 20 MB instead of about 480 MB).
`_new_boto_client` is kombu's own method, rewritten only where it makes the Session; kombu is pinned.

A queue can also vanish under a running process: moto loses every queue when it restarts, and on AWS
someone may delete one. kombu never creates a predefined queue, so here a send to a missing queue
makes it again (with its dead-letter queue, through scheduler.messaging.aws.ensure_queue) and sends once more,
and a worker polling a missing queue makes it again and goes on polling instead of crashing. Any
other failure to receive (SQS not answering) is logged and polled again a second later.
"""

from __future__ import annotations

import copy
import logging
import os
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from kombu.transport import SQS
from vine import ensure_promise, promise

from scheduler.db import error_code

logger = logging.getLogger(__name__)

MISSING_QUEUE_CODES = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# Seconds before a queue whose receive failed is polled again (not at once: SQS may be down).
RECEIVE_RETRY_SECONDS = 1.0


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


class Channel(SQS.Channel):
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

    def _get_async(self, queue, count=1, callback=None):
        """kombu's, with its failures caught: a missing queue is made again; SQS not answering is
        asked again a second later. kombu would raise either into the worker's event loop."""
        q_url = self._new_queue(queue)
        qname = self.canonical_queue_name(queue)
        loop = ensure_promise(callback)

        def failed(exc):
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
            loop(received)

        return self._get_from_sqs(
            queue_name=qname,
            queue_url=q_url,
            count=count,
            connection=self.asynsqs(queue=qname),
            callback=promise(ready, on_error=failed),
        )


class Transport(SQS.Transport):
    Channel = Channel
