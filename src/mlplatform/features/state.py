"""The identity of what a feature service returns: its registered definitions and offline data.

A step that reads a feature service (``components.feature_table``) puts this identity in its
cache key (``@step(external=...)``, ADR 0001): re-applying a changed feature view, or new
rows landing in an offline table, makes the step run again; neither can be served from the
cache. Definitions are read from the registry (what Feast will actually use), not from the
repository files; offline tables are fingerprinted by content like pipeline data sources.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlplatform.features.training import feature_service
from mlplatform.pipelines.datasource import fingerprint

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = ["service_identity"]


def service_identity(
    store: FeatureStore, service: str, environ: Mapping[str, str] | None = None
) -> str:
    """sha256 over the service's, views', sources' and entities' specs and the content
    fingerprints of the views' offline tables (an S3 store's keys from ``environ``'s
    ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, else the default credentials)."""
    chosen = feature_service(store, service)
    digest = hashlib.sha256()
    _add(digest, chosen.to_proto().spec.SerializeToString(deterministic=True))
    entities: set[str] = set()
    for projection in sorted(chosen.feature_view_projections, key=lambda p: p.name):
        view = store.get_feature_view(projection.name)
        entities.update(view.entities)
        _add(digest, view.to_proto().spec.SerializeToString(deterministic=True))
        source = view.batch_source
        if source is None:
            continue
        _add(digest, source.to_proto().SerializeToString(deterministic=True))
        path = getattr(source, "path", None)
        if path:
            s3 = str(path).startswith("s3://")
            options: dict[str, Any] = _s3_keys(environ or {}) if s3 else {}
            endpoint = getattr(source, "s3_endpoint_override", None)
            if endpoint:
                options["endpoint_url"] = endpoint
            found = fingerprint(str(path), storage_options=options)
            _add(digest, f"{found.method}:{found.digest}:{found.size}".encode())
    for name in sorted(entities):
        entity = store.get_entity(name)
        _add(digest, entity.to_proto().spec.SerializeToString(deterministic=True))
    return digest.hexdigest()


def _s3_keys(environ: Mapping[str, str]) -> dict[str, Any]:
    if "AWS_ACCESS_KEY_ID" not in environ:
        return {}
    return {"key": environ["AWS_ACCESS_KEY_ID"], "secret": environ.get("AWS_SECRET_ACCESS_KEY")}


def _add(digest: Any, part: bytes) -> None:
    digest.update(len(part).to_bytes(8, "big") + part)
