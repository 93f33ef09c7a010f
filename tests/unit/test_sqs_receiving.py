"""How the SQS channel decides what each queue may receive (scheduler/messaging/sqs.py): a queue that
holds nothing always asks for its first message, a queue with a backlog refills in batches up to its
share, the channel as a whole stops refilling at its total, and an acknowledgement wakes the queues
that waited for room. No SQS here: the decisions only."""

import time
from collections import Counter

from scheduler.messaging import sqs


class Hub:
    def __init__(self) -> None:
        self.soon: list = []

    def call_soon(self, callback, *args):
        self.soon.append(args)

    def call_later(self, delay, callback, *args):
        self.soon.append(args)


def channel(per_queue: int = 10, total: int = 20) -> sqs.Channel:
    """A channel without a connection: only the receiving rules' state."""
    made = sqs.Channel.__new__(sqs.Channel)
    made._held, made._held_count, made._receiving, made._waiting = {}, Counter(), {}, {}
    made._housekeeping, made._forgotten = object(), 0  # no timer
    made._active_queues = []
    made.per_queue, made.total = per_queue, total
    made.hub = Hub()
    return made


def hold(made: sqs.Channel, queue: str, count: int) -> list[str]:
    tags = [f"{queue}-{len(made._held) + n}" for n in range(count)]
    for tag in tags:
        made._held[tag] = (queue, time.monotonic())
        made._held_count[queue] += 1
    return tags


def test_a_queue_that_holds_nothing_asks_for_one_message_whatever_the_others_hold():
    made = channel()
    hold(made, "cl", 10)
    hold(made, "pe", 10)  # the channel's total is reached
    assert made._receive_count("ar") == 1


def test_a_backlog_refills_in_batches_up_to_its_share():
    made = channel()
    hold(made, "cl", 1)
    assert made._receive_count("cl") == 9
    hold(made, "cl", 5)  # 6 held: room for 4, less than half its share
    assert made._receive_count("cl") == 0
    made._release("cl-0")
    made._release("cl-1")  # 4 held: room for 6
    assert made._receive_count("cl") == 6


def test_refills_stop_at_the_channels_total_counting_refills_under_way():
    made = channel()
    hold(made, "cl", 5)
    hold(made, "pe", 5)
    made._receiving["pe"] = (5, time.monotonic())  # pe's refill is under way: 15 of 20 are spoken for
    assert made._receive_count("cl") == 5
    hold(made, "uy", 3)  # 18 of 20
    assert made._receive_count("cl") == 0


def test_an_acknowledgement_wakes_the_queues_that_waited_for_room():
    made = channel()
    tags = hold(made, "cl", 10)
    made._active_queues = ["cl"]
    made._schedule_queue("cl")
    assert "cl" in made._waiting and not made._receiving
    for tag in tags[:4]:
        made._release(tag)
    assert made.hub.soon == []  # 6 held: not yet room for half its share
    made._release(tags[4])
    assert made.hub.soon == [("cl",)] and "cl" not in made._waiting


def test_a_message_never_acknowledged_stops_holding_its_queues_room():
    made = channel()
    tags = hold(made, "cl", 10)
    made._held[tags[0]] = ("cl", time.monotonic() - 301)  # received before the visibility timeout
    assert made.forget_stale(older_than=300) == 1
    assert made.held("cl") == 9 and made.held() == 9


class Client:
    """What BatchDeleter calls: DeleteMessageBatch, answering with the entries it was told to fail."""

    def __init__(self, fail: set[str] = frozenset()) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    def delete_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's parameter names
        self.calls.append((QueueUrl, [entry["ReceiptHandle"] for entry in Entries]))
        failed = [{"Id": e["Id"], "Code": "ReceiptHandleIsInvalid"} for e in Entries if e["ReceiptHandle"] in self.fail]
        return {"Failed": failed}


def test_acknowledgements_are_deleted_in_batches_of_ten_per_queue(caplog):
    client = Client(fail={"cl-3"})
    batch = [(client, "url-cl", f"cl-{n}") for n in range(23)] + [(client, "url-pe", "pe-0")]
    sqs.BatchDeleter._send(batch)
    assert [(url, len(handles)) for url, handles in client.calls] == [
        ("url-cl", 10),
        ("url-cl", 10),
        ("url-cl", 3),
        ("url-pe", 1),
    ]
    assert sorted(h for _, handles in client.calls for h in handles) == sorted(h for _, _, h in batch)
    assert "ReceiptHandleIsInvalid" in caplog.text  # a failed entry is said, the others are done


def test_the_deleter_thread_deletes_what_is_acknowledged_and_flushes():
    client = Client()
    deleter = sqs.BatchDeleter()
    for n in range(12):
        deleter.delete(client, "url-cl", f"cl-{n}")
    assert deleter.flush(timeout=5)
    assert sorted(h for _, handles in client.calls for h in handles) == sorted(f"cl-{n}" for n in range(12))


def test_a_message_that_cannot_be_delivered_does_not_hold_up_the_others(monkeypatch):
    made = channel()
    made.connection = type("Connection", (), {"_callbacks": {"cl": object()}})()
    delivered = []

    def deliver(self, queue, qname, messages):
        (message,) = messages["Messages"]
        if message["ReceiptHandle"] == "bad":
            raise ValueError("undecodable")
        delivered.append(message["ReceiptHandle"])
        return 1

    monkeypatch.setattr(sqs.SQS.Channel, "_on_messages_ready", deliver)
    messages = {"Messages": [{"ReceiptHandle": tag, "Attributes": {}} for tag in ("a", "bad", "b")]}
    assert made._on_messages_ready("url", "cl", messages) == 2
    assert delivered == ["a", "b"] and made.held("cl") == 2 and "bad" not in made._held


def test_a_receive_whose_answer_never_came_is_given_up_and_the_queue_polled_again(monkeypatch):
    made = channel()
    monkeypatch.setattr(sqs.Channel, "wait_time_seconds", 15, raising=False)
    monkeypatch.setattr(sqs.Channel, "transport_options", {"visibility_timeout": 300}, raising=False)
    made._receiving["cl"] = (1, time.monotonic() - 15 - sqs.RECEIVE_LOST_SECONDS - 1)
    made._receiving["pe"] = (1, time.monotonic())
    made._housekeep()
    assert "cl" not in made._receiving and "pe" in made._receiving
    assert made.hub.soon == [("cl",)]


def test_the_worker_gets_a_growing_client_again_after_the_hub_closes_it(settings):
    """A lost broker connection makes Celery reset the hub, which closes its HTTP client: when the
    consumer starts again, the worker must not fall back to kombu's client of 10 connections."""
    from kombu.asynchronous import Hub

    from scheduler.messaging.workers import connections_needed, ensure_connections

    hub = Hub()
    try:
        assert ensure_connections(hub, 61) == connections_needed(61)
        first = hub._current_http_client
        assert ensure_connections(hub, 141) == connections_needed(141)  # grown, not replaced
        assert hub._current_http_client is first and len(first._free_list) == connections_needed(141)
        hub.reset()  # what Celery's event loop does on a lost connection
        assert getattr(hub, "_current_http_client", None) is None
        assert ensure_connections(hub, 141) == connections_needed(141)
        assert hub._current_http_client is not first and hub._current_http_client.max_clients == connections_needed(141)
    finally:
        hub.close()
