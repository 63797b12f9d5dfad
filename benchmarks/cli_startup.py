"""Start-up of the `mlp` command: `mlp --help` and `mlp GROUP --help`, beside `mlflow --help`.

Every figure is a whole command in a fresh process (interpreter start-up, imports, building
the command tree, rendering the help) run in an empty folder: the median of ``--repeat``
runs after one untimed warm-up of each command (it fills the bytecode cache); ours and
MLflow's runs are interleaved, so a busy machine slows both alike. Target: every `mlp`
figure under 0.3 s. Footnotes: an empty interpreter and a bare Typer app with one group
(Typer's own floor: its help renderer and its pydantic-based option parsing).

    .venv/bin/python benchmarks/cli_startup.py [--repeat 7] [--check] [--json out.json]
    .venv/bin/python benchmarks/cli_startup.py --quick   # smoke: one run each, not a measurement
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from _report import BenchmarkError

TARGET_S = 0.3
COMMANDS = (
    *("pipeline", "runs", "models", "drift", "deploy", "undeploy", "cost"),
    *("demo", "ui", "serve", "up", "down", "status", "logs", "llm", "mcp", "audit", "features"),
)
PEER = "mlflow --help"
FLOOR = "bare Typer app: group --help"
EMPTY = "python -c pass"
BIN = Path(sys.executable).parent
FLOOR_APP = '''
import typer

app = typer.Typer(rich_markup_mode="rich")
group = typer.Typer(help="A group.")


@group.command()
def command() -> None:
    """A command."""


@app.callback()
def root(verbose: bool = False) -> None:
    """A root option, as mlp has."""


app.add_typer(group, name="group")
app()
'''


@dataclass
class Row:
    """A row of its own: the ratio is a figure of the row, and every row has one target."""

    name: str
    ours: float
    peer: float | None
    ratio: float | None  # ours / peer
    met: bool


def invocations(work: Path) -> dict[str, list[str]]:
    """Each measured command line by its name: ours, the footnotes, the peer."""
    mlp = str(BIN / "mlp")
    runs = {"mlp --help": [mlp, "--help"]}
    runs.update({f"mlp {c} --help": [mlp, c, "--help"] for c in COMMANDS})
    floor = work / "floor_app.py"
    floor.write_text(FLOOR_APP)
    runs[EMPTY] = [sys.executable, "-c", "pass"]
    runs[FLOOR] = [sys.executable, str(floor), "group", "--help"]
    runs[PEER] = [str(BIN / "mlflow"), "--help"]
    return runs


def child_env(work: Path) -> dict[str, str]:
    """The environment as is, plus a bytecode cache under ``work``.

    With ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` (an editable install), every
    run would compile our modules from source; an installed package has compiled bytecode,
    so that is what is measured.
    """
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(work)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False, timeout=120)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-400:]
        raise BenchmarkError(f"{' '.join(argv)} exited {done.returncode}: {tail}")
    return seconds


def measure(repeat: int, warm_up: bool, work: Path) -> dict[str, list[float]]:
    runs, env = invocations(work), child_env(work / "pycache")
    project = work / "project"
    project.mkdir()
    if warm_up:
        for argv in runs.values():
            run_once(argv, project, env)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, argv in runs.items():
            samples[name].append(run_once(argv, project, env))
    return samples


def build_rows(samples: dict[str, list[float]]) -> list[Row]:
    peer = statistics.median(samples[PEER])
    rows = []
    for name, values in samples.items():
        if not name.startswith("mlp "):
            continue
        ours = statistics.median(values)
        rows.append(Row(name, ours, peer, ours / peer if peer else None, ours < TARGET_S))
    return rows


def print_report(
    console: Console, rows: list[Row], samples: dict[str, list[float]], repeat: int
) -> None:
    table = Table(title=f"CLI start-up: mlp vs {PEER} (medians of {repeat}; trust the ratios)")
    for col in ("command", "ours s", f"peer ({PEER}) s", "ratio ours/peer", "target", "met"):
        table.add_column(col, justify="left" if col in ("command", "target") else "right")
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        peer = "-" if r.peer is None else f"{r.peer:.3f}"
        met = "[green]yes[/]" if r.met else "[bold red]NO[/]"
        table.add_row(r.name, f"{r.ours:.3f}", peer, ratio, f"< {TARGET_S} s", met)
    console.print(table)
    for name in (EMPTY, FLOOR):
        console.print(f"  * {name}: {statistics.median(samples[name]):.3f} s", highlight=False)
    missed = [r.name for r in rows if not r.met]
    if missed:
        console.print(f"[bold red]Target missed:[/] {', '.join(missed)}")
    else:
        console.print("[green]Every target is met.[/]")


def write_json(path: Path, rows: list[Row], samples: dict[str, list[float]]) -> None:
    doc = {
        "rows": {r.name: asdict(r) for r in rows},
        "target_s": TARGET_S,
        "footnotes": {name: statistics.median(samples[name]) for name in (EMPTY, FLOOR)},
        "samples": samples,
        "environment": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    path.write_text(json.dumps(doc, indent=2))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    parser.add_argument("--quick", action="store_true", help="one run each, no warm-up (smoke)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 measured (and, with ``--check``, every target met), 1 a target missed
    with ``--check``, 2 a command failed."""
    args = parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    console = Console(width=None if sys.stdout.isatty() else 110)
    try:
        with tempfile.TemporaryDirectory(prefix="mlp-bench-cli-") as tmp:
            samples = measure(repeat, not args.quick, Path(tmp))
    except BenchmarkError as exc:
        console.print("[bold red]error:[/]", end=" ")
        console.print(str(exc), highlight=False, markup=False)
        return 2
    rows = build_rows(samples)
    print_report(console, rows, samples, repeat)
    if args.json is not None:
        write_json(args.json, rows, samples)
    return 1 if args.check and not all(r.met for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
