"""What the benchmarks share: their error, a row of figures, the machine, the report's pieces.

Imported as ``_report``: a benchmark run as a script (``python benchmarks/X.py``) has
``benchmarks/`` first on ``sys.path``; the tests' loader (tests/benchmarks/conftest.py) puts
it there too.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

EXIT_MISSED, EXIT_FAILED = 1, 2
INFORMATION = "(information)"  # a row shown for understanding, with no target
T = TypeVar("T")


class BenchmarkError(RuntimeError):
    """A measurement could not be taken (a command or a run failed, or did not do what it
    should)."""


@dataclass
class Row:
    """One measure: ours, the peer's, the target and whether ours met it."""

    name: str
    ours: float | None
    peer: float | None = None
    target: str = "-"
    met: bool | None = None

    @property
    def targeted(self) -> bool:
        return self.target not in ("-", INFORMATION)

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


def exit_code(rows: Sequence[Row], check: bool) -> int:
    """0, or with ``check``: 1 when a target is missed, 2 when a target has no figure."""
    if not check:
        return 0
    if any(r.met is False for r in rows):
        return EXIT_MISSED
    if any(r.targeted and r.met is None for r in rows):
        return EXIT_FAILED
    return 0


def measure_in_temp(console: Console, prefix: str, measure: Callable[[Path], T]) -> T | None:
    """``measure(folder)`` in a throw-away folder, or None after printing why it failed (a
    failed measurement: exit 2)."""
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            return measure(Path(tmp))
    except BenchmarkError as exc:
        console.print("[bold red]measurement failed:[/]")
        console.print(str(exc), markup=False, highlight=False)
    except Exception:  # a bug or a broken tool: a failed measurement, not a missed target
        console.print_exception()
    return None


def add_check_and_json(parser: argparse.ArgumentParser) -> None:
    """The options every row-and-target benchmark takes last: ``--check`` and ``--json``."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a target is missed, 2 when one has no figure",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")


# ---- where the figures come from ------------------------------------------------------------
def machine(*, with_os: bool = False) -> dict[str, Any]:
    """Where and when the figures come from, for the report and the docs."""
    where: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown",
        ),
        "cores": os.cpu_count(),
    }
    if with_os:
        where["os"] = next(
            (
                line.split("=", 1)[1].strip('"')
                for line in _read("/etc/os-release").splitlines()
                if line.startswith("PRETTY_NAME=")
            ),
            platform.platform(),
        )
    where["python"] = platform.python_version()
    return where


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ---- the report -----------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def met_mark(value: bool | None) -> str:
    return {True: "[green]met[/]", False: "[bold red]MISSED[/]", None: "-"}[value]


def rows_table(
    title: str,
    rows: Sequence[Row],
    peer: str | None,
    spec: str = ".3f",
    ratio_spec: str = ".2f",
) -> Table:
    """Measure, ours, (the peer's and ours/peer's when ``peer`` names it), target, met."""
    table = Table(title=title, title_justify="left")
    columns = ["measure", "ours"] + ([peer, f"ours/{peer}"] if peer else []) + ["target", "met"]
    for col in columns:
        table.add_column(col, justify="left" if col in ("measure", "target") else "right")
    for r in rows:
        ratio = "-" if r.ratio is None else f"{format(r.ratio, ratio_spec)}x"
        peers = [fmt(r.peer, spec), ratio] if peer else []
        table.add_row(r.name, fmt(r.ours, spec), *peers, r.target, met_mark(r.met))
    return table


def print_notes(console: Console, notes: dict[str, Any], spec: str = ".3f") -> None:
    """Footnotes, one a line: floats as figures, anything else as its text."""
    for name, value in notes.items():
        shown = fmt(value, spec) if isinstance(value, float) else str(value)
        console.print(f"  * {name}: {shown}")


def write_doc(console: Console, path: Path, doc: dict[str, Any]) -> None:
    """``doc`` as indented JSON at ``path`` (its folder made if need be), and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    console.print(f"results written to {path}")
