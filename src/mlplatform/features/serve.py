"""``feast serve``, Feast's own feature server, on a layout: the command and its environment.

The server reads the generated ``feature_store.yaml`` (``store.write_config``) and the secrets
it references from its environment; ``POST /get-online-features`` answers with the online
store's values. Nothing of the server is ours.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlplatform.errors import FeatureStoreError
from mlplatform.features.layout import FeatureStoreLayout
from mlplatform.features.store import write_config

__all__ = ["feast_binary", "serve_command"]


def feast_binary() -> str:
    """The ``feast`` command installed beside this Python."""
    path = Path(sys.executable).with_name("feast")
    if not path.is_file():
        raise FeatureStoreError(
            f"the feast command is not installed beside {sys.executable}",
            "Install the platform with `make install` (Feast is one of its dependencies).",
        )
    return str(path)


def serve_command(
    layout: FeatureStoreLayout,
    *,
    host: str = "127.0.0.1",
    port: int = 6566,
    workers: int = 1,
    metrics: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """The ``feast serve`` argv and environment for ``layout``."""
    config = write_config(layout)
    argv = [
        feast_binary(),
        "--chdir",
        str(layout.repo.resolve()),
        "--feature-store-yaml",
        str(config),
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    if metrics:
        argv.append("--metrics")
    return argv, {**os.environ, **layout.environ}
