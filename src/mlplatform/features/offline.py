"""The offline store's tables: written whole and atomically, fingerprinted by content.

``write_table`` lands a table (feature rows with their event timestamps) as one Parquet file
at a source's path: a local file through ``mlplatform.atomicfile``, an object through one put
(an object store shows it only when complete), so Feast never reads half a file.
``fingerprint`` is the offline data's identity in a cache key: the same content fingerprints
as pipeline data sources (``mlplatform.pipelines.datasource``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlplatform.atomicfile import atomic_write_bytes
from mlplatform.errors import FeatureStoreError
from mlplatform.features.layout import FeatureStoreLayout
from mlplatform.features.repo import is_relative
from mlplatform.features.training import event_times, require_columns
from mlplatform.pipelines.datasource import Fingerprint, fingerprint

if TYPE_CHECKING:
    from feast.repo_contents import RepoContents

__all__ = ["source_paths", "tables_fingerprint", "write_table"]


def write_table(
    layout: FeatureStoreLayout, frame: pd.DataFrame, path: str, *, timestamp_field: str
) -> str:
    """Write ``frame`` as the Parquet file at ``path`` (relative: in the offline store).

    Raises:
        FeatureStoreError: the event timestamp column is missing or not a datetime column.
    """
    require_columns(
        frame,
        [timestamp_field],
        "the table has no event timestamp column {missing}",
        "Name the column that holds each row's event time with --timestamp-field.",
    )
    frame = frame.copy()
    frame[timestamp_field] = event_times(frame[timestamp_field], timestamp_field)
    target = layout.source_path(path) if is_relative(path) else path
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    if "://" not in target or target.startswith("file://"):
        local = Path(target.removeprefix("file://"))
        local.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(local, data)
        return str(local)
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(target, **layout.storage_options)
    fs.pipe_file(fs_path, data)
    return target


def source_paths(contents: RepoContents, views: set[str] | None = None) -> list[str]:
    """The offline paths the feature views (``views``: only these) read, sorted."""
    paths = {
        str(getattr(v.batch_source, "path", ""))
        for v in contents.feature_views
        if (views is None or v.name in views)
    }
    paths.discard("")
    return sorted(paths)


def tables_fingerprint(layout: FeatureStoreLayout, paths: list[str]) -> list[Fingerprint]:
    """The content fingerprints of the offline tables at ``paths``.

    Raises:
        FeatureStoreError: a table does not exist.
    """
    options: dict[str, Any] = dict(layout.storage_options)
    found = []
    for path in paths:
        try:
            found.append(fingerprint(path, storage_options=options))
        except Exception as exc:
            raise FeatureStoreError(
                f"the offline table {path} cannot be read: {exc}",
                "Write it with `mlp features ingest`, then `mlp features apply`.",
            ) from exc
    return found
