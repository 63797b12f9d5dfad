"""`mlp demo`: the whole lifecycle on the embedded default, as a list of stages.

Each stage is a function that takes the workspace, the report so far and a progress callback,
and adds to the report. ``STAGES``: train the standard pipeline twice (the second run fully
cached), take the registered version through governance to production (an attempt without an
approval is refused, a second person approves under a ticket, the promotion passes, the audit
log verifies), check the held-out split and a shifted copy of it for drift, then serve the
champion, send it traffic and sample its payloads. The CLI prints what they report.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.artifacts.materializers import load
from mlplatform.drift import (
    DriftConfig,
    DriftResult,
    NumericProfile,
    ReferenceProfile,
    check_drift,
)
from mlplatform.drift.report import write_report
from mlplatform.errors import ServingError
from mlplatform.pipelines.local import PipelineRunResult, ProgressEvent
from mlplatform.workspace import Workspace

__all__ = [
    "DEMO_PARAMS",
    "DEMO_PIPELINE",
    "NEXT_STEPS",
    "DemoReport",
    "DriftBatch",
    "GovernanceSummary",
    "ServingSummary",
    "run_demo",
]

DEMO_PIPELINE = "standard-training"
DEMO_PARAMS: dict[str, Any] = {
    "source": "sklearn://breast_cancer",
    "model": "gbm",
    "model_name": "demo-breast-cancer",
}

NEXT_STEPS = [
    ("see what would run, and why", "mlp pipeline plan standard-training -p model=logreg"),
    (
        "train another model",
        "mlp pipeline run standard-training -p model=logreg -p model_name=demo-breast-cancer",
    ),
    ("inspect the registry", "mlp models show demo-breast-cancer"),
    ("serve the champion (KServe V1/V2 REST)", "mlp serve demo-breast-cancer --port 8080"),
    ("roll the champion back", "mlp models rollback demo-breast-cancer --reason 'demo'"),
    ("read the audit log", "mlp audit list --model demo-breast-cancer"),
    (
        "check new data for drift",
        "mlp drift check -r models:/demo-breast-cancer@champion -c NEW.parquet --report d.html",
    ),
    ("browse runs in MLflow", "mlp ui"),
]


@dataclass(frozen=True)
class DriftBatch:
    """One batch the demo checked for drift, its result and its HTML report."""

    name: str
    result: DriftResult
    report: str


@dataclass(frozen=True)
class ServingSummary:
    """The demo's traffic against the served champion: client-side latency, what the
    server's /metrics counted, and where the sampled payloads went."""

    url: str
    version: str
    requests: int
    concurrency: int
    seconds: float
    p50_ms: float
    p99_ms: float
    codes: dict[str, float]
    mean_batch_rows: float
    samples_key: str | None
    sampled_rows: int


@dataclass(frozen=True)
class GovernanceSummary:
    """The registered version's way to production: the refused attempt (the rules it broke,
    empty when it was approved by an earlier demo), the approval, and the audit log."""

    version: int
    semver: str
    author: str
    refused_rules: tuple[str, ...]
    approved_by: str
    ticket: str
    stage: str
    aliases: tuple[str, ...]
    audit_records: int
    audit_intact: bool


@dataclass
class DemoReport:
    """What the demo did: the two runs, what the pipeline evaluated and registered, and the
    drift checks of a clean and a shifted batch against the registered model's profile."""

    runs: list[PipelineRunResult] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    registration: dict[str, Any] = field(default_factory=dict)
    drift: list[DriftBatch] = field(default_factory=list)
    serving: ServingSummary | None = None
    governance: GovernanceSummary | None = None


Progress = Callable[[str], Callable[[ProgressEvent], None] | None]


def train_twice(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Run the standard pipeline, then again to show that every step is cached."""
    graph = ws.pipeline(DEMO_PIPELINE).graph
    for title in ("first run", "second run (everything cached)"):
        executor = ws.executor(progress=progress(title))
        report.runs.append(executor.run(graph, DEMO_PARAMS))
    last = report.runs[-1]
    report.evaluation = dict(load(ws.store, last.output("evaluate")))  # type: ignore[call-overload]
    report.registration = dict(load(ws.store, last.output("register")))  # type: ignore[call-overload]


DEMO_REVIEWER = "demo-reviewer"
DEMO_TICKET = "DEMO-1"


def govern(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Take the registered version to production the governed way: promoting it without an
    approval is refused (nothing changes, the refusal is recorded), a second person (the
    demo plays ``demo-reviewer``: on the local profile identities are self-asserted) approves
    it under a ticket, the promotion then passes and moves the production aliases, and the
    audit log verifies."""
    from mlplatform.errors import PromotionRejectedError
    from mlplatform.governance import audit
    from mlplatform.governance.check import facts_from_version
    from mlplatform.governance.operations import approve, move_alias, set_stage
    from mlplatform.tracking import get_version

    reg, uri, log, rules = (
        report.registration,
        ws.tracking_uri,
        ws.audit_log(),
        ws.governance_rules(),
    )
    name, version, user = str(reg["name"]), int(reg["version"]), ws.settings.user
    refused: tuple[str, ...] = ()
    facts = facts_from_version(get_version(name, version, tracking_uri=uri))
    if facts.stage != "production":
        try:
            set_stage(
                name, version, "production", tracking_uri=uri, actor=user, log=log, rules=rules
            )
        except PromotionRejectedError as exc:
            refused = tuple(exc.headline.rsplit("(", 1)[-1].rstrip(")").split(", "))
        approve(name, version, tracking_uri=uri, actor=DEMO_REVIEWER, ticket=DEMO_TICKET,
                note="demo: holdout metrics reviewed", log=log, rules=rules)  # fmt: skip
        set_stage(name, version, "production", tracking_uri=uri, actor=user, log=log, rules=rules)
        for alias in rules.production_aliases:
            move_alias(name, alias, version, tracking_uri=uri, actor=user,
                       reason="demo: production", log=log, rules=rules)  # fmt: skip
    info = get_version(name, version, tracking_uri=uri)
    facts = facts_from_version(info)
    current = facts.approval
    found = audit.records(
        store_root=log.store_root, storage_options=log.storage_options, model=name
    )
    problems = audit.verify(store_root=log.store_root, storage_options=log.storage_options,
                            key=log.key, tracking_uri=uri, model=name)  # fmt: skip
    report.governance = GovernanceSummary(
        version=version,
        semver=facts.semver or "",
        author=facts.author or "",
        refused_rules=refused,
        approved_by=current.by if current else "",
        ticket=current.ticket if current else "",
        stage=facts.stage,
        aliases=tuple(info.aliases),
        audit_records=len(found),
        audit_intact=not problems,
    )


DRIFT_SHIFT_STDS = 0.5


def check_drift_twice(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Check two batches against the profile saved at registration: the held-out test split
    (clean: no drift), and the same rows with every feature moved by half a reference
    standard deviation (drift). Each gets an HTML report under ``<home>/drift``."""
    from mlplatform.components.register import load_reference_profile

    reg = report.registration
    profile = load_reference_profile(reg["name"], reg["version"], tracking_uri=ws.tracking_uri)
    test = load(ws.store, report.runs[-1].output("featurize", "test"))
    assert isinstance(test, pd.DataFrame)
    clean = test[list(profile.columns)]
    config = DriftConfig.from_mapping(ws.settings.drift.model_dump(exclude={"bins"}))
    folder = ws.settings.home_dir / "drift"
    for name, batch in (("clean", clean), ("shifted", _shifted(clean, profile))):
        result = check_drift(profile, batch, config)
        path = write_report(
            result,
            folder / f"demo-{name}.html",
            title=f"Drift of the {name} batch",
            reference_name=f"models:/{reg['name']}/{reg['version']}",
            current_name=f"{name} batch ({len(batch)} rows)",
        )
        report.drift.append(DriftBatch(name, result, str(path)))


def _shifted(batch: pd.DataFrame, profile: ReferenceProfile) -> pd.DataFrame:
    moved = batch.copy()
    for name, col in profile.columns.items():
        if isinstance(col, NumericProfile):
            moved[name] = moved[name].astype("float64") + DRIFT_SHIFT_STDS * col.std
    return moved


SERVE_REQUESTS = 400
SERVE_CONCURRENCY = 16


def serve_and_sample(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Serve the champion in its own process on a free localhost port (as `mlp serve` does),
    send single-row V1 requests from the test split (shifted by half a standard deviation,
    so drift shows), read the server's metrics, stop it (it flushes its payload samples to
    Parquet in the artifact store), and check those samples for drift against the profile."""
    from mlplatform.components.register import load_reference_profile
    from mlplatform.serving.sampler import SAMPLES_PREFIX

    reg = report.registration
    profile = load_reference_profile(reg["name"], reg["version"], tracking_uri=ws.tracking_uri)
    test = load(ws.store, report.runs[-1].output("featurize", "test"))
    assert isinstance(test, pd.DataFrame)
    rows = _shifted(test[list(profile.columns)], profile).to_dict("records")
    prefix = f"{SAMPLES_PREFIX}/{reg['name']}"
    before = set(ws.store.list(prefix))
    with _model_server(ws, f"models:/{reg['name']}@champion") as url:
        latencies, seconds = asyncio.run(_traffic(url, reg["name"], rows))
        metrics = _scrape(url)
        version = str(_metadata(url, reg["name"])["versions"][0])
    written = sorted(set(ws.store.list(prefix)) - before)
    samples = pd.concat(
        [pd.read_parquet(io.BytesIO(ws.store.read_bytes(key))) for key in written]
    ) if written else pd.DataFrame(columns=list(profile.columns))  # fmt: skip
    batches = metrics.get("mlplatform_inference_batch_size_count", 0.0)
    report.serving = ServingSummary(
        url=url,
        version=version,
        requests=len(latencies),
        concurrency=SERVE_CONCURRENCY,
        seconds=seconds,
        p50_ms=float(np.percentile(latencies, 50) * 1000),
        p99_ms=float(np.percentile(latencies, 99) * 1000),
        codes={k.split("code=", 1)[1]: v for k, v in metrics.items() if "code=" in k},
        mean_batch_rows=metrics.get("mlplatform_inference_batch_size_sum", 0.0) / max(batches, 1),
        samples_key=ws.store.url(written[-1]) if written else None,
        sampled_rows=len(samples),
    )
    current = samples[list(profile.columns)]
    config_drift = DriftConfig.from_mapping(ws.settings.drift.model_dump(exclude={"bins"}))
    result = check_drift(profile, current, config_drift)
    path = write_report(
        result,
        ws.settings.home_dir / "drift" / "demo-served.html",
        title="Drift of the payloads the model server sampled",
        reference_name=f"models:/{reg['name']}/{reg['version']}",
        current_name=f"sampled requests ({len(current)} rows)",
    )
    report.drift.append(DriftBatch("served (sampled)", result, str(path)))


@contextlib.contextmanager
def _model_server(ws: Workspace, uri: str) -> Iterator[str]:
    """``python -m mlplatform.serving`` on a free port, sampling every request into the
    workspace's store; stopped with SIGTERM (it flushes its samples)."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "mlplatform.serving", "--model-uri", uri,
        "--tracking-uri", ws.tracking_uri, "--host", "127.0.0.1", "--port", str(port),
        "--sample-fraction", "1", "--samples-store", str(ws.store.root),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise ServingError(f"the model server exited: {proc.communicate()[0][-2000:]}")
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServingError("the model server did not become ready in 120 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _metadata(url: str, model: str) -> dict[str, Any]:
    import httpx

    answer: dict[str, Any] = httpx.get(f"{url}/v2/models/{model}").json()
    return answer


async def _traffic(url: str, model: str, rows: list[dict[Any, Any]]) -> tuple[list[float], float]:
    import socket
    import time

    import httpx

    latencies: list[float] = []
    endpoint = f"{url}/v1/models/{model}:predict"

    async def worker(client: httpx.AsyncClient, start: int) -> None:
        for i in range(start, SERVE_REQUESTS, SERVE_CONCURRENCY):
            began = time.perf_counter()
            answer = await client.post(endpoint, json={"instances": [rows[i % len(rows)]]})
            answer.raise_for_status()
            latencies.append(time.perf_counter() - began)

    # TCP_NODELAY: without it, a client that writes headers and body separately waits for
    # the server's delayed ACK (40 ms) on every request
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    transport = httpx.AsyncHTTPTransport(socket_options=nodelay)
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, transport=transport) as client:
        await asyncio.gather(*(worker(client, i) for i in range(SERVE_CONCURRENCY)))
    return latencies, time.perf_counter() - began


def _scrape(url: str) -> dict[str, float]:
    """The server's own series, summed over labels except the status code."""
    import httpx

    out: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if not line.startswith(
            ("mlplatform_inference_requests_total", "mlplatform_inference_batch")
        ):
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        if name == "mlplatform_inference_requests_total":
            code = series.split('code="', 1)[1].split('"', 1)[0]
            name = f"{name} code={code}"
        out[name] = out.get(name, 0.0) + float(value)
    return out


Stage = Callable[[Workspace, DemoReport, Progress], None]

STAGES: list[Stage] = [train_twice, govern, check_drift_twice, serve_and_sample]


def run_demo(ws: Workspace, progress: Progress) -> DemoReport:
    report = DemoReport()
    for stage in STAGES:
        stage(ws, report, progress)
    return report
