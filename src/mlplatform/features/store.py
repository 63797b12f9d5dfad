"""Feast's ``FeatureStore`` for a layout, and the commands over it: apply, materialize, list.

Nothing here re-implements Feast: ``apply`` is Feast's own apply (plan, registry and
infrastructure updates, deletion of what the repository no longer defines), ``materialize``
is ``materialize`` / ``materialize_incremental``, ``list`` reads the registry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import FeatureStoreError
from mlplatform.features.layout import CONFIG_ENV, FeatureStoreLayout
from mlplatform.features.repo import load_definitions

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = [
    "FeatureObject",
    "apply",
    "describe",
    "layout_environ",
    "materialize",
    "open_store",
    "store_from_environ",
    "write_config",
]


@dataclass(frozen=True)
class FeatureObject:
    """One object in the registry, as ``mlp features list`` shows it."""

    kind: str  # entity, source, feature view, feature service
    name: str
    detail: str


def write_config(layout: FeatureStoreLayout) -> Path:
    """Write the layout's ``feature_store.yaml`` (secrets as ``${VARIABLE}``) and return it."""
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(layout.feast_config(), sort_keys=False)
    if not layout.config_file.is_file() or layout.config_file.read_text() != text:
        atomic_write_text(layout.config_file, text)
    return layout.config_file


def layout_environ(layout: FeatureStoreLayout) -> dict[str, str]:
    """The environment a process running Feast on this layout needs (the config file's path,
    the secrets it references, the object store's keys)."""
    return {CONFIG_ENV: str(write_config(layout)), **layout.environ}


def open_store(layout: FeatureStoreLayout) -> FeatureStore:
    """Feast's ``FeatureStore`` on this layout (its secrets exported to this process, where
    Feast's Parquet reader looks for the object store's keys)."""
    from feast import FeatureStore, RepoConfig

    layout.state_dir.mkdir(parents=True, exist_ok=True)
    for name, value in layout.environ.items():
        os.environ[name] = value
    config = RepoConfig(repo_path=layout.repo.resolve(), **layout.resolved_config())
    return FeatureStore(config=config)


def store_from_environ(environ: Mapping[str, str]) -> FeatureStore:
    """Feast's ``FeatureStore`` in a pipeline step: the ``feature_store.yaml`` named by
    ``MLPLATFORM_FEATURE_STORE`` (``layout_environ``), its ``${VARIABLE}`` references taken
    from ``environ`` (a step's environment, which may not be this process's).

    Raises:
        FeatureStoreError: the variable is unset (no feature store on this profile).
    """
    from feast import FeatureStore, RepoConfig

    path = environ.get(CONFIG_ENV)
    if not path:
        raise FeatureStoreError(
            f"this step needs the feature store, and {CONFIG_ENV} is not set",
            "Run the pipeline with `mlp pipeline run` in a project whose feature repository "
            "exists ([features] repo, default ./features), after `mlp features apply`.",
        )
    config = Path(path)
    text = re.sub(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
        lambda m: environ.get(m.group(1), os.environ.get(m.group(1), m.group(0))),
        config.read_text(),
    )
    return FeatureStore(config=RepoConfig(repo_path=config.parent, **yaml.safe_load(text)))


def apply(layout: FeatureStoreLayout, *, dry_run: bool = False) -> str:
    """Register the repository's definitions (Feast's apply), deleting what it no longer
    defines. Returns Feast's registry diff (``dry_run``: the plan only, nothing changed).

    Raises:
        FeatureStoreError: a definition does not load, or a source's data is missing.
    """
    from feast.repo_operations import (
        apply_total_with_repo_instance,
    )

    contents = load_definitions(layout)
    store = open_store(layout)
    _check_sources(contents)
    with _feast_errors("apply"):
        registry_diff, _, _ = store.plan(contents)
        text = str(registry_diff.to_string())  # type: ignore[no-untyped-call]
        if not dry_run:
            apply_total_with_repo_instance(
                store, layout.project, store.registry, contents, skip_source_validation=True
            )
    return text


def materialize(
    layout: FeatureStoreLayout,
    *,
    end: datetime | None = None,
    start: datetime | None = None,
    views: list[str] | None = None,
) -> list[str]:
    """Load feature values into the online store: ``start``..``end`` (``materialize``), or
    incrementally from each view's last materialization up to ``end`` (default: now).
    Returns the names of the views materialized."""
    store = open_store(layout)
    end = end or datetime.now(UTC)
    with _feast_errors("materialize"):
        known = [v.name for v in store.list_feature_views() if v.online]
        chosen = views or known
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise FeatureStoreError(
                f"no online feature view named {', '.join(unknown)}",
                f"Feature views with online=True: {', '.join(known) or 'none'} "
                "(`mlp features list`); run `mlp features apply` after adding one.",
            )
        if not chosen:
            raise FeatureStoreError(
                "the registry has no online feature views to materialize",
                "Run `mlp features apply` first.",
            )
        if start is None:
            store.materialize_incremental(end_date=end, feature_views=chosen)
        else:
            store.materialize(start_date=start, end_date=end, feature_views=chosen)
    return chosen


def describe(layout: FeatureStoreLayout) -> list[FeatureObject]:
    """What the registry holds, entities first."""
    store = open_store(layout)
    rows: list[FeatureObject] = []
    with _feast_errors("list"):
        for entity in store.list_entities():
            rows.append(FeatureObject("entity", entity.name, entity.join_key))
        for source in store.list_data_sources():
            rows.append(FeatureObject("source", source.name, str(getattr(source, "path", ""))))
        for view in store.list_feature_views():
            fields = ", ".join(f.name for f in view.features)
            ttl = f"ttl {view.ttl}" if view.ttl else "no ttl"
            rows.append(FeatureObject("feature view", view.name, f"{fields} ({ttl})"))
        for service in store.list_feature_services():
            names = ", ".join(p.name for p in service.feature_view_projections)
            rows.append(FeatureObject("feature service", service.name, names))
    return rows


def _check_sources(contents: Any) -> None:
    """Every Parquet source a view reads exists (Feast would fail later, less clearly)."""
    import fsspec
    from feast.infra.offline_stores.file_source import FileSource

    for view in contents.feature_views:
        source = view.batch_source
        if not isinstance(source, FileSource):
            continue
        options: dict[str, Any] = {}
        if source.file_options.s3_endpoint_override:
            options["client_kwargs"] = {"endpoint_url": source.file_options.s3_endpoint_override}
        fs, path = fsspec.core.url_to_fs(source.path, **options)
        if not fs.exists(path):
            raise FeatureStoreError(
                f"feature view {view.name!r} reads {source.path}, which does not exist",
                "Put the table there first: `mlp features ingest TABLE --source "
                f"{Path(path).name}` (CSV or Parquet, any path or fsspec URL).",
            )


@contextmanager
def _feast_errors(action: str) -> Iterator[None]:
    try:
        yield
    except FeatureStoreError:
        raise
    except Exception as exc:  # Feast raises its own tree and plain ValueErrors
        raise FeatureStoreError(
            f"feast {action} failed: {type(exc).__name__}: {exc}",
            "Check the feature definitions and that the stores are reachable "
            "(`mlp features list`; on the team profile `mlp status`).",
        ) from exc
