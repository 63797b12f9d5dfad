"""Whole commands: ``mlp pipeline run`` of an N-step pipeline beside Metaflow's ``flow.py run``.

Measures, in one run, each figure the wall time of a whole command as a user types it
(interpreter start-up, imports, settings, the run, the summary), in a throw-away project:

* ``mlp pipeline run trivial-N`` (the installed ``mlp``) of N trivial steps (int -> int + 1)
  for N = 5 and 20, every step run (the project's artifact store is emptied before each run),
  MLflow tracking on as it is by default, and the same with ``--no-track``;
* ``python flow.py --quiet --no-pylint run`` of the same N-step Metaflow flow, which records
  its local metadata and artifacts as it does by default;
* the per-step slope (t20 - t5) / 15 of each, and the ratios ours / Metaflow's;
* ``mlp pipeline run trivial-N --in-process`` (tracked, and with ``--no-track``), which has
  no Metaflow equivalent: ours alone, no ratio;
* ``mlp pipeline run standard-training`` on ``sklearn://breast_cancer``, re-run fully cached;
* footnotes: the commands the fixed cost is made of (start-up, discovery, imports).

Medians of ``--repeat`` runs after one untimed warm-up of each command; ours and Metaflow's
runs are interleaved so that a busy machine slows both alike. Trust the ratios more than the
seconds. Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a measurement
fails (or, with ``--check``, a target has no figure, e.g. with ``--skip-metaflow``).

    .venv/bin/python benchmarks/pipeline_overhead.py [--repeat 5] [--json out.json] [--check]
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console

from _report import (
    EXIT_FAILED,
    INFORMATION,
    BenchmarkError,
    Row,
    add_check_and_json,
    exit_code,
    measure_in_temp,
    print_notes,
    rows_table,
    write_doc,
)
from _report import machine as _machine

FLOWS = Path(__file__).resolve().parent / "_flows"
BIN = Path(sys.executable).parent
SIZES = (5, 20)
WHOLE_TARGET_RATIO = 1.0  # ours / Metaflow's whole command, at most, at each N
SLOPE_TARGET_RATIO = 0.5  # ours / Metaflow's per-step slope, at most
IN_PROCESS_SLOPE_TARGET_S = 0.02
CACHED_TARGET_S = 1.0
STANDARD = "standard-training"
TRACKING_NOTE = (
    "ours tracks to MLflow (SQLite in the project's .mlplatform), as `mlp pipeline run` does "
    "by default; Metaflow records its local metadata and artifacts, as it does by default. "
    "The --no-track rows show ours recording nothing"
)


@dataclass
class Config:
    repeat: int
    warmup: bool
    skip_metaflow: bool
    bytecode_cache: bool
    check: bool
    json_path: Path | None


@dataclass
class Samples:
    """Raw seconds per measurement name, one value per repetition."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.values.setdefault(name, []).append(seconds)

    def median(self, name: str) -> float | None:
        got = self.values.get(name)
        return statistics.median(got) if got else None


@dataclass(frozen=True)
class Command:
    """One whole command: what runs, where, with what; ``reset`` runs before it, untimed."""

    key: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    reset: Callable[[], None] = lambda: None
    verify: Callable[[str], None] = lambda out: None

    def run(self) -> tuple[float, str]:
        self.reset()
        started = time.perf_counter()
        out = run_checked(self.argv, cwd=self.cwd, env=self.env)
        seconds = time.perf_counter() - started
        self.verify(out)
        return seconds, out


# ---- helpers ----------------------------------------------------------------------------
def load_by_path(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchmarkError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_checked(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise BenchmarkError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")
    return proc.stdout


def child_env(work: Path, bytecode_cache: bool) -> dict[str, str]:
    """The environment of every command: ours and Metaflow's settings cleared, so that each
    reads only its project's defaults; with ``bytecode_cache`` a bytecode cache in ``work``.

    With ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, every process (ours and
    Metaflow's) would compile its imports from source; an installed Python normally has
    compiled bytecode, so that is what we measure unless told otherwise.
    """
    prefixes = ("MLPLATFORM_", "MLFLOW_", "METAFLOW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["COLUMNS"] = "120"  # the run summary's table is parsed; keep its rows on one line
    if bytecode_cache:
        env.update(PYTHONDONTWRITEBYTECODE="", PYTHONPYCACHEPREFIX=str(work / "pycache"))
    return env


# ---- our commands -------------------------------------------------------------------------
def mlp() -> str:
    path = BIN / "mlp"
    if not path.is_file():
        raise BenchmarkError(f"{path} does not exist: `make install` installs the mlp command")
    return str(path)


def make_project(folder: Path, sources: dict[str, str]) -> Path:
    """A project folder: its ``mlplatform.toml`` names ``sources`` (file name -> text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (folder / name).write_text(text)
    listed = ", ".join(f'"{name}"' for name in sources)
    (folder / "mlplatform.toml").write_text(f"pipelines = [{listed}]\n")
    return folder


def every_step_ran(n: int) -> Callable[[str], None]:
    def verify(out: str) -> None:
        ran = len(re.findall(r"│\s*ran\s*│", out))
        if ran != n:
            raise BenchmarkError(f"expected {n} steps to run, the summary shows {ran}:\n{out}")

    return verify


def ours_commands(work: Path, env: dict[str, str]) -> dict[int, list[Command]]:
    """Per N: the default run, ``--no-track``, ``--in-process`` and both, from an empty store."""
    render = load_by_path("_mlp_bench_mlp_linear", FLOWS / "mlp_linear.py")
    commands: dict[int, list[Command]] = {}
    for n in SIZES:
        project = make_project(work / f"project-{n}", {"pipeline.py": render.render(n)})
        store = project / ".mlplatform" / "artifacts"  # the local profile's default store
        base = [mlp(), "pipeline", "run", render.pipeline_name(n)]
        commands[n] = [
            Command(
                f"{label} {n}",
                base + flags,
                project,
                env,
                reset=functools.partial(shutil.rmtree, store, ignore_errors=True),
                verify=every_step_ran(n),
            )
            for label, flags in (
                ("ours", []),
                ("ours no-track", ["--no-track"]),
                ("ours in-process", ["--in-process"]),
                ("ours in-process no-track", ["--in-process", "--no-track"]),
            )
        ]
    return commands


# ---- Metaflow -----------------------------------------------------------------------------
def metaflow_commands(work: Path, env: dict[str, str]) -> dict[int, list[Command]]:
    """Per N: ``python flow.py --quiet --no-pylint run``, local datastore and metadata."""
    if importlib.util.find_spec("metaflow") is None:
        raise BenchmarkError("Metaflow is not installed: `make install-bench`, or --skip-metaflow")
    render = load_by_path("_mlp_bench_metaflow_linear", FLOWS / "metaflow_linear.py").render
    commands: dict[int, list[Command]] = {}
    for n in SIZES:
        folder = work / f"metaflow-{n}"
        folder.mkdir(parents=True)
        (folder / "flow.py").write_text(render(n))
        flow_env = {
            **env,
            "METAFLOW_HOME": str(folder / "home"),
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(folder / "datastore"),
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DEFAULT_METADATA": "local",
            "USERNAME": "bench",
        }
        argv = [sys.executable, "flow.py", "--quiet", "--no-pylint", "run"]
        commands[n] = [Command(f"metaflow {n}", argv, folder, flow_env)]
    return commands


# ---- the standard pipeline, cached ---------------------------------------------------------
def standard_commands(work: Path, env: dict[str, str]) -> tuple[Command, list[Command]]:
    """The run that fills the cache (in-process), and the re-runs: tracked and not."""
    project = make_project(work / "project-standard", {})
    base = [mlp(), "pipeline", "run", STANDARD]
    fill = Command("standard fill", [*base, "--in-process"], project, env)
    json_flags = ["--format", "json"]
    reruns = [
        Command("cached", base + json_flags, project, env, verify=all_cached),
        Command(
            "cached untracked", [*base, *json_flags, "--no-track"], project, env, verify=all_cached
        ),
    ]
    return fill, reruns


def all_cached(out: str) -> None:
    statuses = {n: s["status"] for n, s in json.loads(out)["steps"].items()}
    if set(statuses.values()) != {"cached"}:
        raise BenchmarkError(f"the standard re-run was not fully cached: {statuses}")


def measure_cached_standard(fill: Command, reruns: list[Command], repeat: int, s: Samples) -> int:
    """Fill the cache once, then time ``repeat`` re-runs of each; returns the steps cached."""
    fill.run()
    steps = 0
    for _ in range(repeat):
        for command in reruns:
            seconds, out = command.run()
            result = json.loads(out)
            s.add(f"{command.key} wall", seconds)
            s.add(f"{command.key} engine", float(result["duration_s"]))
            steps = len(result["steps"])
    return steps


# ---- fixed costs (footnotes) ----------------------------------------------------------------
def startup_commands(work: Path, env: dict[str, str]) -> list[Command]:
    """What the fixed cost of a run is made of, each a command of its own (footnotes)."""
    py = sys.executable
    argvs = {
        "python -c pass": [py, "-c", "pass"],
        "mlp --version": [mlp(), "--version"],
        "mlp pipeline list": [mlp(), "pipeline", "list"],
        "import mlflow": [py, "-c", "import mlflow"],
        "launcher --help": [py, "-m", "mlplatform.pipelines.launcher", "--help"],
    }
    if importlib.util.find_spec("metaflow") is not None:
        argvs["import metaflow"] = [py, "-c", "import metaflow"]
    return [Command(k, argv, work / f"project-{SIZES[0]}", env) for k, argv in argvs.items()]


# ---- rows -------------------------------------------------------------------------------------
def slope(s: Samples, key: str) -> float | None:
    """Seconds per extra step: (t20 - t5) / 15, from the medians."""
    small, large = s.median(f"{key} {SIZES[0]}"), s.median(f"{key} {SIZES[-1]}")
    if small is None or large is None:
        return None
    return (large - small) / (SIZES[-1] - SIZES[0])


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def ratio_at_most(ours: float | None, peer: float | None, limit: float) -> bool | None:
    return None if ours is None or peer is None or peer == 0 else ours / peer <= limit


def whole_command_rows(s: Samples) -> list[Row]:
    """Ours beside Metaflow: whole commands at each N, then the per-step slope."""
    rows: list[Row] = []
    for key, label, targeted in (
        ("ours", "mlp pipeline run", True),
        ("ours no-track", "mlp pipeline run --no-track", False),
    ):
        figures = [
            (
                f"{label}, {n} steps (s)",
                s.median(f"{key} {n}"),
                s.median(f"metaflow {n}"),
                WHOLE_TARGET_RATIO,
            )
            for n in SIZES
        ]
        figures.append(
            (
                f"{label}, per-step slope (s/step)",
                slope(s, key),
                slope(s, "metaflow"),
                SLOPE_TARGET_RATIO,
            )
        )
        for name, ours, peer, limit in figures:
            if targeted:
                target = f"<= {limit:g} x Metaflow"
                rows.append(Row(name, ours, peer, target, ratio_at_most(ours, peer, limit)))
            else:
                rows.append(Row(name, ours, peer, INFORMATION))
    return rows


def ours_only_rows(s: Samples) -> list[Row]:
    """The in-process mode and the cached re-run: no Metaflow equivalent, no ratio."""
    rows: list[Row] = []
    for key, label, targeted in (
        ("ours in-process", "mlp pipeline run --in-process", True),
        ("ours in-process no-track", "mlp pipeline run --in-process --no-track", False),
    ):
        rows += [Row(f"{label}, {n} steps (s)", s.median(f"{key} {n}")) for n in SIZES]
        per_step = slope(s, key)
        target = f"<= {IN_PROCESS_SLOPE_TARGET_S:g} s" if targeted else INFORMATION
        met = at_most(per_step, IN_PROCESS_SLOPE_TARGET_S) if targeted else None
        rows.append(Row(f"{label}, per-step slope (s/step)", per_step, None, target, met))
    engine = s.median("cached engine")
    met = None if engine is None else engine < CACHED_TARGET_S
    rows.append(
        Row("cached standard re-run, engine (s)", engine, None, f"< {CACHED_TARGET_S:g} s", met)
    )
    rows.append(Row("cached standard re-run, whole command (s)", s.median("cached wall")))
    return rows


def footnotes(s: Samples, cfg: Config, cached_steps: int) -> dict[str, Any]:
    return {
        "tracking": TRACKING_NOTE,
        "python -c pass (s)": s.median("python -c pass"),
        "mlp --version, the CLI's start-up (s)": s.median("mlp --version"),
        "mlp pipeline list, start-up + settings + pipeline discovery (s)": s.median(
            "mlp pipeline list"
        ),
        "python -c 'import mlflow', paid once per tracked run (s)": s.median("import mlflow"),
        "python -c 'import metaflow' (s)": s.median("import metaflow"),
        "python -m mlplatform.pipelines.launcher --help, per subprocess step (s)": s.median(
            "launcher --help"
        ),
        "cached standard re-run, --no-track (engine s)": s.median("cached untracked engine"),
        "cached standard re-run: steps cached": f"{cached_steps} of {cached_steps} (all)",
        "repetitions (median of)": cfg.repeat,
        "child bytecode cache": "on (PYTHONPYCACHEPREFIX in a temp dir)"
        if cfg.bytecode_cache
        else "off (environment as is)",
    }


# ---- report -----------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """Where and when the figures come from, for the report and the docs."""
    try:
        metaflow: str | None = importlib.metadata.version("metaflow")
    except importlib.metadata.PackageNotFoundError:
        metaflow = None
    return {**_machine(with_os=True), "metaflow": metaflow}


def print_report(
    console: Console, tables: dict[str, list[Row]], notes: dict[str, Any], where: dict[str, Any]
) -> None:
    console.print(
        f"Pipeline overhead, whole commands (medians; trust the ratios): {where['date']}, "
        f"{where['cpu']}, {where['cores']} cores, {where['os']}, Python {where['python']}, "
        f"Metaflow {where['metaflow'] or '-'}"
    )
    whole = "mlp pipeline run vs python flow.py run (Metaflow)"
    console.print(rows_table(whole, tables["whole"], "Metaflow"))
    console.print(rows_table("ours only (no Metaflow equivalent)", tables["ours only"], None))
    print_notes(console, notes)


def print_verdict(console: Console, rows: list[Row]) -> None:
    missed = [r.name for r in rows if r.met is False]
    unknown = [r.name for r in rows if r.targeted and r.met is None]
    if missed:
        console.print(f"[bold red]Target missed:[/] {'; '.join(missed)}")
    if unknown:
        console.print(f"[yellow]Target not evaluated (no figure):[/] {'; '.join(unknown)}")
    if not missed and not unknown:
        console.print("[green]Every target is met.[/]")


def write_json(
    console: Console,
    path: Path,
    tables: dict[str, list[Row]],
    notes: dict[str, Any],
    s: Samples,
) -> None:
    doc = {
        "rows": {r.name: r.to_dict() for rows in tables.values() for r in rows},
        "footnotes": notes,
        "samples": s.values,
        "machine": machine(),
    }
    write_doc(console, path, doc)


# ---- main -------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run each, no warm-up (a smoke test, not a measurement)",
    )
    parser.add_argument("--skip-metaflow", action="store_true", help="do not run the peer")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE as it is for child processes",
    )
    add_check_and_json(parser)
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    return Config(
        repeat=repeat,
        warmup=not args.quick,
        skip_metaflow=args.skip_metaflow,
        bytecode_cache=not args.no_bytecode_cache,
        check=args.check,
        json_path=args.json,
    )


def measure(cfg: Config, work: Path, console: Console) -> tuple[Samples, int]:
    samples, env = Samples(), child_env(work, cfg.bytecode_cache)
    commands = ours_commands(work, env)
    if not cfg.skip_metaflow:
        for n, peer in metaflow_commands(work, env).items():
            commands[n][1:1] = peer  # interleaved: ours, Metaflow, ours --no-track, ...
    runs = [c for n in SIZES for c in commands[n]]
    if cfg.warmup:
        console.print("warming up (untimed: the bytecode cache, the MLflow database) ...")
        for command in runs:
            command.run()
    for rep in range(cfg.repeat):
        console.print(f"repetition {rep + 1}/{cfg.repeat} ...")
        for command in runs:
            samples.add(command.key, command.run()[0])
    console.print("standard pipeline: one run to fill the cache, then cached re-runs ...")
    fill, reruns = standard_commands(work, env)
    cached_steps = measure_cached_standard(
        fill, reruns, max(3, cfg.repeat) if cfg.warmup else 1, samples
    )
    fixed = startup_commands(work, env)
    for _ in range(max(5, cfg.repeat) if cfg.warmup else 1):
        for command in fixed:
            samples.add(command.key, command.run()[0])
    return samples, cached_steps


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    got = measure_in_temp(console, "mlp-bench-", lambda work: measure(cfg, work, console))
    if got is None:
        return EXIT_FAILED
    samples, cached_steps = got
    tables = {"whole": whole_command_rows(samples), "ours only": ours_only_rows(samples)}
    notes = footnotes(samples, cfg, cached_steps)
    print_report(console, tables, notes, machine())
    rows = [r for group in tables.values() for r in group]
    print_verdict(console, rows)
    if cfg.json_path is not None:
        write_json(console, cfg.json_path, tables, notes, samples)
    return exit_code(rows, cfg.check)


if __name__ == "__main__":
    sys.exit(main())
