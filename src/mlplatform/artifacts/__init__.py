"""Artifacts: a content-addressed fsspec object store with atomic writes and typed materializers."""

from __future__ import annotations

from mlplatform.artifacts.refs import ArtifactRef

__all__ = ["ArtifactRef"]
