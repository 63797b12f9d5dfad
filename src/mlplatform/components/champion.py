"""The current champion, scored on the challenger's test set with the same metric functions.

``champion_state`` is the ``evaluate`` step's external state (``@step(external=...)``): the
champion's version and model digest enter the step's cache key, so a cached evaluation never
compares against a champion that has since moved (ADR 0001).

``compare_with_champion`` loads the champion (skops only, with the platform's trusted types:
nothing read from the registry runs code), checks that it can score the new test set (same
task, every input column of its signature present) and scores it. A champion that cannot is
recorded as not comparable, with the reason; ``register`` then promotes nothing.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.components.metrics import LOWER_IS_BETTER, score, task_of_model
from mlplatform.errors import MlplatformError
from mlplatform.pipelines.datasource import Fingerprint

__all__ = ["champion_state", "compare_with_champion", "decide"]

_SOURCE = "models:/{name}@champion"


def champion_state(
    params: Mapping[str, Any], environ: Mapping[str, str], inputs: Mapping[str, str]
) -> Fingerprint:
    """The identity of ``params["model_name"]``'s champion: ``v3:<model digest>``, ``none``
    (no champion yet, or the champion is the ``model`` being evaluated: nothing to compare,
    so a repeated run stays cached) or ``no-registry`` (``MLFLOW_TRACKING_URI`` unset)."""
    name = str(params.get("model_name", ""))
    source = _SOURCE.format(name=name)
    uri = environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return Fingerprint(source, "registry", "no-registry", None, 0)
    from mlplatform.tracking.registry import DIGEST_TAG, champion  # MLflow: only when used

    current = champion(name, tracking_uri=uri)
    own = current.tags.get(DIGEST_TAG) if current is not None else None
    if current is None or (own and own == inputs.get("model")):
        return Fingerprint(source, "registry", "none", None, 0)
    digest = f"v{current.version}:{own or ''}"
    return Fingerprint(source, "registry", digest, None, 0)


class _NotComparable(Exception):
    """Why the champion cannot score the challenger's test set."""


def compare_with_champion(
    metrics: Mapping[str, float],
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    task: str,
    model_name: str,
    tracking_uri: str,
    compare: str,
    margin: float,
    own_digest: str | None = None,
) -> dict[str, Any] | None:
    """The champion's figures on this test set beside the challenger's, and the verdict.

    Returns None without a champion, or when the champion is this model (``own_digest``, the
    digest of the evaluated model artifact, equals the champion's); else ``version``,
    ``comparable``, ``metric``, ``margin``, ``challenger`` and ``champion`` (the ``compare``
    metric's two values), ``champion_metrics`` (every metric), ``beats_champion`` and
    ``reason``.
    """
    from mlplatform.tracking.registry import DIGEST_TAG, champion  # MLflow: only when used

    current = champion(model_name, tracking_uri=tracking_uri)
    if current is None or (own_digest and current.tags.get(DIGEST_TAG) == own_digest):
        return None
    base = {"version": current.version, "metric": compare, "margin": margin}
    try:
        model = _load(model_name, current.version, tracking_uri, features, task)
        theirs = _score(model, features, labels, task)
    except _NotComparable as exc:
        reason = f"champion v{current.version} is not comparable: {exc}"
        return {**base, "comparable": False, "beats_champion": False, "reason": reason}
    beats, reason = decide(compare, margin, metrics.get(compare), theirs.get(compare))
    return {
        **base,
        "comparable": True,
        "challenger": metrics.get(compare),
        "champion": theirs.get(compare),
        "champion_metrics": theirs,
        "beats_champion": beats,
        "reason": f"{reason} (champion v{current.version}, same test set)",
    }


def decide(
    metric: str, margin: float, challenger: float | None, champion: float | None
) -> tuple[bool, str]:
    """Whether ``challenger`` beats ``champion`` on ``metric`` by more than ``margin``."""
    if challenger is None or champion is None or math.isnan(challenger) or math.isnan(champion):
        return False, f"{metric} not measured for both models"
    lower = metric in LOWER_IS_BETTER
    beats = challenger < champion - margin if lower else challenger > champion + margin
    op = ("<" if beats else ">=") if lower else (">" if beats else "<=")
    bound = f"{champion:.4f}" + (f" {'-' if lower else '+'} margin {margin:g}" if margin else "")
    return beats, f"{metric} {challenger:.4f} {op} {bound}"


def _load(name: str, version: int, tracking_uri: str, features: pd.DataFrame, task: str) -> Any:
    """The champion's estimator, once it is shown able to score ``features`` for ``task``."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    from mlplatform.artifacts import skops_format

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    f"models:/{name}/{version}", dst_path=tmp, tracking_uri=tracking_uri
                )
            )
            meta = Model.load(str(local / "MLmodel"))
            flavor = meta.flavors.get("sklearn", {})
            if flavor.get("serialization_format") != "skops":
                raise _NotComparable("it is not a skops scikit-learn model (not loaded)")
            _check_columns(meta, features)
            model = skops_format.load(local / str(flavor["pickled_model"]))
        except (MlplatformError, MlflowException, OSError, KeyError) as exc:
            raise _NotComparable(f"cannot load it ({exc})") from exc
    theirs = task_of_model(model)
    if theirs != task:
        raise _NotComparable(f"it is a {theirs} model, this run trains {task}")
    return model


def _check_columns(meta: Any, features: pd.DataFrame) -> None:
    if meta.signature is None:
        raise _NotComparable("it has no signature")
    needed = meta.signature.inputs.input_names()
    missing = [str(c) for c in needed if c not in features.columns]
    if missing:
        raise _NotComparable(f"its signature needs column(s) the data lacks: {', '.join(missing)}")


def _score(model: Any, features: pd.DataFrame, labels: np.ndarray, task: str) -> dict[str, float]:
    try:
        return score(model, features, labels, task)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise _NotComparable(f"it cannot score this test set ({exc})") from exc
