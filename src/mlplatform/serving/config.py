"""What a model server serves and how: the variants, batching, shedding, sampling, reloading.

``ServerConfig`` is built by the CLI from settings (``[serving]`` in mlplatform.toml) and
flags; nothing in ``mlplatform.serving`` reads settings itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlplatform.errors import ConfigError
from mlplatform.grammar import ModelRef, parse_canaries

__all__ = [
    "BatchConfig",
    "SamplingConfig",
    "ServerConfig",
    "VariantConfig",
    "variants_for",
]


@dataclass(frozen=True)
class VariantConfig:
    """One variant of a served model.

    Attributes:
        name: the variant's label in metrics and the ``x-mlp-variant`` header (``champion``).
        model_uri: a model reference (``models:/NAME@ALIAS``, ``NAME/VERSION``...; see
            ``mlplatform.grammar``) or a local MLflow model folder. Aliases are re-resolved
            every ``reload_interval_s`` (hot reload).
        weight: share of the traffic in percent; the primary variant takes what is left.
    """

    name: str
    model_uri: str
    weight: float = 100.0


@dataclass(frozen=True)
class BatchConfig:
    """Micro-batching and load shedding.

    Attributes:
        max_batch_size: most rows predicted together.
        max_batch_wait_ms: how long a batch may wait to fill while the server is busy (an
            idle server predicts a lone request at once).
        max_queue: requests waiting for a batch; one more is refused with 429.
        request_timeout_s: a request still queued after this is answered 503.
    """

    max_batch_size: int = 64
    max_batch_wait_ms: float = 1.0
    max_queue: int = 1024
    request_timeout_s: float = 10.0


@dataclass(frozen=True)
class SamplingConfig:
    """Payload sampling for drift: ``fraction`` of requests (inputs and outputs) go to a
    bounded buffer of ``buffer_rows`` rows; it is flushed to Parquet under ``store_url``
    every ``flush_rows`` rows or ``flush_interval_s`` seconds. A full buffer drops samples
    (counted), never requests."""

    fraction: float = 0.0
    buffer_rows: int = 50_000
    flush_rows: int = 10_000
    flush_interval_s: float = 60.0
    store_url: str | None = None
    storage_options: dict[str, object] = field(default_factory=dict)
    drift_window_rows: int = 1_000


@dataclass(frozen=True)
class ServerConfig:
    """A model server: one model name, one or more variants (the first is primary)."""

    name: str
    variants: tuple[VariantConfig, ...]
    tracking_uri: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    batch: BatchConfig = field(default_factory=BatchConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    reload_interval_s: float = 10.0
    sticky_header: str = "x-session-id"
    max_body_bytes: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.variants:
            raise ConfigError(f"model server {self.name!r} has no variant to serve")
        canary = sum(v.weight for v in self.variants[1:])
        if canary >= 100:
            raise ConfigError(
                f"canary weights add up to {canary:g} % of the traffic of {self.name!r}",
                "Canary weights must leave some traffic to the primary: --canary challenger=10.",
            )


def variants_for(source: ModelRef | Path, canaries: Iterable[str]) -> tuple[VariantConfig, ...]:
    """The primary variant serving ``source``, then one per ``--canary TARGET=PCT``.

    The primary is named for its alias (``champion``), its version (``v3``), or ``primary``
    for a model folder; each canary (``mlplatform.grammar.parse_canaries``) serves the version
    of the same registered model that its alias (or number) names.

    Raises:
        CanaryError: a canary cannot be read, or the canaries take all the traffic.
        ConfigError: a canary beside a model folder (a folder has no aliases to put beside it).
    """
    parsed = parse_canaries(canaries)
    if isinstance(source, Path):
        if parsed:
            raise ConfigError(
                f"--canary {parsed[0].target}={parsed[0].percent} needs a registered model, "
                "not a model folder",
                "Serve the model by reference (NAME, NAME@ALIAS, NAME/VERSION).",
            )
        return (VariantConfig("primary", str(source.resolve())),)
    refs = [(c.of(source.name), c.percent) for c in parsed]
    canary = [VariantConfig(_label(ref), ref.uri, percent) for ref, percent in refs]
    return (VariantConfig(_label(source), source.uri), *canary)


def _label(ref: ModelRef) -> str:
    return ref.alias or f"v{ref.version}"
