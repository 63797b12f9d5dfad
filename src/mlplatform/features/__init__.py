"""The feature store: Feast between the data and training, and between the request and the model.

The project's Feast definitions (entities, sources, feature views, feature services) live in
its feature repository (``[features] repo``, default ``./features``); where the stores live
comes from the profile (``layout``): Parquet offline store in the artifact store, SQLite or
PostgreSQL online store, file or SQL registry. ``store`` applies definitions, materializes and
lists through Feast's own API; ``training`` builds point-in-time correct training tables;
``offline`` lands tables in the offline store; ``state`` is a feature service's identity in a
step's cache key.

Feast takes seconds to import: nothing here imports it until a function needs it.
"""

from __future__ import annotations

from mlplatform.features.layout import (
    CONFIG_ENV,
    FeatureStoreLayout,
    local_layout,
    team_layout,
)
from mlplatform.features.offline import write_table
from mlplatform.features.repo import load_definitions
from mlplatform.features.store import (
    FeatureObject,
    apply,
    describe,
    layout_environ,
    materialize,
    open_store,
    store_from_environ,
)
from mlplatform.features.training import historical_table

__all__ = [
    "CONFIG_ENV",
    "FeatureObject",
    "FeatureStoreLayout",
    "apply",
    "describe",
    "historical_table",
    "layout_environ",
    "load_definitions",
    "local_layout",
    "materialize",
    "open_store",
    "store_from_environ",
    "team_layout",
    "write_table",
]
