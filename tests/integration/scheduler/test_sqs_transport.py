"""The SQS transport's one change to kombu: every queue's client comes from one boto3 Session; and a
forked worker process does not share its parent's AWS connections."""

import weakref

from django.conf import settings
from kombu import Connection

from scheduler.messaging import aws, sqs


def test_each_queue_has_its_own_client_from_one_shared_session(aws_stack):
    names = [aws.queue_name(suffix) for suffix in ("default", "notifications")]
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "predefined_queues": {
            name: {"url": aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]} for name in names
        },
    }
    with Connection(
        settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT, transport_options=options
    ) as conn:
        channel = conn.channel()
        assert isinstance(channel, sqs.Channel)  # kombu still builds channels from Transport.Channel
        first, second = (channel.sqs(queue=name) for name in names)
        assert first is not second
        assert first._loader is second._loader  # one Session: one loaded copy of the service model
        assert first.meta.endpoint_url == second.meta.endpoint_url == settings.SQS_ENDPOINT
        assert first.meta.config.connect_timeout == settings.AWS_CONNECT_TIMEOUT
        channel.close()


def test_a_forked_pool_process_opens_its_own_aws_connections(aws_stack):
    from celery.signals import worker_process_init

    from countries.models import Country
    from scheduler import db
    from scheduler.messaging.workers import fresh_connections

    inherited_db, inherited_model = db.connection(), Country._get_connection()
    inherited_sqs = aws.client("sqs")
    receivers = [r() if isinstance(r, weakref.ReferenceType) else r for _, r in worker_process_init.receivers]
    assert fresh_connections in receivers
    fresh_connections()  # what worker_process_init runs in each child after the fork
    assert db.connection() is not inherited_db
    assert Country._get_connection() is not inherited_model
    assert aws.client("sqs") is not inherited_sqs
