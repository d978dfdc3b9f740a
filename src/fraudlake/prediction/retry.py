"""Waiting out an outage: retry with backoff until it works or the job is stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("fraudlake.prediction")

T = TypeVar("T")


class Stopped(RuntimeError):
    """The job was told to stop while waiting; the batch is left uncommitted, to be replayed."""


def until_done(action: Callable[[], T], *, what: str, retryable: tuple[type[BaseException], ...],
               stopping: threading.Event, max_wait: float, first_wait: float = 0.5) -> T:
    """`action()`, retried on `retryable` errors with doubling waits up to `max_wait`,
    for as long as it takes: a batch is never skipped, only delayed."""
    wait, attempt = first_wait, 1
    while True:
        try:
            return action()
        except retryable as exc:
            log.warning("%s failed (attempt %d): %s; retrying in %.1f s", what, attempt, str(exc)[:300], wait)
        if stopping.wait(wait):
            raise Stopped(f"stopped while retrying {what}")
        wait, attempt = min(wait * 2, max_wait), attempt + 1
