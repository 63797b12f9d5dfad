"""One run of a workload of ``cache_rerun.py``, in this process, on the store it is given.

Runs against whichever ``mlplatform`` is importable: the benchmark sets ``PYTHONPATH`` to our
``src/`` or to the before-change copy's. The store comes in ``MLP_BENCH_STORE`` (JSON: ``root``,
``storage_options``; secrets stay out of the command line). Every byte the store's fsspec
filesystem object reads or writes through its public calls (``cat_file``, ``get_file``,
``open``, ``pipe_file``, ``put_file``, ...) is counted, and with s3fs every S3 request by
operation (``meter.py``). Prints one JSON object on stdout.

    python worker.py chain|standard --mb 200 --rows N --mlflow-uri URI
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from meter import Meter  # beside this script (the script's folder is first on sys.path)

HERE = Path(__file__).resolve().parent


def workload(name: str, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The pipeline graph and its parameters."""
    if name == "chain":
        sys.path.insert(0, str(HERE))
        from flow import chain  # type: ignore[import-not-found]

        return chain.graph, {"mb": args.mb, "seed": 0}
    from mlplatform.components.standard import standard_training

    params = {"source": "synthetic://classification", "rows": args.rows, "model": "logreg"}
    return standard_training.graph, params


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=("chain", "standard"))
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--mlflow-uri", default="")
    args = parser.parse_args()

    import mlplatform
    from mlplatform.artifacts.store import ArtifactStore
    from mlplatform.pipelines.local import LocalExecutor, RunOptions

    spec = json.loads(os.environ["MLP_BENCH_STORE"])
    store = ArtifactStore(spec["root"], spec["storage_options"])
    meter = Meter(store.fs)
    graph, params = workload(args.workload, args)
    env = {"MLFLOW_TRACKING_URI": args.mlflow_uri} if args.mlflow_uri else {}
    executor = LocalExecutor(store, RunOptions(in_process=True, env=env))
    result = executor.run(graph, params)
    out = {
        "mlplatform": str(Path(mlplatform.__file__).resolve().parent),
        "engine_s": result.duration_s,
        "statuses": {node: o.status for node, o in result.steps.items()},
        "problems": list(result.problems),
        "keys": {node: o.cache_key for node, o in result.steps.items()},
        "components": {n: dict(o.key_components) for n, o in result.steps.items()},
        "read": meter.read,
        "written": meter.written,
        "calls": dict(meter.calls),
        "requests": dict(meter.requests),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
