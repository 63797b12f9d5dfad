"""A cached re-run on the team profile's S3 store (SeaweedFS): engine seconds and bytes moved,
ours beside the code before issue 13.

SeaweedFS is started on free loopback ports in a throw-away folder (``mlplatform.services``:
the same ``Supervisor`` as ``mlp up``, only the ``seaweedfs`` service) and stopped by PID at the
end. Two workloads, each filled once and then re-run fully cached:

* ``chain``: ``block`` writes a ``--mb`` (default 200) MB float64 array, ``column_means``
  reads it, ``total`` sums (``_cache_rerun/flow.py``);
* ``standard``: ``standard-training`` on ``synthetic://classification`` with ``--rows`` rows
  (logreg; at the default 1,250,000 rows ``ingest`` writes a ~200 MB Parquet table and the
  chain carries it through validate and featurize). ``--skip-standard`` leaves it out.

Every run is one process (``_cache_rerun/worker.py``): the engine in process, no tracking,
as a fresh ``mlp pipeline run`` would check its cache. The engine figure is the run's own
``duration_s``. Bytes moved are counted on the store's fsspec filesystem object in that
process: every byte its public read and write calls return or take (``cat_file``,
``get_file``, ``open``, ``pipe_file``, ``put_file``, ...); S3 requests are counted by
operation (s3fs' ``_call_s3``). Metadata requests (HEAD, LIST) carry no object bytes and are
shown as request counts.

The peer: the same worker with ``PYTHONPATH`` set to the before-change copy
(``--baseline-src``, default: ``src/`` of commit 875f70f, the last before issue 13, unpacked
from this repository's history with ``git archive``; ``--no-baseline`` to leave it out) and
to our ``src/`` for ours; each peer fills and re-runs under its own prefix of one bucket.
Re-runs are interleaved (ours, peer, ours, ...) and the tables show medians of ``--repeat``
runs. Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a measurement
fails (or, with ``--check``, a target has no figure).

    .venv/bin/python benchmarks/cache_rerun.py [--repeat 5] [--json out.json] [--check]
    .venv/bin/python benchmarks/cache_rerun.py --quick --skip-standard   # smoke, not a figure
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from _report import (
    EXIT_FAILED,
    BenchmarkError,
    Row,
    add_check_and_json,
    exit_code,
    machine,
    measure_in_temp,
    print_notes,
    rows_table,
    write_doc,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_cache_rerun" / "worker.py"
OUR_SRC = ROOT / "src"
# The last commit before issue 13 changed the cache: its src/ is unpacked from this
# repository's own history (``git archive``) when no --baseline-src is given.
BASELINE_REV = "875f70ff0e0ed4e582edab4f2e2f4c976de5a058"
REPO = Path(__file__).resolve().parent.parent


def unpack_baseline(into: Path) -> Path | None:
    """``src/`` of ``BASELINE_REV`` unpacked under ``into``, or None without git history."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", BASELINE_REV, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    atexit.register(shutil.rmtree, into, True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


ENGINE_TARGET_S = 1.0
MOVED_TARGET_MB = 1.0
MB = 1 << 20
PEERS = ("ours", "before")
BENCH_CACHE_KEY = "b" * 64  # a benchmark's throw-away store: any fixed key of 64 characters


@dataclass
class Config:
    repeat: int
    mb: int
    rows: int
    standard: bool
    baseline: Path | None
    check: bool
    json_path: Path | None

    chain: bool = True

    @property
    def workloads(self) -> tuple[str, ...]:
        return (("chain",) if self.chain else ()) + (("standard",) if self.standard else ())

    @property
    def peers(self) -> tuple[str, ...]:
        return PEERS if self.baseline is not None else PEERS[:1]


@dataclass
class Samples:
    """Per (workload, peer): the fill run and every re-run, as the worker reported them."""

    fills: dict[str, dict[str, Any]] = field(default_factory=dict)
    reruns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, workload: str, peer: str, run: dict[str, Any]) -> None:
        self.reruns.setdefault(f"{workload} {peer}", []).append(run)

    def median(self, workload: str, peer: str, what: str) -> float | None:
        runs = self.reruns.get(f"{workload} {peer}")
        if not runs:
            return None
        values = [float(r[what]) for r in runs]
        return statistics.median(values)


# ---- the store ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(size: int) -> int:
    for _ in range(200):
        base = free_port()
        if base + size < 65535 and all(_free(base + i) for i in range(size)):
            return base
    raise BenchmarkError("no block of free loopback ports for SeaweedFS")


class SeaweedStore:
    """SeaweedFS on free loopback ports under ``work``, for a ``with`` block."""

    def __init__(self, work: Path) -> None:
        from mlplatform.services import Port, ServicesConfig, Supervisor, default_ports

        ports = {name: Port(free_port(), p.setting) for name, p in default_ports().items()}
        ports["seaweedfs_base"] = Port(free_block(7), "services.seaweedfs_base_port")
        self.supervisor = Supervisor(ServicesConfig(home=work / "services", ports=ports))

    def __enter__(self) -> dict[str, Any]:
        from mlplatform.errors import MlplatformError
        from mlplatform.services import object_store

        try:
            self.supervisor.up(("seaweedfs",))
        except MlplatformError as exc:
            self.supervisor.down()
            raise BenchmarkError(f"SeaweedFS did not start: {exc}") from exc
        store = object_store(self.supervisor.cfg, self.supervisor.creds, "s3")
        return {"root": store.pipeline_root, "storage_options": dict(store.storage_options)}

    def __exit__(self, *exc: object) -> None:
        self.supervisor.down()


# ---- runs ---------------------------------------------------------------------------------
def peer_env(peer: str, cfg: Config, store: dict[str, Any], work: Path) -> dict[str, str]:
    """The worker's environment: our settings cleared, the peer's ``src`` first on the path."""
    src = OUR_SRC if peer == "ours" else cfg.baseline
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(src)
    env["MLPLATFORM_CACHE_KEY"] = BENCH_CACHE_KEY  # one signing key for every run (ours signs)
    env["PYTHONDONTWRITEBYTECODE"] = ""
    env["PYTHONPYCACHEPREFIX"] = str(work / f"pycache-{peer}")
    root = f"{store['root']}/bench-{peer}"
    env["MLP_BENCH_STORE"] = json.dumps({"root": root, "storage_options": store["storage_options"]})
    return env


def run_worker(workload: str, peer: str, cfg: Config, env: dict[str, str], work: Path) -> Any:
    argv = [
        sys.executable,
        str(WORKER),
        workload,
        f"--mb={cfg.mb}",
        f"--rows={cfg.rows}",
        f"--mlflow-uri=sqlite:///{work / f'mlflow-{peer}.db'}",
    ]
    proc = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise BenchmarkError(f"the {peer} {workload} run exited {proc.returncode}:\n{tail}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise BenchmarkError(f"the {peer} {workload} run printed nothing:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def expect_source(run: dict[str, Any], peer: str, cfg: Config) -> None:
    src = OUR_SRC if peer == "ours" else cfg.baseline
    assert src is not None
    if Path(run["mlplatform"]) != (src / "mlplatform").resolve():
        raise BenchmarkError(f"the {peer} run imported {run['mlplatform']}, not {src}")


def expect_all(run: dict[str, Any], status: str, what: str) -> None:
    if set(run["statuses"].values()) != {status}:
        raise BenchmarkError(
            f"{what}: expected every step {status}, got {run['statuses']};"
            f" problems: {run.get('problems')}; key components: {run.get('components')}"
        )


def measure(cfg: Config, work: Path, console: Console) -> Samples:
    samples = Samples()
    with SeaweedStore(work) as store:
        envs = {peer: peer_env(peer, cfg, store, work) for peer in cfg.peers}
        for workload in cfg.workloads:
            for peer in cfg.peers:
                console.print(f"filling the cache: {workload}, {peer} ...")
                fill = run_worker(workload, peer, cfg, envs[peer], work)
                expect_source(fill, peer, cfg)
                expect_all(fill, "ran", f"the {peer} {workload} fill")
                samples.fills[f"{workload} {peer}"] = fill
            for _ in range(cfg.repeat):
                for peer in cfg.peers:
                    run = run_worker(workload, peer, cfg, envs[peer], work)
                    expect_all(run, "cached", f"a {peer} {workload} re-run")
                    samples.add(workload, peer, run)
    return samples


# ---- rows ---------------------------------------------------------------------------------
def moved_mb(samples: Samples, workload: str, peer: str) -> float | None:
    runs = samples.reruns.get(f"{workload} {peer}")
    if not runs:
        return None
    return float(statistics.median((r["read"] + r["written"]) / MB for r in runs))


def rows(samples: Samples, cfg: Config) -> list[Row]:
    out: list[Row] = []
    for workload in cfg.workloads:
        label = f"{cfg.mb} MB chain" if workload == "chain" else f"standard, {cfg.rows:,} rows"
        engine = samples.median(workload, "ours", "engine_s")
        out.append(
            Row(
                f"cached re-run, {label}: engine (s)",
                engine,
                samples.median(workload, "before", "engine_s"),
                f"< {ENGINE_TARGET_S:g} s",
                None if engine is None else engine < ENGINE_TARGET_S,
            )
        )
        moved = moved_mb(samples, workload, "ours")
        out.append(
            Row(
                f"cached re-run, {label}: bytes moved (MB)",
                moved,
                moved_mb(samples, workload, "before"),
                f"< {MOVED_TARGET_MB:g} MB",
                None if moved is None else moved < MOVED_TARGET_MB,
            )
        )
    return out


def footnotes(samples: Samples, cfg: Config) -> dict[str, Any]:
    notes: dict[str, Any] = {}
    for key, fill in samples.fills.items():
        notes[f"fill run (every step ran), {key}: engine (s)"] = fill["engine_s"]
        notes[f"fill run, {key}: MB written"] = fill["written"] / MB
    for key, runs in samples.reruns.items():
        last = runs[-1]
        notes[f"one re-run, {key}: S3 requests"] = _counts(last["requests"])
        notes[f"one re-run, {key}: filesystem calls"] = _counts(last["calls"])
    notes["before-change peer"] = (
        str(cfg.baseline)
        if cfg.baseline is not None
        else f"not run (--no-baseline, or no git history holding {BASELINE_REV[:7]}): ours only"
    )
    notes["repetitions (median of)"] = cfg.repeat
    notes["bytes counted"] = (
        "object and index bytes through the store's fsspec filesystem object in the worker "
        "(cat_file/get_file/open/pipe_file/put_file...); HEAD and LIST requests counted, "
        "not sized"
    )
    return notes


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


# ---- report -------------------------------------------------------------------------------
FIGURE = ",.3f"  # with a thousands separator: MB moved can run to thousands


def print_report(
    console: Console, table_rows: list[Row], notes: dict[str, Any], cfg: Config
) -> None:
    where = machine()
    console.print(
        f"Cached re-run on S3 (SeaweedFS): {where['date']}, {where['cpu']}, "
        f"{where['cores']} cores, Python {where['python']}"
    )
    if cfg.baseline is None:
        console.print("[yellow]No before-change peer: ours only.[/]")
    title = "cached re-run on SeaweedFS (S3), medians"
    peer = "before" if cfg.baseline is not None else None
    console.print(rows_table(title, table_rows, peer, FIGURE, ratio_spec=".3g"))
    print_notes(console, notes, FIGURE)


def write_json(
    console: Console, path: Path, table_rows: list[Row], notes: dict[str, Any], s: Samples
) -> None:
    doc = {
        "rows": {r.name: r.to_dict() for r in table_rows},
        "footnotes": notes,
        "samples": {"fills": s.fills, "reruns": s.reruns},
        "machine": machine(),
    }
    write_doc(console, path, doc)


# ---- main ---------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="cached re-runs per peer (median)")
    parser.add_argument("--mb", type=int, default=200, help="size of the chain's array (MB)")
    parser.add_argument(
        "--rows", type=int, default=1_250_000, help="rows of the standard pipeline's source"
    )
    parser.add_argument("--skip-standard", action="store_true", help="only the chain")
    parser.add_argument("--skip-chain", action="store_true", help="only the standard pipeline")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one re-run, a 4 MB chain, 2,000 rows (a smoke test, not a measurement)",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="src/ of the code before the change (default: commit "
        f"{BASELINE_REV[:7]} unpacked from this repository's git history)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="ours only")
    add_check_and_json(parser)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.skip_chain and args.skip_standard:
        parser.error("--skip-chain and --skip-standard leave nothing to measure")
    baseline = args.baseline_src
    if args.no_baseline:
        baseline = None
    elif baseline is None:
        baseline = unpack_baseline(Path(tempfile.mkdtemp(prefix="mlp-bench-baseline-")))
    elif not (baseline / "mlplatform").is_dir():
        parser.error(f"--baseline-src {baseline} has no mlplatform package")
    return Config(
        repeat=1 if args.quick else args.repeat,
        mb=4 if args.quick else args.mb,
        rows=2000 if args.quick else args.rows,
        standard=not args.skip_standard,
        chain=not args.skip_chain,
        baseline=baseline.resolve() if baseline is not None else None,
        check=args.check,
        json_path=args.json,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 140)
    samples = measure_in_temp(console, "mlp-bench-cache-", lambda work: measure(cfg, work, console))
    if samples is None:
        return EXIT_FAILED
    table_rows = rows(samples, cfg)
    notes = footnotes(samples, cfg)
    print_report(console, table_rows, notes, cfg)
    if cfg.json_path is not None:
        write_json(console, cfg.json_path, table_rows, notes, samples)
    return exit_code(table_rows, cfg.check)


if __name__ == "__main__":
    sys.exit(main())
