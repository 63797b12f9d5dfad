"""One served model: its variants (champion, canaries), the traffic split, and alias hot-reload.

Each variant has its own loaded model, batcher and predict thread. A request goes to a
canary with the canary's weight: by a hash of the sticky header when the client sends one
(the same session always lands on the same variant), else at random. A canary whose alias
resolves to the primary's version is folded into the primary (after ``mlp models promote``
moves champion to the challenger's version, all traffic goes to that version).

Hot reload: every ``reload_interval_s`` each alias variant re-resolves its alias; a new
version is downloaded, loaded and warmed up, and its drift monitor built (the reference
profile: an MLflow round trip and up to hundreds of MB), all on a worker thread while the old
one keeps serving; then the model and its monitor are swapped in together on the event loop,
with no await between them. Batches already running finish on the old model; no request
fails or waits because of a reload.

A version tagged with a feature service gets its ``FeatureEnricher`` (``serving.enrich``) when
it is loaded, on the same thread, and keeps it for its life: the registry is read once per
version, never per request.

Versioned requests (``served``): a request for version N goes to the variant serving N, or
gets 404 when none does (nor when the version was swapped out while it waited).
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlplatform.drift.monitor import DriftMonitor
from mlplatform.errors import InferenceInputError, OverloadedError
from mlplatform.grammar import ModelRef
from mlplatform.serving.batcher import BatchResult, MicroBatcher
from mlplatform.serving.config import ServerConfig, VariantConfig
from mlplatform.serving.enrich import EntityRows, enricher_for
from mlplatform.serving.loader import LoadedModel, ModelSource, load_model, model_source
from mlplatform.serving.loader import resolve_version as _resolve
from mlplatform.serving.metrics import MODEL_INFO, RELOADS
from mlplatform.serving.sampler import PayloadSampler
from mlplatform.serving.signature import Block

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

__all__ = ["ModelService", "Reload", "Variant"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reload:
    """A variant moved from one version to another (``error`` set when loading failed)."""

    variant: str
    old: str | None
    new: str
    error: str | None = None


@dataclass
class Variant:
    config: VariantConfig
    source: ModelSource
    executor: ThreadPoolExecutor
    model: LoadedModel | None = None
    batcher: MicroBatcher | None = None
    reloads: list[Reload] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def version(self) -> str | None:
        return self.model.version if self.model else None


class ModelService:
    """The variants of one model name, routed by weight, each batched and hot-reloaded."""

    def __init__(
        self,
        config: ServerConfig,
        sampler: PayloadSampler | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.config = config
        self.tracer = tracer  # spans of requests and batches (serving.tracing); None: off
        self.name = config.name
        self.sampler = sampler or PayloadSampler(config.name, config.sampling)
        self.variants = [
            Variant(
                v,
                model_source(v.model_uri),
                ThreadPoolExecutor(1, thread_name_prefix=f"predict-{v.name}"),
            )
            for v in config.variants
        ]
        self._io = ThreadPoolExecutor(2, thread_name_prefix="serving-io")
        self._tasks: list[asyncio.Task[Any]] = []
        self._random = random.random

    # ---- lifecycle ----------------------------------------------------------------------

    def load(self) -> None:
        """Load every variant (blocking; done before the server accepts requests)."""
        for variant in self.variants:
            loaded = load_model(
                variant.source,
                self.config.tracking_uri,
                name=self.name,
                trust=self.config.trust,
                registered_as=variant.config.registered_as,  # a folder copied from a version
            )
            store, service = self.config.feature_store, variant.config.feature_service
            loaded.features = enricher_for(loaded, store, service)
            self._swap(variant, loaded, self.sampler.prepare(loaded))

    async def start(self) -> None:
        for variant in self.variants:
            variant.batcher = MicroBatcher(
                self.name,
                variant.name,
                lambda v=variant: v.model,  # type: ignore[misc]
                self.config.batch,
                variant.executor,
                on_batch=lambda m, b, o, v=variant.name: self.sampler.offer(m, v, b, o),  # type: ignore[misc]
                tracer=self.tracer,
            )
            variant.batcher.start()
        loop = asyncio.get_running_loop()
        if any(_alias(v.source) for v in self.variants):
            self._tasks.append(loop.create_task(self._reload_loop()))
        if self.sampler.enabled:
            self._tasks.append(loop.create_task(self.sampler.run(self._io)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for variant in self.variants:
            if variant.batcher is not None:
                await variant.batcher.stop()
        await self.sampler.flush(self._io)
        for variant in self.variants:
            variant.executor.shutdown(wait=False)
        self._io.shutdown(wait=True)

    @property
    def ready(self) -> bool:
        return all(v.model is not None for v in self.variants)

    @property
    def primary(self) -> Variant:
        return self.variants[0]

    # ---- requests -----------------------------------------------------------------------

    def route(self, sticky: str | None) -> Variant:
        """The variant for one request (sticky by header value when given)."""
        if len(self.variants) == 1:
            return self.variants[0]
        point = zlib.crc32(sticky.encode()) % 10000 / 100 if sticky else self._random() * 100
        primary = self.variants[0]
        edge = 0.0
        for variant in self.variants[1:]:
            if variant.version == primary.version:
                continue  # folded into the primary (same version)
            edge += variant.config.weight
            if point < edge:
                return variant
        return primary

    async def predict(
        self,
        block: Block | EntityRows,
        sticky: str | None = None,
        version: str | None = None,
        *,
        probabilities: bool = False,
    ) -> tuple[BatchResult, str]:
        """Predict ``block`` (entity rows: with their features fetched) on the routed variant,
        or on the one serving ``version``; with ``probabilities``, its class probabilities too.

        Raises:
            InferenceInputError: 404, no variant serves ``version`` (any more); 422,
                probabilities asked of a model that has none (a regressor).
            OverloadedError, ServingError: as ``MicroBatcher.submit``.
        """
        variant = self.served(version) if version else self.route(sticky)
        if variant.batcher is None or variant.model is None:
            raise OverloadedError(f"model {self.name!r} is not ready", status=503, retry_after=1)
        if probabilities and variant.model.probabilities is None:
            rows = block.frame if isinstance(block, EntityRows) else block
            variant.model.proba(rows)  # raises the 422 that says why
        result = await variant.batcher.submit(block, probabilities=probabilities)
        if version and result.model.version != version:  # swapped out while it waited
            raise self._not_served(version)
        return result, variant.name

    def served(self, version: str) -> Variant:
        """The variant serving ``version``.

        Raises:
            InferenceInputError: 404, no variant serves it.
        """
        for variant in self.variants:
            if variant.version == version:
                return variant
        raise self._not_served(version)

    def versions(self) -> list[str]:
        """The versions served now, sorted."""
        return sorted({str(v.version) for v in self.variants if v.version})

    def _not_served(self, version: str) -> InferenceInputError:
        return InferenceInputError(
            f"model {self.name!r} does not serve version {version!r}",
            f"This server serves version(s) {', '.join(self.versions()) or 'none yet'}; "
            f"drop /versions/{version} to be routed to the served one.",
            status=404,
        )

    def schema_model(self) -> LoadedModel | None:
        return self.primary.model

    # ---- hot reload ---------------------------------------------------------------------

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.reload_interval_s)
            await self.reload()

    async def reload(self) -> list[Reload]:
        """Re-resolve every alias; load and swap in versions that changed."""
        loop = asyncio.get_running_loop()
        done: list[Reload] = []
        for variant in self.variants:
            ref = variant.source
            if not isinstance(ref, ModelRef) or ref.alias is None:
                continue
            try:
                version = await loop.run_in_executor(
                    self._io, _resolve, ref, self.config.tracking_uri
                )
            except Exception as exc:  # registry unreachable: keep serving what we have
                log.warning("cannot resolve %s: %s", ref.uri, exc)
                RELOADS.labels(self.name, variant.name, "unresolved").inc()
                continue
            if version == variant.version:
                continue
            old = variant.version
            try:
                loaded, monitor = await loop.run_in_executor(
                    self._io, self._load_version, ref, version
                )
            except Exception as exc:
                log.error("cannot load %s v%s: %s", self.name, version, exc)
                RELOADS.labels(self.name, variant.name, "failed").inc()
                change = Reload(variant.name, old, version, str(exc))
            else:
                self._swap(variant, loaded, monitor)
                RELOADS.labels(self.name, variant.name, "swapped").inc()
                change = Reload(variant.name, old, version)
            variant.reloads.append(change)
            done.append(change)
        return done

    def _load_version(self, ref: ModelRef, version: str) -> tuple[LoadedModel, DriftMonitor | None]:
        """Load a version and build its drift monitor (on a worker thread: both are slow)."""
        pinned = ModelRef(ref.name, version=int(version))
        loaded = load_model(
            pinned, self.config.tracking_uri, name=self.name, trust=self.config.trust
        )
        loaded.uri = ref.uri
        loaded.features = enricher_for(loaded, self.config.feature_store)
        return loaded, self.sampler.prepare(loaded)

    def _swap(self, variant: Variant, loaded: LoadedModel, monitor: DriftMonitor | None) -> None:
        """Serve ``loaded`` and its ``monitor`` (built off the loop); nothing here waits."""
        old = variant.model
        alias = _alias(variant.source) or ""
        if old is not None:
            MODEL_INFO.labels(self.name, old.version, variant.name, alias).set(0)
        self.sampler.attach(loaded, monitor)
        variant.model = loaded  # the swap: one reference assignment
        MODEL_INFO.labels(self.name, loaded.version, variant.name, alias).set(1)


def _alias(source: ModelSource) -> str | None:
    """The alias a variant follows (hot reload), ``None`` for a version or a folder."""
    return source.alias if isinstance(source, ModelRef) else None
