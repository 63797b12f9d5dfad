"""Drift checks at 100k and 1M rows, cold and warm: mlplatform beside Evidently, NannyML, scipy.

Seeded data (20 numeric + 5 categorical columns, reference and a partly shifted current,
``_drift/data.py``). Two comparisons, each like for like (``_drift/worker.py`` says what
each tool times):

- **cold**: the reference is processed inside the timed run. Ours: ``build_profile`` +
  ``check_drift``; Evidently: its ``DataDriftPreset`` report; NannyML: ``fit`` +
  ``calculate``; the plain scipy loop. The targets apply here.
- **warm**: the reference was prepared beforehand. Ours: ``check_drift`` against a built
  profile; NannyML: ``calculate`` on a fitted calculator. Evidently and the scipy loop have
  no warm path: their cold figure is shown, marked so.

Each tool runs in its own process per round, one untimed warm-up call then one timed call;
the rounds interleave the tools (``--repeat`` rounds, medians). The floor is ``np.sort`` of
the numeric columns the run must sort (both sides cold, the current side warm), on our
thread count, timed in our process just before each of our runs. The peers run in
``.venv-bench-drift`` (``make install-bench-drift``; Evidently needs pandas < 3).

    .venv/bin/python benchmarks/drift.py [--sizes 100000,1000000] [--repeat 3] [--json out.json]
    .venv/bin/python benchmarks/drift.py --check       # exit 1 when a cold target is missed
    .venv/bin/python benchmarks/drift.py --quick --skip-peers     # smoke, not a measurement

Exit status: 0 when every tool that ran has its figures (a missed target is printed, in
red); 1 with ``--check`` when a cold target is missed; 2 when a measurement failed (a tool
failed or is not installed, with or without ``--check``; with ``--check`` also a peer that a
target needs but ``--skip-peers`` left out), whether or not a target was missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_drift" / "worker.py"
PEER_PYTHON = ROOT / ".venv-bench-drift" / "bin" / "python"
# One round runs each tool once, in this order; peers run in their own venv.
ROUND = (
    "mlplatform-cold",
    "mlplatform-warm",
    "mlplatform-evidently",
    "scipy",
    "nannyml-cold",
    "nannyml-warm",
    "evidently",
)
PEERS = frozenset({"evidently", "nannyml-cold", "nannyml-warm"})
FLOORS = {"mlplatform-cold": "floor-cold", "mlplatform-warm": "floor-warm"}
# Cold targets: the peer's seconds over ours, at least this, at every size measured.
TARGETS = {"evidently": 100.0, "nannyml-cold": 10.0, "scipy": 20.0}
COLD_ROWS = ("mlplatform-cold", "floor-cold", "evidently", "nannyml-cold", "scipy")
WARM_ROWS = ("mlplatform-warm", "floor-warm", "nannyml-warm", "evidently", "scipy")
NO_WARM_PATH = frozenset({"evidently", "scipy"})
LABELS = {
    "mlplatform-cold": "mlplatform: build_profile + check_drift",
    "floor-cold": "floor: np.sort of both sides' numerics",
    "mlplatform-warm": "mlplatform: check_drift, profile prebuilt",
    "floor-warm": "floor: np.sort of current numerics",
    "evidently": "Evidently: DataDriftPreset report",
    "nannyml-cold": "NannyML: fit + calculate",
    "nannyml-warm": "NannyML: calculate, fitted beforehand",
    "scipy": "scipy loop (same outputs)",
    "mlplatform-evidently": "mlplatform, Evidently mode",
}
WORKER_TIMEOUT_S = 3600
EXIT_OK, EXIT_MISSED, EXIT_FAILED = 0, 1, 2

sys.path.insert(0, str(HERE / "_drift"))
import data  # noqa: E402


@dataclass
class Outcome:
    """One tool's figures at one size, gathered over the rounds."""

    tool: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    peak_extra_bytes: int | None = None
    input_bytes: int | None = None
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    error: str = ""
    version: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.error else None

    def add(self, body: dict[str, Any]) -> None:
        """Fold in one worker's report (an error ends the tool's rounds)."""
        if body.get("error"):
            self.error = str(body["error"])
            return
        self.seconds += body.get("seconds", [])
        self.floor += body.get("floor_seconds", [])
        peak = body.get("peak_extra_bytes")
        if peak is not None:
            self.peak_extra_bytes = max(peak, self.peak_extra_bytes or 0)
        self.input_bytes = body.get("input_bytes", self.input_bytes)
        self.values = body.get("values", self.values)
        self.version = body.get("version", self.version)


@dataclass(frozen=True)
class Row:
    """One line of a table: seconds, the ratio to ours, and the target where there is one."""

    tool: str
    seconds: float | None
    ratio: float | None
    note: str = ""
    target: float | None = None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target


# ---- running -----------------------------------------------------------------------------
def run_worker(tool: str, python: Path, ref: Path, cur: Path, threads: int) -> dict[str, Any]:
    """One process, one warm-up and one timed call of ``tool``; its report, or an error."""
    if not python.exists():
        return {"error": "not installed: run `make install-bench-drift`"}
    with tempfile.TemporaryDirectory(prefix="mlp-bench-drift-") as tmp:
        out = Path(tmp) / "result.json"
        command = [str(python), str(WORKER), tool, str(ref), str(cur), "--out", str(out)]
        try:
            done = subprocess.run(
                [*command, "--threads", str(threads)],
                capture_output=True,
                text=True,
                timeout=WORKER_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"error": f"worker failed: {tail[0]}"}
        return dict(json.loads(out.read_text()))


def measure(
    rows: int, tools: list[str], args: argparse.Namespace, folder: Path
) -> dict[str, Outcome]:
    """Every tool at one size: ``repeat`` rounds, each running every tool once, in turn."""
    ref, cur = data.write(rows, folder)
    outcomes = {tool: Outcome(tool, rows) for tool in tools}
    progress = Console(stderr=True)
    for round_ in range(1, args.repeat + 1):
        for tool in tools:
            if outcomes[tool].error:
                continue
            python = args.peer_python if tool in PEERS else Path(sys.executable)
            progress.print(f"[dim]{rows:,} rows, round {round_}/{args.repeat}: {tool}[/]")
            outcomes[tool].add(run_worker(tool, python, ref, cur, args.threads))
    for tool, floor in FLOORS.items():
        if tool in outcomes:
            ours = outcomes[tool]
            outcomes[floor] = Outcome(floor, rows, seconds=ours.floor, error=ours.error)
    return outcomes


# ---- the tables --------------------------------------------------------------------------
def cold_rows(outcomes: dict[str, Outcome]) -> list[Row]:
    ours = _median(outcomes, "mlplatform-cold")
    return [
        Row(tool, _median(outcomes, tool), _ratio(_median(outcomes, tool), ours),
            _note(outcomes, tool), TARGETS.get(tool))
        for tool in COLD_ROWS
    ]  # fmt: skip


def warm_rows(outcomes: dict[str, Outcome]) -> list[Row]:
    ours = _median(outcomes, "mlplatform-warm")
    rows = []
    for tool in WARM_ROWS:
        seconds = _median(outcomes, tool)
        note = _note(outcomes, tool)
        if tool in NO_WARM_PATH:
            note = "; ".join(["no warm path: cold figure", *([note] if note else [])])
        rows.append(Row(tool, seconds, _ratio(seconds, ours), note))
    return rows


def _median(outcomes: dict[str, Outcome], tool: str) -> float | None:
    outcome = outcomes.get(tool)
    return outcome.median if outcome is not None else None


def _ratio(seconds: float | None, ours: float | None) -> float | None:
    return seconds / ours if seconds is not None and ours else None


def _note(outcomes: dict[str, Outcome], tool: str) -> str:
    outcome = outcomes.get(tool)
    if outcome is None:
        return "not run (--skip-peers)"
    return outcome.error


def render(rows: list[Row], outcomes: dict[str, Outcome], cold: bool) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    headers = ["tool", "seconds", "x ours"]
    headers += ["target", "met"] if cold else []
    headers += ["extra peak MB", "max |Δ| vs scipy", "note"]
    for name in headers:
        grid.add_column(name, justify="right" if name in ("seconds", "x ours") else "left")
    for row in rows:
        cells = [LABELS[row.tool], _fmt(row.seconds, ".3f"), _fmt(row.ratio, ".1f")]
        if cold:
            met = {None: "-", True: "met", False: "[red]MISSED[/]"}[row.met]
            cells += [f">= {row.target:g}x" if row.target else "-", met]
        cells += [_peak(outcomes.get(row.tool)), _diff_text(row.tool, outcomes), row.note]
        grid.add_row(*cells)
    return grid


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _peak(outcome: Outcome | None) -> str:
    if outcome is None or outcome.error or outcome.peak_extra_bytes is None:
        return "-"
    return f"{outcome.peak_extra_bytes / 2**20:.0f}"


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


def _diff_text(tool: str, outcomes: dict[str, Outcome], against: str = "scipy") -> str:
    outcome, reference = outcomes.get(tool), outcomes.get(against)
    if tool == against:
        return "(the reference)"
    if outcome is None or reference is None or outcome.error or reference.error:
        return "-"
    found = max_difference(outcome.values, reference.values)
    return f"{found[0]:.1e} ({found[1]})" if found else "-"


def print_size(rows: int, outcomes: dict[str, Outcome], args: argparse.Namespace) -> None:
    console = Console(width=170)
    console.print(f"COLD, {rows:,} rows per side: the reference processed in the timed run")
    console.print(render(cold_rows(outcomes), outcomes, cold=True), "")
    console.print(f"WARM, {rows:,} rows per side: the reference prepared beforehand, not timed")
    console.print(render(warm_rows(outcomes), outcomes, cold=False), "")
    mode = outcomes.get("mlplatform-evidently")
    if mode is not None and mode.median is not None:
        agreement = _diff_text("mlplatform-evidently", outcomes, against="evidently")
        console.print(
            f"our Evidently mode (warm): {mode.median:.3f} s; outputs vs Evidently's: {agreement}"
        )
    size = outcomes["mlplatform-cold"].input_bytes
    if size:
        console.print(f"one side's input (current DataFrame): {size / 2**20:.0f} MB\n")


# ---- targets and the exit status ---------------------------------------------------------
def target_rows(results: dict[int, dict[str, Outcome]]) -> list[tuple[int, Row]]:
    """Every cold target at every size, measured or not."""
    return [(rows, row) for rows, o in results.items() for row in cold_rows(o) if row.target]


def failures(results: dict[int, dict[str, Outcome]], check: bool) -> list[str]:
    """Figures missing: any tool that ran and failed; with ``check``, a skipped target's peer."""
    failed = []
    for rows, outcomes in results.items():
        wanted = set(outcomes) | (set(TARGETS) if check else set())
        for tool in sorted(wanted):
            outcome = outcomes.get(tool)
            if outcome is None or outcome.median is None:
                why = outcome.error if outcome is not None else "not run (--skip-peers)"
                failed.append(f"{LABELS[tool]} at {rows:,} rows: {why or 'no figure'}")
    return failed


def exit_code(results: dict[int, dict[str, Outcome]], check: bool) -> int:
    if failures(results, check):
        return EXIT_FAILED
    missed = any(row.met is False for _, row in target_rows(results))
    return EXIT_MISSED if check and missed else EXIT_OK


def print_targets(results: dict[int, dict[str, Outcome]], check: bool) -> None:
    console = Console(width=170)
    for rows, row in target_rows(results):
        state = {None: "not measured", True: "met", False: "[red]MISSED[/]"}[row.met]
        ratio = f"{row.ratio:.1f}x" if row.ratio is not None else "-"
        console.print(
            f"cold target at {rows:,} rows: {LABELS[row.tool]} >= {row.target:g}x ours: "
            f"{ratio}, {state}"
        )
    for line in failures(results, check):
        console.print(f"[red]not measured: {line}[/]")


def environment(threads: int) -> dict[str, Any]:
    import numpy

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "system": _os_name(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "threads": threads,
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return platform.platform()
    found = [ln.split("=", 1)[1].strip('"') for ln in text.splitlines() if "PRETTY_NAME=" in ln]
    return found[0] if found else platform.platform()


def print_environment(
    env: dict[str, Any], results: dict[int, dict[str, Outcome]], repeat: int
) -> None:
    versions = sorted({o.version for r in results.values() for o in r.values() if o.version})
    Console(width=170).print(
        f"{env['date']}: {env['cpu']}, {env['cores']} cores, {env['system']}, "
        f"Python {env['python']}, numpy {env['numpy']}\n{', '.join(versions)}\n"
        f"25 columns (20 numeric, 5 categorical); ours and the floor on {env['threads']} "
        f"threads; {f'medians of {repeat} rounds' if repeat > 1 else 'one round'}\n"
    )


# ---- main --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.repeat = 1
    tools = [t for t in ROUND if not (args.skip_peers and t in PEERS)]
    results: dict[int, dict[str, Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="mlp-drift-data-") as tmp:
        for rows in sizes:
            results[rows] = measure(rows, tools, args, args.data_dir or Path(tmp))
    env = environment(args.threads)
    print_environment(env, results, args.repeat)
    for rows, outcomes in results.items():
        print_size(rows, outcomes, args)
    print_targets(results, args.check)
    if args.json:
        _write_json(args.json, env, results, args.check)
    return exit_code(results, args.check)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="rows per side, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the tables show medians")
    parser.add_argument("--threads", type=int, default=2, help="ours and the floor's threads")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20k rows, one round: a smoke test")
    parser.add_argument("--check", action="store_true", help="exit 1 when a cold target is missed")
    parser.add_argument("--data-dir", type=Path, help="keep the generated Parquet files here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    return parser


def _write_json(
    path: Path, env: dict[str, Any], results: dict[int, dict[str, Outcome]], check: bool
) -> None:
    body: dict[str, Any] = {"environment": env, "sizes": {}, "exit_code": None}
    for rows, outcomes in results.items():
        body["sizes"][str(rows)] = {
            "tools": {tool: _tool_json(o, outcomes) for tool, o in outcomes.items()},
            "cold": [_row_json(row) for row in cold_rows(outcomes)],
            "warm": [_row_json(row) for row in warm_rows(outcomes)],
        }
    body["not_measured"] = failures(results, check)
    body["exit_code"] = exit_code(results, check)
    path.write_text(json.dumps(body, indent=2, default=_finite))


def _tool_json(outcome: Outcome, outcomes: dict[str, Outcome]) -> dict[str, Any]:
    return {
        "seconds": outcome.seconds,
        "median": outcome.median,
        "peak_extra_bytes": outcome.peak_extra_bytes,
        "input_bytes": outcome.input_bytes,
        "version": outcome.version or None,
        "error": outcome.error or None,
        "max_diff_vs_scipy": _difference(outcome, outcomes.get("scipy")),
        "max_diff_vs_evidently": _difference(outcome, outcomes.get("evidently")),
    }


def _difference(outcome: Outcome, reference: Outcome | None) -> tuple[float, str] | None:
    if reference is None or reference.error or outcome.error:
        return None
    return max_difference(outcome.values, reference.values)


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "tool": row.tool,
        "label": LABELS[row.tool],
        "seconds": row.seconds,
        "x_ours": row.ratio,
        "target": row.target,
        "met": row.met,
        "note": row.note or None,
    }


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
