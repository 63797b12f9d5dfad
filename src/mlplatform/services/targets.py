"""Scrape targets by file-based service discovery: one JSON file per model server.

``mlp serve`` (and a test exporter) calls ``register_target`` when a server starts and
``unregister_target`` when it stops; Prometheus' ``model-servers`` job re-reads the folder
every 5 s. Files are written atomically, so Prometheus never reads half a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ConfigError

__all__ = ["register_target", "registered_targets", "unregister_target"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def register_target(
    targets_dir: Path, name: str, address: str, labels: Mapping[str, str] | None = None
) -> Path:
    """Add (or replace) the scrape target ``name`` at ``address`` (``host:port``).

    Args:
        targets_dir: ``ServicesConfig.targets_dir``.
        name: one file per name (a model server: ``<model>-<alias>``).
        address: where ``/metrics`` is served, ``127.0.0.1:8080``.
        labels: added to every series of the target (``model``, ``version``, ``alias``).
    """
    if not _NAME.match(name):
        raise ConfigError(f"scrape target name {name!r} must be letters, digits, . _ -")
    targets_dir.mkdir(parents=True, exist_ok=True)
    document = [{"targets": [address], "labels": dict(labels or {})}]
    return atomic_write_text(targets_dir / f"{name}.json", json.dumps(document, indent=2))


def unregister_target(targets_dir: Path, name: str) -> None:
    (targets_dir / f"{name}.json").unlink(missing_ok=True)


def registered_targets(targets_dir: Path) -> dict[str, str]:
    """Name -> address of every registered target."""
    out: dict[str, str] = {}
    for path in sorted(targets_dir.glob("*.json")):
        entries = json.loads(path.read_text())
        out[path.stem] = entries[0]["targets"][0]
    return out
