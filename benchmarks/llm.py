"""The local LLM stack on the tiny model: continuous batching (output tokens/s at concurrency
16 vs 1) and the local router's overhead against calling vLLM directly, in the same run.

The benchmark builds the tiny random-weight Llama (``mlplatform.llm.local.build_tiny_model``)
in a throw-away folder and starts ``mlp llm serve`` with it (one engine, started at once,
never stopped when idle), then runs vLLM's own benchmark (``mlplatform.llm.bench.run_bench``:
``vllm.benchmarks.serve``, random prompts, ``--input-len``/``--output-len`` tokens, the
ladder 1, 16) against the router's URL and against the engine's own URL, alternately (router
first in even repetitions, the engine first in odd ones), after one untimed warm-up of each.
Medians of ``--repeat`` repetitions. ``mlp llm serve`` and its engine are stopped at the end
(by process group).

Rows (ours: through the router; peer: vLLM called directly):

* ``output tokens/s, c=16 / c=1``: continuous batching; target at least 4x (through the router);
* ``output tokens/s, c=N``: router vs direct; target at least 0.95x direct at each N;
* ``TTFT p50 (ms), c=N``: router vs direct; target at most 1.05x direct at each N.

Exit status: 0, or with ``--check`` 1 when a target is missed; 2 when a measurement fails
(no engine, a benchmark step that completed no request) or, with ``--check``, a target has no
figure.

    .venv/bin/python benchmarks/llm.py [--repeat 5] [--json out.json] [--check]
    .venv/bin/python benchmarks/llm.py --quick     # smoke: one repetition, few prompts
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console

from _report import (
    EXIT_FAILED,
    INFORMATION,
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

MLP = Path(sys.executable).with_name("mlp")
LADDER = (1, 16)
BATCHING_TARGET = 4.0  # tokens/s at c=16 over c=1
OVERHEAD_TARGET = 0.05  # the router against vLLM directly
START_TIMEOUT_S = 600.0
SERVED = "tiny-chat"
# Requests per step: 16 per concurrent one, at least 64 (c=1: 64, c=16: 256), so that each
# step lasts seconds, not a fraction of one (a busy machine's hiccups average out).
PROMPTS_PER_CONCURRENCY, MIN_PROMPTS = 16, 64
BURST_ITL_MS = 0.1


@dataclass
class Samples:
    """Per endpoint ("router", "direct"), per concurrency: one figure per repetition."""

    tokens_per_s: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    ttft_p50_ms: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    raw: list[dict[str, Any]] = field(default_factory=list)
    # the router process's CPU per output token (µs), in the runs against each endpoint
    router_cpu_us_per_token: dict[str, list[float]] = field(default_factory=dict)

    def add(self, endpoint: str, concurrency: int, tokens_per_s: float, ttft_ms: float) -> None:
        self.tokens_per_s.setdefault(endpoint, {}).setdefault(concurrency, []).append(tokens_per_s)
        self.ttft_p50_ms.setdefault(endpoint, {}).setdefault(concurrency, []).append(ttft_ms)

    def median(self, which: str, endpoint: str, concurrency: int) -> float | None:
        figures = getattr(self, which).get(endpoint, {}).get(concurrency)
        return statistics.median(figures) if figures else None


# ---- the measurement --------------------------------------------------------------------------
def measure(cfg: argparse.Namespace, work: Path, console: Console) -> Samples:
    """Build the tiny model, serve it, and run the alternating repetitions."""
    from mlplatform.llm.local import build_tiny_model

    console.print("building the tiny model and starting `mlp llm serve` (about a minute) ...")
    model_dir = build_tiny_model(work / SERVED)
    server = _start_server(model_dir, work)
    engine_pid: list[int] = []
    try:
        router, direct = _wait_running(server, work / "serve.log", engine_pid)
        urls = {"router": router, "direct": direct}
        return _repetitions(cfg, model_dir, urls, psutil.Process(server.pid), console)
    finally:
        _stop(server, engine_pid[0] if engine_pid else None)


def _repetitions(
    cfg: argparse.Namespace,
    model_dir: Path,
    urls: dict[str, str],
    router_process: psutil.Process,
    console: Console,
) -> Samples:
    from mlplatform.errors import MlplatformError

    samples = Samples()
    try:
        for name, url in urls.items():  # warm-up, not counted
            _bench(cfg, model_dir, url)
            console.print(f"  warm-up against {name} ({url}) done")
        for rep in range(cfg.repeat):
            order = list(urls) if rep % 2 == 0 else list(reversed(urls))
            for name in order:
                cpu = _cpu_seconds(router_process)
                result = _bench(cfg, model_dir, urls[name])
                tokens = sum(st.output_tokens_per_s * st.duration_s for st in result.steps)
                router_cpu = _cpu_seconds(router_process) - cpu
                samples.router_cpu_us_per_token.setdefault(name, []).append(
                    1e6 * router_cpu / tokens
                )
                for step in result.steps:
                    ttft = step.latency_ms["ttft"]["p50"]
                    samples.add(name, step.concurrency, step.output_tokens_per_s, ttft)
                samples.raw.append({"repetition": rep, "endpoint": name, **result.to_dict()})
            console.print(f"  repetition {rep + 1}/{cfg.repeat} done")
    except MlplatformError as exc:
        raise BenchmarkError(str(exc)) from exc
    return samples


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of the router process itself (its engine is another)."""
    times = process.cpu_times()
    return float(times.user + times.system)


def _bench(cfg: argparse.Namespace, model_dir: Path, url: str) -> Any:
    from mlplatform.llm.bench import BenchOptions, run_bench

    options = BenchOptions(
        endpoint=url,
        model=SERVED,
        tokenizer=str(model_dir),
        concurrency=LADDER,
        input_len=cfg.input_len,
        output_len=cfg.output_len,
        num_prompts=cfg.num_prompts,
        prompts_per_concurrency=PROMPTS_PER_CONCURRENCY,
        min_prompts=MIN_PROMPTS,
    )
    return run_bench(options)


def _start_server(model_dir: Path, work: Path) -> subprocess.Popen[bytes]:
    from mlplatform.llm.local import free_port

    port = free_port()
    with (work / "serve.log").open("ab") as log:
        return subprocess.Popen(
            [str(MLP), "llm", "serve", f"{SERVED}={model_dir}", "--port", str(port),
             "--preload", "--idle-timeout", "0", "--dtype", "float32",
             "--start-timeout", str(int(START_TIMEOUT_S))],
            cwd=work,
            env={**os.environ, "MLPLATFORM_HOME": str(work / ".mlplatform")},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _wait_running(
    server: subprocess.Popen[bytes], log: Path, engine_pid: list[int]
) -> tuple[str, str]:
    """The router's and the engine's URLs once the engine answers (its PID into
    ``engine_pid``, so that it can be stopped whatever happens next)."""
    port = server.args[server.args.index("--port") + 1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchmarkError(f"`mlp llm serve` exited:\n{log.read_text()[-3000:]}")
        try:
            rows = httpx.get(f"{url}/status", timeout=2).json()["models"]
            if rows and rows[0]["pid"] and not engine_pid:
                engine_pid.append(int(rows[0]["pid"]))
            if rows and rows[0]["state"] == "running":
                return url, str(rows[0]["url"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise BenchmarkError(f"`mlp llm serve` did not start its engine:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen[bytes], engine_pid: int | None) -> None:
    """Stop `mlp llm serve` (SIGTERM: it stops its engine); if it does not exit, kill its
    process group and the engine's (its own, started with a new session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
        return  # it stopped its engine on the way out
    except subprocess.TimeoutExpired:
        for pgid in (server.pid, engine_pid):
            if pgid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        server.wait()


# ---- the report -------------------------------------------------------------------------------
def rows(samples: Samples) -> list[Row]:
    """The targeted rows (and the direct engine's batching ratio, for information)."""
    out: list[Row] = []
    for endpoint, target in (("router", f">= {BATCHING_TARGET:g}x"), ("direct", INFORMATION)):
        low, high = (samples.median("tokens_per_s", endpoint, c) for c in LADDER)
        ratio = None if low is None or high is None or low == 0 else high / low
        name = f"output tokens/s, c={LADDER[1]} / c={LADDER[0]} ({endpoint})"
        met = None if ratio is None or target == INFORMATION else ratio >= BATCHING_TARGET
        out.append(Row(name, ratio, target=target, met=met))
    for c in LADDER:
        ours, peer = (samples.median("tokens_per_s", e, c) for e in ("router", "direct"))
        met = None if ours is None or not peer else ours >= (1 - OVERHEAD_TARGET) * peer
        out.append(Row(f"output tokens/s, c={c}", ours, peer, f">= {1 - OVERHEAD_TARGET:g}x", met))
    for c in LADDER:
        ours, peer = (samples.median("ttft_p50_ms", e, c) for e in ("router", "direct"))
        met = None if ours is None or not peer else ours <= (1 + OVERHEAD_TARGET) * peer
        out.append(Row(f"TTFT p50 (ms), c={c}", ours, peer, f"<= {1 + OVERHEAD_TARGET:g}x", met))
    return out


def footnotes(samples: Samples, cfg: argparse.Namespace) -> dict[str, Any]:
    spread = {
        f"{which} {endpoint} c={c} (min..max)": f"{min(v):.1f}..{max(v):.1f}"
        for which in ("tokens_per_s", "ttft_p50_ms")
        for endpoint, by_c in getattr(samples, which).items()
        for c, v in sorted(by_c.items())
    }
    cpu = {
        f"router process CPU per output token (us), runs against {endpoint}": statistics.median(v)
        for endpoint, v in samples.router_cpu_us_per_token.items()
    }
    bursts = {
        f"steps streamed in one burst (ITL p50 < {BURST_ITL_MS} ms), {endpoint}": (
            f"{sum(n)} of {len(n)}"
        )
        for endpoint in ("router", "direct")
        if (n := _bursts(samples, endpoint))
    }
    return {
        "workload": f"random prompts, {cfg.input_len} tokens in, {cfg.output_len} out, "
        f"/v1/chat/completions streaming, ladder {LADDER}, requests per step "
        + (
            str(cfg.num_prompts)
            if cfg.num_prompts
            else f"{PROMPTS_PER_CONCURRENCY} x concurrency, at least {MIN_PROMPTS}"
        ),
        "repetitions": cfg.repeat,
        **cpu,
        **bursts,
        **spread,
    }


def _bursts(samples: Samples, endpoint: str) -> list[bool]:
    """Per measured step against ``endpoint``: did vLLM send its answers' tokens at once?

    On a busy CPU machine vLLM's server sometimes sends a stream's events together at the
    end (TTFT close to the whole request, inter-token latency near 0), through the router or
    not; such steps have lower throughput, and the footnote says how often it happened.
    """
    return [
        step["latency_ms"]["itl"]["p50"] < BURST_ITL_MS
        for run in samples.raw
        if run["endpoint"] == endpoint
        for step in run["steps"]
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--output-len", type=int, default=32)
    parser.add_argument("--num-prompts", type=int, default=None, help="requests per step")
    parser.add_argument("--quick", action="store_true", help="smoke: 1 repetition, 8 prompts")
    add_check_and_json(parser)
    cfg = parser.parse_args(argv)
    if cfg.repeat < 1:
        parser.error("--repeat must be at least 1")
    if cfg.quick:
        cfg.repeat, cfg.num_prompts = 1, cfg.num_prompts or 8
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 140)
    samples = measure_in_temp(console, "mlp-bench-llm-", lambda work: measure(cfg, work, console))
    if samples is None:
        return EXIT_FAILED
    table_rows = rows(samples)
    notes = footnotes(samples, cfg)
    title = f"Local LLM stack, tiny model (median of {cfg.repeat}; ours: through the router)"
    console.print(rows_table(title, table_rows, "vLLM direct", spec=".1f"))
    print_notes(console, notes)
    if cfg.json:
        doc = {
            "rows": {r.name: r.to_dict() for r in table_rows},
            "notes": notes,
            "samples": samples.raw,
            "machine": machine(with_os=True),
        }
        write_doc(console, cfg.json, doc)
    return exit_code(table_rows, cfg.check)


if __name__ == "__main__":
    sys.exit(main())
