"""The envelope every dashboard the platform renders shares (Grafana's dashboard JSON model,
schema 39): its identity, refresh, time range, variables and panels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["dashboard"]

Doc = dict[str, Any]


def dashboard(
    uid: str,
    title: str,
    tags: Sequence[str],
    panels: list[Doc],
    *,
    version: int = 1,
    variables: Sequence[Doc] = (),
) -> Doc:
    """A dashboard: UTC, refreshed every 30 s, the last 6 hours; ``variables`` become its
    templating list (left out when there are none)."""
    doc: Doc = {
        "uid": uid,
        "title": title,
        "tags": list(tags),
        "timezone": "utc",
        "schemaVersion": 39,
        "version": version,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
    }
    if variables:
        doc["templating"] = {"list": list(variables)}
    doc["panels"] = panels
    return doc
