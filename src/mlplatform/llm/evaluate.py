"""``mlflow.genai.evaluate`` of a served LLM on a fixed question set, with deterministic scorers.

The model is asked each of ``QUESTIONS`` through ``mlplatform.llm.client`` (temperature 0, a
budget of ``MAX_TOKENS``), so every answer is an MLflow trace; the scorers read the answer
and its trace, never a judge model, so a given model and question set always score the same:

=====================  ===========================================================  =======
scorer                 value                                                        kind
=====================  ===========================================================  =======
answered               the answer is not blank                                      pass
within_token_budget    the trace's output tokens are at most ``MAX_TOKENS``         pass
exact_match            the answer equals the expected one (case and spaces aside)   pass
output_tokens          the trace's output tokens                                    number
latency_s              the trace's duration in seconds (reported, never judged:     number
                       a wall-clock threshold would make the outcome machine-bound)
=====================  ===========================================================  =======

The evaluation is one MLflow run (``mlflow.genai.evaluate`` logs ``SCORER/mean`` metrics and
the per-question traces with their assessments to it). Against a registered LLM version the
run is tagged ``mlp.llm.version=NAME/VERSION`` and the version gets tags
``mlp.eval.run_id`` and ``mlp.eval.SCORER`` (the mean) — tags, because the registry's LLM
versions are created from a run and weights, not from an MLflow ``LoggedModel`` that
``evaluate(model_id=...)`` could link to.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlplatform.governance.rules import GATE_EXPR_TAG, GATE_PASSED, GATE_TAG
from mlplatform.grammar.gate import Gate
from mlplatform.llm.client import chat, enable_tracing, openai_client

if TYPE_CHECKING:
    from mlflow.entities import Trace
    from mlflow.genai.scorers import Scorer

__all__ = [
    "EVAL_TAG_PREFIX",
    "MAX_TOKENS",
    "QUESTIONS",
    "SCORER_NAMES",
    "EvalQuestion",
    "EvalReport",
    "evaluate_llm",
    "scorers",
]

MAX_TOKENS = 32
EVAL_TAG_PREFIX = "mlp.eval."
VERSION_TAG = "mlp.llm.version"
SCORER_NAMES = ("answered", "within_token_budget", "exact_match", "output_tokens", "latency_s")


@dataclass(frozen=True)
class EvalQuestion:
    """One question of the set and the answer a correct model gives."""

    question: str
    expected: str


QUESTIONS: tuple[EvalQuestion, ...] = (
    EvalQuestion("What is the capital of France? Answer with one word.", "Paris"),
    EvalQuestion("What is 2 + 2? Answer with a number.", "4"),
    EvalQuestion("Which planet is known as the Red Planet? Answer with one word.", "Mars"),
    EvalQuestion("What is the chemical symbol for water?", "H2O"),
    EvalQuestion("How many days are in a week? Answer with a number.", "7"),
)


@dataclass(frozen=True)
class EvalReport:
    """What ``evaluate_llm`` logged.

    Attributes:
        run_id: the evaluation's MLflow run (metrics ``SCORER/mean``, traces, assessments).
        metrics: scorer name -> mean over the questions (booleans count as 0/1).
        rows: per question: ``question``, ``answer``, ``trace_id`` and each scorer's value.
        registered: ``NAME/VERSION`` whose version was tagged, or ``None``.
        gate: the quality gate checked on ``metrics`` (``None``: no gate).
        gate_failures: each condition that failed (empty: the gate passed).
    """

    run_id: str
    experiment_id: str
    model: str
    endpoint: str
    metrics: dict[str, float]
    rows: list[dict[str, Any]]
    registered: str | None = None
    gate: str | None = None
    gate_failures: list[str] = field(default_factory=list)

    @property
    def gate_passed(self) -> bool | None:
        """Whether the gate passed (``None`` without a gate)."""
        return None if self.gate is None else not self.gate_failures


def evaluate_llm(
    endpoint: str,
    model: str,
    tracking_uri: str,
    *,
    registered: str | None = None,
    experiment: str = "mlplatform",
    questions: tuple[EvalQuestion, ...] = QUESTIONS,
    gate: Gate | None = None,
) -> EvalReport:
    """Ask ``model`` at ``endpoint`` every question, score the answers, log it all to MLflow.

    Args:
        endpoint: the OpenAI base URL (``http://HOST:PORT/v1``).
        model: the served name (the requests' ``model``).
        tracking_uri: where the run and the traces go (tracing is pointed there for the
            rest of the process: ``mlplatform.llm.client.enable_tracing``).
        registered: ``NAME/VERSION`` of the registry version to tag with the results.
        experiment: the run's and the traces' experiment.
        questions: the question set (default ``QUESTIONS``).
        gate: a quality gate on the scorers' means (``exact_match>=0.5``): its verdict is
            the registered version's ``mlplatform.gate`` tag (``passed`` or ``failed``),
            which production requires (docs/governance.md).

    Raises:
        ServingError: the endpoint cannot be reached or refused a request.
        RegistryError: the tracking store refused a write, or ``registered`` is unknown.
    """
    import mlflow
    import mlflow.genai

    experiment_id = enable_tracing(tracking_uri, experiment)
    client = openai_client(endpoint)

    @mlflow.trace(name="answer", span_type="CHAIN")  # the root: question in, text out
    def predict_fn(question: str) -> str:
        messages = [{"role": "user", "content": question}]
        return chat(client, messages, model=model, max_tokens=MAX_TOKENS).text

    data = [
        {"inputs": {"question": q.question}, "expectations": {"expected_response": q.expected}}
        for q in questions
    ]
    tags = {"mlp.llm.endpoint": endpoint, "mlp.llm.served_name": model}
    if registered is not None:
        tags[VERSION_TAG] = registered
    with (
        contextlib.redirect_stdout(sys.stderr),  # MLflow prints the run's summary and link
        mlflow.start_run(run_name=f"eval-{model}", tags=tags) as run,
    ):
        mlflow.log_params({"model": model, "max_tokens": MAX_TOKENS, "questions": len(data)})
        result = mlflow.genai.evaluate(data=data, scorers=scorers(), predict_fn=predict_fn)
    metrics = _means(result.metrics)
    failures = gate.check(metrics)[1] if gate is not None else []
    if registered is not None:
        verdict = None if gate is None else (str(gate), failures)
        _tag_version(tracking_uri, registered, run.info.run_id, metrics, verdict)
    return EvalReport(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        model=model,
        endpoint=endpoint,
        metrics=metrics,
        rows=_rows(result.result_df),
        registered=registered,
        gate=None if gate is None else str(gate),
        gate_failures=failures,
    )


def scorers() -> list[Scorer]:
    """The deterministic scorers, in ``SCORER_NAMES`` order (``@scorer`` functions)."""
    from mlflow.genai.scorers import scorer

    def answered(outputs: Any) -> bool:
        return bool(str(outputs or "").strip())

    def within_token_budget(trace: Trace) -> bool:
        return _output_tokens(trace) <= MAX_TOKENS

    def exact_match(outputs: Any, expectations: Mapping[str, Any]) -> bool:
        return _normal(outputs) == _normal(expectations["expected_response"])

    def output_tokens(trace: Trace) -> int:
        return _output_tokens(trace)

    def latency_s(trace: Trace) -> float:
        return (trace.info.execution_duration or 0) / 1000

    functions = (answered, within_token_budget, exact_match, output_tokens, latency_s)
    return [scorer(f) for f in functions]


def _output_tokens(trace: Trace) -> int:
    usage = trace.info.token_usage or {}
    return int(usage.get("output_tokens", 0))


def _normal(text: Any) -> str:
    return " ".join(str(text or "").split()).strip(" .").lower()


def _means(metrics: Mapping[str, Any]) -> dict[str, float]:
    """``{"answered/mean": 1.0, ...}`` -> ``{"answered": 1.0, ...}``."""
    return {
        key.removesuffix("/mean"): float(value)
        for key, value in metrics.items()
        if key.endswith("/mean")
    }


def _rows(frame: Any) -> list[dict[str, Any]]:
    if frame is None:
        return []
    rows = []
    for record in frame.to_dict("records"):
        request = record.get("request") or {}
        row = {
            "question": request.get("question") if isinstance(request, Mapping) else request,
            "answer": record.get("response"),
            "trace_id": record.get("trace_id"),
        }
        row.update({name: _plain(record.get(f"{name}/value")) for name in SCORER_NAMES})
        rows.append(row)
    return rows


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones (for JSON)."""
    return value.item() if hasattr(value, "item") else value


def _tag_version(
    tracking_uri: str,
    registered: str,
    run_id: str,
    metrics: Mapping[str, float],
    verdict: tuple[str, list[str]] | None,
) -> None:
    from mlplatform.grammar import parse_model_ref
    from mlplatform.tracking._mlflow import client_for, registry_errors

    ref = parse_model_ref(registered)
    client = client_for(tracking_uri)
    with registry_errors(f"cannot tag {registered} with the evaluation {run_id}"):
        version = (
            str(ref.version)
            if ref.version is not None
            else client.get_model_version_by_alias(ref.name, str(ref.alias)).version
        )
        client.set_model_version_tag(ref.name, version, f"{EVAL_TAG_PREFIX}run_id", run_id)
        for name, value in metrics.items():
            client.set_model_version_tag(ref.name, version, EVAL_TAG_PREFIX + name, f"{value:.6g}")
        if verdict is not None:
            expression, failures = verdict
            client.set_model_version_tag(ref.name, version, GATE_EXPR_TAG, expression)
            word = "failed" if failures else GATE_PASSED
            client.set_model_version_tag(ref.name, version, GATE_TAG, word)
