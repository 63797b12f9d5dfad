"""Data fingerprints: hashing a 1 GB local file beside ``sha256sum``, and a second ``plan``.

Measures, on one generated file of random bytes (``--size-mb``, default 1024) in a temporary
folder:

* **hash, cold**: our fingerprint (``datasource.fingerprint`` with an empty digest cache, in
  this process) and ``sha256sum FILE`` (a process), each right after the file's pages were
  dropped from the page cache (``posix_fadvise(DONTNEED)`` after an ``fsync``: no root
  needed; both sides get the same treatment). Target: ours within 1.5x of ``sha256sum``.
* **hash, warm**: the same with the file in the page cache (read once beforehand).
  Target: within 1.5x.
* **second plan**: ``mlp pipeline plan standard-training -p source=data.csv`` in a throw-away
  project, after a first plan filled the digest cache in ``.mlplatform/``. Reported twice,
  honestly apart: the fingerprint part (a new ``DigestCache`` read from that file and the
  fingerprint of the unchanged file, in this process; target < 0.2 s) and the whole command
  (interpreter, imports, discovery, keys; information), beside the same command on
  ``sklearn://breast_cancer`` (no data file) as the floor.

Medians of ``--repeat`` rounds; within a round the tools alternate so a busy machine slows
both alike. Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a
measurement fails.

    .venv/bin/python benchmarks/data_fingerprint.py [--size-mb 1024] [--repeat 5] [--json out.json]
    .venv/bin/python benchmarks/data_fingerprint.py --check
    .venv/bin/python benchmarks/data_fingerprint.py --quick        # smoke, not a measurement
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _report import INFORMATION, BenchmarkError, Row
from mlplatform.pipelines.datasource import CACHE_FILE, DigestCache, fingerprint

RATIO_TARGET = 1.5
PLAN_TARGET_S = 0.2
ROOT = Path(__file__).resolve().parent.parent


def make_file(path: Path, size_mb: int) -> None:
    chunk = os.urandom(1024 * 1024)
    with open(path, "wb") as handle:
        for i in range(size_mb):
            handle.write(chunk[i % 251 :] + chunk[: i % 251])  # distinct MBs, fast to make
        handle.flush()
        os.fsync(handle.fileno())


def drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path: Path) -> None:
    with open(path, "rb", buffering=0) as handle:
        while handle.read(8 * 1024 * 1024):
            pass


def ours(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    digest = fingerprint(str(path), cache=DigestCache()).digest
    return time.perf_counter() - started, digest


def sha256sum(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, out.stdout.split()[0]


def measure_hash(path: Path, repeat: int) -> dict[str, list[float]]:
    """Interleaved rounds of cold and warm hashing, both tools; digests must agree."""
    samples: dict[str, list[float]] = {
        k: [] for k in ("cold-ours", "cold-peer", "warm-ours", "warm-peer")
    }
    tools: dict[str, Callable[[Path], tuple[float, str]]] = {"ours": ours, "peer": sha256sum}
    for r in range(repeat):
        order = ("ours", "peer") if r % 2 == 0 else ("peer", "ours")
        for tool in order:
            drop_cache(path)
            seconds, digest = tools[tool](path)
            samples[f"cold-{tool}"].append(seconds)
            _agree(digest, path)
        warm(path)
        for tool in order:
            seconds, digest = tools[tool](path)
            samples[f"warm-{tool}"].append(seconds)
            _agree(digest, path)
    return samples


_DIGESTS: dict[Path, str] = {}


def _agree(digest: str, path: Path) -> None:
    if _DIGESTS.setdefault(path, digest) != digest:
        raise BenchmarkError(f"two digests of {path} disagree: {_DIGESTS[path]} vs {digest}")


def mlp_plan(project: Path, source: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    cmd = [str(Path(sys.executable).with_name("mlp")), "pipeline", "plan", "standard-training"]
    started = time.perf_counter()
    out = subprocess.run(
        [*cmd, "-p", f"source={source}", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise BenchmarkError(f"mlp pipeline plan failed:\n{out.stdout}\n{out.stderr}")
    return seconds


def measure_plan(project: Path, repeat: int) -> dict[str, list[float]]:
    """A first plan fills the digest cache; then the second plans, and their fingerprint part."""
    (project / ".mlplatform").mkdir(exist_ok=True)
    mlp_plan(project, "data.csv")  # hashes the file once, into .mlplatform/data-digests.json
    mlp_plan(project, "sklearn://breast_cancer")  # warm-up of the floor
    cache_file = project / ".mlplatform" / CACHE_FILE
    samples: dict[str, list[float]] = {"plan-data": [], "plan-floor": [], "fingerprint": []}
    for _ in range(repeat):
        samples["plan-data"].append(mlp_plan(project, "data.csv"))
        samples["plan-floor"].append(mlp_plan(project, "sklearn://breast_cancer"))
        cache = DigestCache(cache_file)
        started = time.perf_counter()
        fingerprint(str(project / "data.csv"), cache=cache)
        samples["fingerprint"].append(time.perf_counter() - started)
        if cache.hashed_bytes:
            raise BenchmarkError("the unchanged file was hashed again: the digest cache missed")
    return samples


def rows_of(samples: dict[str, list[float]]) -> list[Row]:
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = []
    for phase in ("cold", "warm"):
        ratio = med[f"{phase}-ours"] / med[f"{phase}-peer"]
        rows.append(
            Row(
                f"hash 1 file, {phase} page cache",
                med[f"{phase}-ours"],
                med[f"{phase}-peer"],
                f"<= {RATIO_TARGET}x sha256sum",
                ratio <= RATIO_TARGET,
            )
        )
    fp = med["fingerprint"]
    rows.append(
        Row("second plan: fingerprint part", fp, None, f"< {PLAN_TARGET_S} s", fp < PLAN_TARGET_S)
    )
    rows.append(Row("second plan: whole command", med["plan-data"], None, INFORMATION, None))
    rows.append(
        Row("plan on sklearn:// (floor, no file)", med["plan-floor"], None, INFORMATION, None)
    )
    return rows


def print_report(console: Console, rows: list[Row], size_mb: int, repeat: int) -> None:
    table = Table(
        title=f"data fingerprint, {size_mb} MB file, medians of {repeat}", title_justify="left"
    )
    for col in ("measure", "ours (s)", "sha256sum (s)", "ours / sha256sum", "target", "met"):
        table.add_column(col, justify="left" if col in ("measure", "target") else "right")
    for r in rows:
        mb_s = f" ({size_mb / r.ours:.0f} MB/s)" if r.peer and r.ours is not None else ""
        table.add_row(
            r.name,
            f"{r.ours:.3f}{mb_s}",
            f"{r.peer:.3f} ({size_mb / r.peer:.0f} MB/s)" if r.peer else "",
            f"{r.ratio:.2f}x" if r.ratio else "",
            r.target,
            "" if r.met is None else ("met" if r.met else "[bold red]missed[/]"),
        )
    console.print(table)
    console.print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    size_mb, repeat = (64, 1) if args.quick else (args.size_mb, args.repeat)
    console = Console()
    folder = Path(tempfile.mkdtemp(prefix="mlp-bench-fp-"))
    try:
        data = folder / "project" / "data.csv"
        data.parent.mkdir()
        make_file(data, size_mb)
        samples = measure_hash(data, repeat)
        time.sleep(2.1)  # the digest cache trusts no file modified within 2 s of its hashing
        samples |= measure_plan(data.parent, repeat)
    except (BenchmarkError, subprocess.CalledProcessError, OSError) as exc:
        console.print(f"[bold red]measurement failed:[/] {exc}")
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = rows_of(samples)
    print_report(console, rows, size_mb, repeat)
    if args.json:
        doc: dict[str, Any] = {
            "size_mb": size_mb,
            "repeat": repeat,
            "rows": {r.name: {**asdict(r), "ratio": r.ratio} for r in rows},
            "samples": samples,
        }
        args.json.write_text(json.dumps(doc, indent=2))
    missed = [r.name for r in rows if r.met is False]
    if missed:
        console.print(f"[bold red]Target missed:[/] {'; '.join(missed)}")
    return 1 if missed and args.check else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated file")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (medians)")
    parser.add_argument("--quick", action="store_true", help="64 MB, one round: a smoke test")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="write every figure here")
    return parser


if __name__ == "__main__":
    sys.exit(main())
