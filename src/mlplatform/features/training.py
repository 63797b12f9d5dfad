"""Training tables from the offline store, point-in-time correct (Feast's historical retrieval).

For each row of the entity frame (entity keys, an event timestamp, usually the label) Feast
joins, per feature view, the latest feature row of that entity at or before the row's
timestamp and within the view's TTL: a value recorded after the event never reaches the
event's row. The result keeps the entity frame's rows in their order (Feast reorders them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mlplatform.errors import FeatureStoreError

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore

__all__ = [
    "FEAST_TIMESTAMP",
    "SERVICE_TAG",
    "event_times",
    "feature_service",
    "historical_table",
    "join_keys",
    "require_columns",
]

SERVICE_TAG = "mlplatform.feature_service"  # model version tag: the service it trained on
FEAST_TIMESTAMP = "event_timestamp"  # the entity frame column Feast reads event times from
_ROW = "__mlplatform_row"


def feature_service(store: FeatureStore, name: str) -> FeatureService:
    """The registry's feature service ``name``, or an error listing those it has."""
    try:
        return store.get_feature_service(name)
    except Exception:
        known = ", ".join(sorted(s.name for s in store.list_feature_services())) or "none"
        raise FeatureStoreError(
            f"the feature store has no feature service {name!r} (it has: {known})",
            "Define it in the feature repository and run `mlp features apply`.",
        ) from None


def join_keys(store: FeatureStore, service: FeatureService) -> list[str]:
    """The entity join keys the service's feature views need, in definition order."""
    keys: list[str] = []
    for projection in service.feature_view_projections:
        view = store.get_feature_view(projection.name)
        for column in view.entity_columns:
            mapped = projection.join_key_map.get(column.name, column.name)
            if mapped not in keys:
                keys.append(mapped)
    return keys


def historical_table(
    store: FeatureStore,
    entities: pd.DataFrame,
    service: str,
    *,
    timestamp_field: str = FEAST_TIMESTAMP,
) -> pd.DataFrame:
    """The entity frame with the feature service's features joined point-in-time.

    Raises:
        FeatureStoreError: the service is unknown, or the frame lacks a join key or the
            timestamp column.
    """
    chosen = feature_service(store, service)
    require_columns(
        entities,
        [*join_keys(store, chosen), timestamp_field],
        f"the entity frame lacks {{missing}} needed by feature service {service!r}",
        "Give one row per training example with the entity keys and the event time "
        "(-p timestamp_field=COLUMN names the time column).",
    )
    frame = entities.reset_index(drop=True).copy()
    frame[_ROW] = range(len(frame))
    renamed = timestamp_field != FEAST_TIMESTAMP
    if renamed:
        if FEAST_TIMESTAMP in frame.columns:
            raise FeatureStoreError(
                f"the entity frame has both {timestamp_field!r} and {FEAST_TIMESTAMP!r}",
                f"Drop or rename {FEAST_TIMESTAMP!r}, or use it as the timestamp field.",
            )
        frame = frame.rename(columns={timestamp_field: FEAST_TIMESTAMP})
    frame[FEAST_TIMESTAMP] = event_times(frame[FEAST_TIMESTAMP], timestamp_field)
    try:
        table = _retrieve(store, frame, chosen)
    except FeatureStoreError:
        raise
    except Exception as exc:
        raise FeatureStoreError(
            f"historical retrieval for feature service {service!r} failed: {exc}",
            "Check that the offline tables exist (`mlp features list`) and that the entity "
            "keys have the types the entities declare.",
        ) from exc
    table = table.sort_values(_ROW).drop(columns=[_ROW]).reset_index(drop=True)
    if renamed:
        table = table.rename(columns={FEAST_TIMESTAMP: timestamp_field})
    original = [c for c in entities.columns if c in table.columns]
    return table[original + [c for c in table.columns if c not in original]]


def require_columns(frame: pd.DataFrame, needed: list[str], headline: str, hint: str) -> None:
    """Raise ``FeatureStoreError`` when ``frame`` lacks one of ``needed``; ``headline`` names
    them with ``{missing}``, and the columns it has are added."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise FeatureStoreError(
            headline.format(missing=", ".join(missing))
            + f" (it has: {', '.join(map(str, frame.columns))})",
            hint,
        )


def event_times(values: pd.Series, column: str) -> pd.Series:
    """``values`` as UTC timestamps, or an error naming ``column``."""
    try:
        return pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise FeatureStoreError(
            f"column {column!r} does not hold timestamps ({exc})",
            "Use ISO 8601 times (2026-12-01T10:00:00Z) or a datetime column.",
        ) from exc


def _retrieve(store: FeatureStore, frame: pd.DataFrame, chosen: FeatureService) -> pd.DataFrame:
    """Feast's retrieval one feature view at a time, each joined back onto the entity frame by
    row: Feast's dask store drops a row whose entity has feature rows but none within a
    view's TTL before the event, with every other view's values, instead of leaving that
    view's features unset (tests/features/test_point_in_time.py)."""
    table = frame
    for projection in chosen.feature_view_projections:
        refs = [f"{projection.name}:{f.name}" for f in projection.features]
        part = store.get_historical_features(entity_df=frame, features=refs).to_df()
        added = [c for c in part.columns if c not in frame.columns]
        table = table.merge(part[[_ROW, *added]], on=_ROW, how="left")
    return table
