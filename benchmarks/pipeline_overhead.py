"""Per-step overhead of the local executor, beside Metaflow's, and a cached standard re-run.

Measures, in one run:

* a linear pipeline of 5 and of 20 trivial steps (int -> int + 1), every repetition uncached
  (a fresh store each time), in subprocess mode and in in-process mode: wall time / N, with
  the executor's construction included;
* the same linear flow run with Metaflow (``python flow.py --quiet --no-pylint run``, local
  datastore and metadata in a temp dir): wall time / N;
* the standard training pipeline on ``sklearn://breast_cancer``, run once, then re-run fully
  cached with MLflow tracking on (as ``mlp pipeline run`` does): the engine's ``duration_s``.

Medians of ``--repeat`` runs; ours and Metaflow's repetitions are interleaved so that a busy
machine slows both alike. Trust the ratios more than the seconds.

    .venv/bin/python benchmarks/pipeline_overhead.py [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.local import LocalExecutor, PipelineRunResult, RunOptions

FLOWS = Path(__file__).resolve().parent / "_flows"
SIZES = (5, 20)
METAFLOW_ISSUE_S = 0.4  # per step, the figure the issue quotes for this machine
IN_PROCESS_TARGET_S = 0.02
SUBPROCESS_TARGET_RATIO = 0.5
CACHED_TARGET_S = 1.0
EXPERIMENT = "bench-standard"


class BenchmarkError(RuntimeError):
    """A measurement could not be taken (a run failed, or a re-run was not fully cached)."""


@dataclass
class Config:
    repeat: int
    cached_reruns: int
    skip_metaflow: bool
    bytecode_cache: bool
    json_path: Path | None


@dataclass
class Row:
    name: str
    ours: float | None
    peer: float | None = None
    target: str = "-"
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.peer is None or self.peer == 0:
            return None
        return self.ours / self.peer

    def to_dict(self) -> dict[str, Any]:
        return {
            "ours": self.ours,
            "peer": self.peer,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
        }


@dataclass
class Samples:
    """Raw seconds per measurement name, one value per repetition."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.values.setdefault(name, []).append(seconds)

    def median(self, name: str) -> float | None:
        got = self.values.get(name)
        return statistics.median(got) if got else None


# ---- helpers ----------------------------------------------------------------------------
def load_by_path(name: str, path: Path) -> ModuleType:
    """Import ``path`` as module ``name`` (the launcher subprocess re-loads it from the file)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchmarkError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_checked(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise BenchmarkError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore what was there."""
    saved = {n: os.environ.get(n) for n in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def bytecode_cache(folder: Path) -> dict[str, str]:
    """The environment that lets child interpreters cache bytecode under ``folder``.

    With ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` in the venv, every step process
    (ours and Metaflow's) would compile all its imports from source; an installed Python
    normally has compiled bytecode, so that is what we measure unless told otherwise.
    """
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(folder)}


# ---- our engine ---------------------------------------------------------------------------
def run_trivial(pipe: Any, store_dir: Path, in_process: bool) -> float:
    """Wall seconds of one uncached run (executor construction included)."""

    def once() -> None:
        options = RunOptions(in_process=in_process, workers=1)
        result = LocalExecutor(ArtifactStore(str(store_dir)), options).run(pipe.graph, {})
        ran = [o.status for o in result.steps.values()]
        if ran != ["ran"] * len(pipe.graph.nodes):
            raise BenchmarkError(f"{pipe.name}: expected every step to run, got {ran}")

    return timed(once)


def measure_ours(trivial: ModuleType, work: Path, rep: int, samples: Samples) -> None:
    for n in SIZES:
        pipe = trivial.linear(n)
        for mode, in_process in (("subprocess", False), ("in-process", True)):
            store = work / "stores" / f"{mode}-{n}-rep{rep}"
            samples.add(f"ours {mode} {n}", run_trivial(pipe, store, in_process) / n)
            shutil.rmtree(store, ignore_errors=True)


# ---- Metaflow -------------------------------------------------------------------------------
def metaflow_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "METAFLOW_HOME": str(home / "home"),
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(home / "datastore"),
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DEFAULT_METADATA": "local",
            "USERNAME": "bench",
        }
    )
    return env


def write_metaflow_flows(work: Path) -> dict[int, Path]:
    render = load_by_path("_mlp_bench_metaflow_linear", FLOWS / "metaflow_linear.py").render
    folder = work / "metaflow"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n in SIZES:
        paths[n] = folder / f"linear_{n}.py"
        paths[n].write_text(render(n))
    return paths


def run_metaflow(flow: Path, home: Path) -> float:
    cmd = [sys.executable, str(flow), "--quiet", "--no-pylint", "run"]
    return timed(lambda: run_checked(cmd, cwd=flow.parent, env=metaflow_env(home)))


def measure_metaflow(flows: dict[int, Path], work: Path, rep: int, samples: Samples) -> None:
    for n, flow in flows.items():
        home = work / "metaflow" / f"rep{rep}-{n}"
        samples.add(f"metaflow {n}", run_metaflow(flow, home) / n)
        shutil.rmtree(home, ignore_errors=True)


# ---- the standard pipeline, cached ---------------------------------------------------------
@dataclass
class Tracking:
    uri: str
    experiment: str

    def env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.uri, "MLFLOW_EXPERIMENT_NAME": self.experiment}

    def observer(self) -> Any:
        from mlplatform.tracking.observer import MlflowObserver

        return MlflowObserver(self.uri, self.experiment)


def prepare_tracking(work: Path) -> Tracking:
    """An MLflow SQLite store in ``work`` whose experiment keeps artifacts there too."""
    from mlflow import MlflowClient

    folder = work / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    tracking = Tracking(f"sqlite:///{folder / 'mlflow.db'}", EXPERIMENT)
    client = MlflowClient(tracking_uri=tracking.uri, registry_uri=tracking.uri)
    client.create_experiment(EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
    return tracking


def run_standard(
    store: Path, tracking: Tracking, *, track: bool, in_process: bool = False
) -> PipelineRunResult:
    from mlplatform.components.standard import standard_training

    options = RunOptions(
        env=tracking.env(), observer=tracking.observer() if track else None, in_process=in_process
    )
    executor = LocalExecutor(ArtifactStore(str(store)), options)
    return executor.run(standard_training.graph, {"source": "sklearn://breast_cancer"})


def check_all_cached(result: PipelineRunResult) -> None:
    statuses = {node: outcome.status for node, outcome in result.steps.items()}
    if set(statuses.values()) != {"cached"}:
        raise BenchmarkError(f"the standard re-run was not fully cached: {statuses}")


def measure_cached_standard(work: Path, reruns: int, samples: Samples) -> int:
    """Run the standard pipeline once, then time ``reruns`` fully cached re-runs.

    Returns the number of steps that every re-run found cached.
    """
    store, tracking = work / "standard-store", prepare_tracking(work)
    # The first run only fills the cache, so it runs in-process (no interpreter per step).
    run_standard(store, tracking, track=True, in_process=True)
    steps = 0
    for _ in range(reruns):
        started = time.perf_counter()
        result = run_standard(store, tracking, track=True)
        samples.add("cached wall", time.perf_counter() - started)
        check_all_cached(result)
        samples.add("cached engine", result.duration_s)
        untracked = run_standard(store, tracking, track=False)
        check_all_cached(untracked)
        samples.add("cached engine untracked", untracked.duration_s)
        steps = len(result.steps)
    return steps


# ---- fixed costs (footnotes) ----------------------------------------------------------------
def measure_construction(work: Path, samples: Samples, count: int) -> None:
    """``LocalExecutor(...)`` alone: without a lock file it fingerprints the installed packages."""
    store = ArtifactStore(str(work / "construction-store"))
    for _ in range(count):
        samples.add("executor construction", timed(lambda: LocalExecutor(store, RunOptions())))


def measure_startup(samples: Samples, count: int) -> None:
    launcher = [sys.executable, "-m", "mlplatform.pipelines.launcher", "--help"]
    for _ in range(count):
        samples.add("python -c pass", timed(lambda: run_checked([sys.executable, "-c", "pass"])))
        samples.add("launcher --help", timed(lambda: run_checked(launcher)))


# ---- report ---------------------------------------------------------------------------------
def at_most(value: float | None, limit: float | None) -> bool | None:
    """Whether ``value <= limit``; None when either is unknown (the target is not evaluated)."""
    return None if value is None or limit is None else value <= limit


def build_rows(s: Samples) -> list[Row]:
    rows: list[Row] = []
    for n in SIZES:
        ours, peer = s.median(f"ours subprocess {n}"), s.median(f"metaflow {n}")
        limit = None if peer is None else SUBPROCESS_TARGET_RATIO * peer
        target = f"<= {SUBPROCESS_TARGET_RATIO:g} x Metaflow"
        rows.append(Row(f"{n}-step subprocess s/step", ours, peer, target, at_most(ours, limit)))
    for n in SIZES:
        ours, peer = s.median(f"ours in-process {n}"), s.median(f"metaflow {n}")
        target = f"<= {IN_PROCESS_TARGET_S:g} s"
        met = at_most(ours, IN_PROCESS_TARGET_S)
        rows.append(Row(f"{n}-step in-process s/step", ours, peer, target, met))
    for n in SIZES:
        rows.append(Row(f"Metaflow {n}-step s/step", None, s.median(f"metaflow {n}")))
    engine = s.median("cached engine")
    met = None if engine is None else engine < CACHED_TARGET_S
    rows.append(
        Row("cached standard re-run (engine s)", engine, None, f"< {CACHED_TARGET_S:g} s", met)
    )
    rows.append(Row("cached standard re-run (wall s)", s.median("cached wall")))
    return rows


def footnotes(s: Samples, cfg: Config, cached_steps: int) -> dict[str, Any]:
    return {
        "python -c pass (s)": s.median("python -c pass"),
        "python -m mlplatform.pipelines.launcher --help (s)": s.median("launcher --help"),
        "LocalExecutor construction, no lock file (s, once per run)": s.median(
            "executor construction"
        ),
        "cached standard re-run without tracking (engine s)": s.median("cached engine untracked"),
        "cached standard re-run: steps cached": f"{cached_steps} of {cached_steps} (all)",
        "Metaflow per step quoted by the issue (s)": METAFLOW_ISSUE_S,
        "repetitions (median of)": cfg.repeat,
        "child bytecode cache": "on (PYTHONPYCACHEPREFIX in a temp dir)"
        if cfg.bytecode_cache
        else "off (environment as is)",
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _met(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "-"}[value]


def print_report(console: Console, rows: list[Row], notes: dict[str, Any]) -> None:
    table = Table(title="Pipeline overhead: mlplatform vs Metaflow (medians; trust the ratios)")
    for col in ("measure", "ours", "peer (Metaflow)", "ratio ours/peer", "target", "met"):
        table.add_column(col, justify="left" if col in ("measure", "target") else "right")
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        table.add_row(r.name, _fmt(r.ours), _fmt(r.peer), ratio, r.target, _met(r.met))
    console.print(table)
    for name, value in notes.items():
        shown = _fmt(value) if isinstance(value, float) else str(value)
        console.print(f"  * {name}: {shown}")
    missed = [r.name for r in rows if r.met is False]
    if missed:
        console.print(f"[bold red]Target missed:[/] {', '.join(missed)}")
    else:
        console.print("[green]Every evaluated target is met.[/]")


def environment() -> dict[str, Any]:
    try:
        metaflow_version: str | None = importlib.metadata.version("metaflow")
    except importlib.metadata.PackageNotFoundError:
        metaflow_version = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "metaflow": metaflow_version,
    }


def write_json(path: Path, rows: list[Row], notes: dict[str, Any], s: Samples) -> None:
    doc = {
        "rows": {r.name: r.to_dict() for r in rows},
        "footnotes": notes,
        "samples": s.values,
        "environment": environment(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))


# ---- main -----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure (median)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run each, one cached re-run (a smoke test, not a measurement)",
    )
    parser.add_argument("--skip-metaflow", action="store_true", help="do not run the peer")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE as it is for child processes",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    return Config(
        repeat=repeat,
        cached_reruns=1 if args.quick else max(3, repeat),
        skip_metaflow=args.skip_metaflow,
        bytecode_cache=not args.no_bytecode_cache,
        json_path=args.json,
    )


def measure(cfg: Config, work: Path, console: Console) -> tuple[Samples, int]:
    samples = Samples()
    trivial = load_by_path("_mlp_bench_trivial", FLOWS / "trivial.py")
    flows = {} if cfg.skip_metaflow else write_metaflow_flows(work)
    console.print("warming up (untimed: fills the bytecode cache) ...")
    measure_ours(trivial, work / "warmup", 0, Samples())
    if flows:
        measure_metaflow({SIZES[0]: flows[SIZES[0]]}, work / "warmup", 0, Samples())
    for rep in range(cfg.repeat):
        console.print(f"repetition {rep + 1}/{cfg.repeat} ...")
        measure_ours(trivial, work, rep, samples)
        if flows:
            measure_metaflow(flows, work, rep, samples)
    console.print("standard pipeline: one uncached run, then cached re-runs ...")
    cached_steps = measure_cached_standard(work, cfg.cached_reruns, samples)
    measure_startup(samples, max(5, cfg.repeat))
    measure_construction(work, samples, max(5, cfg.repeat))
    return samples, cached_steps


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 110)
    with tempfile.TemporaryDirectory(prefix="mlp-bench-") as tmp:
        work = Path(tmp)
        with environ(bytecode_cache(work / "pycache") if cfg.bytecode_cache else {}):
            samples, cached_steps = measure(cfg, work, console)
    rows, notes = build_rows(samples), footnotes(samples, cfg, cached_steps)
    print_report(console, rows, notes)
    if cfg.json_path is not None:
        write_json(cfg.json_path, rows, notes, samples)
        console.print(f"results written to {cfg.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
