"""Reading the CDC topic from tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from fraudlake import settings as cfg
from fraudlake.cdc import ChangeEvent, decode_event
from fraudlake.stack.kafka import Kafka


def end_offsets() -> dict[int, int]:
    """Where the CDC topic ends now: a test reads from here, not through every earlier
    event (other suites bulk-load, and Debezium snapshots what they left)."""
    return Kafka(cfg.get_path_settings(), cfg.get_kafka_settings()).end_offsets()


def topic_consumer(start_offsets: dict[int, int]) -> Consumer:
    """A consumer of the CDC topic from the given offsets."""
    kafka = cfg.get_kafka_settings()
    consumer = Consumer({
        "bootstrap.servers": kafka.kafka_bootstrap_servers,
        "group.id": f"fraudlake-test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    partitions = range(kafka.kafka_topic_partitions)
    consumer.assign([TopicPartition(kafka.kafka_topic, p, start_offsets.get(p, 0)) for p in partitions])
    return consumer


def collect_events(consumer: Consumer, done: Callable[[list[ChangeEvent]], bool],
                   keep: Callable[[ChangeEvent], bool], timeout: float = 120) -> list[ChangeEvent]:
    """Events kept by `keep`, in topic order, until `done` says enough (or time runs out)."""
    events: list[ChangeEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(events):
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        event = decode_event(message.key(), message.value())
        if event is not None and keep(event):
            events.append(event)
    return events


def events_between(start: dict[int, int], end: dict[int, int], timeout: float = 120) -> list[ChangeEvent]:
    """Every event of the CDC topic from `start` to `end` in every partition.

    For a conclusion about what is absent (no snapshot read, say): stopping at the
    first event looked for would leave other partitions unread. Fails unless every
    partition is read to its end in time.
    """
    kafka = cfg.get_kafka_settings()
    consumer = topic_consumer(start)
    position = {p: start.get(p, 0) for p in end}  # the next offset to read, per partition
    events: list[ChangeEvent] = []
    deadline = time.monotonic() + timeout
    try:
        while any(position[p] < end[p] for p in end):
            assert time.monotonic() < deadline, f"the topic was not read to its end in {timeout} s: at {position}, end {end}"
            message = consumer.poll(0.5)
            if message is None or message.error():
                # Offsets a consumer never receives (transaction markers) still move its position.
                for tp in consumer.position([TopicPartition(kafka.kafka_topic, p) for p in end]):
                    position[tp.partition] = max(position[tp.partition], tp.offset)
                continue
            position[message.partition()] = message.offset() + 1
            event = decode_event(message.key(), message.value())
            if event is not None:
                events.append(event)
    finally:
        consumer.close()
    return events
