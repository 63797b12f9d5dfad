"""Compile time of N-step pipelines to Argo YAML (5, 50, 200 steps), medians of several runs.

The one-time Hera import happens before timing (only the compile path imports it); each
repetition builds a fresh pipeline object, so step code hashes are not reused between runs
(the source-file parse cache stays warm, as in a long-lived process).
Target: 50 steps under 0.2 s. There is no peer in this benchmark: Hera is our own backend, and
its decorator API builds the same objects; what is measured is our compiler end to end.
Exit status: 0, or with ``--check`` 1 when the target is missed; 2 when a compile fails or
its output is not what it should be.

    .venv/bin/python benchmarks/compile.py [--repeat 5] [--json out.json] [--check]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SIZES = (5, 50, 200)
TARGET_50_S = 0.2
EXIT_MISSED, EXIT_FAILED = 1, 2


class BenchmarkError(RuntimeError):
    """A compile failed, or its output is not what it should be."""


def _make_pipeline(n: int) -> Any:
    from mlplatform import pipeline, step

    @step
    def inc(x: int) -> int:
        return x + 1

    @step(outputs=("a", "b"))
    def fork(x: int) -> tuple[int, int]:
        return x, x

    @step
    def join(a: int, b: int) -> int:
        return a + b

    def body(x: int = 0) -> None:
        value, made = inc(x), 1
        while made < n:  # a linear chain with a fork/join diamond every tenth step
            if made % 10 == 9 and made + 2 <= n:
                a, b = fork(value)
                value, made = join(a, b), made + 2
            else:
                value, made = inc(value), made + 1

    return pipeline(name=f"bench-{n}")(body)


def measure(n: int, repeat: int) -> float:
    from mlplatform.pipelines.argo import CompileOptions, compile_pipeline, to_yaml

    lock = Path(__file__).resolve().parents[1] / "requirements" / "lock.txt"
    options = CompileOptions(cloud="aws", lock_file=lock)
    times = []
    for _ in range(repeat):
        pipe = _make_pipeline(n)
        start = time.perf_counter()
        text = to_yaml(compile_pipeline(pipe.graph, {}, options))
        times.append(time.perf_counter() - start)
        if text.count("template: step-") != n:
            raise BenchmarkError(f"{n} steps compiled to {text.count('template: step-')} tasks")
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    import hera.workflows.models  # noqa: F401  (the one-time import, not timed below)

    hera_s = time.perf_counter() - start
    try:
        results = {n: measure(n, args.repeat) for n in SIZES}
    except BenchmarkError as exc:
        print(f"measurement failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception:  # a compile error is a failed measurement, not a missed target
        traceback.print_exc()
        return EXIT_FAILED
    print(f"Argo compile time (median of {args.repeat}); one-time Hera import {hera_s:.3f} s")
    print(f"{'steps':>6} {'seconds':>9} {'ms/step':>8}  target")
    for n, secs in results.items():
        target = (
            f"< {TARGET_50_S} s: {'met' if secs < TARGET_50_S else 'MISSED'}" if n == 50 else ""
        )
        print(f"{n:>6} {secs:>9.4f} {1000 * secs / n:>8.2f}  {target}")
    if args.json:
        args.json.write_text(json.dumps({"hera_import_s": hera_s, "seconds": results}, indent=2))
    return EXIT_MISSED if args.check and results[50] >= TARGET_50_S else 0


if __name__ == "__main__":
    sys.exit(main())
