"""Events, processing, reminders and notifications against moto server's real SQS and SNS (no
worker here: the tasks' services are called directly; test_worker.py runs real workers)."""

import json
from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from django.core import mail
from django.core.management import call_command

from appointments import outbox, services
from appointments.models import Appointment, Event
from appointments.notifications import notification_handle
from appointments.services import pipeline
from scheduler.messaging import aws
from tests.helpers import book, drain, next_local

MONDAY = 0


def task_names(messages: list[dict]) -> list[str]:
    import base64

    return [json.loads(base64.b64decode(m["Body"]))["headers"]["task"] for m in messages]


def task_kwargs(message: dict) -> dict:
    import base64

    body = json.loads(base64.b64decode(message["Body"]))["body"]
    return json.loads(base64.b64decode(body))[1]


@pytest.fixture
def quiet_queues(clinic):
    for suffix in ("default", "notifications", "appointments-cl"):
        drain(suffix)
    return clinic


@pytest.fixture
def email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def events_of(appointment_id: str) -> list[dict]:
    bodies = [json.loads(event.body) for event in Event.scan()]
    return sorted(
        (body for body in bodies if body["appointment"]["appointmentId"] == appointment_id),
        key=lambda body: body["occurredAt"] + body["eventId"],
    )


def test_booking_writes_its_event_and_routes_the_task_to_the_country_queue(quiet_queues):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    assert event["eventType"] == "appointment.pending"
    assert event["appointment"] == {
        "appointmentId": "a-1",
        "patientId": "0315",
        "doctorId": "doctor001",
        "countryId": "002",
        "state": "pending",
        "appointmentDate": event["appointment"]["appointmentDate"],
        "durationMinutes": 30,
    }
    text = json.dumps(event)
    assert "Jorge" not in text and "example.com" not in text  # no personal data in events
    # One message per booking: the processing task, on the country's queue, carrying the event to publish.
    (message,) = drain("appointments-cl")
    assert task_names([message]) == ["appointments.process"]
    assert task_kwargs(message) == {"appointment_id": "a-1", "country_code": "CL", "event_id": event["eventId"]}
    assert drain("default") == []


def test_relay_publishes_once_with_attributes(quiet_queues):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    assert outbox.event_publish(event_id=event["eventId"]) is True
    assert outbox.event_publish(event_id=event["eventId"]) is False  # already published
    (message,) = drain("notifications")
    assert json.loads(message["Body"]) == event  # raw delivery: the event itself
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {"eventType": "appointment.pending", "countryId": "002"}
    assert outbox.events_publish_pending(now=Event.get(event["eventId"]).occurred_at + timedelta(minutes=5)) == 0


def test_an_event_claimed_by_one_publisher_is_not_published_by_another(quiet_queues):
    """The relay and the sweep (or two sweeps) may reach the same event together: a conditional claim
    lets one of them publish it; the other leaves it."""
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    held = Event.get(event["eventId"])
    until = outbox._claim(held)
    assert until is not None
    assert outbox._claim(Event.get(event["eventId"])) is None  # a second publisher finds it taken
    assert outbox.event_publish(event_id=event["eventId"]) is False
    later = Event.get(event["eventId"]).occurred_at + timedelta(minutes=5)
    assert outbox.events_publish_pending(now=later) == 0
    assert drain("notifications") == []
    outbox._release(held, until)  # as after a failed publish: the next one may go
    assert outbox.event_publish(event_id=event["eventId"]) is True
    assert [json.loads(m["Body"])["eventId"] for m in drain("notifications")] == [event["eventId"]]


def test_a_publisher_that_saw_a_failure_makes_sure_the_subscription_exists(quiet_queues):
    """A topic made again by another process (moto restarted empty) may not have its subscription yet:
    what is published to it reaches no one. After a failure a publisher checks topic and subscription
    first, and makes what is missing."""
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    sns = aws.client("sns")
    arn = aws.topic_arn()
    for subscription in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    try:
        aws.request_topic_check()
        assert outbox.event_publish(event_id=event["eventId"]) is True
        assert [json.loads(m["Body"])["eventId"] for m in drain("notifications")] == [event["eventId"]]
        assert len(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]) == 1
    finally:
        aws.ensure_topic_and_subscription(aws.notifications_queue_url(), lambda *_: None)


def test_sweep_publishes_an_event_whose_first_publish_failed(quiet_queues, monkeypatch):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    sns = aws.client("sns")
    real_publish = sns.publish
    failures = []

    def failing_once(**kwargs):
        failures.append(kwargs)
        if len(failures) == 1:
            raise EndpointConnectionError(endpoint_url="http://sns")
        return real_publish(**kwargs)

    monkeypatch.setattr(sns, "publish", failing_once)
    monkeypatch.setattr(outbox, "sns_breaker", outbox._Breaker())
    # The relay gives up at once and leaves the event to the sweep; for a while it does not call SNS.
    assert outbox.event_publish(event_id=event["eventId"]) is False
    assert outbox.event_publish(event_id=event["eventId"]) is False
    assert len(failures) == 1
    assert drain("notifications") == []
    later = Event.get(event["eventId"]).occurred_at + timedelta(minutes=1)
    assert outbox.events_publish_pending(now=later) == 1
    assert outbox.events_publish_pending(now=later) == 0
    assert [json.loads(m["Body"])["eventId"] for m in drain("notifications")] == [event["eventId"]]


def test_processing_schedules_once(quiet_queues):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    assert services.appointment_process(appointment_id="a-1") == "scheduled"
    assert services.appointment_process(appointment_id="a-1") == "already scheduled"
    assert quiet_queues.get("/appointments/a-1").json()["state"] == "scheduled"
    assert [e["eventType"] for e in events_of("a-1")] == ["appointment.pending", "appointment.scheduled"]


def queued(suffix: str) -> int:
    """What SQS says the queue holds: waiting, in flight and delayed messages."""
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name(suffix))["QueueUrl"]
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(counts[name]) for name in names)


def queued_ids(messages: list[dict]) -> list[str]:
    return sorted(task_kwargs(message)["appointment_id"] for message in messages)


STALE = timedelta(seconds=-5)  # every pending appointment is stale by the sweep's clock


def test_stale_pending_appointments_are_enqueued_again(quiet_queues):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    drain("appointments-cl")  # sent (it carries the marker), then lost: its queue is empty
    assert Appointment.get("a-1").enqueued_at is not None
    assert services.appointments_requeue_stale(older_than=timedelta(minutes=1)) == 0  # too fresh
    assert services.appointments_requeue_stale(older_than=STALE) == 1
    assert task_names(drain("appointments-cl")) == ["appointments.process"]
    assert Appointment.get("a-1").requeues == 1
    # At most MAX_REQUEUES times (its message lost every time), then it is left to a person.
    sent = []
    for _ in range(10):
        services.appointments_requeue_stale(older_than=STALE)
        sent += drain("appointments-cl")
    assert Appointment.get("a-1").requeues == pipeline.MAX_REQUEUES + 1
    assert task_names(sent) == ["appointments.process"] * (pipeline.MAX_REQUEUES - 1)
    services.appointment_process(appointment_id="a-1")
    assert services.appointments_requeue_stale(older_than=STALE) == 0


def test_the_sweep_sends_nothing_whose_message_is_still_queued_or_in_flight(quiet_queues):
    at = next_local(MONDAY, "10:00")
    ids = [f"a-{n}" for n in range(3)]
    for n, appointment_id in enumerate(ids):
        assert book(quiet_queues, at=at + timedelta(minutes=30 * n), appointmentId=appointment_id).status_code == 201
    assert queued("appointments-cl") == 3  # the backlog: no worker takes them
    before = {i: (a.version, a.updated_at) for i in ids for a in [Appointment.get(i)]}

    assert services.appointments_requeue_stale(older_than=STALE) == 0
    assert queued("appointments-cl") == 3
    # Not written either: they keep their version and their place in the index.
    assert {i: (a.version, a.updated_at) for i in ids for a in [Appointment.get(i)]} == before

    # Taken by a worker that has not finished yet (in flight, not visible): still not sent again.
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name("appointments-cl"))["QueueUrl"]
    taken: list[dict] = []
    for _ in range(5):
        taken += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3 - len(taken), VisibilityTimeout=60).get(
            "Messages", []
        )
        if len(taken) == 3:
            break
    assert len(taken) == 3
    assert services.appointments_requeue_stale(older_than=STALE) == 0
    assert queued("appointments-cl") == 3
    for message in taken:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_lost_hand_off_is_sent_again_behind_another_backlog(quiet_queues, monkeypatch):
    from scheduler.messaging.handoff import handoff

    at = next_local(MONDAY, "10:00")
    for n in range(2):
        assert book(quiet_queues, at=at + timedelta(minutes=30 * n), appointmentId=f"a-{n}").status_code == 201
    assert handoff.flush(10)
    # The process dies before its hand-off runs: committed, never sent, never marked.
    with monkeypatch.context() as lost:
        lost.setattr(handoff, "submit", lambda work, what: None)
        assert book(quiet_queues, at=at + timedelta(hours=2), appointmentId="lost").status_code == 201
    assert Appointment.get("lost").enqueued_at is None
    assert queued("appointments-cl") == 2

    assert services.appointments_requeue_stale(older_than=STALE) == 1
    assert queued_ids(drain("appointments-cl")) == ["a-0", "a-1", "lost"]
    lost_one = Appointment.get("lost")
    assert lost_one.requeues == 1 and lost_one.enqueued_at is not None
    assert [Appointment.get(f"a-{n}").requeues for n in range(2)] == [0, 0]


def test_a_message_handed_over_long_ago_is_sent_again_behind_a_busy_queue(quiet_queues, settings):
    """Its message may have been dead-lettered while the queue never empties: after
    PENDING_RESEND_SECONDS it is sent once more whatever the queue holds."""
    from scheduler.messaging.handoff import handoff

    at = next_local(MONDAY, "10:00")
    for n in range(2):
        assert book(quiet_queues, at=at + timedelta(minutes=30 * n), appointmentId=f"a-{n}").status_code == 201
    assert handoff.flush(10)
    settings.PENDING_RESEND_SECONDS = 3600
    assert services.appointments_requeue_stale(older_than=STALE) == 0
    settings.PENDING_RESEND_SECONDS = 0
    assert services.appointments_requeue_stale(older_than=STALE) == 2
    assert queued("appointments-cl") == 4


def test_a_new_countrys_message_is_looked_for_in_the_default_queue(quiet_queues, settings):
    """Booked in its country's first NEW_COUNTRY_DEFAULT_QUEUE_SECONDS, its message went to the default
    queue: while that queue holds it, the sweep does not send it again, though the country's is empty."""
    from countries.selectors import _created_cache
    from scheduler.messaging.handoff import handoff

    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 30
    _created_cache.clear()
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    assert handoff.flush(10)
    assert queued("appointments-cl") == 0 and queued("default") == 1
    assert services.appointments_requeue_stale(older_than=STALE) == 0
    drain("default")  # lost from there too: now it is sent again
    assert services.appointments_requeue_stale(older_than=STALE) == 1


def test_the_marker_keeps_the_version(quiet_queues):
    from appointments.services.lifecycle import apply_transition
    from scheduler.messaging.handoff import handoff

    response = book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1")
    assert response.status_code == 201
    etag = response["ETag"]
    assert handoff.flush(10)
    marked = Appointment.get("a-1")
    assert marked.enqueued_at is not None and f'"{marked.version}"' == etag
    # A client's If-Match from the 201 still holds after the marker.
    patched = quiet_queues.patch("/appointments/a-1", {"reason": "follow-up"}, format="json", HTTP_IF_MATCH=etag)
    assert patched.status_code == 200, patched.content
    # The worker read the appointment, then a requeue's marker landed: its transition still commits.
    read = Appointment.get("a-1")
    assert services.appointment_enqueue(read)
    assert Appointment.get("a-1").version == read.version
    apply_transition(read, "scheduled", None)
    # Once processed, a late marker writes nothing, and none makes an appointment that is gone.
    done = Appointment.get("a-1")
    assert services.appointment_enqueue(done)
    assert Appointment.get("a-1").enqueued_at == done.enqueued_at and Appointment.get("a-1").state == "scheduled"
    pipeline._mark_enqueued("nowhere")
    assert Appointment.count("nowhere") == 0


def test_the_depth_of_a_queue_that_does_not_exist_is_zero(aws_stack):
    assert aws.queue_depth("appointments-nowhere") == 0


def test_reminders_once_per_offset_none_when_cancelled(quiet_queues):
    at = next_local(MONDAY, "10:00")
    for appointment_id, clock in (("a-1", "10:00"), ("a-2", "11:00")):
        assert book(quiet_queues, at=next_local(MONDAY, clock), appointmentId=appointment_id).status_code == 201
        services.appointment_process(appointment_id=appointment_id)
    assert Appointment.get("a-1").next_reminder_at == at - timedelta(minutes=1440)
    assert quiet_queues.delete("/appointments/a-2").status_code == 204

    def reminders(appointment_id):
        return [e for e in events_of(appointment_id) if e["eventType"] == "appointment.reminder"]

    assert services.reminders_send_due(now=at - timedelta(days=2)) == 0
    assert services.reminders_send_due(now=at - timedelta(minutes=1439)) == 1
    assert services.reminders_send_due(now=at - timedelta(minutes=1400)) == 0  # each offset once
    assert services.reminders_send_due(now=at - timedelta(minutes=119)) == 1
    assert services.reminders_send_due(now=at - timedelta(minutes=60)) == 0
    assert len(reminders("a-1")) == 2
    assert reminders("a-2") == []
    assert Appointment.get("a-1").reminder_key is None


def test_notifications_are_sent_once_in_the_doctors_zone(quiet_queues, email):
    assert quiet_queues.patch("/doctors/doctor001", {"email": "lorea@example.com"}, format="json").status_code == 200
    at = next_local(MONDAY, "10:00")
    assert book(quiet_queues, at=at, appointmentId="a-1").status_code == 201
    services.appointment_process(appointment_id="a-1")
    scheduled = events_of("a-1")[-1]
    assert notification_handle(event=scheduled) == 2
    assert notification_handle(event=scheduled) == 0  # the same event again
    assert sorted(message.to[0] for message in email) == ["0315@example.com", "lorea@example.com"]
    assert all(f"{at:%A %d %B %Y at 10:00} (America/Santiago)" in message.body for message in email)


def test_consume_events_deletes_handled_messages_and_dedups_sns_redelivery(quiet_queues, email):
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    outbox.event_publish(event_id=event["eventId"])
    aws.client("sns").publish(TopicArn=aws.topic_arn(), Message=json.dumps(event))  # SNS delivers twice
    call_command("consume_events", once=True, wait=1, stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("consume_events", once=True, wait=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert [message.to for message in email] == [["0315@example.com"]]
    assert drain("notifications") == []


def test_a_failing_notification_stays_on_the_queue(quiet_queues, email, monkeypatch):
    import time

    from appointments import notifications

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name("notifications"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "2"})
    try:
        assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
        (event,) = events_of("a-1")
        outbox.event_publish(event_id=event["eventId"])
        monkeypatch.setattr(notifications, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("SMTP down")))
        call_command("consume_events", once=True, wait=1, stdout=open("/dev/null", "w"))  # noqa: SIM115
        monkeypatch.undo()
        names = ["ApproximateNumberOfMessagesNotVisible"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"][names[0]] == "1"
        time.sleep(2.1)
        assert [json.loads(m["Body"])["eventId"] for m in drain("notifications")] == [event["eventId"]]
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "300"})
    assert notification_handle(event=event) == 1  # nothing was recorded as sent: a redelivery sends it


@pytest.mark.sqs_clock
def test_redrive_moves_dead_letters_back(quiet_queues):
    sqs = aws.client("sqs")
    name = aws.queue_name("appointments-cl")
    dlq = sqs.get_queue_url(QueueName=aws.dead_letter_name(name))["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="dead letter")
    out = __import__("io").StringIO()
    call_command("redrive", queue=["appointments-cl"], stdout=out)
    assert "1 message(s) moved back" in out.getvalue()
    assert [m["Body"] for m in drain("appointments-cl")] == ["dead letter"]


def test_routing_declares_the_country_queue_with_its_dead_letter_queue(aws_stack):
    from scheduler.celery import app
    from scheduler.messaging.workers import route_task

    route = route_task("appointments.process", (), {"appointment_id": "x", "country_code": "AR"}, {})
    assert route == {"queue": "appointments-ar"}
    name = aws.queue_name("appointments-ar")
    url = app.conf.broker_transport_options["predefined_queues"][name]["url"]
    sqs = aws.client("sqs")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"].endswith(f"{name}-dlq")
    assert route_task("appointments.publish_event", (), {"event_id": "e"}, {}) is None  # the default queue
    assert aws.queue_name("default") in app.conf.broker_transport_options["predefined_queues"]


@pytest.mark.sqs_clock
def test_a_notification_that_keeps_failing_ends_in_the_dead_letter_queue(quiet_queues, email, monkeypatch):
    import time

    from appointments import notifications

    sqs = aws.client("sqs")
    name = aws.queue_name("notifications")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=aws.dead_letter_name(name))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    try:
        assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
        (event,) = events_of("a-1")
        outbox.event_publish(event_id=event["eventId"])
        monkeypatch.setattr(notifications, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("SMTP down")))
        for _ in range(8):  # five receives, then SQS moves it aside
            call_command("consume_events", once=True, wait=1, stdout=open("/dev/null", "w"))  # noqa: SIM115
            time.sleep(1.1)
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert [json.loads(m["Body"])["eventId"] for m in dead] == [event["eventId"]]
        assert email == []
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "300"})
        drain("notifications")


def test_a_redelivery_sends_only_what_did_not_go_out(quiet_queues, email, monkeypatch):
    from appointments import notifications

    assert quiet_queues.patch("/doctors/doctor001", {"email": "lorea@example.com"}, format="json").status_code == 200
    assert book(quiet_queues, at=next_local(MONDAY, "10:00"), appointmentId="a-1").status_code == 201
    (event,) = events_of("a-1")
    real_send = notifications.send_mail

    def doctor_mailbox_down(subject, text, sender, recipients):
        if recipients == ["lorea@example.com"]:
            raise OSError("mailbox server down")
        return real_send(subject, text, sender, recipients)

    monkeypatch.setattr(notifications, "send_mail", doctor_mailbox_down)
    with pytest.raises(OSError):
        notification_handle(event=event)
    monkeypatch.undo()
    assert notification_handle(event=event) == 1  # only the doctor's, this time
    assert sorted(message.to[0] for message in email) == ["0315@example.com", "lorea@example.com"]


def test_a_reminder_for_a_cancelled_appointment_is_not_sent(quiet_queues, email):
    at = next_local(MONDAY, "10:00")
    assert book(quiet_queues, at=at, appointmentId="a-1").status_code == 201
    services.appointment_process(appointment_id="a-1")
    assert services.reminders_send_due(now=at - timedelta(minutes=1439)) == 1
    reminder = [e for e in events_of("a-1") if e["eventType"] == "appointment.reminder"][0]
    assert quiet_queues.delete("/appointments/a-1").status_code == 204  # cancelled before delivery
    assert notification_handle(event=reminder) == 0
    assert email == []


def test_processing_runs_again_when_the_appointment_changed_meanwhile(quiet_queues, monkeypatch):
    from appointments import processors

    at = next_local(MONDAY, "10:00")
    assert book(quiet_queues, at=at, appointmentId="a-1").status_code == 201
    seen = []

    def processor(appointment, country):
        seen.append(appointment.appointment_date)
        if len(seen) == 1:  # the patient moves it while the country's checks run
            services.appointment_update(
                appointment_id="a-1", changes={"appointment_date": at + timedelta(hours=1)}, if_match=None
            )

    monkeypatch.setitem(processors._registry, "CL", processor)
    assert services.appointment_process(appointment_id="a-1") == "scheduled"
    assert seen == [at, at + timedelta(hours=1)]  # checked again on the new time
