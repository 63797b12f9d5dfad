"""Online features: a feature service's latest values for a batch of entity keys, read from the
online store with Feast's own online API (``FeatureStore.get_online_features``).

``OnlineFeatures`` is built once per served model version (``open``: the registry is read
then, never per request) and reads a whole micro-batch in one call. Feast answers every row,
with a status per value: an entity the store has no value for (never materialized, or older
than the feature view's TTL) is *missing*; ``lookup`` reports that per row (the model server
fails only the requests whose rows are missing), ``fetch`` raises ``EntityNotFoundError``
naming the keys. Any failure to read the store (a PostgreSQL that is down, a SQLite file that
lost its tables, a registry that cannot be read) is ``FeatureStoreUnavailableError``.

Feast takes seconds to import: nothing here imports it before ``open``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlplatform.errors import (
    EntityNotFoundError,
    FeatureStoreError,
    FeatureStoreUnavailableError,
)
from mlplatform.features.layout import CONFIG_ENV, FeatureStoreLayout
from mlplatform.features.training import feature_service, join_keys

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore

__all__ = ["Lookup", "OnlineFeatures"]

# Feast's FieldStatus (ServingService.proto): the value is absent, or older than the TTL.
_NOT_FOUND, _OUTSIDE_MAX_AGE = 3, 4
_NUMPY_TYPES = {
    "INT32": "int32",
    "INT64": "int64",
    "FLOAT": "float32",
    "DOUBLE": "float64",
    "BOOL": "bool",
    "UNIX_TIMESTAMP": "int64",
}  # any other key type (STRING, BYTES) is an object column
_UNAVAILABLE_HINT = (
    "Check that the online store is up (`mlp status` on the team profile) and materialized "
    "(`mlp features materialize`); the request can be retried."
)


@dataclass(frozen=True)
class Lookup:
    """A batch's online values: ``features`` has one row per asked row (in order, the
    service's features as columns; empty where missing), ``found`` is False for rows the
    store has no (fresh) value for."""

    features: pd.DataFrame
    found: np.ndarray[Any, np.dtype[np.bool_]]


class OnlineFeatures:
    """One feature service's online values (Feast's online API), a batch per call.

    Attributes:
        service: the feature service's name.
        join_keys: the entity keys a row must carry, in definition order.
        key_dtypes: the numpy dtype of each join key (``object`` for strings and bytes).
        features: the names of the service's features, as they come back (no view prefix).
    """

    def __init__(self, store: FeatureStore, service: str) -> None:
        """Read the service's definition from the registry.

        Raises:
            FeatureStoreError: the registry has no such service.
            FeatureStoreUnavailableError: the registry cannot be read.
        """
        with _unavailable(f"the registry of feature service {service!r}"):
            chosen = feature_service(store, service)
            keys = join_keys(store, chosen)
            self.key_dtypes = _key_dtypes(store, chosen, keys)
        self.service = service
        self.join_keys = tuple(keys)
        self.features = tuple(f.name for p in chosen.feature_view_projections for f in p.features)
        self._store = store
        self._chosen = chosen

    @classmethod
    def open(cls, layout: FeatureStoreLayout | Path, service: str) -> OnlineFeatures:
        """The service ``service`` of the feature store ``layout`` describes, or of a
        ``feature_store.yaml`` whose ``${VARIABLES}`` are in this process's environment
        (``store_from_environ``: the cluster's file, mounted in a model server's pod)."""
        from mlplatform.features.store import open_store, store_from_environ

        if isinstance(layout, Path):
            with _unavailable(f"the feature store of {layout}"):
                return cls(store_from_environ({**os.environ, CONFIG_ENV: str(layout)}), service)
        with _unavailable(f"the feature store of project {layout.project!r}"):
            store = open_store(layout)
        return cls(store, service)

    def lookup(self, rows: pd.DataFrame) -> Lookup:
        """The features of every row of ``rows`` (its join-key columns), in one online call.

        Raises:
            FeatureStoreError: ``rows`` lacks a join key.
            FeatureStoreUnavailableError: the online store did not answer.
        """
        missing = [k for k in self.join_keys if k not in rows.columns]
        if missing:
            raise FeatureStoreError(
                f"the rows lack the entity key(s) {', '.join(missing)} of feature service "
                f"{self.service!r}",
                f"Send {', '.join(self.join_keys)} in every row.",
            )
        entity_rows = {k: rows[k].tolist() for k in self.join_keys}
        with _unavailable(f"the online store of feature service {self.service!r}"):
            response = self._store.get_online_features(
                features=self._chosen, entity_rows=entity_rows
            )
            values = response.to_dict()
            names = list(response.proto.metadata.feature_names.val)
            results = list(response.proto.results)
        found = np.ones(len(rows), dtype=np.bool_)
        wanted = set(self.features)
        for name, vector in zip(names, results, strict=True):
            if name in wanted:
                statuses = np.fromiter(vector.statuses, dtype=np.int64, count=len(rows))
                found &= (statuses != _NOT_FOUND) & (statuses != _OUTSIDE_MAX_AGE)
        frame = pd.DataFrame({name: values[name] for name in self.features}, index=rows.index)
        return Lookup(frame, found)

    def fetch(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """``rows`` with the service's features added (columns already there are replaced).

        Raises:
            EntityNotFoundError: the store has no values for some rows; it names their keys.
            FeatureStoreUnavailableError: the online store did not answer.
        """
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        found = self.lookup(frame)
        if not found.found.all():
            raise EntityNotFoundError(self.missing_keys(frame, found.found))
        kept = frame.drop(columns=[c for c in self.features if c in frame.columns])
        return pd.concat([kept, found.features], axis=1)

    def missing_keys(
        self, rows: pd.DataFrame, found: np.ndarray[Any, np.dtype[np.bool_]]
    ) -> dict[str, object]:
        """The keys of the rows not ``found``: ``{key: value}`` for one row, ``{key: [values]}``
        for several (what ``EntityNotFoundError`` names)."""
        absent = rows.loc[~found, list(self.join_keys)]
        if len(absent) == 1:
            return {k: _plain(absent[k].iloc[0]) for k in self.join_keys}
        return {k: [_plain(v) for v in absent[k].tolist()] for k in self.join_keys}

    def probe(self) -> None:
        """One online read of a key the store need not have: opens the connection and loads
        what Feast loads lazily, so a server's first request does not pay for it.

        Raises:
            FeatureStoreUnavailableError: the online store did not answer.
        """
        dummy = {k: [np.zeros(1, dtype=d).tolist()[0] if d != "object" else ""]
                 for k, d in self.key_dtypes.items()}  # fmt: skip
        self.lookup(pd.DataFrame(dummy))


def _key_dtypes(store: FeatureStore, service: FeatureService, keys: list[str]) -> dict[str, str]:
    """The numpy dtype name of each join key, from the views' entity columns."""
    dtypes: dict[str, str] = {}
    for projection in service.feature_view_projections:
        view = store.get_feature_view(projection.name)
        for column in view.entity_columns:
            name = projection.join_key_map.get(column.name, column.name)
            kind = column.dtype.to_value_type().name
            dtypes.setdefault(name, _NUMPY_TYPES.get(kind, "object"))
    return {k: dtypes.get(k, "object") for k in keys}


def _plain(value: Any) -> object:
    return value.item() if isinstance(value, np.generic) else value


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Map any failure but our own errors to ``FeatureStoreUnavailableError``."""
    try:
        yield
    except FeatureStoreError:
        raise
    except Exception as exc:  # Feast, SQLite, psycopg, the object store: all mean "not now"
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise FeatureStoreUnavailableError(
            f"{what} did not answer: {type(exc).__name__}: {detail}", _UNAVAILABLE_HINT
        ) from exc
