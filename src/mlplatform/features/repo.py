"""The project's feature repository: Feast definitions in Python files, read with Feast's parser.

A feature repository is a folder of Python files defining Feast objects (entities, data
sources, feature views, feature services), exactly as for ``feast apply``. One convention is
ours: a ``FileSource`` whose ``path`` is relative (``path="activity.parquet"``) names a file
in the profile's offline store (``FeatureStoreLayout.offline_root``), so the same definitions
work on one machine, on ``mlp up`` and in the cluster. Absolute paths and URLs are kept.

Feast names the modules by their path relative to the working folder, so the load runs in
the repository folder (``contextlib.chdir``: not for a server's request threads). The files
are imported afresh on every load (their modules are dropped from
``sys.modules`` first): two layouts in one process never share a rewritten source.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform.errors import FeatureStoreError
from mlplatform.features.layout import FeatureStoreLayout

if TYPE_CHECKING:
    from feast.repo_contents import RepoContents

__all__ = ["definitions_digest", "is_relative", "load_definitions"]


def is_relative(path: str) -> bool:
    """True for a source path that names a file in the offline store."""
    return "://" not in path and not Path(path).is_absolute()


def load_definitions(layout: FeatureStoreLayout) -> RepoContents:
    """Parse the feature repository with Feast, relative source paths resolved to the layout.

    Raises:
        FeatureStoreError: the folder does not exist, holds no definitions or fails to import.
    """
    from feast import Project
    from feast.infra.offline_stores.file_source import FileSource
    from feast.repo_operations import parse_repo

    repo = layout.repo.resolve()
    if not repo.is_dir():
        raise FeatureStoreError(
            f"the feature repository {layout.repo} does not exist",
            "Create it with Feast definitions (entities, sources, feature views, feature "
            "services), or point [features] repo in mlplatform.toml "
            "(MLPLATFORM_FEATURES__REPO) at the folder that holds them.",
        )
    _forget_modules(repo)
    added = str(repo) not in sys.path
    if added:
        sys.path.insert(0, str(repo))
    try:
        with contextlib.chdir(repo):  # Feast names the modules relative to the working folder
            contents = parse_repo(repo)
    except Exception as exc:  # a user's file failed to import: name it
        raise FeatureStoreError(
            f"the feature repository {layout.repo} failed to load: {exc}",
            "Fix the definition named above; `python -c 'import <module>'` in that folder "
            "shows the full error.",
        ) from exc
    finally:
        if added:
            sys.path.remove(str(repo))
    if not (contents.feature_views or contents.entities):
        raise FeatureStoreError(
            f"the feature repository {layout.repo} defines no entities or feature views",
            "Define them in a .py file in that folder (see docs/features.md).",
        )
    for source in contents.data_sources:
        if isinstance(source, FileSource) and is_relative(source.path):
            source.file_options.uri = layout.source_path(source.path)
            if layout.s3_endpoint:
                source.file_options.s3_endpoint_override = layout.s3_endpoint
    if not contents.projects:
        contents.projects.append(Project(name=layout.project, description=""))
    elif [p.name for p in contents.projects] != [layout.project]:
        names = ", ".join(p.name for p in contents.projects)
        raise FeatureStoreError(
            f"the feature repository defines project {names}, the settings say {layout.project}",
            f"Set MLPLATFORM_FEATURES__PROJECT={contents.projects[0].name} "
            "(or [features] project in mlplatform.toml), or remove the Project object.",
        )
    return contents


def definitions_digest(contents: RepoContents, names: set[str] | None = None) -> str:
    """A digest of the definitions of the feature views (``names``: only these) and their
    sources and entities: anything that changes what a view returns changes it."""
    parts: list[bytes] = []
    views = [v for v in contents.feature_views if names is None or v.name in names]
    entity_names = {e for v in views for e in v.entities}
    for view in sorted(views, key=lambda v: v.name):
        parts.append(_proto_bytes(view))
        if view.batch_source is not None:
            parts.append(_proto_bytes(view.batch_source))
    for entity in sorted(contents.entities, key=lambda e: e.name):
        if entity.name in entity_names:
            parts.append(_proto_bytes(entity))
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _proto_bytes(obj: Any) -> bytes:
    """The definition's protobuf spec, without timestamps the registry adds."""
    proto = obj.to_proto()
    spec = getattr(proto, "spec", proto)
    return bytes(spec.SerializeToString(deterministic=True))


def _forget_modules(repo: Path) -> None:
    """Drop the modules Feast is about to import from ``repo`` (by the names it will give
    them, whichever folder they were imported from) and any module imported from ``repo``."""
    names = {
        ".".join(path.relative_to(repo).with_suffix("").parts) for path in repo.glob("**/*.py")
    }
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name in names or (file and Path(file).resolve().is_relative_to(repo)):
            del sys.modules[name]
