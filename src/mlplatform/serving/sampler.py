"""Payload sampling for drift: a fraction of requests, inputs and outputs, kept off the hot path.

``offer`` runs on the event loop after a batch was answered (requests answered one at a time
after a failed batch are not offered): a coin flip per request and an append to a bounded
buffer (``buffer_rows``; a full buffer drops the sample and counts it; a request is never
blocked or failed). ``run`` flushes every ``flush_interval_s`` seconds, or as soon as
``flush_rows`` rows are buffered, and the server flushes once more when it stops. ``flush``
drains the buffer on the event loop and hands it to a worker thread, which writes one Parquet
file to the artifact store (``serving-samples/<model>/<date>/<time>-<id>.parquet``: the input
columns, ``prediction``, ``model_version``, ``variant``, ``sampled_at``) and feeds the input
columns and ``prediction`` to the drift monitor of each served version (the prediction is
checked when the version's profile has one: ``build_model_profile``), whose gauges appear on
the server's ``/metrics``. ``attach`` builds a version's monitor once; ``registry_monitors``
builds row-count monitors against the profile registered with the version, and a version
without one is sampled but not monitored. A failed write is logged, never raised.

Retention: the samples are raw request payloads (personal data), so ``run`` deletes every day
folder (``serving-samples/<model>/<date>/``) whose whole day is more than ``retention_days``
old (``prune``): when it starts and every ``PRUNE_INTERVAL_S`` seconds after. A failed
deletion is logged and tried again at the next prune.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.metrics import DriftMetrics
from mlplatform.drift.monitor import DriftMonitor, Window
from mlplatform.serving.config import SamplingConfig, ServerConfig
from mlplatform.serving.loader import LoadedModel
from mlplatform.serving.metrics import SAMPLES
from mlplatform.serving.signature import Block, concat_blocks

__all__ = [
    "PRUNE_INTERVAL_S",
    "RECENT",
    "SAMPLES_PREFIX",
    "PayloadSampler",
    "registry_monitors",
    "sampler_for",
    "server_drift_metrics",
]

log = logging.getLogger(__name__)

SAMPLES_PREFIX = "serving-samples"
PRUNE_INTERVAL_S = 3600.0  # how often a running server deletes expired days of samples
PREDICTION = "prediction"  # the output column; model_version, variant and sampled_at too
RECENT = 100  # files, pruned days and drift windows remembered (the rest only counted)

MonitorFactory = Callable[[LoadedModel], DriftMonitor | None]


class PayloadSampler:
    """The bounded sample buffer of one served model."""

    def __init__(
        self,
        model: str,
        config: SamplingConfig,
        *,
        store: ArtifactStore | None = None,
        monitors: MonitorFactory | None = None,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.store = store
        self._monitor_for = monitors
        self._monitors: dict[str, DriftMonitor | None] = {}
        self._buffer: deque[tuple[LoadedModel, str, Block, np.ndarray[Any, Any], float]] = deque()
        self._rows = 0
        self._random = random.Random(seed).random
        self._kept = SAMPLES.labels(model, "kept")
        self._dropped = SAMPLES.labels(model, "dropped")
        self._full = asyncio.Event()
        # The last RECENT of each (a server runs for months: nothing grows with its life).
        self.written: deque[str] = deque(maxlen=RECENT)  # keys of Parquet files written
        self.pruned: deque[str] = deque(maxlen=RECENT)  # day folders deleted (retention)
        self.windows: deque[Window] = deque(maxlen=RECENT)  # drift windows closed
        self.files_written = 0  # counts over the server's life
        self.windows_closed = 0

    @property
    def enabled(self) -> bool:
        return self.config.fraction > 0

    @property
    def buffered_rows(self) -> int:
        return self._rows

    def offer(
        self,
        model: LoadedModel,
        variant: str,
        blocks: list[Block],
        outputs: list[np.ndarray[Any, Any]],
    ) -> None:
        """Keep each request with probability ``fraction``; never blocks, never raises."""
        fraction = self.config.fraction
        if fraction <= 0:
            return
        now = time.time()
        for block, out in zip(blocks, outputs, strict=True):
            if fraction < 1 and self._random() >= fraction:
                continue
            rows = len(block)
            if self._rows + rows > self.config.buffer_rows:
                self._dropped.inc()
                continue
            self._buffer.append((model, variant, block, out, now))
            self._rows += rows
            self._kept.inc()
        if self._rows >= self.config.flush_rows:
            self._full.set()

    def drain(self) -> pd.DataFrame:
        """Everything buffered, as one frame (the buffer is emptied)."""
        items = list(self._buffer)
        self._buffer.clear()
        self._rows = 0
        self._full.clear()
        return _frame(items)

    async def run(self, executor: Executor) -> None:
        """Flush every ``flush_interval_s`` seconds or as soon as ``flush_rows`` are buffered;
        prune expired samples at the start and every ``PRUNE_INTERVAL_S`` seconds."""
        loop = asyncio.get_running_loop()
        next_prune = 0.0
        while True:
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_INTERVAL_S
                await loop.run_in_executor(executor, self._prune_logged)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.config.flush_interval_s)
            await self.flush(executor)

    def prune(self, today: date | None = None) -> list[str]:
        """Delete the day folders of this model's samples older than the retention.

        A day is deleted once all of it is more than ``retention_days`` days before ``today``
        (UTC, default now): with 30 days, on 2024-05-31 every day up to 2024-04-30 goes.

        Returns:
            The store keys of the day folders deleted (none without a store).
        """
        if self.store is None:
            return []
        today = today or datetime.now(UTC).date()
        cutoff = today - timedelta(days=self.config.retention_days)
        prefix = f"{SAMPLES_PREFIX}/{self.model}"
        fs, folder = self.store.fs, self.store.url(prefix)
        fs.invalidate_cache(folder)
        if not fs.exists(folder):
            return []
        removed = []
        for entry in fs.ls(folder, detail=False):
            name = str(entry).rstrip("/").rsplit("/", 1)[-1]
            day, url = _day(name), self.store.url(f"{prefix}/{name}")
            if day is not None and day < cutoff and _holds_files(fs, url):
                fs.rm(url, recursive=True)
                removed.append(f"{prefix}/{name}")
        self.pruned.extend(removed)
        return removed

    def _prune_logged(self) -> None:
        try:
            if removed := self.prune():
                log.info("deleted %d expired days of samples of %s", len(removed), self.model)
        except Exception:  # retention is retried at the next prune; serving goes on
            log.exception("expired payload samples of %s could not be deleted", self.model)

    async def flush(self, executor: Executor) -> str | None:
        """Write and monitor what is buffered; returns the Parquet key (None when empty)."""
        if not self._rows:
            return None
        frame = self.drain()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, self.persist, frame)
        except Exception:  # sampling must never take the server down
            log.exception("payload samples of %s could not be written", self.model)
            return None

    def persist(self, frame: pd.DataFrame) -> str | None:
        """Write ``frame`` (from ``drain``) to Parquet and feed the drift monitors."""
        key = None
        if self.store is not None:
            stamp = datetime.now(UTC)
            key = (
                f"{SAMPLES_PREFIX}/{self.model}/{stamp:%Y-%m-%d}/"
                f"{stamp:%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
            )
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            self.store.write_bytes(key, buffer.getvalue())
            self.written.append(key)
            self.files_written += 1
        self._monitor(frame)
        return key

    def _monitor(self, frame: pd.DataFrame) -> None:
        if self._monitor_for is None:
            return
        for version, part in frame.groupby("model_version", sort=False):
            monitor = self._monitors.get(str(version))
            if monitor is None:
                continue
            rows = part.drop(columns=["model_version", "variant", "sampled_at"])
            closed = monitor.feed(rows.reset_index(drop=True))  # prediction drift too
            self.windows.extend(closed)
            self.windows_closed += len(closed)

    def prepare(self, model: LoadedModel) -> DriftMonitor | None:
        """Build the drift monitor of a version not yet monitored (loads its reference
        profile: slow, so the server calls it on a worker thread); None without sampling,
        without a monitor factory, for a version already attached, or without a profile."""
        if not self.enabled or self._monitor_for is None or model.version in self._monitors:
            return None
        try:
            return self._monitor_for(model)
        except Exception as exc:  # no profile: samples are still written
            log.warning("no drift monitor for %s v%s: %s", self.model, model.version, exc)
            return None

    def attach(self, model: LoadedModel, monitor: DriftMonitor | None) -> None:
        """Monitor ``model``'s samples with ``monitor`` (from ``prepare``); a version seen
        before keeps the monitor it had. Cheap: called on the event loop at the swap."""
        if self._monitor_for is not None and self.enabled:
            self._monitors.setdefault(model.version, monitor)


def sampler_for(config: ServerConfig, monitors: MonitorFactory | None = None) -> PayloadSampler:
    """The sampler of a server (both front ends): writing to ``sampling.store_url`` when
    sampling is on and a store is named, feeding the drift monitors ``monitors`` builds."""
    sampling = config.sampling
    store = None
    if sampling.fraction > 0 and sampling.store_url:
        store = ArtifactStore(sampling.store_url, dict(sampling.storage_options))
    return PayloadSampler(config.name, sampling, store=store, monitors=monitors)


def _holds_files(fs: Any, url: str) -> bool:
    """Whether a folder holds any object (SeaweedFS lists a day emptied before as a folder)."""
    found = fs.find(url, detail=True)
    return any(info.get("type") == "file" for info in found.values())


def _day(name: str) -> date | None:
    """The date a day folder (``YYYY-MM-DD``) holds samples of; None for anything else."""
    try:
        return datetime.strptime(name, "%Y-%m-%d").date()
    except ValueError:
        return None


def _frame(
    items: list[tuple[LoadedModel, str, Block, np.ndarray[Any, Any], float]],
) -> pd.DataFrame:
    if not items:
        return pd.DataFrame()
    parts = []
    by_model: dict[int, list[int]] = {}
    for i, item in enumerate(items):
        by_model.setdefault(id(item[0]), []).append(i)
    for indices in by_model.values():
        group = [items[i] for i in indices]
        model = group[0][0]
        frame = model.schema.frame(concat_blocks([item[2] for item in group])).copy()
        outputs = np.concatenate([np.asarray(item[3]).reshape(len(item[2]), -1)[:, 0]
                                  for item in group])  # fmt: skip
        frame[PREDICTION] = outputs
        frame["model_version"] = np.repeat([model.version], len(frame))
        frame["variant"] = np.concatenate([np.repeat([item[1]], len(item[2])) for item in group])
        frame["sampled_at"] = pd.to_datetime(
            np.concatenate([np.repeat([item[4]], len(item[2])) for item in group]), unit="s"
        )
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


_DRIFT_METRICS: list[DriftMetrics] = []


def server_drift_metrics() -> DriftMetrics:
    """The drift gauges on the default registry (what the server's ``/metrics`` shows);
    made once per process, since a gauge name can be registered only once."""
    if not _DRIFT_METRICS:
        from prometheus_client import REGISTRY

        _DRIFT_METRICS.append(DriftMetrics(REGISTRY))
    return _DRIFT_METRICS[0]


def registry_monitors(
    tracking_uri: str, config: DriftConfig, *, window_rows: int
) -> MonitorFactory:
    """Drift monitors against the reference profile registered beside each served version
    (``mlplatform.components.register`` saves it), read from the registry at
    ``tracking_uri``: a model loaded by reference, or a folder served with
    ``--registered-as NAME/VERSION`` (KServe's copy); a folder of its own, or a version
    without a profile, gets no monitor."""
    from mlplatform.components.register import load_reference_profile

    def monitor(model: LoadedModel) -> DriftMonitor | None:
        if model.registered_name is None:
            return None
        profile = load_reference_profile(
            model.registered_name, model.version, tracking_uri=tracking_uri
        )
        return DriftMonitor(
            profile,
            config,
            window_rows=window_rows,
            metrics=server_drift_metrics(),
            model=model.name,
            version=model.version,
            workers=1,
        )

    return monitor
