"""Training/serving skew of a feature service: the offline and online answers for the same
entities, compared (the measures themselves are ``mlplatform.drift.skew``).

``check_skew`` takes the entities (usually those the model trained on: the join keys of its
train split) and:

1. asks the online store for their features (``get_online_features``, what the model
   server fetches for a request);
2. asks the offline store for the same entities at the moment the online store was loaded
   up to (each feature view's latest materialization end), point-in-time
   (``historical_table``): what a correct materialization must have put online;
3. compares the two value by value (``compare_values``), and, given the model's reference
   profile (the training features, saved at registration), the training distribution with
   the online values (``check_drift``).

A skew-free store gives zero mismatches; an online store that was loaded from other data,
partially, or written to by hand shows the features and the share of entities affected.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from mlplatform.drift.check import check_drift
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.profile import ReferenceProfile
from mlplatform.drift.result import DriftResult
from mlplatform.drift.skew import SkewResult, compare_values
from mlplatform.errors import FeatureStoreError
from mlplatform.features.training import (
    FEAST_TIMESTAMP,
    feature_service,
    historical_table,
    join_keys,
    require_columns,
)

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore

__all__ = ["check_skew", "entity_keys", "materialized_at", "offline_values", "online_values"]


def check_skew(
    store: FeatureStore,
    service: str,
    entities: pd.DataFrame,
    *,
    reference: ReferenceProfile | None = None,
    tolerance: float = 1e-6,
    threshold: float = 0.0,
    config: DriftConfig | None = None,
    model: str = "",
    version: str = "",
) -> SkewResult:
    """Compare the offline and online features of ``entities`` (and, with ``reference``,
    the training distribution with the online values).

    Args:
        store: Feast's store (``open_store`` / ``store_from_environ``).
        service: the feature service the model trained on and is served with.
        entities: rows with the service's entity join keys (other columns are ignored;
            repeated entities are compared once).
        reference: the model's drift reference profile; its feature columns that the
            service serves are checked against the online values.
        tolerance: relative and absolute tolerance for numbers.
        threshold: a feature is skewed when its mismatch share exceeds this.
        config: the drift tests and thresholds of the distribution check.
        model: the model's name, for the report and gauges.
        version: the model's version, for the report and gauges.

    Raises:
        FeatureStoreError: unknown service, entities without the join keys, no feature view
            of the service materialized yet, or a store that cannot be read.
    """
    chosen = feature_service(store, service)
    keys = entity_keys(store, chosen, entities)
    online = online_values(store, chosen, keys)
    offline, moments = offline_values(store, service, keys)
    features = [c for c in offline.columns if c not in keys and c != FEAST_TIMESTAMP]
    values = compare_values(offline, online, list(keys.columns), features, tolerance=tolerance)
    notes: list[str] = []
    distribution = None
    if reference is not None:
        distribution = _distribution(reference, online, features, config, notes)
    return SkewResult(
        service=service,
        entities=len(keys),
        values=values,
        tolerance=tolerance,
        threshold=threshold,
        as_of={view: moment.isoformat() for view, moment in moments.items()},
        distribution=distribution,
        model=model,
        version=version,
        notes=tuple(notes),
    )


def entity_keys(
    store: FeatureStore, service: FeatureService, entities: pd.DataFrame
) -> pd.DataFrame:
    """The distinct join-key rows of ``entities`` the service needs."""
    needed = join_keys(store, service)
    require_columns(
        entities,
        needed,
        f"the entities lack {{missing}} needed by feature service {service.name!r}",
        "Pass a table with the entity keys (e.g. the training labels), or a model whose "
        "train split kept them (featurize with -p id_columns=...).",
    )
    keys = entities[needed].dropna().drop_duplicates().reset_index(drop=True)
    if keys.empty:
        raise FeatureStoreError(
            "there are no entities to compare", "Pass a table with at least one entity key row."
        )
    return keys


def online_values(store: FeatureStore, service: FeatureService, keys: pd.DataFrame) -> pd.DataFrame:
    """The online store's features of ``keys`` (what the model server fetches)."""
    rows = [{str(k): _plain(v) for k, v in row.items()} for row in keys.to_dict("records")]
    try:
        found = store.get_online_features(features=service, entity_rows=rows).to_df()
    except Exception as exc:
        raise FeatureStoreError(
            f"reading the online store for feature service {service.name!r} failed: {exc}",
            "Check that the online store is reachable (`mlp features list`; `mlp status` on "
            "the team profile) and materialized (`mlp features materialize --incremental`).",
        ) from exc
    return found


def offline_values(
    store: FeatureStore, service: str, keys: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, datetime]]:
    """The offline store's point-in-time features of ``keys`` at each feature view's latest
    materialization end (views materialized together are read in one retrieval), and those
    moments by view."""
    chosen = feature_service(store, service)
    moments = materialized_at(store, chosen)
    by_moment: dict[datetime, list[str]] = defaultdict(list)
    for view, moment in moments.items():
        by_moment[moment].append(view)
    table = keys.copy()
    for moment, views in sorted(by_moment.items()):
        frame = historical_table(store, keys.assign(**{FEAST_TIMESTAMP: moment}), service)
        columns = [c for v in views for c in _view_features(chosen, v)]
        table[columns] = frame[columns].to_numpy()
        for column in columns:
            table[column] = table[column].astype(frame[column].dtype)
    return table, moments


def materialized_at(store: FeatureStore, service: FeatureService) -> dict[str, datetime]:
    """Each of the service's feature views' latest materialization end.

    Raises:
        FeatureStoreError: a view was never materialized (its online values are all absent).
    """
    moments: dict[str, datetime] = {}
    for projection in service.feature_view_projections:
        end = store.get_feature_view(projection.name).most_recent_end_time
        if end is None:
            raise FeatureStoreError(
                f"feature view {projection.name!r} was never materialized: the online store "
                "has nothing to compare",
                "Load it first: `mlp features materialize --incremental` (the training "
                "pipeline's materialize_features step does this).",
            )
        moments[projection.name] = end
    return moments


def _view_features(service: FeatureService, view: str) -> list[str]:
    projection = next(p for p in service.feature_view_projections if p.name == view)
    return [f.name for f in projection.features]


def _distribution(
    reference: ReferenceProfile,
    online: pd.DataFrame,
    features: list[str],
    config: DriftConfig | None,
    notes: list[str],
) -> DriftResult | None:
    served = [c for c in reference.columns if c in features]
    others = [c for c in reference.columns if c not in features]
    if others:
        notes.append(
            "profiled but not served by the feature service, not compared: " + ", ".join(others)
        )
    if not served:
        notes.append("the reference profile has none of the service's features")
        return None
    return check_drift(reference, online[served], config, columns=served)


def _plain(value: object) -> object:
    """numpy scalars as Python values (Feast's entity rows take plain ints and strings)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
