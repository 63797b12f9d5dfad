"""Drift checks at 100k and 1M rows: mlplatform beside Evidently, NannyML and a scipy loop.

Generates seeded data (20 numeric + 5 categorical columns, reference and a partly shifted
current, ``_drift/data.py``), then runs each tool in its own process, medians of
``--repeat`` runs (``_drift/worker.py``): mlplatform with its profile built beforehand
(not timed), mlplatform cold (profile build included), mlplatform's Evidently mode, the
floor (one ``np.sort`` of the current numeric data), a plain scipy loop computing the same
outputs (KS with asymptotic p-values, Wasserstein, PSI and JS on the same bins,
chi-square), Evidently's data drift preset and NannyML's univariate drift. The peers run in
``.venv-bench-drift`` (``make install-bench-drift``; Evidently needs pandas < 3).

Prints seconds, the ratio to mlplatform, the extra peak memory (peak RSS over RSS before),
and the largest difference from scipy of each tool's outputs, then the issue's targets.

    .venv/bin/python benchmarks/drift.py [--sizes 100000,1000000] [--repeat 3] [--json out.json]
    .venv/bin/python benchmarks/drift.py --quick --skip-peers     # smoke, not a measurement
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_drift" / "worker.py"
PEER_PYTHON = ROOT / ".venv-bench-drift" / "bin" / "python"
OURS = (
    "mlplatform",
    "mlplatform-1-thread",
    "mlplatform-cold",
    "mlplatform-evidently",
    "scipy",
)
PEERS = ("evidently", "nannyml")
LABELS = {
    "mlplatform": "mlplatform (profile prebuilt, 2 threads)",
    "mlplatform-1-thread": "mlplatform, 1 thread",
    "mlplatform-cold": "mlplatform cold (profile + check, 2 threads)",
    "mlplatform-evidently": "mlplatform, Evidently mode",
    "np-sort": "floor: np.sort of current numerics",  # timed beside each mlplatform run
    "scipy": "scipy loop (same outputs)",
    "evidently": "Evidently DataDriftPreset",
    "nannyml": "NannyML univariate drift",
}
# Targets at the largest size: peer seconds over ours at least this (np.sort: ours over it at most)
SPEEDUP_TARGETS = {"evidently": 100.0, "nannyml": 10.0, "scipy": 20.0}
SORT_TARGET = 2.0
WORKER_TIMEOUT_S = 3 * 3600

sys.path.insert(0, str(HERE / "_drift"))
import data  # noqa: E402


@dataclass
class Outcome:
    tool: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    peak_extra_bytes: int | None = None
    input_bytes: int | None = None
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    error: str = ""
    floor: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.error else None


def run_tool(tool: str, python: Path, ref: Path, cur: Path, repeat: int, rows: int) -> Outcome:
    if not python.exists():
        return Outcome(tool, rows, error="not installed: run `make install-bench-drift`")
    with tempfile.TemporaryDirectory(prefix="mlp-bench-drift-") as tmp:
        out = Path(tmp) / "result.json"
        command = [str(python), str(WORKER), tool, str(ref), str(cur), "--repeat", str(repeat)]
        try:
            done = subprocess.run(
                [*command, "--out", str(out)],
                capture_output=True,
                text=True,
                timeout=WORKER_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Outcome(tool, rows, error=f"timed out after {WORKER_TIMEOUT_S} s")
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return Outcome(tool, rows, error=f"worker failed: {tail[0]}")
        body = json.loads(out.read_text())
    return Outcome(
        tool,
        rows,
        seconds=body.get("seconds", []),
        peak_extra_bytes=body.get("peak_extra_bytes"),
        input_bytes=body.get("input_bytes"),
        values=body.get("values", {}),
        error=body.get("error", ""),
        floor=body.get("floor_seconds", []),
    )


def max_difference(
    values: dict[str, dict[str, float | None]], reference: dict[str, dict[str, float | None]]
) -> tuple[float, str] | None:
    """Largest |a - b| (relative above 1) over shared columns and metrics, and where."""
    worst: tuple[float, str] | None = None
    for column, metrics in values.items():
        for key, value in metrics.items():
            expected = reference.get(column, {}).get(key)
            if value is None or expected is None:
                continue
            diff = abs(value - expected) / max(1.0, abs(expected))
            if worst is None or diff > worst[0]:
                worst = (diff, f"{key} of {column}")
    return worst


def _diff_text(outcome: Outcome, scipy: Outcome | None, evidently: Outcome | None) -> str:
    if outcome.error or outcome.tool in ("scipy", "np-sort"):
        return "-" if outcome.tool != "scipy" else "(the reference)"
    parts = []
    if scipy is not None and not scipy.error:
        found = max_difference(outcome.values, scipy.values)
        if found:
            parts.append(f"{found[0]:.1e} ({found[1]})")
    if outcome.tool == "mlplatform-evidently" and evidently and not evidently.error:
        found = max_difference(outcome.values, evidently.values)
        if found:
            parts.append(f"vs Evidently {found[0]:.1e}")
    return "; ".join(parts) or "-"


def table(rows: int, outcomes: dict[str, Outcome], console: Console) -> None:
    ours = outcomes["mlplatform"].median
    grid = Table(title=f"drift check, {rows:,} reference + {rows:,} current rows, 25 columns")
    for name in ("tool", "seconds", "x mlplatform", "extra peak MB", "max |Δ| vs scipy"):
        grid.add_column(name, justify="left" if name in ("tool", "max |Δ| vs scipy") else "right")
    for tool, outcome in outcomes.items():
        seconds = outcome.median
        ratio = f"{seconds / ours:.1f}" if seconds is not None and ours else "-"
        peak = (
            f"{outcome.peak_extra_bytes / 2**20:.0f}"
            if outcome.peak_extra_bytes is not None and not outcome.error
            else "-"
        )
        shown = f"{seconds:.3f}" if seconds is not None else outcome.error
        diff = _diff_text(outcome, outcomes.get("scipy"), outcomes.get("evidently"))
        grid.add_row(LABELS[tool], shown, ratio, peak, diff)
    console.print(grid)
    size = outcomes["mlplatform"].input_bytes
    if size:
        console.print(f"one side's input (current DataFrame): {size / 2**20:.0f} MB")


def targets(outcomes: dict[str, Outcome]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets, for the default (2 threads) and for one thread."""
    checks: list[tuple[str, str, bool | None]] = []
    for ours_tool, suffix in (("mlplatform", ""), ("mlplatform-1-thread", ", 1 thread")):
        mine = outcomes.get(ours_tool)
        ours = mine.median if mine else None
        for tool, wanted in SPEEDUP_TARGETS.items():
            peer = outcomes.get(tool)
            seconds = peer.median if peer else None
            name = f"{LABELS[tool]} / mlplatform{suffix} >= {wanted:g}"
            if ours and seconds:
                checks.append((name, f"{seconds / ours:.1f}", seconds / ours >= wanted))
            else:
                checks.append((name, "not measured", None))
        floor = outcomes["np-sort"].median
        if ours and floor:
            checks.append(
                (
                    f"mlplatform{suffix} / np.sort <= {SORT_TARGET:g}",
                    f"{ours / floor:.2f}",
                    ours / floor <= SORT_TARGET,
                )
            )
        if mine is not None and mine.peak_extra_bytes is not None and mine.input_bytes:
            checks.append(
                (
                    f"mlplatform{suffix} extra peak < one side's input",
                    f"{mine.peak_extra_bytes / 2**20:.0f} MB < {mine.input_bytes / 2**20:.0f} MB",
                    mine.peak_extra_bytes < mine.input_bytes,
                )
            )
    return checks


def print_targets(rows: int, outcomes: dict[str, Outcome], console: Console) -> None:
    grid = Table(title=f"targets at {rows:,} rows")
    for name in ("target", "measured", "met"):
        grid.add_column(name)
    for name, measured, met in targets(outcomes):
        mark = "-" if met is None else ("[green]yes[/]" if met else "[red]NO[/]")
        grid.add_row(name, measured, mark)
    console.print(grid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="rows per side, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20k rows, one run: a smoke test")
    parser.add_argument("--data-dir", type=Path, help="keep the generated Parquet files here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeat = 1 if args.quick else args.repeat
    console = Console(width=160)
    tools = [*OURS, *(() if args.skip_peers else PEERS)]
    results: dict[int, dict[str, Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="mlp-drift-data-") as tmp:
        folder = args.data_dir or Path(tmp)
        for rows in sizes:
            ref, cur = data.write(rows, folder)
            results[rows] = {}
            for tool in tools:
                python = args.peer_python if tool in PEERS else Path(sys.executable)
                console.print(f"[dim]{rows:,} rows: {tool} ...[/]")
                results[rows][tool] = run_tool(tool, python, ref, cur, repeat, rows)
                if tool == "mlplatform":
                    ours = results[rows][tool]
                    results[rows]["np-sort"] = Outcome("np-sort", rows, seconds=ours.floor)
            table(rows, results[rows], console)
    print_targets(sizes[-1], results[sizes[-1]], console)
    if args.json:
        _write_json(args.json, results)
    failed = [o for r in results.values() for t, o in r.items() if t in OURS and o.error]
    for outcome in failed:
        console.print(f"[red]{outcome.tool} at {outcome.rows:,} rows failed: {outcome.error}[/]")
    return 1 if failed else 0


def _write_json(path: Path, results: dict[int, dict[str, Outcome]]) -> None:
    body: dict[str, Any] = {
        "environment": {"python": sys.version, "machine": platform.platform()},
        "sizes": {},
    }
    for rows, outcomes in results.items():
        body["sizes"][str(rows)] = {
            "tools": {
                tool: {
                    "seconds": o.seconds,
                    "median": o.median,
                    "peak_extra_bytes": o.peak_extra_bytes,
                    "input_bytes": o.input_bytes,
                    "error": o.error or None,
                    "max_diff_vs_scipy": (
                        max_difference(o.values, outcomes["scipy"].values)
                        if "scipy" in outcomes
                        else None
                    ),
                }
                for tool, o in outcomes.items()
            },
            "targets": [{"target": n, "measured": m, "met": ok} for n, m, ok in targets(outcomes)],
        }
    path.write_text(
        json.dumps(
            body,
            indent=2,
            default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else str(v),
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
