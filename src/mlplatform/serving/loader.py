"""Load a model for serving: resolve ``models:/NAME@ALIAS`` to a version, download it, and
load its native flavour (scikit-learn) when it has one, else MLflow pyfunc.

The native flavour skips pyfunc's per-call schema enforcement and DataFrame conversion; the
server checks inputs against the signature itself (``signature.InputSchema``), once per
request, and predicts a whole batch in one call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.errors import RegistryError, ServingError
from mlplatform.serving.signature import Block, InputSchema
from mlplatform.serving.tensors import v2_datatype
from mlplatform.tracking._mlflow import using_tracking_uri

__all__ = ["LoadedModel", "ModelRef", "load_model", "parse_model_uri", "resolve_version"]

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_-]+)$")
_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: a registry alias, a registry version, or a local folder."""

    uri: str
    name: str | None = None
    alias: str | None = None
    version: str | None = None

    @property
    def follows_alias(self) -> bool:
        return self.alias is not None


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or a path to an MLflow model folder.

    Raises:
        ServingError: a ``models:/`` URI of another form.
    """
    if match := _ALIAS.match(uri):
        return ModelRef(uri, match["name"], alias=match["alias"])
    if match := _VERSION.match(uri):
        return ModelRef(uri, match["name"], version=match["version"])
    if uri.startswith("models:/"):
        raise ServingError(
            f"cannot serve {uri!r}",
            "Use models:/NAME@ALIAS (follows the alias) or models:/NAME/VERSION.",
        )
    return ModelRef(uri)


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

    def warm_up(self) -> None:
        """One prediction of the input example, so the first request pays no lazy init; it
        also tells the output's datatype and shape (the V2 metadata)."""
        if self.example is not None:
            out = np.asarray(self.predict(self.example))
            self.output_datatype = v2_datatype(out.dtype)
            self.output_shape = (-1, *out.shape[1:])


def resolve_version(ref: ModelRef, tracking_uri: str | None) -> str:
    """The version an alias points to now (the version itself for other refs).

    Raises:
        RegistryError: unknown model or alias.
    """
    if ref.version is not None or ref.alias is None or ref.name is None:
        return ref.version or "local"
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        found = MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(
            ref.name, ref.alias
        )
    except MlflowException as exc:
        raise RegistryError(
            f"cannot resolve {ref.uri}: {exc.message.splitlines()[0]}",
            f"Run `mlp models show {ref.name}` to see its versions and aliases.",
        ) from exc
    return str(found.version)


def load_model(ref: ModelRef, tracking_uri: str | None, *, name: str) -> LoadedModel:
    """Download and load ``ref`` (an alias is resolved to its current version first).

    Raises:
        RegistryError: unknown model, version or alias.
        ServingError: the artifacts cannot be downloaded or loaded.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    version = resolve_version(ref, tracking_uri)
    run_id: str | None = None
    tags: dict[str, str] = {}
    try:
        if ref.name is not None:
            client = mlflow.MlflowClient(tracking_uri=tracking_uri)
            found = client.get_model_version(ref.name, version)
            run_id, tags = found.run_id, dict(found.tags or {})
            source = f"models:/{ref.name}/{version}"
            with using_tracking_uri(tracking_uri or mlflow.get_tracking_uri()):
                local = Path(mlflow.artifacts.download_artifacts(source))
        else:
            local = Path(ref.uri)
        loaded = _load_local(
            local, name=name, version=version, uri=ref.uri, run_id=run_id, tags=tags
        )
        loaded.registered_name = ref.name
        return loaded
    except MlflowException as exc:
        raise ServingError(
            f"cannot load {ref.uri} (version {version}): {exc.message.splitlines()[0]}",
            "Check that the artifact store of the tracking server is reachable from here.",
        ) from exc


def _load_local(
    path: Path, *, name: str, version: str, uri: str, run_id: str | None, tags: dict[str, str]
) -> LoadedModel:
    from mlflow.models import Model

    if not (path / "MLmodel").is_file():
        raise ServingError(
            f"{path} is not an MLflow model folder (no MLmodel file)",
            "Pass models:/NAME@ALIAS, models:/NAME/VERSION or a folder saved by "
            "mlflow.<flavor>.save_model.",
        )
    meta = Model.load(str(path / "MLmodel"))
    example = _example(meta, path)
    schema = InputSchema.from_mlflow(meta.signature, example)
    if "sklearn" in meta.flavors:
        import mlflow.sklearn

        estimator = mlflow.sklearn.load_model(str(path))
        named = hasattr(estimator, "feature_names_in_")
        method = estimator.predict

        def predict(block: Block) -> np.ndarray[Any, Any]:
            return np.asarray(method(schema.model_input(block, feature_names=named)))

        flavor = "sklearn"
    else:
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(path))

        def predict(block: Block) -> np.ndarray[Any, Any]:
            frame = schema.model_input(block, feature_names=True)
            out = pyfunc.predict(frame)
            return np.asarray(out.to_numpy() if isinstance(out, pd.DataFrame | pd.Series) else out)

        flavor = "pyfunc"
    block = None
    if example is not None:
        rows = example.to_numpy().tolist() if schema.tensor else example.to_dict("records")
        block = schema.from_v1({"instances": rows})
    loaded = LoadedModel(name, version, uri, flavor, schema, run_id, predict, block, tags)
    loaded.warm_up()
    return loaded


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
