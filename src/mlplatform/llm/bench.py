"""Benchmark an OpenAI endpoint with vLLM's own load generator, over a concurrency ladder.

Nothing here generates load: ``run_bench`` runs ``bench_script.py`` with the LLM venv's
Python, which calls ``vllm.benchmarks.serve`` once per concurrency (random prompts of fixed
input and output length, ``/v1/chat/completions``, streaming) and writes vLLM's figures as
JSON; this module checks the endpoint first, follows the steps for a progress display, and
reads the figures back into ``BenchResult``. ``log_bench`` records a result as an MLflow run
(params, and metrics per step), linked to a registered LLM version when there is one.

- ``parse_goodput``: ``ttft:500,tpot:50`` -> SLOs in milliseconds (vLLM's ``--goodput``);
- ``parse_ladder``: ``1,4,16`` -> the concurrency steps;
- ``endpoint_base``: the server URL the benchmark talks to (a trailing ``/v1`` dropped).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mlplatform.errors import ConfigError, ServingError
from mlplatform.llm.local.venv import llm_python

__all__ = [
    "EXPERIMENT",
    "GOODPUT_METRICS",
    "LATENCY_METRICS",
    "PERCENTILES",
    "BenchOptions",
    "BenchResult",
    "StepResult",
    "endpoint_base",
    "log_bench",
    "parse_goodput",
    "parse_ladder",
    "run_bench",
]

SCRIPT = Path(__file__).with_name("bench_script.py")
EXPERIMENT = "llm-bench"
GOODPUT_METRICS = ("ttft", "tpot", "e2el")  # what vLLM's --goodput accepts
LATENCY_METRICS = ("ttft", "tpot", "itl", "e2el")
PERCENTILES = ("p50", "p90", "p99")
BENCH_RUN_TAG = "mlp.llm.bench_run"  # on the model version: its latest benchmark run
_MARK = "@@mlp-bench "
_GOODPUT_EXAMPLE = "--goodput ttft:500,tpot:50"

ProgressCallback = Callable[[str, int], None]  # ("start" | "done", concurrency)


def parse_goodput(spec: str | None) -> dict[str, float]:
    """``ttft:500,tpot:50`` as ``{"ttft": 500.0, "tpot": 50.0}`` (milliseconds; ``None``: {}).

    Raises:
        ConfigError: a pair is not ``METRIC:MS``, the metric is not ttft, tpot or e2el, the
            value is not a non-negative number, or a metric repeats.
    """
    slos: dict[str, float] = {}
    for pair in (spec or "").replace(" ", ",").split(","):
        if not pair:
            continue
        name, sep, value = pair.partition(":")
        name = name.strip().lower()
        if not sep or name not in GOODPUT_METRICS or name in slos:
            raise ConfigError(
                f"Bad goodput SLO {pair!r} in {spec!r}: expected METRIC:MILLISECONDS with "
                f"METRIC one of {', '.join(GOODPUT_METRICS)}, each at most once.",
                f"For example {_GOODPUT_EXAMPLE} (a request is good when its time to first "
                "token is at most 500 ms and its time per output token at most 50 ms).",
            )
        slos[name] = _milliseconds(value, pair, spec or "")
    return slos


def _milliseconds(value: str, pair: str, spec: str) -> float:
    try:
        ms = float(value)
    except ValueError:
        ms = -1.0
    if not ms >= 0 or ms == float("inf"):
        raise ConfigError(
            f"Bad goodput SLO {pair!r} in {spec!r}: {value!r} is not a number of milliseconds.",
            f"Give each SLO as METRIC:MILLISECONDS, for example {_GOODPUT_EXAMPLE}.",
        )
    return ms


def parse_ladder(spec: str) -> tuple[int, ...]:
    """``1,4,16`` as ``(1, 4, 16)``: positive whole numbers, each once, in the given order.

    Raises:
        ConfigError: anything else.
    """
    try:
        steps = tuple(int(part) for part in spec.split(",") if part.strip())
    except ValueError:
        steps = ()
    if not steps or min(steps) < 1 or len(set(steps)) != len(steps):
        raise ConfigError(
            f"Bad concurrency ladder {spec!r}: expected positive whole numbers separated "
            "by commas, each once.",
            "For example --concurrency 1,4,16 (one step per figure, in that order).",
        )
    return steps


def endpoint_base(url: str) -> str:
    """The server's base URL: ``http://host:8000/v1/`` -> ``http://host:8000``.

    Raises:
        ConfigError: not an http(s) URL.
    """
    base = url.strip().rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    parsed = httpx.URL(base) if base.startswith(("http://", "https://")) else None
    if parsed is None or not parsed.host:
        raise ConfigError(
            f"Bad endpoint {url!r}: expected the server's http(s) URL.",
            "For example http://127.0.0.1:8000 (what `mlp llm serve` prints) or the "
            "OpenAI base URL ending in /v1.",
        )
    return base


@dataclass(frozen=True)
class BenchOptions:
    """What to run: the endpoint, the served model and the ladder.

    Attributes:
        endpoint: the server (``endpoint_base``); requests go to ``/v1/chat/completions``.
        model: the name sent as the OpenAI ``model``.
        tokenizer: a tokenizer folder (or a Hub id the LLM venv has cached) that makes the
            random prompts exactly ``input_len`` tokens long.
        num_prompts: requests per step; ``None``: ``prompts_per_concurrency`` per concurrent
            request, at least ``min_prompts``.
        goodput: SLOs in milliseconds (``parse_goodput``).
        start_timeout: seconds the first request may wait (an engine that starts on demand).
    """

    endpoint: str
    model: str
    tokenizer: str
    concurrency: tuple[int, ...] = (1, 4, 16)
    input_len: int = 128
    output_len: int = 128
    num_prompts: int | None = None
    goodput: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    start_timeout: float = 600.0
    prompts_per_concurrency: int = 4
    min_prompts: int = 16

    def prompts_for(self, concurrency: int) -> int:
        """Requests in the step at ``concurrency``."""
        return self.num_prompts or max(self.min_prompts, self.prompts_per_concurrency * concurrency)

    def params(self) -> dict[str, str]:
        """The run's parameters, as MLflow records them."""
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "tokenizer": self.tokenizer,
            "concurrency": ",".join(map(str, self.concurrency)),
            "input_len": str(self.input_len),
            "output_len": str(self.output_len),
            "num_prompts": ",".join(str(self.prompts_for(c)) for c in self.concurrency),
            "goodput": ",".join(f"{k}:{v:g}" for k, v in self.goodput.items()) or "-",
            "seed": str(self.seed),
            "dataset": "random",
            "backend": "openai-chat",
        }


@dataclass(frozen=True)
class StepResult:
    """vLLM's figures for one concurrency.

    Attributes:
        latency_ms: ``{"ttft"|"tpot"|"itl"|"e2el": {"mean"|"p50"|"p90"|"p99": ms}}``.
        goodput_rps: requests per second that met every SLO (``None`` without SLOs).
    """

    concurrency: int
    num_prompts: int
    completed: int
    failed: int
    duration_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    requests_per_s: float
    goodput_rps: float | None
    latency_ms: dict[str, dict[str, float]]
    first_error: str | None = None

    @property
    def good_fraction(self) -> float | None:
        """The share of requests that met every SLO."""
        if self.goodput_rps is None or not self.requests_per_s:
            return None
        return self.goodput_rps / self.requests_per_s

    def metrics(self) -> dict[str, float]:
        """Flat figures: ``output_tokens_per_s``, ``ttft_p50_ms``... (MLflow's metric keys)."""
        flat = {
            "output_tokens_per_s": self.output_tokens_per_s,
            "total_tokens_per_s": self.total_tokens_per_s,
            "requests_per_s": self.requests_per_s,
            "completed": float(self.completed),
            "failed": float(self.failed),
            "duration_s": self.duration_s,
        }
        if self.goodput_rps is not None:
            flat["goodput_rps"] = self.goodput_rps
        for metric, stats in self.latency_ms.items():
            flat.update({f"{metric}_{stat}_ms": value for stat, value in stats.items()})
        return flat

    @classmethod
    def from_vllm(cls, raw: Mapping[str, Any], num_prompts: int) -> StepResult:
        """From one step of ``bench_script.py``'s output (vLLM's result keys)."""
        latency = {
            metric: {
                stat: float(raw[key])
                for stat, key in [("mean", f"mean_{metric}_ms")]
                + [(p, f"{p}_{metric}_ms") for p in PERCENTILES]
                if raw.get(key) is not None
            }
            for metric in LATENCY_METRICS
        }
        goodput = raw.get("request_goodput")
        return cls(
            concurrency=int(raw["concurrency"]),
            num_prompts=num_prompts,
            completed=int(raw["completed"]),
            failed=int(raw.get("failed") or 0),
            duration_s=float(raw["duration"]),
            output_tokens_per_s=float(raw["output_throughput"]),
            total_tokens_per_s=float(raw["total_token_throughput"]),
            requests_per_s=float(raw["request_throughput"]),
            goodput_rps=None if goodput is None else float(goodput),
            latency_ms=latency,
            first_error=raw.get("first_error"),
        )


@dataclass(frozen=True)
class BenchResult:
    """A ladder's figures, the options that produced them and (once logged) the MLflow run.

    Attributes:
        registered: ``NAME/VERSION`` of the registered LLM the run is linked to, if any.
    """

    options: BenchOptions
    steps: tuple[StepResult, ...]
    registered: str | None = None
    run_id: str | None = None

    def step(self, concurrency: int) -> StepResult:
        return next(s for s in self.steps if s.concurrency == concurrency)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["options"]["goodput"] = dict(self.options.goodput)
        for step, out in zip(self.steps, doc["steps"], strict=True):
            out["good_fraction"] = step.good_fraction
        return doc


def run_bench(
    options: BenchOptions,
    *,
    python: Path | None = None,
    on_step: ProgressCallback | None = None,
) -> BenchResult:
    """Check the endpoint, then run vLLM's benchmark at each concurrency of the ladder.

    Raises:
        ServingError: the endpoint does not answer, does not serve ``options.model``, or
            vLLM's benchmark failed (its output's tail is attached).
        LlmEngineError: the LLM venv is missing.
    """
    interpreter = python or llm_python()
    check_endpoint(options)
    with tempfile.TemporaryDirectory(prefix="mlp-bench-") as tmp:
        out = Path(tmp) / "result.json"
        tail = _run_script(interpreter, _script_args(options, out), on_step)
        steps = json.loads(out.read_text())["steps"] if out.is_file() else []
    if len(steps) != len(options.concurrency) or not all(s.get("completed") for s in steps):
        failed: dict[str, Any] = next((s for s in steps if not s.get("completed")), {})
        raise ServingError(
            f"vLLM's benchmark against {options.endpoint} did not finish: "
            f"{len(steps)} of {len(options.concurrency)} steps ran"
            + (f"; no request completed ({failed.get('first_error')})" if failed else "."),
            "Check that the endpoint serves the model (`curl ENDPOINT/v1/models`) and read "
            "vLLM's output below; `mlp llm serve` writes the engine's log to "
            "<home>/llm-logs/NAME.log.",
            details=tail,
        )
    results = tuple(
        StepResult.from_vllm(raw, options.prompts_for(c))
        for raw, c in zip(steps, options.concurrency, strict=True)
    )
    return BenchResult(options=options, steps=results)


def check_endpoint(options: BenchOptions) -> None:
    """The endpoint answers ``GET /v1/models`` with ``options.model`` in it, and one short
    chat request (which waits for an engine that starts on demand).

    Raises:
        ServingError: it does not, naming the endpoint and what to do.
    """
    url = options.endpoint
    try:
        listed = httpx.get(f"{url}/v1/models", timeout=10).raise_for_status().json()
        served = [str(m.get("id")) for m in listed.get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ServingError(
            f"No OpenAI endpoint answers at {url} (GET {url}/v1/models: {_why(exc)}).",
            "Start one (`mlp llm serve NAME@ALIAS` serves on http://127.0.0.1:8000) or pass "
            "the URL of a running one as ENDPOINT.",
        ) from None
    if options.model not in served:
        raise ServingError(
            f"The endpoint {url} does not serve {options.model!r}; it serves: "
            f"{', '.join(served) or 'nothing'}.",
            "Pass one of those as --model (the OpenAI `model` name).",
        )
    body = {
        "model": options.model,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1,
    }
    try:
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=options.start_timeout)
    except httpx.HTTPError as exc:
        raise ServingError(
            f"The endpoint {url} did not answer a chat request for {options.model!r} "
            f"({_why(exc)}).",
            "Check the server's log; an engine that starts on demand may need a larger "
            "--start-timeout.",
        ) from None
    if answer.status_code != 200:
        raise ServingError(
            f"The endpoint {url} answered a chat request for {options.model!r} with "
            f"{answer.status_code}: {answer.text[:500]}",
            "Fix what the answer says (the server's log has more), then run the benchmark again.",
        )


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _script_args(options: BenchOptions, out: Path) -> list[str]:
    args = [
        str(SCRIPT),
        "--base-url", options.endpoint,
        "--model", options.model,
        "--tokenizer", options.tokenizer,
        "--concurrency", ",".join(map(str, options.concurrency)),
        "--num-prompts", ",".join(str(options.prompts_for(c)) for c in options.concurrency),
        "--input-len", str(options.input_len),
        "--output-len", str(options.output_len),
        "--seed", str(options.seed),
        "--out", str(out),
    ]  # fmt: skip
    if options.goodput:
        args += ["--goodput", *(f"{k}:{v:g}" for k, v in options.goodput.items())]
    return args


def _run_script(python: Path, args: list[str], on_step: ProgressCallback | None) -> str:
    """Run the driver; report its step marks; return the tail of its output."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    tail: collections.deque[str] = collections.deque(maxlen=60)
    with subprocess.Popen(
        [str(python), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_MARK):
                event = json.loads(line[len(_MARK) :])
                if on_step is not None:
                    ((kind, concurrency),) = event.items()
                    on_step(kind, int(concurrency))
            else:
                tail.append(line.rstrip("\n"))
    return "\n".join(tail)


def log_bench(
    result: BenchResult,
    tracking_uri: str,
    *,
    registered: tuple[str, int] | None = None,
    experiment: str = EXPERIMENT,
) -> BenchResult:
    """Record ``result`` as an MLflow run in ``experiment``: the options as params; each
    step's figures as metrics twice, ``NAME_cN`` (one column per concurrency in the runs
    table) and ``NAME`` at step N (a chart against concurrency). With ``registered``
    (name, version) the run is tagged with the version and the version with the run
    (``mlp.llm.bench_run``).

    Returns:
        ``result`` with ``run_id`` (and ``registered``) set.

    Raises:
        RegistryError: MLflow refused a write.
    """
    import time

    from mlflow.entities import Metric, Param

    from mlplatform.tracking._mlflow import client_for, ensure_experiment, registry_errors

    client = client_for(tracking_uri)
    ref = f"{registered[0]}/{registered[1]}" if registered else None
    tags = {"mlp.kind": "llm-bench", "mlp.llm.model": result.options.model}
    if registered:
        tags.update({"mlp.llm.registered": ref or "", "mlp.llm.name": registered[0]})
        tags["mlp.llm.version"] = str(registered[1])
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, value, now, step.concurrency)
        for step in result.steps
        for name, value in step.metrics().items()
        for key in (f"{name}_c{step.concurrency}", name)
    ]
    with registry_errors(f"cannot log the benchmark to MLflow at {tracking_uri}"):
        exp_id = ensure_experiment(client, experiment, tracking_uri)
        run = client.create_run(exp_id, run_name=f"bench-{result.options.model}", tags=tags)
        run_id = run.info.run_id
        params = [Param(k, v) for k, v in result.options.params().items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, "FINISHED")
        if registered:
            client.set_model_version_tag(registered[0], str(registered[1]), BENCH_RUN_TAG, run_id)
    return BenchResult(result.options, result.steps, registered=ref, run_id=run_id)
