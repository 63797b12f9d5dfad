"""Micro-batching: concurrent requests are predicted together, off the event loop.

Requests wait in a bounded queue. One worker takes up to ``max_batch_size`` rows, predicts
them in one call on a dedicated thread (the event loop keeps accepting connections while the
model runs) and hands each request its slice. A busy server lets a batch fill for up to
``max_batch_wait_ms``; an idle one predicts a lone request at once, so low traffic pays no
wait. A full queue refuses with 429, a request queued past its deadline gets 503, both with
``Retry-After``: overload sheds excess work instead of growing latency without bound. When the
batched call raises, the batch's requests are predicted again one at a time, so a model error
fails only the request whose rows caused it (422 for the model's ``ValueError``, else 500).

A version served from the feature store (``serving.enrich``) gets the features of the batch's
entity-key requests first, in one online read on the predict thread; a request whose entity
is missing (422) or whose store does not answer (503) is answered then, the rest predicted.

Supervision: every request ends with an answer or an error. Anything unexpected while a batch
is handled (a bug, a model raising a ``BaseException`` such as a C extension's abort) fails
that batch's requests with a 500 naming the error, and the worker goes on with the next
batch. ``submit`` waits at most ``request_timeout_s + predict_timeout_s`` for its answer (a
hung model): past that, 503 with ``Retry-After``.

Tracing (a ``tracer``): each request remembers the span current when it was submitted, and a
batch gets a ``batch`` span (child of its first request, linked to the others) with the model
call as its ``predict`` child (``serving.tracing``). Without a tracer none of that runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from opentelemetry.trace import get_current_span

from mlplatform.errors import InferenceInputError, OverloadedError, ServingError
from mlplatform.serving.config import BatchConfig
from mlplatform.serving.enrich import EntityRows, enrich_blocks
from mlplatform.serving.loader import LoadedModel
from mlplatform.serving.metrics import BATCH_SIZE, QUEUE_DEPTH, SHED
from mlplatform.serving.signature import Block, concat_blocks
from mlplatform.serving.tracing import BatchTrace

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["BatchResult", "MicroBatcher"]

log = logging.getLogger(__name__)

OnBatch = Callable[[LoadedModel, list[Block], list["np.ndarray[Any, Any]"]], None]


@dataclass(frozen=True)
class BatchResult:
    """A request's predictions and the model version that made them; ``probabilities``
    ``[rows, classes]`` when the request asked for them."""

    outputs: np.ndarray[Any, Any]
    model: LoadedModel
    probabilities: np.ndarray[Any, Any] | None = None


class _Item:
    __slots__ = ("block", "deadline", "future", "proba", "rows", "span")

    def __init__(
        self,
        block: Block | EntityRows,
        future: asyncio.Future[BatchResult],
        deadline: float,
        proba: bool = False,
    ) -> None:
        self.block = block
        self.future = future
        self.deadline = deadline
        self.proba = proba
        self.rows = len(block)
        self.span: Span | None = None  # the request's span, when traced


_Answer = tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any] | None"]


def _infer(model: LoadedModel, block: Block, proba: bool) -> _Answer:
    """Predictions of ``block``, and its class probabilities when ``proba`` (one call of
    each for the whole batch: a batch with any request that asked computes them once)."""
    return model.predict(block), (model.proba(block) if proba else None)


class MicroBatcher:
    """Gathers requests for one model variant into batches.

    Args:
        model: returns the model to predict with now (hot reload swaps what it returns; a
            batch already running finishes on the model it started with).
        config: sizes, wait, queue bound and deadline.
        executor: where ``predict`` runs (one thread per variant).
        on_batch: called after each batch with the model, request blocks and outputs
            (payload sampling); it must not block.
        tracer: traces batches (``serving.tracing``); None: no spans.
    """

    def __init__(
        self,
        name: str,
        variant: str,
        model: Callable[[], LoadedModel | None],
        config: BatchConfig,
        executor: Executor,
        on_batch: OnBatch | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.name, self.variant = name, variant
        self.tracer = tracer
        self._model = model
        self.config = config
        self._executor = executor
        self._on_batch = on_batch
        self._pending: deque[_Item] = deque()
        self._pending_rows = 0  # rows in _pending, kept as items come and go
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: list[_Item] = []  # the batch being predicted (failed if the worker crashes)
        self.crashes = 0  # batches that failed with an unexpected error (supervision)
        self._last_batch = 0
        self._seconds_per_row = 0.001  # running estimate for Retry-After
        self._wait = config.max_batch_wait_ms / 1000
        self._depth = QUEUE_DEPTH.labels(name, variant)
        self._sizes = BATCH_SIZE.labels(name, variant)
        self._shed_full = SHED.labels(name, "queue_full")
        self._shed_timeout = SHED.labels(name, "timeout")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for item in self._inflight:
            _fail(item, self._unavailable("the server is stopping"))
        self._inflight = []
        while self._pending:
            item = self._popleft()
            if not item.future.done():
                item.future.set_exception(self._unavailable("the server is stopping"))

    @property
    def depth(self) -> int:
        return len(self._pending)

    async def submit(
        self, block: Block | EntityRows, *, probabilities: bool = False
    ) -> BatchResult:
        """Queue ``block`` (entity rows: its features are fetched with the batch's) and wait
        for its predictions (and class probabilities).

        Raises:
            OverloadedError: 429 when the queue is full, 503 when the request was still
                queued at its deadline or had no answer ``predict_timeout_s`` after it.
            ServingError: the model raised on this request's rows (422 for its
                ``ValueError``, 500 otherwise); the other requests of its batch are answered.
                500 too when handling its batch failed unexpectedly.
        """
        if len(self._pending) >= self.config.max_queue:
            self._shed_full.inc()
            raise OverloadedError(
                f"model {self.name!r} is overloaded: {len(self._pending)} requests are queued",
                status=429,
                retry_after=self._retry_after(),
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BatchResult] = loop.create_future()
        item = _Item(block, future, loop.time() + self.config.request_timeout_s, probabilities)
        if self.tracer is not None:
            item.span = get_current_span()
        self._pending.append(item)
        self._pending_rows += item.rows
        self._wake.set()
        limit = self.config.request_timeout_s + self.config.predict_timeout_s
        timer = loop.call_later(limit, self._expire, future, limit)  # cheaper than wait_for
        try:
            return await future
        finally:
            timer.cancel()

    def _expire(self, future: asyncio.Future[BatchResult], limit: float) -> None:
        """A request with no answer at its last deadline: 503 (the batch, if it ever ends,
        skips a future that is already done)."""
        if not future.done():
            why = f"no answer within {limit:g} s (a slow or hung model)"
            future.set_exception(self._unavailable(why))

    def _retry_after(self) -> int:
        return max(1, math.ceil(self._pending_rows * self._seconds_per_row))

    def _popleft(self) -> _Item:
        item = self._pending.popleft()
        self._pending_rows -= item.rows
        return item

    def _unavailable(self, why: str) -> OverloadedError:
        return OverloadedError(
            f"model {self.name!r} cannot answer: {why}", status=503, retry_after=self._retry_after()
        )

    async def _run(self) -> None:
        """The worker, supervised: an unexpected error fails the batch it hit, not the worker."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._next_batch(loop)
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # supervision: the worker must live on
                self._crashed(exc)

    def _crashed(self, exc: BaseException) -> None:
        self.crashes += 1
        log.error("the batch worker of %s/%s failed; it goes on with the next batch",
                  self.name, self.variant, exc_info=exc)  # fmt: skip
        error = ServingError(
            f"model {self.name!r} failed on this request's batch: {type(exc).__name__}: {exc}"
        )
        for item in self._inflight:
            _fail(item, error)
        self._inflight = []

    async def _next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        limit = self.config.max_batch_size
        if not self._pending:
            self._wake.clear()
            await self._wake.wait()
        if self._wait > 0 and self._last_batch > 1 and len(self._pending) < limit:
            await asyncio.sleep(self._wait)  # busy: let the batch fill
        items = self._inflight = self._take(loop.time(), limit)
        self._depth.set(len(self._pending))
        if not items:
            return
        model = self._model()
        if model is None:
            for item in items:
                _fail(item, self._unavailable("no model is loaded yet"))
            return
        blocks = await self._ready(loop, model, items)
        if not blocks:
            self._inflight = []
            return
        if self.tracer is None:
            await self._predict(loop, model, blocks, None)
            return
        items = self._inflight
        rows = sum(item.rows for item in items)
        batch = BatchTrace(self.tracer, self.variant, model, [i.span for i in items], rows)
        try:
            await self._predict(loop, model, blocks, batch)
        finally:
            batch.end()

    async def _predict(
        self,
        loop: asyncio.AbstractEventLoop,
        model: LoadedModel,
        blocks: list[Block],
        batch: BatchTrace | None,
    ) -> None:
        """Predict the batch in ``_inflight`` in one call and answer each of its requests."""
        items = self._inflight
        proba = any(item.proba for item in items)
        started = time.perf_counter()
        try:
            with batch.predict() if batch is not None else _UNTRACED:
                outputs, probabilities = await loop.run_in_executor(
                    self._executor, _infer, model, concat_blocks(blocks), proba
                )
            sizes = [item.rows for item in items]
            parts = _split(outputs, sizes)
            chances = _split(probabilities, sizes) if probabilities is not None else None
        except Exception as exc:
            if len(items) == 1:
                _fail(items[0], self._model_error(model, exc))
            else:  # one request's rows must not fail the others: each on its own
                await self._one_by_one(loop, model, items, blocks)
            self._inflight = []
            return
        rows = sum(item.rows for item in items)
        self._seconds_per_row = (time.perf_counter() - started) / max(rows, 1)
        self._last_batch = len(items)
        self._sizes.observe(rows)
        for i, (item, part) in enumerate(zip(items, parts, strict=True)):
            if not item.future.done():
                chance = chances[i] if chances is not None and item.proba else None
                item.future.set_result(BatchResult(part, model, chance))
        self._inflight = []
        if self._on_batch is not None:
            self._on_batch(model, blocks, parts)

    async def _ready(
        self, loop: asyncio.AbstractEventLoop, model: LoadedModel, items: list[_Item]
    ) -> list[Block]:
        """The batch's blocks for the model: entity rows get their features (one online read,
        on the predict thread); requests that cannot have them are answered and dropped from
        ``_inflight``."""
        raw = [item.block for item in items]
        if model.features is None and not any(isinstance(b, EntityRows) for b in raw):
            return raw  # type: ignore[return-value]  # no entity rows: every one a Block
        ready = await loop.run_in_executor(self._executor, enrich_blocks, model.features, raw)
        kept: list[_Item] = []
        blocks: list[Block] = []
        for item, block in zip(items, ready, strict=True):
            if isinstance(block, Exception):
                _fail(item, block)
                continue
            item.block = block
            kept.append(item)
            blocks.append(block)
        self._inflight = kept
        return blocks

    async def _one_by_one(
        self,
        loop: asyncio.AbstractEventLoop,
        model: LoadedModel,
        items: list[_Item],
        blocks: list[Block],
    ) -> None:
        for item, block in zip(items, blocks, strict=True):
            try:
                outputs, probabilities = await loop.run_in_executor(
                    self._executor, _infer, model, block, item.proba
                )
            except Exception as exc:
                _fail(item, self._model_error(model, exc))
            else:
                if not item.future.done():
                    item.future.set_result(BatchResult(outputs, model, probabilities))

    def _model_error(self, model: LoadedModel, exc: Exception) -> ServingError:
        """The model refused this request's rows (scikit-learn validates with ValueError:
        infinite or too large values, unknown categories): 422; anything else: 500."""
        if isinstance(exc, InferenceInputError):  # asked a regressor for probabilities
            return exc
        if isinstance(exc, ValueError):
            return InferenceInputError(
                f"model {self.name!r} v{model.version} cannot predict these rows: {exc}",
                status=422,
            )
        return ServingError(f"model {self.name!r} v{model.version} failed: {exc}")

    def _take(self, now: float, limit: int) -> list[_Item]:
        items: list[_Item] = []
        rows = 0
        pending = self._pending
        while pending and (rows < limit or not items):
            item = pending[0]
            if rows and rows + item.rows > limit:
                break
            self._popleft()
            if item.future.done():  # the client went away
                continue
            if item.deadline < now:
                self._shed_timeout.inc()
                item.future.set_exception(
                    self._unavailable(f"queued longer than {self.config.request_timeout_s:g} s")
                )
                continue
            items.append(item)
            rows += item.rows
        return items


_UNTRACED = contextlib.nullcontext()


def _fail(item: _Item, error: Exception) -> None:
    if not item.future.done():
        item.future.set_exception(error)


def _split(outputs: np.ndarray[Any, Any], sizes: list[int]) -> list[np.ndarray[Any, Any]]:
    if len(sizes) == 1:
        return [outputs]
    if len(outputs) != sum(sizes):
        raise ServingError(f"the model returned {len(outputs)} rows for {sum(sizes)} inputs")
    bounds = np.cumsum(sizes)[:-1]
    return list(np.split(outputs, bounds))
