"""Our model server for benchmarks/features_serving.py, in its own process: the registered
churn model (tagged with feature service ``churn``) with the benchmark's local feature store.

    python serve_ours.py TRACKING_URI MODEL PROJECT REPO ARTIFACT_ROOT HOME PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlplatform.features import local_layout
from mlplatform.serving import ServerConfig, VariantConfig, build_app, serve


def main(argv: list[str]) -> None:
    tracking, model, project, repo, artifacts, home, port = argv
    layout = local_layout(
        project=project, repo=Path(repo), artifact_root=artifacts, home=Path(home)
    )
    config = ServerConfig(
        model,
        (VariantConfig("champion", f"models:/{model}@champion"),),
        tracking,
        port=int(port),
        feature_store=layout,
    )
    serve(build_app(config), "127.0.0.1", int(port))


if __name__ == "__main__":
    main(sys.argv[1:])
