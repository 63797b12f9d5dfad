"""Windows over inference inputs: every full window is checked against the reference.

Windows are tumbling, by row count (``window_rows``) or by time (``window`` on
``time_column``, aligned to the epoch: 1h windows start on the hour). ``feed`` takes frames as
they come and returns the windows they closed: ``mlp drift monitor`` feeds it files, and
``mlp serve``'s payload sampler (``mlplatform.serving.sampler``) feeds it each flush of live
samples, in row-count windows. ``flush`` closes the last, partial window if it has at least
``min_rows`` rows. A time window closes when rows of a later one arrive; rows older than the
open window (theirs has closed) are counted in ``late_rows`` and dropped. Each result goes to
the Prometheus gauges, if given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mlplatform.drift.check import check_drift
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.metrics import DriftMetrics
from mlplatform.drift.profile import ReferenceProfile
from mlplatform.drift.result import DriftResult
from mlplatform.errors import DriftDataError

__all__ = ["DriftMonitor", "Window"]


@dataclass(frozen=True)
class Window:
    """One closed window: its bounds (row offsets, or times), rows and drift result."""

    index: int
    start: str
    end: str
    rows: int
    result: DriftResult

    def to_dict(self) -> dict[str, object]:
        return {
            "window": self.index,
            "start": self.start,
            "end": self.end,
            "rows": self.rows,
            **self.result.summary(),
        }


@dataclass
class _Open:
    frames: list[pd.DataFrame] = field(default_factory=list)
    rows: int = 0
    key: pd.Timestamp | None = None


class DriftMonitor:
    """Checks windows of incoming rows against a reference profile.

    Args:
        reference: the profile of the training data.
        config: tests and thresholds.
        window_rows: rows per window (a row-count window), or
        window: a duration such as ``"15min"`` or ``"1h"`` (a time window), with
        time_column: the column holding each row's time.
        metrics: gauges to update after each window (optional).
        model, version: the labels of those gauges.
        columns: the columns to check (default: every profiled column).
        min_rows: a partial last window with fewer rows is not checked.
        workers: threads per check (see ``check_drift``).

    Raises:
        DriftDataError: neither or both kinds of window, a bad duration, or a missing
            time column.
    """

    def __init__(
        self,
        reference: ReferenceProfile,
        config: DriftConfig | None = None,
        *,
        window_rows: int | None = None,
        window: str | None = None,
        time_column: str | None = None,
        metrics: DriftMetrics | None = None,
        model: str = "",
        version: str = "",
        columns: Sequence[str] | None = None,
        min_rows: int = 1,
        workers: int = 2,
    ) -> None:
        self.reference = reference
        self.config = config or DriftConfig()
        self.window_rows = window_rows
        self.window = _duration(window) if window else None
        self.time_column = time_column
        self.metrics = metrics
        self.model, self.version = model, version
        self.columns = columns
        self.min_rows = max(1, min_rows)
        self.workers = workers
        self.late_rows = 0
        self._open = _Open()
        self._count = 0
        self._offset = 0
        _check_window(window_rows, self.window, time_column)

    def feed(self, frame: pd.DataFrame) -> list[Window]:
        """Add rows; returns the windows they closed (possibly none)."""
        if frame.empty:
            return []
        if self.window is not None:
            return list(self._feed_time(frame))
        return list(self._feed_rows(frame))

    def flush(self) -> list[Window]:
        """Close the open window if it has at least ``min_rows`` rows."""
        if self._open.rows < self.min_rows:
            return []
        return [self._close()]

    def run(self, frames: Iterable[pd.DataFrame]) -> Iterator[Window]:
        """Every window of ``frames``, the last partial one included."""
        for frame in frames:
            yield from self.feed(frame)
        yield from self.flush()

    # ---- row windows --------------------------------------------------------------------
    def _feed_rows(self, frame: pd.DataFrame) -> Iterator[Window]:
        assert self.window_rows is not None
        while len(frame):
            room = self.window_rows - self._open.rows
            head, frame = frame.iloc[:room], frame.iloc[room:]
            self._append(head)
            if self._open.rows == self.window_rows:
                yield self._close()

    # ---- time windows -------------------------------------------------------------------
    def _feed_time(self, frame: pd.DataFrame) -> Iterator[Window]:
        assert self.window is not None
        assert self.time_column is not None
        if self.time_column not in frame.columns:
            raise DriftDataError(
                f"the time column {self.time_column!r} is not in the data",
                f"Columns: {', '.join(map(str, frame.columns))}.",
            )
        times = pd.to_datetime(frame[self.time_column], utc=True)
        keys = times.dt.floor(self.window)
        for key, group in frame.groupby(keys, sort=True):
            stamp = pd.Timestamp(key)
            if self._open.key is not None and stamp < self._open.key:
                self.late_rows += len(group)
                continue
            if self._open.key is not None and stamp > self._open.key and self._open.rows:
                yield self._close()
            self._open.key = stamp
            self._append(group)

    # ---- both ---------------------------------------------------------------------------
    def _append(self, frame: pd.DataFrame) -> None:
        self._open.frames.append(frame)
        self._open.rows += len(frame)

    def _close(self) -> Window:
        data = pd.concat(self._open.frames, ignore_index=True)
        key = self._open.key
        result = check_drift(
            self.reference, data, self.config, columns=self.columns, workers=self.workers
        )
        if self.metrics is not None:
            self.metrics.observe(result, self.model, self.version)
        if key is not None and self.window is not None:
            start, end = key.isoformat(), (key + self.window).isoformat()
        else:
            start, end = str(self._offset), str(self._offset + len(data))
        window = Window(self._count, start, end, len(data), result)
        self._count += 1
        self._offset += len(data)
        self._open = _Open(key=key)
        return window


def _duration(text: str) -> pd.Timedelta:
    try:
        value = pd.Timedelta(text)
    except ValueError as exc:
        raise DriftDataError(
            f"cannot read the window {text!r} as a duration", "Use e.g. 15min, 1h or 1d."
        ) from exc
    if value <= pd.Timedelta(0):
        raise DriftDataError(f"the window must be positive, got {text!r}")
    return value


def _check_window(rows: int | None, window: pd.Timedelta | None, column: str | None) -> None:
    if (rows is None) == (window is None):
        raise DriftDataError(
            "a monitor needs exactly one kind of window",
            "Pass --window-rows N, or --window 1h with --time-column COLUMN.",
        )
    if rows is not None and rows < 1:
        raise DriftDataError(f"window rows must be at least 1, got {rows}")
    if window is not None and not column:
        raise DriftDataError(
            "a time window needs the column that holds each row's time",
            "Pass --time-column COLUMN.",
        )
