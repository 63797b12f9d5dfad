"""The observer's outbox: tracking calls sent in order by one background thread.

A pipeline run must not stop or stall because MLflow is unreachable. The observer puts each
call here and goes on; a worker thread sends the calls one at a time, in order. A call that
fails because MLflow cannot be reached (connection refused, a timeout, a 5xx) stays at the
head of the queue and is tried again, with a growing pause, until it goes through; a call that
MLflow refuses for good (a bad value) is dropped and remembered. ``drain`` waits, within a
deadline, for everything queued and says what was not recorded.

The worker is a daemon thread that ends when the queue is empty, so a process whose tracking
server never comes back still exits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlflow.exceptions import MlflowException

__all__ = ["Call", "Outbox", "is_unreachable"]

_TRANSIENT_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says MLflow could not be reached (worth retrying) rather than refused."""
    if isinstance(exc, MlflowException):
        return str(exc.error_code) in _TRANSIENT_CODES
    if isinstance(exc, OSError):  # requests' ConnectionError and timeouts are OSErrors
        return True
    return exc.__cause__ is not None and is_unreachable(exc.__cause__)  # e.g. a RegistryError


@dataclass
class Call:
    """One tracking call: what it records (for the report) and how."""

    what: str
    fn: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    attempts: int = 0


class Outbox:
    """Sends calls in order from a background thread, retrying while MLflow is unreachable.

    Args:
        retry_s: the first pause after a failed call; it doubles up to ``max_retry_s``.
        max_retry_s: the longest pause between two tries.
    """

    def __init__(self, retry_s: float = 0.5, max_retry_s: float = 10.0) -> None:
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self._queue: deque[Call] = deque()
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._sending_since: float | None = None
        self.dropped: list[str] = []
        self.last_error: str | None = None

    def stuck(self, after_s: float) -> bool:
        """Whether the last try failed, or the call being sent has taken over ``after_s``."""
        since = self._sending_since
        return self.last_error is not None or (
            since is not None and time.monotonic() - since > after_s
        )

    def submit(self, what: str, fn: Callable[[], Any]) -> Call:
        """Queue ``fn``; the worker sends it after every call queued before it."""
        call = Call(what, fn)
        with self._cond:
            self._queue.append(call)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="mlflow-outbox", daemon=True
                )
                self._worker.start()
        return call

    def drain(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for the queue to empty; what was still queued.

        Calls still queued then are given up (the report names them), so that what is
        reported as not recorded stays so; a call being sent at that moment may still land.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            left_over = [c.what for c in self._queue]
            self._queue.clear()
            return left_over

    def _work(self) -> None:
        pause = self.retry_s
        while True:
            with self._cond:
                if not self._queue:
                    self._worker = None
                    return
                call = self._queue[0]
            if self._send(call):
                pause = self.retry_s
                with self._cond:
                    if self._queue and self._queue[0] is call:  # not given up meanwhile
                        self._queue.popleft()
                    call.done.set()
                    self._cond.notify_all()
            else:
                time.sleep(pause)
                pause = min(pause * 2, self.max_retry_s)

    def _send(self, call: Call) -> bool:
        """True when the call is done with (recorded, or refused for good)."""
        call.attempts += 1
        self._sending_since = time.monotonic()
        try:
            call.result = call.fn()
        except Exception as exc:  # any failure of a tracking call is data for the report
            message = exc.message if isinstance(exc, MlflowException) else str(exc)
            if is_unreachable(exc):
                self.last_error = (message.splitlines() or [type(exc).__name__])[0][:300]
                return False
            self.dropped.append(f"{call.what}: {type(exc).__name__}: {message[:300]}")
        finally:
            self._sending_since = None
        self.last_error = None
        return True
