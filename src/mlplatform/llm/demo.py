"""`make demo-llm` / `mlp llm demo`: the LLM lifecycle on this machine, end to end.

1. build the tiny chat model (random weights, a tokenizer trained here: nothing downloaded);
2. register it in the model registry with the alias ``champion`` (weights stored for real);
3. register the demo's prompt in MLflow's prompt registry (alias ``production``);
4. serve ``tiny-chat@champion`` on vLLM's own OpenAI server behind the local router (the
   engine starts on the first request; the wait is reported, not failed);
5. ask a few questions through the OpenAI client, each call an MLflow trace;
6. read the engine's Prometheus metrics and the traces back.

The answers are random tokens: the model is 3 MB of noise. What the demo shows is the path.
``endpoint`` skips step 4 and uses a running ``mlp llm serve`` that serves ``tiny-chat``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEMO_MODEL", "DEMO_QUESTIONS", "LlmDemoReport", "run_llm_demo"]

DEMO_MODEL = "tiny-chat"
DEMO_QUESTIONS = (
    "What does the model registry keep?",
    "Why start an engine only on the first request?",
    "What is a canary rollout?",
)
EXPERIMENT = "llm-demo"
# What the demo shows of vLLM's own metrics (the names the dashboard and alerts read)
SHOWN_METRICS = (
    "vllm:request_success_total",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:num_requests_running",
    "vllm:kv_cache_usage_perc",
    "vllm:time_to_first_token_seconds",
    "vllm:e2e_request_latency_seconds",
)


@dataclass
class LlmDemoReport:
    """What the demo did, for the summary."""

    model_dir: Path
    registered: str
    prompt: str
    endpoint: str
    wake_s: float = 0.0
    answers: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    traces: list[dict[str, Any]] = field(default_factory=list)


def run_llm_demo(
    home: Path,
    tracking_uri: str,
    *,
    endpoint: str | None = None,
    say: Callable[[str], None] = print,
) -> LlmDemoReport:
    """Run the demo's steps with ``home`` as the working folder; ``say`` narrates.

    Raises:
        LlmEngineError: vLLM is not installed (``make install-llm``) or did not start.
    """
    from mlplatform.llm.client import enable_tracing, openai_client
    from mlplatform.llm.local import build_router, build_tiny_model, llm_python, running_router
    from mlplatform.llm.local.memory import available_gib, check_local_fit
    from mlplatform.llm.local.models import ServeOptions, engine_spec_for
    from mlplatform.llm.prompts import demo_prompt
    from mlplatform.llm.registry import register_llm, resolve_llm
    from mlplatform.llm.sources import parse_source

    python = llm_python()
    model_dir = home / "llm-demo" / DEMO_MODEL
    if not (model_dir / "config.json").is_file():
        say(f"1. Building the tiny chat model in {model_dir} (random weights, ~3 MB)")
        build_tiny_model(model_dir, python=python)
    else:
        say(f"1. The tiny chat model is already built: {model_dir}")
    llm = register_llm(
        parse_source(str(model_dir)), tracking_uri=tracking_uri, name=DEMO_MODEL, alias="champion"
    )
    say(
        f"2. Registered {llm.name} version {llm.version} as @champion "
        f"({llm.shape.parameters:,} parameters, {llm.shape.dtype}, context "
        f"{llm.shape.context_length:,}){'' if llm.created else ' (already registered)'}"
    )
    prompt = demo_prompt(tracking_uri)
    say(f"3. Prompt {prompt.uri} (version {prompt.version}) from MLflow's prompt registry")
    enable_tracing(tracking_uri, EXPERIMENT)
    ref = f"{DEMO_MODEL}@champion"
    report = LlmDemoReport(model_dir, f"{llm.name}/{llm.version}", prompt.uri, endpoint or "")
    if endpoint:
        say(f"4. Using the running endpoint {endpoint}")
        _ask(report, openai_client(f"{endpoint}/v1"), prompt, say)
        _read_back(report, endpoint, tracking_uri)
        return report
    served = engine_spec_for(
        ref,
        ServeOptions(),
        lambda r: resolve_llm(r, tracking_uri=tracking_uri, cache_dir=home / "llm-cache"),
    )
    check_local_fit([served.need], available_gib())
    app = build_router([served.spec], home / "llm-logs", idle_timeout=0, python=python)
    with running_router(app) as url:
        report.endpoint = url
        say(f"4. Serving {ref} on {url}/v1 (vLLM's OpenAI server starts on the first request)")
        _ask(report, openai_client(f"{url}/v1"), prompt, say)
        _read_back(report, url, tracking_uri)
    return report


def _ask(report: LlmDemoReport, client: Any, prompt: Any, say: Callable[[str], None]) -> None:
    from mlplatform.llm.client import chat
    from mlplatform.llm.local import WAIT_HEADER

    for number, question in enumerate(DEMO_QUESTIONS, start=1):
        messages = prompt.format(team="platform", question=question)
        if number == 1:  # the cold start: the router reports how long the engine took
            raw = client.chat.completions.with_raw_response.create(
                model=DEMO_MODEL, messages=[{"role": "user", "content": "warm up"}], max_tokens=1
            )
            report.wake_s = float(raw.headers.get(WAIT_HEADER, 0.0))
            say(f"5. The engine answered after {report.wake_s:.1f} s; asking {len(DEMO_QUESTIONS)}")
        reply = chat(client, messages, model=DEMO_MODEL, max_tokens=16)
        report.answers.append(
            {
                "question": question,
                "answer": reply.text,
                "tokens": f"{reply.usage.prompt_tokens}+{reply.usage.completion_tokens}",
                "latency_ms": round(reply.latency_s * 1000, 1),
                "trace": reply.trace_id or "",
            }
        )


def _read_back(report: LlmDemoReport, url: str, tracking_uri: str) -> None:
    import httpx
    import mlflow
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/engines/{DEMO_MODEL}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        if name not in SHOWN_METRICS:
            continue
        for sample in family.samples:
            if family.type == "histogram" and sample.name.endswith("_sum"):
                report.metrics[f"{name} (sum, s)"] = sample.value
            elif family.type == "histogram" and sample.name.endswith("_count"):
                report.metrics[f"{name} (count)"] = sample.value
            elif family.type != "histogram" and not sample.name.endswith("_created"):
                report.metrics[name] = report.metrics.get(name, 0.0) + sample.value  # all labels
    mlflow.flush_trace_async_logging()
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    ids = {row["trace"] for row in report.answers}
    for trace in mlflow.search_traces(
        locations=[experiment.experiment_id], max_results=50, return_type="list"
    ):
        if trace.info.trace_id in ids:
            usage = trace.info.token_usage or {}
            report.traces.append(
                {
                    "trace": trace.info.trace_id,
                    "state": str(trace.info.state),
                    "tokens": usage.get("total_tokens"),
                    "ms": trace.info.execution_duration,
                }
            )
