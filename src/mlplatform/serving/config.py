"""What a model server serves and how: the variants, batching, shedding, sampling, reloading.

``ServerConfig`` is built by the CLI from settings (``[serving]`` in mlplatform.toml) and
flags; nothing in ``mlplatform.serving`` reads settings itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlplatform.errors import ConfigError, ModelReferenceError
from mlplatform.features.layout import FeatureStoreLayout
from mlplatform.grammar import ModelRef, check_name, parse_canaries, parse_model_ref
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS, sampling_problem
from mlplatform.serving.trust import ModelTrust

__all__ = [
    "BatchConfig",
    "SamplingConfig",
    "ServerConfig",
    "VariantConfig",
    "registered_copy",
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
        registered_as: the registered version a model folder is a copy of (in the cluster
            KServe's storage initializer copies it to ``/mnt/models``): the folder is served
            as that version (its label in metrics and answers) and monitored for drift
            against that version's reference profile. ``None`` for a reference (the registry
            says which version it is) and for a folder of its own (version ``local``).
        feature_service: the feature service a model folder's version was trained on (its
            ``mlplatform.feature_service`` tag, which KServe's copy does not carry): the
            folder is served from entity keys like the tagged version. ``None`` for a
            reference (the registry's tag says) and for a folder without one.
    """

    name: str
    model_uri: str
    weight: float = 100.0
    registered_as: ModelRef | None = None
    feature_service: str | None = None


@dataclass(frozen=True)
class BatchConfig:
    """Micro-batching and load shedding.

    Attributes:
        max_batch_size: most rows predicted together.
        max_batch_wait_ms: how long a batch may wait to fill while the server is busy (an
            idle server predicts a lone request at once).
        max_queue: requests waiting for a batch; one more is refused with 429.
        request_timeout_s: a request still queued after this is answered 503.
        predict_timeout_s: a request still without an answer ``request_timeout_s +
            predict_timeout_s`` after it came (a hung or very slow model) is answered 503.
    """

    max_batch_size: int = 64
    max_batch_wait_ms: float = 1.0
    max_queue: int = 1024
    request_timeout_s: float = 10.0
    predict_timeout_s: float = 30.0


@dataclass(frozen=True)
class SamplingConfig:
    """Payload sampling for drift: ``fraction`` of requests (inputs and outputs) go to a
    bounded buffer of ``buffer_rows`` rows; it is flushed to Parquet under ``store_url``
    every ``flush_rows`` rows or ``flush_interval_s`` seconds. A full buffer drops samples
    (counted), never requests.

    Sampled payloads are personal data: sampling is off unless asked for, and a day's samples
    are deleted once the whole day is more than ``retention_days`` days old (defaults for
    every entry point in ``mlplatform.retention``).

    Raises:
        ConfigError: ``fraction`` is not 0 to 1, or ``retention_days`` is not 1 to 3650.
    """

    fraction: float = SAMPLE_FRACTION
    buffer_rows: int = 50_000
    flush_rows: int = 10_000
    flush_interval_s: float = 60.0
    store_url: str | None = None
    storage_options: dict[str, object] = field(default_factory=dict)
    drift_window_rows: int = 1_000
    retention_days: int = SAMPLE_RETENTION_DAYS

    def __post_init__(self) -> None:
        problem = sampling_problem(self.fraction, self.retention_days)
        if problem is not None:
            raise ConfigError(*problem)


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
    trust: ModelTrust = field(default_factory=ModelTrust)  # what the loader may deserialize
    # where versions tagged with a feature service fetch their features (serving.enrich): a
    # profile's layout, or a feature_store.yaml whose ${VARIABLES} are in the environment
    # (the cluster's, mounted in the container: python -m mlplatform.serving --feature-store)
    feature_store: FeatureStoreLayout | Path | None = None

    def __post_init__(self) -> None:
        try:
            check_name(self.name, "model")  # it names the samples' folder and the URL path
        except ValueError as exc:
            raise ConfigError(
                f"cannot serve under that name: {exc}",
                "Serve a model folder whose name follows the rule, or give the container "
                "such a name with --name.",
            ) from None
        if not self.variants:
            raise ConfigError(f"model server {self.name!r} has no variant to serve")
        canary = sum(v.weight for v in self.variants[1:])
        if canary >= 100:
            raise ConfigError(
                f"canary weights add up to {canary:g} % of the traffic of {self.name!r}",
                "Canary weights must leave some traffic to the primary: --canary challenger=10.",
            )


def registered_copy(text: str) -> ModelRef:
    """``--registered-as NAME/VERSION``: the one registered version a model folder is a copy
    of, in the model-reference grammar (``churn/3``, ``churn@3``, ``models:/churn/3``).

    Raises:
        ModelReferenceError: not a model reference, or an alias (``churn@champion``, a bare
            ``churn``): an alias moves, a copy does not.
    """
    ref = parse_model_ref(text)
    if ref.alias is not None:
        raise ModelReferenceError(
            f"--registered-as {text!r} names the alias {ref.alias!r}; a model folder is a "
            "copy of one version",
            f"Pass the version the folder was copied from: --registered-as {ref.name}/VERSION "
            f"(`mlp models show {ref.name}` lists them).",
        )
    return ref


def variants_for(
    source: ModelRef | Path, canaries: Iterable[str], registered_as: ModelRef | None = None
) -> tuple[VariantConfig, ...]:
    """The primary variant serving ``source``, then one per ``--canary TARGET=PCT``.

    The primary is named for its alias (``champion``), its version (``v3``), or ``primary``
    for a model folder; each canary (``mlplatform.grammar.parse_canaries``) serves the version
    of the same registered model that its alias (or number) names. ``registered_as`` (a
    pinned version, ``registered_copy``) says which registered version a folder is a copy of.

    Raises:
        CanaryError: a canary cannot be read, or the canaries take all the traffic.
        ConfigError: a canary beside a model folder (a folder has no aliases to put beside it),
            or ``registered_as`` beside a model reference (the registry says its version).
    """
    parsed = parse_canaries(canaries)
    if isinstance(source, Path):
        if parsed:
            raise ConfigError(
                f"--canary {parsed[0].target}={parsed[0].percent} needs a registered model, "
                "not a model folder",
                "Serve the model by reference (NAME, NAME@ALIAS, NAME/VERSION).",
            )
        return (VariantConfig("primary", str(source.resolve()), registered_as=registered_as),)
    if registered_as is not None:
        raise ConfigError(
            f"--registered-as {registered_as} is for a model folder, and {source} is a "
            "registered model already",
            "Drop --registered-as: a model served by reference is labelled with the version "
            "the registry resolves it to.",
        )
    refs = [(c.of(source.name), c.percent) for c in parsed]
    canary = [VariantConfig(_label(ref), ref.uri, percent) for ref, percent in refs]
    return (VariantConfig(_label(source), source.uri), *canary)


def _label(ref: ModelRef) -> str:
    return ref.alias or f"v{ref.version}"
