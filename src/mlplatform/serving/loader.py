"""Load a model for serving: resolve ``NAME@ALIAS`` to a version, download it, and
load its native flavour (scikit-learn) when it has one, else MLflow pyfunc.

What may be deserialized is decided by ``ModelTrust`` (``mlplatform.serving.trust``), never by
the artifact: skops models load with the platform's trusted types plus the user's, whatever
``skops_trusted_types`` the ``MLmodel`` file lists; pickle, cloudpickle and pyfunc models are
refused unless the ``allow_pickle_models`` setting allows them.

The native flavour skips pyfunc's per-call schema enforcement and DataFrame conversion; the
server checks inputs against the signature itself (``signature.InputSchema``), once per
request, and predicts a whole batch in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from mlplatform.artifacts import skops_format
from mlplatform.errors import (
    InferenceInputError,
    ModelReferenceError,
    RegistryError,
    ServingError,
)
from mlplatform.grammar import ModelRef, parse_model_ref
from mlplatform.serving.signature import Block, InputSchema
from mlplatform.serving.tensors import v2_datatype
from mlplatform.serving.trust import ALLOW_PICKLE_SETTING, ModelTrust
from mlplatform.tracking._mlflow import existing_client, using_tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlplatform.serving.enrich import FeatureEnricher

__all__ = [
    "LoadedModel",
    "ModelSource",
    "ModelTrust",
    "Probabilities",
    "load_model",
    "model_source",
    "resolve_version",
]

ModelSource: TypeAlias = ModelRef | Path  # a registry version (by alias or number), a folder


def model_source(text: str) -> ModelSource:
    """An MLflow model folder that exists here, else a model reference (``parse_model_ref``).

    Raises:
        ModelReferenceError: neither.
    """
    if Path(text).is_dir():
        return Path(text)
    try:
        return parse_model_ref(text)
    except ModelReferenceError as exc:
        raise ModelReferenceError(
            f"{text!r} is neither a model folder here nor a model reference",
            f"{exc.hint} Or pass a folder saved by mlflow.<flavor>.save_model.",
            details=exc.headline,
        ) from exc


@dataclass
class LoadedModel:
    """A model ready to predict: ``predict`` takes a ``Block`` of rows, returns an array."""

    name: str
    version: str
    uri: str
    flavor: str
    schema: InputSchema
    run_id: str | None
    predict: Callable[[Block], np.ndarray[Any, Any]]
    example: Block | None = None
    tags: dict[str, str] = field(default_factory=dict)
    registered_name: str | None = None  # the registry's name (None for a local folder)
    output_datatype: str = "FP64"  # V2 datatype and shape of an answer, from the warm-up
    output_shape: tuple[int, ...] = (-1,)
    probabilities: Probabilities | None = None  # classifiers only
    features: FeatureEnricher | None = None  # served from the feature store (serving.enrich)

    def proba(self, block: Block) -> np.ndarray[Any, Any]:
        """Class probabilities of ``block``'s rows, ``[rows, classes]`` float64.

        Raises:
            InferenceInputError: 422, the model has no class probabilities (a regressor, or a
                model served through pyfunc): ``probabilities_refusal`` says why.
        """
        if self.probabilities is None:
            raise InferenceInputError(
                f"model {self.name!r} v{self.version} has no class probabilities: "
                f"{self.probabilities_refusal()}",
                f"Drop the request for probabilities; {_OUTPUT_HINT}",
                status=422,
            )
        return np.asarray(self.probabilities.predict(block), dtype=np.float64)

    def probabilities_refusal(self) -> str:
        """Why this model cannot answer with class probabilities (empty when it can)."""
        if self.probabilities is not None:
            return ""
        if self.flavor != "sklearn":
            return f"it is served through MLflow {self.flavor}, which only predicts"
        if self.output_datatype.startswith("FP"):
            return f"it is a regression model (its predictions are {self.output_datatype})"
        return "its estimator has no predict_proba"

    def warm_up(self) -> None:
        """One prediction of the input example, so the first request pays no lazy init; it
        also tells the output's datatype and shape (the V2 metadata)."""
        if self.example is not None:
            out = np.asarray(self.predict(self.example))
            self.output_datatype = v2_datatype(out.dtype)
            self.output_shape = (-1, *out.shape[1:])


@dataclass(frozen=True)
class Probabilities:
    """A classifier's ``predict_proba`` on a block and its class labels, in column order."""

    predict: Callable[[Block], np.ndarray[Any, Any]]
    classes: tuple[Any, ...]

    @property
    def labels(self) -> list[Any]:
        """The class labels as JSON values (strings, integers, booleans)."""
        return list(self.classes)


_OUTPUT_HINT = "this model answers with its predictions only (output-0)."


def resolve_version(source: ModelSource, tracking_uri: str | None) -> str:
    """The version an alias points to now (the number itself for a version, ``local`` for a
    folder).

    Raises:
        RegistryError: unknown model or alias.
    """
    if isinstance(source, Path):
        return "local"
    from mlflow.exceptions import MlflowException

    client = _registry(source, tracking_uri)
    try:
        if source.alias is None:
            found = client.get_model_version(source.name, str(source.version))
        else:
            found = client.get_model_version_by_alias(source.name, source.alias)
    except MlflowException as exc:
        raise RegistryError(
            f"cannot resolve {source.uri}: {exc.message.splitlines()[0]}",
            f"Run `mlp models show {source.name}` to see its versions and aliases.",
        ) from exc
    return str(found.version)


def _registry(source: ModelRef, tracking_uri: str | None) -> MlflowClient:
    """A client of an existing registry; an embedded store not yet created is not made here."""
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    client = existing_client(uri)
    if client is None:
        raise RegistryError(
            f"cannot resolve {source.uri}: there is no model registry at {uri} yet",
            "Register a model first (`mlp pipeline run standard-training`), or pass "
            "--tracking-uri for the registry that has it.",
        )
    return client


def load_model(
    source: ModelSource,
    tracking_uri: str | None,
    *,
    name: str,
    trust: ModelTrust | None = None,
    registered_as: ModelRef | None = None,
) -> LoadedModel:
    """Download and load ``source`` (an alias is resolved to its current version first).

    A folder with ``registered_as`` (a pinned version it is a copy of) is that version: its
    ``version`` and ``registered_name`` come from ``registered_as``, not from the registry
    (the folder serves while the registry is down).

    Raises:
        RegistryError: unknown model, version or alias.
        ServingError: the artifacts cannot be downloaded or loaded, or ``trust`` (default:
            the platform's trusted types, no pickle) refuses what they hold.
    """
    trust = trust or ModelTrust()
    import mlflow
    from mlflow.exceptions import MlflowException

    version = resolve_version(source, tracking_uri)
    if isinstance(source, Path) and registered_as is not None:
        version = str(registered_as.version)
    uri = str(source) if isinstance(source, Path) else source.uri
    run_id: str | None = None
    tags: dict[str, str] = {}
    try:
        if isinstance(source, ModelRef):
            found = _registry(source, tracking_uri).get_model_version(source.name, version)
            run_id, tags = found.run_id, dict(found.tags or {})
            pinned = ModelRef(source.name, version=int(version)).uri
            with using_tracking_uri(tracking_uri or mlflow.get_tracking_uri()):
                local = Path(mlflow.artifacts.download_artifacts(pinned))
        else:
            local = source
        loaded = _load_local(
            local, name=name, version=version, uri=uri, run_id=run_id, tags=tags, trust=trust
        )
        copy_of = registered_as.name if registered_as is not None else None
        loaded.registered_name = source.name if isinstance(source, ModelRef) else copy_of
        return loaded
    except MlflowException as exc:
        raise ServingError(
            f"cannot load {uri} (version {version}): {exc.message.splitlines()[0]}",
            "Check that the artifact store of the tracking server is reachable from here.",
        ) from exc


def _load_local(
    path: Path,
    *,
    name: str,
    version: str,
    uri: str,
    run_id: str | None,
    tags: dict[str, str],
    trust: ModelTrust,
) -> LoadedModel:
    from mlflow.models import Model

    if not (path / "MLmodel").is_file():
        raise ServingError(
            f"{path} is not an MLflow model folder (no MLmodel file)",
            "Pass a model reference (NAME@ALIAS, NAME/VERSION) or a folder saved by "
            "mlflow.<flavor>.save_model.",
        )
    meta = Model.load(str(path / "MLmodel"))
    example = _example(meta, path)
    schema = InputSchema.from_mlflow(meta.signature, example)
    if "sklearn" in meta.flavors:
        estimator = _load_sklearn(path, meta.flavors["sklearn"], uri, trust)
        named = hasattr(estimator, "feature_names_in_")
        method = estimator.predict

        def predict(block: Block) -> np.ndarray[Any, Any]:
            return np.asarray(method(schema.model_input(block, feature_names=named)))

        probabilities = _probabilities(estimator, schema, named)
        flavor = "sklearn"
    else:
        import mlflow.pyfunc

        _require_pickle(uri, "has no scikit-learn flavour (MLflow pyfunc", trust)
        pyfunc = mlflow.pyfunc.load_model(str(path))

        def predict(block: Block) -> np.ndarray[Any, Any]:
            frame = schema.model_input(block, feature_names=True)
            out = pyfunc.predict(frame)
            return np.asarray(out.to_numpy() if isinstance(out, pd.DataFrame | pd.Series) else out)

        flavor, probabilities = "pyfunc", None
    block = None
    if example is not None:
        rows = example.to_numpy().tolist() if schema.tensor else example.to_dict("records")
        block = schema.from_v1({"instances": rows})
    loaded = LoadedModel(name, version, uri, flavor, schema, run_id, predict, block, tags)
    loaded.probabilities = probabilities
    loaded.warm_up()
    return loaded


def _probabilities(estimator: Any, schema: InputSchema, named: bool) -> Probabilities | None:
    """A classifier's ``predict_proba`` (None for a regressor, or a classifier without it:
    scikit-learn hides the method when the final estimator has none)."""
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "predict_proba"):
        return None
    method = estimator.predict_proba

    def proba(block: Block) -> np.ndarray[Any, Any]:
        return np.asarray(method(schema.model_input(block, feature_names=named)))

    return Probabilities(proba, tuple(np.asarray(classes).tolist()))


def _load_sklearn(path: Path, flavor: dict[str, Any], uri: str, trust: ModelTrust) -> Any:
    """The estimator of a scikit-learn flavour folder: skops with our trusted types (the
    ``skops_trusted_types`` in ``MLmodel`` are ignored), pickle only when ``trust`` allows."""
    fmt = str(flavor.get("serialization_format", "pickle"))
    if fmt != "skops":
        _require_pickle(uri, f"is a {fmt} model (loading", trust)
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(path))
    try:
        return skops_format.load(
            path / str(flavor["pickled_model"]), trust.trusted_types, what=f"the model {uri}"
        )
    except skops_format.UntrustedTypesError as exc:
        raise ServingError(f"refused to load {exc.headline}", exc.hint) from exc
    except (KeyError, OSError) as exc:
        raise ServingError(f"cannot load the model {uri}: {exc}") from exc


def _require_pickle(uri: str, what: str, trust: ModelTrust) -> None:
    if not trust.allow_pickle:
        raise ServingError(
            f"refused to load the model {uri}: it {what} runs any code the artifact holds)",
            f"If you trust everyone who can write to the registry, set {ALLOW_PICKLE_SETTING}; "
            'better, register it again with serialization_format="skops".',
        )


def _example(meta: Any, path: Path) -> pd.DataFrame | None:
    """The logged input example as a DataFrame (None when there is none or it is a tensor)."""
    try:
        example = meta.load_input_example(str(path))
    except Exception:  # an unreadable example only costs the warm-up
        return None
    if isinstance(example, pd.DataFrame):
        return example
    if isinstance(example, np.ndarray) and example.ndim == 2:
        return pd.DataFrame(example)
    return None
