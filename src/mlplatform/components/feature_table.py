"""Steps over the feature store: the training table, point-in-time correct, and the online load.

``historical_features`` builds the training table from an entity frame (entity keys, event
timestamps, labels) with Feast's historical retrieval: each row gets, per feature view, the
latest values recorded at or before its timestamp (``mlplatform.features.training``). Its
cache key holds the feature service's registered definitions and the offline tables'
content fingerprints (``external=``, ``mlplatform.features.state``): re-applied definitions or
new offline rows make it run again.

``materialize_features`` runs after the training table is built and loads the service's
feature views into the online store (Feast's ``materialize_incremental`` up to now), so a
model registered by the same run serves from the features it was trained on.

Both find the store through the step environment (``MLPLATFORM_FEATURE_STORE``, set by the
workspace when the project has a feature repository). Feast is imported only when they run.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from mlplatform.errors import FeatureStoreError
from mlplatform.features.layout import CONFIG_ENV
from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.datasource import Fingerprint
from mlplatform.pipelines.dsl import Resources, step

__all__ = ["feature_state", "historical_features", "materialize_features"]


def feature_state(
    params: Mapping[str, Any], environ: Mapping[str, str], inputs: Mapping[str, str]
) -> Fingerprint:
    """The identity of ``params["service"]``: its definitions and offline data."""
    service = str(params.get("service", ""))
    source = f"feast://{service}"
    if not environ.get(CONFIG_ENV):
        return Fingerprint(source, "registry", "no-feature-store", None, 0)
    from mlplatform.features.state import service_identity
    from mlplatform.features.store import store_from_environ

    digest = service_identity(store_from_environ(environ), service, environ)
    return Fingerprint(source, "registry", digest, None, 0)


@step(resources=Resources(cpu=1, memory="2Gi"), external={"features": feature_state})
def historical_features(
    entities: pd.DataFrame, service: str = "", timestamp_field: str = "event_timestamp"
) -> pd.DataFrame:
    """The training table: ``entities`` with the feature service's features, point-in-time.

    Args:
        entities: one row per training example: the entity keys, the event time and the label.
        service: the Feast feature service whose features the model trains on.
        timestamp_field: the column of ``entities`` holding each example's event time.

    Returns:
        ``entities``' columns, in their row order, then the service's features.

    Raises:
        FeatureStoreError: no feature store, an unknown service, a missing key or time column.
    """
    import os

    from mlplatform.features.store import store_from_environ
    from mlplatform.features.training import historical_table

    if not service:
        raise FeatureStoreError(
            "historical_features needs a feature service",
            "Pass -p service=NAME (`mlp features list` shows the feature services).",
        )
    with contextlib.redirect_stdout(sys.stderr):  # Feast prints; stdout is for results
        store = store_from_environ(os.environ)
        table = historical_table(store, entities, service, timestamp_field=timestamp_field)
    added = [c for c in table.columns if c not in entities.columns]
    missing = int(table[added].isna().any(axis=1).sum()) if added else 0
    log_params({"feature_service": service, "features": ",".join(added)})
    log_metrics({"feature_rows": float(len(table)), "rows_without_features": float(missing)})
    return table


@step(resources=Resources(cpu=1, memory="1Gi"), external={"features": feature_state})
def materialize_features(table: pd.DataFrame, service: str = "") -> dict[str, Any]:
    """Load the feature service's views into the online store, up to now.

    Args:
        table: the training table (only orders this step after it is built).
        service: the feature service whose feature views are loaded.

    Returns:
        ``{"service", "views", "end"}``: what was materialized, up to when.
    """
    import os

    from mlplatform.features.store import store_from_environ
    from mlplatform.features.training import feature_service

    store = store_from_environ(os.environ)
    chosen = feature_service(store, service)
    views = [p.name for p in chosen.feature_view_projections]
    end = datetime.now(UTC)
    try:
        # Feast prints its progress: keep the step's stdout for results (`--format json`)
        with contextlib.redirect_stdout(sys.stderr):
            store.materialize_incremental(end_date=end, feature_views=views)
    except Exception as exc:
        raise FeatureStoreError(
            f"materializing feature service {service!r} failed: {exc}",
            "Check that the online store is reachable (`mlp features list`; `mlp status` on "
            "the team profile), then run the pipeline again.",
        ) from exc
    log_params({"materialized_views": ",".join(views)})
    return {"service": service, "views": views, "end": end.isoformat(), "rows": len(table)}
