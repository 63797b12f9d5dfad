"""Model serving on loopback: mlplatform's runtime beside KServe, mlflow, MLServer and the floor.

One iris LogisticRegression (trained here, saved once as joblib and once as an MLflow model
folder) behind every server at once, each on 127.0.0.1 with a free port, started as a
subprocess with ``OMP_NUM_THREADS=1`` and its per-request log lines off:

* ``mlplatform``: ``python -m mlplatform.serving`` on the MLflow folder, V1 and V2;
* ``kserve``: a stock ``kserve.Model`` loading the joblib file on ``kserve.ModelServer``
  (``_serving_peers/kserve_stock.py``), V1 and V2;
* ``mlflow``: ``mlflow models serve --env-manager local``, ``POST /invocations``;
* ``mlserver`` and ``mlserver-batching``: MLServer with mlserver-sklearn, adaptive batching
  off and on, V2 (``.venv-bench-serving``, ``make install-bench-serving``);
* ``hello``: a bare ASGI app on uvicorn answering fixed JSON (``_serving_peers/hello_asgi.py``).

Single-row POSTs with ``wrk`` at each concurrency, after one warm-up run per endpoint;
repetitions are interleaved across servers and the medians of ``--repeat`` runs printed:
requests/s, p50 and p99 latency, server CPU per request (user + system of the server's
process tree over the run, divided by the requests wrk completed) and the ratio to ours.
The floor is ``predict()`` on one row, timed in-process, plus the hello endpoint's CPU per
request. Then the issue's targets at concurrency 64.

Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a measurement fails (wrk
is missing, ours or the floor has no figure) or, with ``--check``, a target has no figure
(e.g. with ``--only`` leaving out stock KServe).

    .venv/bin/python benchmarks/serving.py [--repeat 3] [--duration 8] [--json out.json] [--check]
    .venv/bin/python benchmarks/serving.py --quick --only mlplatform,hello   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _report import EXIT_FAILED, EXIT_MISSED, BenchmarkError, write_doc

HERE = Path(__file__).resolve().parent
TARGET_CONCURRENCY = 64
THROUGHPUT_TARGET = 3.0  # ours / stock KServe requests per second, at least
CPU_TARGET = 2.0  # ours CPU per request / floor, at most


sys.path.insert(0, str(HERE / "_serving_peers"))
import servers  # noqa: E402
from servers import HELLO, KSERVE, OURS, SPECS, Endpoint, Running  # noqa: E402


# ---- wrk ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNIT_S[unit]


def parse_wrk(text: str) -> WrkResult:
    """The figures of one ``wrk --latency`` run, from its standard output."""
    total = re.search(rf"(\d+) requests in {_TIME}", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    latency = {
        int(m[1]): _seconds(m[2], m[3])
        for m in re.finditer(rf"^\s*(50|99)(?:\.0+)?%\s+{_TIME}\s*$", text, re.MULTILINE)
    }
    if total is None or rps is None or set(latency) != {50, 99}:
        raise BenchmarkError(f"unexpected wrk output:\n{text.strip()[-800:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return WrkResult(
        requests=int(total[1]),
        seconds=_seconds(total[2], total[3]),
        rps=float(rps[1]),
        p50_ms=round(latency[50] * 1e3, 6),
        p99_ms=round(latency[99] * 1e3, 6),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def lua_script(body: dict[str, Any]) -> str:
    """A wrk script that POSTs ``body`` as JSON."""
    payload = json.dumps(body).replace("\\", "\\\\").replace("'", "\\'")
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = '{payload}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def wrk_command(url: str, script: Path, concurrency: int, duration_s: int) -> list[str]:
    threads = 1 if concurrency == 1 else 2
    return [
        *("wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration_s}s"),
        *("--latency", "--timeout", "10s", "-s", str(script), url),
    ]


def run_wrk(url: str, script: Path, concurrency: int, duration_s: int) -> WrkResult:
    command = wrk_command(url, script, concurrency, duration_s)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"`{' '.join(command)}` exited {done.returncode}: {done.stderr}")
    return parse_wrk(done.stdout)


# ---- CPU accounting -------------------------------------------------------------------------
def cpu_ms_per_request(cpu_before_s: float, cpu_after_s: float, requests: int) -> float | None:
    """Milliseconds of server CPU per completed request over one run; None if none completed."""
    if requests <= 0:
        return None
    return max(0.0, cpu_after_s - cpu_before_s) * 1e3 / requests


# ---- measurement ----------------------------------------------------------------------------
@dataclass
class Sample:
    wrk: WrkResult
    cpu_ms: float | None


@dataclass
class Cell:
    """One endpoint of one server at one concurrency, over the repetitions."""

    server: str
    protocol: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    error: str = ""

    def _median(self, pick: Callable[[Sample], float | None]) -> float | None:
        values = [v for v in map(pick, self.samples) if v is not None]
        return statistics.median(values) if values and not self.error else None

    @property
    def rps(self) -> float | None:
        return self._median(lambda s: s.wrk.rps)

    @property
    def p50_ms(self) -> float | None:
        return self._median(lambda s: s.wrk.p50_ms)

    @property
    def p99_ms(self) -> float | None:
        return self._median(lambda s: s.wrk.p99_ms)

    @property
    def cpu_ms(self) -> float | None:
        return self._median(lambda s: s.cpu_ms)

    @property
    def errors(self) -> int:
        return sum(s.wrk.errors for s in self.samples)


Key = tuple[str, str, int]


@dataclass
class Config:
    names: list[str]
    concurrency: list[int]
    repeat: int
    duration_s: int  # wrk takes whole seconds
    warmup_s: int
    json_path: Path | None
    logs_dir: Path | None = None
    check: bool = False


def measure_once(server: Running, endpoint: Endpoint, script: Path, c: int, d: int) -> Sample:
    before = servers.tree_cpu_seconds(server.proc.pid)
    result = run_wrk(server.url(endpoint.path), script, c, d)
    after = servers.tree_cpu_seconds(server.proc.pid)
    return Sample(result, cpu_ms_per_request(before, after, result.requests))


def _sample(cell: Cell, server: Running, ep: Endpoint, script: Path, c: int, d: int) -> None:
    """One wrk run into ``cell``; a failure (or a dead server) marks the cell instead."""
    if server.proc.poll() is not None:
        cell.error = f"server exited {server.proc.returncode}"
        return
    try:
        cell.samples.append(measure_once(server, ep, script, c, d))
    except (BenchmarkError, servers.ServerError, subprocess.TimeoutExpired) as exc:
        cell.error = str(exc).splitlines()[0][:200]


def measure(
    running: Sequence[Running], cfg: Config, work: Path, cells: dict[Key, Cell], log: Console
) -> None:
    """A warm-up run per endpoint, then repetitions interleaved across servers."""
    pairs = [(server, ep) for server in running for ep in server.spec.endpoints]
    scripts: dict[tuple[str, str], Path] = {}
    for server, ep in pairs:
        scripts[server.spec.name, ep.protocol] = work / f"{server.spec.name}-{ep.protocol}.lua"
        scripts[server.spec.name, ep.protocol].write_text(lua_script(ep.body))
    for server, ep in pairs:
        log.print(f"warm-up: {server.spec.name} {ep.protocol}")
        warm = Cell(server.spec.name, ep.protocol, max(cfg.concurrency))
        script = scripts[server.spec.name, ep.protocol]
        _sample(warm, server, ep, script, warm.concurrency, cfg.warmup_s)
        for c in cfg.concurrency:
            cells[server.spec.name, ep.protocol, c].error = warm.error
    for rep in range(cfg.repeat):
        for c in cfg.concurrency:
            log.print(f"repetition {rep + 1}/{cfg.repeat}, concurrency {c}")
            for server, ep in pairs:
                cell = cells[server.spec.name, ep.protocol, c]
                if not cell.error:
                    script = scripts[server.spec.name, ep.protocol]
                    _sample(cell, server, ep, script, c, cfg.duration_s)


# ---- the floor: predict() in-process --------------------------------------------------------
@dataclass(frozen=True)
class Floor:
    predict_1_row_ms: float
    predict_64_rows_per_row_ms: float


def predict_cpu_ms(model: Any, rows: int, repeat: int = 5, budget_s: float = 0.2) -> float:
    """Median CPU milliseconds of one ``model.predict`` on ``rows`` rows."""
    import numpy as np

    x = np.tile(np.asarray([servers.ROW], dtype=np.float64), (rows, 1))
    loops, spent = 1, 0.0
    while spent < budget_s / 4:  # calibrate: enough calls to be well above the clock's grain
        loops *= 2
        started = time.process_time()
        for _ in range(loops):
            model.predict(x)
        spent = time.process_time() - started
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(loops):
            model.predict(x)
        runs.append((time.process_time() - started) * 1e3 / loops)
    return statistics.median(runs)


def measure_floor(model: Any) -> Floor:
    return Floor(predict_cpu_ms(model, 1), predict_cpu_ms(model, 64) / 64)


# ---- report ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool | None


def reference(cells: dict[Key, Cell], protocol: str, c: int) -> Cell | None:
    """Ours at the same concurrency: same protocol where ours speaks it, else V1."""
    return cells.get((OURS, protocol, c)) or cells.get((OURS, "v1", c))


def ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den == 0 else num / den


def floor_cpu_ms(cells: dict[Key, Cell], floor: Floor | None, c: int) -> float | None:
    """predict() on one row + the hello endpoint's CPU per request, at concurrency ``c``."""
    hello = cells.get((HELLO, "-", c))
    if floor is None or hello is None or hello.cpu_ms is None:
        return None
    return floor.predict_1_row_ms + hello.cpu_ms


def _throughput(ours: Cell, peer: Cell, proto: str, c: int) -> Target:
    name = f"c={c} {proto}: mlplatform req/s >= {THROUGHPUT_TARGET:g} x stock KServe"
    got = ratio(ours.rps, peer.rps)
    if got is None:
        return Target(name, "not measured", None)
    shown = f"{got:.2f} x ({ours.rps:.0f} vs {peer.rps:.0f} req/s)"
    return Target(name, shown + _errors(ours), got >= THROUGHPUT_TARGET and not ours.errors)


def _p99(ours: Cell, peer: Cell, proto: str, c: int) -> Target:
    name = f"c={c} {proto}: mlplatform p99 <= stock KServe p99"
    if ours.p99_ms is None or peer.p99_ms is None:
        return Target(name, "not measured", None)
    shown = f"{ours.p99_ms:.1f} ms vs {peer.p99_ms:.1f} ms"
    return Target(name, shown + _errors(ours), ours.p99_ms <= peer.p99_ms and not ours.errors)


def _cpu(ours: Cell, floor_ms: float | None, proto: str, c: int) -> Target:
    name = f"c={c} {proto}: mlplatform CPU/request <= {CPU_TARGET:g} x floor"
    if ours.cpu_ms is None or floor_ms is None:
        return Target(name, "not measured", None)
    shown = f"{ours.cpu_ms:.3f} ms vs {CPU_TARGET:g} x {floor_ms:.3f} ms"
    return Target(
        name,
        f"{shown} ({ours.cpu_ms / floor_ms:.2f} x floor)",
        ours.cpu_ms <= CPU_TARGET * floor_ms,
    )


def _errors(cell: Cell) -> str:
    return f"; {cell.errors} failed requests" if cell.errors else ""


def targets(
    cells: dict[Key, Cell], floor: Floor | None, c: int = TARGET_CONCURRENCY
) -> list[Target]:
    """The issue's targets at concurrency ``c``, for V1 and V2; unmeasured ones are None."""
    checks: list[Target] = []
    missing = Cell("", "", c)
    for proto in ("v1", "v2"):
        ours = cells.get((OURS, proto, c), missing)
        peer = cells.get((KSERVE, proto, c), missing)
        checks.append(_throughput(ours, peer, proto, c))
        checks.append(_p99(ours, peer, proto, c))
        checks.append(_cpu(ours, floor_cpu_ms(cells, floor, c), proto, c))
    return checks


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cell_row(cell: Cell, ref: Cell | None) -> list[str]:
    if cell.error:
        return [cell.error, "", "", "", "", "", ""]
    speed = ratio(ref.rps, cell.rps) if ref is not None else None
    cpu = ratio(cell.cpu_ms, ref.cpu_ms) if ref is not None else None
    flag = f"[red]{cell.errors} failed requests[/]" if cell.errors else ""
    return [
        _fmt(cell.rps, 0),
        _fmt(cell.p50_ms, 2),
        _fmt(cell.p99_ms, 2),
        _fmt(cell.cpu_ms, 3),
        "-" if speed is None else f"{speed:.2f}",
        "-" if cpu is None else f"{cpu:.2f}",
        flag,
    ]


def results_table(cells: dict[Key, Cell], concurrency: Sequence[int]) -> Table:
    grid = Table(title="Model serving on loopback, single-row requests (medians; wrk)")
    for col in ("server", "protocol", "conc.", "req/s", "p50 ms", "p99 ms", "CPU ms/req"):
        grid.add_column(col, justify="left" if col in ("server", "protocol") else "right")
    grid.add_column("ours÷this req/s", justify="right")
    grid.add_column("this÷ours CPU", justify="right")
    grid.add_column("note")
    for c in concurrency:
        for (name, proto, cc), cell in cells.items():
            if cc == c:
                ref = reference(cells, proto, c)
                grid.add_row(SPECS[name].label, proto, str(c), *_cell_row(cell, ref))
        grid.add_section()
    return grid


def floor_lines(cells: dict[Key, Cell], floor: Floor, concurrency: Sequence[int]) -> list[str]:
    lines = [
        f"predict() in-process, 1 row: {floor.predict_1_row_ms * 1e3:.1f} µs CPU",
        f"predict() in-process, 64 rows: {floor.predict_64_rows_per_row_ms * 1e3:.2f} µs CPU/row",
    ]
    for c in concurrency:
        got = floor_cpu_ms(cells, floor, c)
        if got is not None:
            batched = got - floor.predict_1_row_ms + floor.predict_64_rows_per_row_ms
            lines.append(
                f"floor at c={c} (predict 1 row + hello CPU/request): {got:.3f} ms; "
                f"with predict's per-row cost in a 64-row batch instead: {batched:.3f} ms "
                "(information: a batching server can go below the first)"
            )
    return lines


def method_notes(
    cfg: Config, idle_percent: float | None, log_bytes: dict[str, float] | None = None
) -> list[str]:
    batch = ", ".join(f"{k}={v}" for k, v in servers.MLSERVER_BATCH.items())
    notes = [
        "per-request log lines are off for EVERY server: mlplatform as it ships; KServe with "
        "--enable_latency_logging false and its uvicorn.access and kserve.trace loggers at "
        "WARNING; mlflow with UVICORN_ACCESS_LOG=false; MLServer with debug=false (its switch)",
        "OMP_NUM_THREADS=1 for every server; one server process each (each peer's default)",
        "KServe: kserve.ModelServer defaults (1 uvicorn worker, its middlewares and metrics), "
        "gRPC off",
        "MLServer: defaults (parallel_workers=1: inference in one worker process, counted in "
        "its CPU; gRPC and metrics on free ports); httptools installed as for the others; "
        f"adaptive batching: {batch}",
        "mlflow: `mlflow models serve --env-manager local` (1 uvicorn worker, its default)",
        f"wrk on the same {os.cpu_count()} cores as the servers (alike for every server); "
        f"-t1 at c=1, else -t2; {cfg.duration_s} s per run, median of {cfg.repeat}; "
        "latencies are wrk's (closed loop: at fixed concurrency, not at a fixed rate)",
        "server CPU = user + system of the server's process tree over the run / completed requests",
    ]
    if log_bytes:
        shown = ", ".join(f"{name} {size:.1f}" for name, size in log_bytes.items())
        notes.append(
            f"log output per request while measured, bytes: {shown} (a per-request log line "
            "would be 50 or more; a few bytes are errors a server logs when wrk cuts its "
            "in-flight requests at the end of a run: --logs DIR keeps the logs)"
        )
    if idle_percent is not None:
        notes.append(
            f"all servers run at once, interleaved; together they used {idle_percent:.1f} % "
            "of a core while idle"
        )
    return notes


def print_report(
    out: Console, cells: dict[Key, Cell], floor: Floor | None, cfg: Config, notes: list[str]
) -> list[Target]:
    out.print(results_table(cells, cfg.concurrency))
    for line in (floor_lines(cells, floor, cfg.concurrency) if floor else []) + notes:
        out.print(f"  * {line}")
    checks = targets(cells, floor)
    grid = Table(title=f"Targets at concurrency {TARGET_CONCURRENCY}")
    for col in ("target", "measured", "met"):
        grid.add_column(col)
    for t in checks:
        mark = {True: "[green]met[/]", False: "[bold red]MISSED[/]", None: "not measured"}[t.met]
        grid.add_row(t.name, t.measured, mark)
    out.print(grid)
    return checks


def write_json(
    out: Console,
    path: Path,
    cells: dict[Key, Cell],
    floor: Floor | None,
    checks: list[Target],
    notes: list[str],
) -> None:
    doc = {
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "floor": asdict(floor) if floor else None,
        "cells": [
            {
                "server": cell.server,
                "protocol": cell.protocol,
                "concurrency": cell.concurrency,
                "rps": cell.rps,
                "p50_ms": cell.p50_ms,
                "p99_ms": cell.p99_ms,
                "cpu_ms_per_request": cell.cpu_ms,
                "failed_requests": cell.errors,
                "error": cell.error or None,
                "samples": [{**asdict(s.wrk), "cpu_ms": s.cpu_ms} for s in cell.samples],
            }
            for cell in cells.values()
        ],
        "targets": [asdict(t) for t in checks],
        "notes": notes,
    }
    write_doc(out, path, doc)


# ---- main -----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (median)")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (whole)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of the warm-up run")
    parser.add_argument("--concurrency", default="1,8,64", help="connections, comma-separated")
    parser.add_argument("--only", help=f"servers, comma-separated, of: {','.join(SPECS)}")
    parser.add_argument("--quick", action="store_true", help="one 2 s run each: a smoke test")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--logs", type=Path, help="keep each server's log in this folder")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a target is missed, 2 when one has no figure",
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SPECS)
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        parser.error(f"unknown server(s) {', '.join(unknown)}; pick from {', '.join(SPECS)}")
    if args.repeat < 1 or args.duration < 1 or args.warmup < 1:
        parser.error("--repeat, --duration and --warmup must be at least 1")
    return Config(
        names=names,
        concurrency=[int(c) for c in args.concurrency.split(",")],
        repeat=1 if args.quick else args.repeat,
        duration_s=2 if args.quick else args.duration,
        warmup_s=1 if args.quick else args.warmup,
        json_path=args.json,
        logs_dir=args.logs,
        check=args.check,
    )


def empty_cells(cfg: Config) -> dict[Key, Cell]:
    return {
        (n, ep.protocol, c): Cell(n, ep.protocol, c)
        for n in cfg.names
        for ep in SPECS[n].endpoints
        for c in cfg.concurrency
    }


@dataclass
class Outcome:
    cells: dict[Key, Cell]
    floor: Floor
    failed: dict[str, str]  # server -> why it did not start
    idle_percent: float | None = None
    log_bytes: dict[str, int] = field(default_factory=dict)  # written while measured


def log_bytes_per_request(outcome: Outcome) -> dict[str, float]:
    """What each server wrote to its log per request (warm-ups included): 0 if it logs none."""
    requests: dict[str, int] = {}
    for cell in outcome.cells.values():
        requests[cell.server] = requests.get(cell.server, 0) + sum(
            s.wrk.requests for s in cell.samples
        )
    return {n: b / requests[n] for n, b in outcome.log_bytes.items() if requests.get(n)}


def run(cfg: Config, log: Console) -> Outcome:
    os.environ["OMP_NUM_THREADS"] = "1"  # before numpy is imported: the in-process floor too
    cells = empty_cells(cfg)
    with tempfile.TemporaryDirectory(prefix="mlp-bench-serving-") as tmp:
        work = Path(tmp)
        log.print("training the model, saving it as joblib and as an MLflow model ...")
        model, files = servers.train_and_save(work)
        outcome = Outcome(cells, measure_floor(model), {})
        running, outcome.failed = servers.start_all(cfg.names, files, work, log)
        for (name, _, _), cell in cells.items():
            if name in outcome.failed:
                cell.error = "did not start (below)"
        try:
            outcome.idle_percent = servers.idle_cpu_percent(running) if running else None
            before = {s.spec.name: s.log.stat().st_size for s in running}
            measure(running, cfg, work, cells, log)
            for s in running:
                outcome.log_bytes[s.spec.name] = s.log.stat().st_size - before[s.spec.name]
        finally:
            servers.stop_all(running)
            if cfg.logs_dir is not None:
                keep_logs(work, cfg.logs_dir)
    return outcome


def keep_logs(work: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for log in work.glob("*/server.log"):
        shutil.copyfile(log, folder / f"{log.parent.name}.log")


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    out = Console(width=None if sys.stdout.isatty() else 160)
    log = Console(stderr=True, style="dim")
    if shutil.which("wrk") is None:
        out.print("[red]wrk is not installed: `apt-get install wrk` (Debian), then re-run[/]")
        return EXIT_FAILED
    try:
        outcome = run(cfg, log)
    except Exception:  # training or starting failed: a failed measurement, not a missed target
        log.print_exception()
        return EXIT_FAILED
    cells, floor = outcome.cells, outcome.floor
    notes = method_notes(cfg, outcome.idle_percent, log_bytes_per_request(outcome))
    checks = print_report(out, cells, floor, cfg, notes)
    for name, error in outcome.failed.items():
        out.print(f"[bold red]{name} did not start:[/] {error}")
    if cfg.json_path is not None:
        write_json(out, cfg.json_path, cells, floor, checks, notes)
    broken = unmeasured_ours(cells)
    for line in broken:
        out.print(f"[bold red]not measured:[/] {line}")
    return EXIT_FAILED if broken else exit_code(checks, cfg.check)


def exit_code(checks: list[Target], check: bool) -> int:
    """0, or with ``check``: 1 when a target is missed, 2 when a target has no figure."""
    if not check:
        return 0
    if any(t.met is False for t in checks):
        return EXIT_MISSED
    return EXIT_FAILED if any(t.met is None for t in checks) else 0


def unmeasured_ours(cells: dict[Key, Cell]) -> list[str]:
    """Cells of ours or of the floor that have no figure: the run fails (peers' are shown)."""
    return [
        f"{c.server} {c.protocol} c={c.concurrency}: {c.error or 'no sample'}"
        for c in cells.values()
        if c.server in (OURS, HELLO) and (c.error or not c.samples)
    ]


if __name__ == "__main__":
    sys.exit(main())
