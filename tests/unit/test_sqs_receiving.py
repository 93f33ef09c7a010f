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
    made._receiving["pe"] = 5  # pe's refill is under way: 15 of 20 are spoken for
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
