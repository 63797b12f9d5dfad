"""The ``ingest`` step: load a raw table from a bundled dataset, synthetic data or a file.

Sources are URLs:

- ``sklearn://<name>``: a dataset bundled with scikit-learn (no download): the classification
  sets ``breast_cancer``, ``digits``, ``iris``, ``wine`` and the regression set ``diabetes``.
- ``synthetic://classification``: ``make_classification`` data with two categorical columns.
- ``synthetic://churn-activity`` and ``synthetic://churn-labels``: the feature store example's
  weekly customer activity and its labelled events (``components.churn_data``; ``rows`` is the
  number of customers).
- a path or fsspec URL (``file://``, ``s3://``, ``gs://``, ``abfs://``, ...) ending in
  ``.csv``, ``.parquet`` or ``.pq`` (s3fs, gcsfs and adlfs are installed with mlplatform).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.utils import Bunch

from mlplatform.components.churn_data import churn_activity, churn_labels
from mlplatform.errors import ConfigError
from mlplatform.pipelines.dsl import Resources, Retries, step

__all__ = ["SKLEARN_DATASETS", "SUPPORTED_SOURCES", "ingest"]

SKLEARN_DATASETS: dict[str, Callable[..., Bunch]] = {
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
}
SYNTHETIC_KINDS = ("classification", "churn-activity", "churn-labels")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
SUPPORTED_SOURCES = (
    *(f"sklearn://{name}" for name in SKLEARN_DATASETS),
    *(f"synthetic://{kind}" for kind in SYNTHETIC_KINDS),
    "a path or fsspec URL (file://, s3://, gs://, abfs://) ending in .csv, .parquet or .pq",
)

_REGIONS = ("north", "east", "south", "west")
_PLANS = ("basic", "plus", "premium")
_MIN_SYNTHETIC_ROWS = 20


@step(
    resources=Resources(cpu=1, memory="2Gi"),
    retries=Retries(count=2, backoff=1.0),
    data=("source",),
)
def ingest(
    source: str = "sklearn://breast_cancer", rows: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Load the raw training table named by ``source``.

    Args:
        source: ``sklearn://<name>``, ``synthetic://classification``, or a CSV/Parquet path or
            fsspec URL.
        rows: number of rows to generate; used only by ``synthetic://`` sources.
        seed: random seed; used only by ``synthetic://`` sources.

    Returns:
        The table: feature columns, plus a ``target`` column for bundled and synthetic data
        (integer classes; float for the ``diabetes`` regression set). Files are returned as
        read: their label may have any name (``-p target=...``).

    Raises:
        ConfigError: the scheme, dataset or file suffix is not supported, or the file cannot
            be read.
    """
    scheme, _, rest = source.partition("://") if "://" in source else ("", "", source)
    if scheme == "sklearn":
        return _load_sklearn(rest, source)
    if scheme == "synthetic":
        return _load_synthetic(rest, source, rows=rows, seed=seed)
    return _load_file(source, scheme)


def _snake_case(name: str) -> str:
    """``"sepal length (cm)"`` -> ``"sepal_length_cm"``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _unsupported(source: str, what: str) -> ConfigError:
    return ConfigError(
        f"unsupported data source {source!r}: {what}",
        "Supported sources: " + "; ".join(SUPPORTED_SOURCES) + ".",
    )


def _load_sklearn(name: str, source: str) -> pd.DataFrame:
    loader = SKLEARN_DATASETS.get(name)
    if loader is None:
        raise _unsupported(source, f"no bundled dataset named {name!r}")
    bunch = loader(as_frame=True)
    features: pd.DataFrame = bunch.data.rename(columns=_snake_case)
    target = bunch.target.to_numpy()
    whole = bool((target == target.round()).all())
    return features.assign(target=target.astype("int64" if whole else "float64"))


def _load_synthetic(kind: str, source: str, *, rows: int, seed: int) -> pd.DataFrame:
    if kind not in SYNTHETIC_KINDS:
        raise _unsupported(source, f"no synthetic generator named {kind!r}")
    if rows < _MIN_SYNTHETIC_ROWS:
        raise ConfigError(
            f"synthetic data needs at least {_MIN_SYNTHETIC_ROWS} rows, got rows={rows}",
            f"Pass -p rows={_MIN_SYNTHETIC_ROWS} or more.",
        )
    if kind == "churn-activity":
        return churn_activity(rows, seed)
    if kind == "churn-labels":
        return churn_labels(rows, seed)
    x, y = datasets.make_classification(
        n_samples=rows, n_features=20, n_informative=8, n_redundant=4, random_state=seed
    )
    frame = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(20)])
    rng = np.random.default_rng(seed)
    # region is noise; plan leans towards "premium" for the positive class, so it carries signal.
    region = rng.choice(np.array(_REGIONS), size=rows)
    plan = np.where(rng.random(rows) < 0.6, np.where(y == 1, "premium", "basic"), "plus")
    return frame.assign(region=region, plan=plan, target=y.astype("int64"))


def _load_file(source: str, scheme: str) -> pd.DataFrame:
    suffix = PurePosixPath(source.split("?", 1)[0]).suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise _unsupported(source, f"unknown file suffix {suffix or '(none)'!r}")
    if scheme and scheme not in fsspec.available_protocols():
        raise _unsupported(source, f"unknown URL scheme {scheme!r}")
    try:
        with fsspec.open(source, "rb") as handle:
            return _read(handle, suffix)
    except ImportError as exc:
        raise ConfigError(
            f"cannot read {source!r}: the filesystem for {scheme!r} is not installed ({exc})",
            "Install the cloud extra: pip install 'mlplatform[cloud]'.",
        ) from exc
    except FileNotFoundError as exc:
        raise ConfigError(
            f"data source {source!r} does not exist",
            "Check the path or URL passed as -p source=...",
        ) from exc


def _read(handle: Any, suffix: str) -> pd.DataFrame:
    if suffix == ".csv":
        return pd.read_csv(handle)
    return pd.read_parquet(handle)
