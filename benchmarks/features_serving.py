"""Serving from entity keys: our server fetching features from the online store, beside the
direct path (the client asks ``feast serve`` for the features, then posts them to our server).

Setup, in a throw-away folder: the churn example's feature store (its Feast definitions,
``--customers`` customers of ``synthetic://churn-activity``, Parquet offline store, SQLite
online store, file registry), applied and materialized; a logistic regression on the
service's features registered in an MLflow SQLite registry, tagged with feature service
``churn``, alias ``champion``. Two servers, each its own process on 127.0.0.1:

* ours: ``mlplatform.serving`` with the feature store (``_features_serving/serve_ours.py``);
* Feast's feature server: ``feast serve`` on the same store (``features.serve.serve_command``),
  one worker, its worker restarts after 1,000 requests turned off (``--max-requests 0``).

Two paths, each a single-row prediction of one customer (ids cycled), timed by the client from
the first byte sent to the last byte of the last answer:

* ``ours``: ``POST /v1/models/M:predict {"instances": [{"customer_id": ID}]}``;
* ``direct``: ``POST /get-online-features`` to ``feast serve`` (the feature service, one
  entity), then ``POST /v1/models/M:predict`` with the features it gave.

Closed loop at each concurrency (one keep-alive connection per worker and server, an asyncio
client on uvloop), ``--duration`` seconds per run after one warm-up run of each path; runs
interleaved (ours, direct) ``--repeat`` times; medians of the runs' p50, p99 and requests/s.
Target: at each concurrency, ours' p50 at most 2 ms above the direct path's p50.

Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a measurement fails.

    .venv/bin/python benchmarks/features_serving.py [--repeat 5] [--duration 5] [--json out.json]
    .venv/bin/python benchmarks/features_serving.py --quick          # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from _report import (
    EXIT_FAILED,
    BenchmarkError,
    Row,
    add_check_and_json,
    exit_code,
    machine,
    rows_table,
    write_doc,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE_REPO = ROOT / "examples" / "pipelines" / "churn" / "features"
MODEL = "churn-features-bench"
SERVICE = "churn"
FEATURES = ["plan", "tenure_days", "spend_30d", "visits_30d", "support_tickets_30d"]
FIRST_ID = 1000  # churn_data's first customer id
ADDED_TARGET_MS = 2.0  # ours' p50 over the direct path's, at most
READY_TIMEOUT_S = 180.0


# ---- the store, the model, the servers ------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    tracking: str
    project: str
    repo: Path
    artifacts: str
    home: Path


def build_store_and_model(folder: Path, customers: int) -> Setup:
    """The feature store (applied, materialized) and the registered, tagged model."""
    from mlflow import MlflowClient

    from mlplatform.components.churn_data import churn_activity
    from mlplatform.components.features import featurize
    from mlplatform.components.train import train
    from mlplatform.features import apply, local_layout, materialize, write_table
    from mlplatform.features.training import SERVICE_TAG
    from mlplatform.tracking import register_model, set_alias

    repo = folder / "features"
    shutil.copytree(EXAMPLE_REPO, repo, ignore=shutil.ignore_patterns("__pycache__"))
    setup = Setup(
        f"sqlite:///{folder / 'mlflow.db'}", "bench", repo, str(folder / "artifacts"), folder
    )
    layout = local_layout(
        project=setup.project, repo=repo, artifact_root=setup.artifacts, home=setup.home
    )
    activity = churn_activity(customers, 7)
    write_table(layout, activity, "customer_activity.parquet", timestamp_field="event_timestamp")
    apply(layout)
    materialize(layout)
    latest = activity.sort_values("event_timestamp").groupby("customer_id").tail(1)
    data = latest[FEATURES].reset_index(drop=True)
    data["target"] = (data["visits_30d"] < data["visits_30d"].median()).astype(int)
    train_frame, _, transformer = featurize(data, target="target", task="binary")
    model = train(train_frame, transformer, model="logreg", target="target", task="binary")
    MlflowClient(setup.tracking).search_experiments()
    version = register_model(
        model,
        MODEL,
        tracking_uri=setup.tracking,
        signature_input=data[FEATURES],
        tags={SERVICE_TAG: SERVICE},
        model_digest="sha256:features-serving-bench",
    )
    set_alias(MODEL, "champion", int(version.version), tracking_uri=setup.tracking)
    return setup


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def started(argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    """A server process, answered 200 on ``ready_url``; stopped (TERM, then KILL) after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-1500:]
                raise BenchmarkError(f"{argv[1]} exited with {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{ready_url} was not ready after {READY_TIMEOUT_S:g} s")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ours_process(setup: Setup, port: int, log: Path) -> Any:
    script = HERE / "_features_serving" / "serve_ours.py"
    args = [setup.tracking, MODEL, setup.project, str(setup.repo), setup.artifacts]
    argv = [sys.executable, str(script), *args, str(setup.home), str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return started(argv, env, f"http://127.0.0.1:{port}/v2/health/ready", log)


def feast_process(setup: Setup, port: int, log: Path) -> Any:
    from mlplatform.features import local_layout
    from mlplatform.features.serve import serve_command

    layout = local_layout(
        project=setup.project, repo=setup.repo, artifact_root=setup.artifacts, home=setup.home
    )
    argv, env = serve_command(layout, port=port)
    argv += ["--max-requests", "0"]  # Feast restarts its worker every ~1000 requests by default
    return started(argv, {**env, "OMP_NUM_THREADS": "1"}, f"http://127.0.0.1:{port}/health", log)


# ---- a lean HTTP/1.1 client ------------------------------------------------------------------
class Connection:
    """One keep-alive connection: POST JSON, read a Content-Length answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = None
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise BenchmarkError(f"an answer from port {self.port} has no Content-Length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


Flow = Callable[[Connection, Connection, int], Awaitable[Any]]


def predict_path() -> str:
    return f"/v1/models/{MODEL}:predict"


async def ours_flow(ours: Connection, _feast: Connection, customer: int) -> Any:
    body = orjson.dumps({"instances": [{"customer_id": customer}]})
    return _answer(await ours.post(predict_path(), body), "ours")


async def direct_flow(ours: Connection, feast: Connection, customer: int) -> Any:
    ask = {"feature_service": SERVICE, "entities": {"customer_id": [customer]}}
    got = orjson.loads(
        _answer(await feast.post("/get-online-features", orjson.dumps(ask)), "feast")
    )
    names = got["metadata"]["feature_names"]
    row = {n: r["values"][0] for n, r in zip(names, got["results"], strict=True) if n in FEATURES}
    body = orjson.dumps({"instances": [row]})
    return _answer(await ours.post(predict_path(), body), "ours (full features)")


def _answer(reply: tuple[int, bytes], who: str) -> bytes:
    status, body = reply
    if status != 200:
        raise BenchmarkError(f"{who} answered {status}: {body[:300]!r}")
    return body


# ---- load -------------------------------------------------------------------------------------
@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    flow: Flow, ports: tuple[int, int], c: int, duration_s: float, customers: int
) -> Run:
    """``c`` closed-loop workers running ``flow`` for ``duration_s`` seconds."""
    ids = itertools.cycle(range(FIRST_ID, FIRST_ID + customers))
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        ours, feast = Connection(ports[0]), Connection(ports[1])
        try:
            while time.perf_counter() < deadline:
                started_at = time.perf_counter()
                await flow(ours, feast, next(ids))
                latencies.append((time.perf_counter() - started_at) * 1000)
        finally:
            ours.close()
            feast.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return Run(latencies, time.perf_counter() - begin)


@dataclass
class Cell:
    runs: list[Run] = field(default_factory=list)

    def median(self, pick: Callable[[Run], float]) -> float | None:
        return statistics.median(pick(r) for r in self.runs) if self.runs else None


def measure(config: Config, ports: tuple[int, int], console: Console) -> dict[str, Cell]:
    import uvloop

    cells: dict[str, Cell] = {}
    flows = {"ours": ours_flow, "direct": direct_flow}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for c in config.concurrency:
            for flow in flows.values():  # warm-up, untimed
                runner.run(load(flow, ports, c, min(1.0, config.duration_s), config.customers))
            for r in range(config.repeat):
                for name, flow in flows.items():
                    run = runner.run(load(flow, ports, c, config.duration_s, config.customers))
                    cells.setdefault(f"{name}@{c}", Cell()).runs.append(run)
                    console.print(f"  c={c} {name} run {r + 1}: p50 {run.quantile(0.5):.3f} ms, "
                                  f"{run.rps:.0f} req/s")  # fmt: skip
    return cells


def check_same_answers(ports: tuple[int, int], customers: int) -> None:
    """Both paths predict the same for the same customers (or the comparison means nothing)."""

    async def both() -> None:
        ours, feast = Connection(ports[0]), Connection(ports[1])
        try:
            for customer in range(FIRST_ID, FIRST_ID + min(customers, 20)):
                a = orjson.loads(await ours_flow(ours, feast, customer))
                b = orjson.loads(await direct_flow(ours, feast, customer))
                if a["predictions"] != b["predictions"]:
                    raise BenchmarkError(f"customer {customer}: ours {a}, direct {b}")
        finally:
            ours.close()
            feast.close()

    asyncio.run(both())


# ---- rows and targets -------------------------------------------------------------------------
def rows_of(cells: dict[str, Cell], concurrency: list[int]) -> list[Row]:
    rows: list[Row] = []
    for c in concurrency:
        ours, direct = cells[f"ours@{c}"], cells[f"direct@{c}"]
        p50 = ours.median(lambda r: r.quantile(0.5)), direct.median(lambda r: r.quantile(0.5))
        p99 = ours.median(lambda r: r.quantile(0.99)), direct.median(lambda r: r.quantile(0.99))
        rps = ours.median(lambda r: r.rps), direct.median(lambda r: r.rps)
        rows += [
            Row(f"p50 latency (ms), c={c}", p50[0], p50[1], "(information)"),
            Row(f"p99 latency (ms), c={c}", p99[0], p99[1], "(information)"),
            Row(f"throughput (req/s), c={c}", rps[0], rps[1], "(information)"),
        ]
        added = None if None in p50 else p50[0] - p50[1]  # type: ignore[operator]
        met = None if added is None else added < ADDED_TARGET_MS
        rows.append(Row(f"enrichment added p50 (ms), c={c}", added, None,
                        f"< {ADDED_TARGET_MS:g} ms", met))  # fmt: skip
    return rows


# ---- command line -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    repeat: int
    duration_s: float
    concurrency: list[int]
    customers: int
    check: bool
    json: Path | None


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per path and concurrency")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated, default 1,16")
    parser.add_argument("--customers", type=int, default=1000, help="entities in the store")
    parser.add_argument("--quick", action="store_true", help="one short run: a smoke test")
    add_check_and_json(parser)
    args = parser.parse_args(argv)
    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.quick:
        return Config(1, 1.0, concurrency, 60, args.check, args.json)
    return Config(args.repeat, args.duration, concurrency, args.customers, args.check, args.json)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    console = Console()
    try:
        with tempfile.TemporaryDirectory(prefix="mlp-features-bench-") as tmp:
            folder = Path(tmp)
            console.print(f"building the feature store ({config.customers} customers) and model")
            setup = build_store_and_model(folder, config.customers)
            ports = (free_port(), free_port())
            with ours_process(setup, ports[0], folder / "ours.log"), \
                 feast_process(setup, ports[1], folder / "feast.log"):  # fmt: skip
                check_same_answers(ports, config.customers)
                cells = measure(config, ports, console)
    except BenchmarkError as exc:
        console.print("[bold red]measurement failed:[/]")
        console.print(str(exc), markup=False, highlight=False)
        return EXIT_FAILED
    rows = rows_of(cells, config.concurrency)
    console.print(rows_table("serving from entity keys: ours vs feast serve + predict", rows,
                             "direct"))  # fmt: skip
    missed = any(r.met is False for r in rows)
    console.print("[bold red]MISS[/]" if missed else "[green]PASS[/]")
    if config.json is not None:
        doc = {
            "machine": machine(),
            "config": {"repeat": config.repeat, "duration_s": config.duration_s,
                       "concurrency": config.concurrency, "customers": config.customers},
            "rows": {r.name: r.to_dict() for r in rows},
        }  # fmt: skip
        write_doc(console, config.json, doc)
    return exit_code(rows, config.check)


if __name__ == "__main__":
    sys.exit(main())
