"""One run of a workload of ``cache_rerun.py``, in this process, on the store it is given.

Runs against whichever ``mlplatform`` is importable: the benchmark sets ``PYTHONPATH`` to our
``src/`` or to the before-change copy's. The store comes in ``MLP_BENCH_STORE`` (JSON: ``root``,
``storage_options``; secrets stay out of the command line). Every byte the store's fsspec
filesystem object reads or writes through its public calls (``cat_file``, ``get_file``,
``open``, ``pipe_file``, ``put_file``, ...) is counted, and with s3fs every S3 request by
operation. Prints one JSON object on stdout.

    python worker.py chain|standard --mb 200 --rows N --mlflow-uri URI
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

READS = ("cat_file", "get_file", "cat", "get", "cat_ranges")
WRITES = ("pipe_file", "put_file", "pipe", "put")


class Meter:
    """Counts bytes through the public calls of one filesystem object (and its S3 requests)."""

    def __init__(self, fs: Any) -> None:
        self.read = 0
        self.written = 0
        self.calls: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        for name in (*READS, *WRITES, "open"):
            setattr(fs, name, self._counting(name, getattr(fs, name)))
        if hasattr(fs, "_call_s3"):
            fs._call_s3 = self._counting_requests(fs._call_s3)

    def _counting(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            out = call(*args, **kwargs)
            if name == "open":
                return self._metered(out)
            if name in ("cat_file", "cat", "cat_ranges"):
                self.read += _length(out)
            elif name in ("get_file", "get"):
                self.read += Path(args[1]).stat().st_size
            elif name in ("pipe_file", "pipe"):
                self.written += len(args[1])
            elif name in ("put_file", "put"):
                self.written += Path(args[0]).stat().st_size
            return out

        return counted

    def _counting_requests(self, call: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(method: str, *args: Any, **kwargs: Any) -> Any:
            self.requests[method] += 1
            return await call(method, *args, **kwargs)

        return counted

    def _metered(self, fh: Any) -> Any:
        read, write = fh.read, fh.write

        def metered_read(*args: Any) -> Any:
            data = read(*args)
            self.read += len(data)
            return data

        def metered_write(data: Any) -> Any:
            self.written += len(data)
            return write(data)

        fh.read, fh.write = metered_read, metered_write
        return fh


def _length(out: Any) -> int:
    if isinstance(out, bytes | bytearray):
        return len(out)
    if isinstance(out, dict):
        return sum(_length(v) for v in out.values())
    return sum(_length(v) for v in out) if isinstance(out, list) else 0


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
