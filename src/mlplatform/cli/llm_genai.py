"""`mlp llm evaluate`: MLflow GenAI evaluation of a served LLM, logged to its registry version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlplatform.cli._console import Format, FormatOpt, as_dict, console, print_json, print_table
from mlplatform.cli._console import settings as load_settings
from mlplatform.cli.llm import app
from mlplatform.errors import ConfigError

if TYPE_CHECKING:
    from mlplatform.llm.evaluate import EvalReport

__all__ = ["evaluate", "openai_base"]

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"


def openai_base(endpoint: str) -> str:
    """``endpoint`` as an OpenAI base URL: ``/v1`` appended unless it ends with it."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            help="The registered LLM version to evaluate and tag: NAME, NAME@ALIAS, "
            "NAME/VERSION (docs/model-references.md). Leave out to evaluate --served-name "
            "without the registry.",
        ),
    ] = None,
    endpoint: Annotated[
        str,
        typer.Option(help="The OpenAI endpoint serving it (`/v1` is appended if missing)."),
    ] = DEFAULT_ENDPOINT,
    served_name: Annotated[
        str | None,
        typer.Option(help="The `model` to send (default: the version's served name)."),
    ] = None,
    gate: Annotated[
        str | None,
        typer.Option(
            help="A quality gate on the scorers' means, e.g. 'exact_match>=0.5,answered>=1': "
            "its verdict becomes the version's mlplatform.gate tag, which production needs."
        ),
    ] = None,
    output: FormatOpt = Format.table,
) -> None:
    """Evaluate a served LLM with mlflow.genai.evaluate on a fixed question set.

    Each question is one traced chat call (temperature 0), graded by
    deterministic scorers: answered, within_token_budget, exact_match; and
    output_tokens, latency_s reported.

    The run (metrics SCORER/mean, traces with assessments) goes to the
    settings' experiment; the registry version gets the tags mlp.eval.run_id
    and mlp.eval.SCORER (docs/llm.md).

    Example: mlp llm evaluate tiny-chat@champion

    Example: mlp llm evaluate tiny-chat/2 --gate 'answered>=1,within_token_budget>=1'

    Example: mlp llm evaluate tiny-chat/2 --endpoint http://127.0.0.1:8080 -f json

    Example: mlp llm evaluate --served-name tiny-chat --endpoint localhost:8000
    """
    from mlplatform.grammar.gate import parse_gate
    from mlplatform.llm.evaluate import evaluate_llm
    from mlplatform.llm.registry import resolve_llm

    checked = parse_gate(gate) if gate is not None else None  # refuse a bad gate first
    cfg = load_settings(ctx)
    tracking_uri = cfg.resolved_tracking_uri()
    registered, name = None, served_name
    if model is not None:
        llm = resolve_llm(model, tracking_uri=tracking_uri)
        registered, name = llm.ref, served_name or llm.served_name
    if name is None:
        raise ConfigError(
            "nothing to evaluate: give a registered MODEL or --served-name",
            "Example: mlp llm evaluate tiny-chat@champion (or --served-name tiny-chat).",
        )
    report = evaluate_llm(
        openai_base(endpoint),
        name,
        tracking_uri,
        registered=registered,
        experiment=cfg.experiment,
        gate=checked,
    )
    if output is Format.json:
        print_json(as_dict(report))
        return
    _print(report)


def _print(report: EvalReport) -> None:
    from mlplatform.llm.evaluate import SCORER_NAMES

    rows = [{**row, "answer": str(row["answer"] or "")[:40]} for row in report.rows]
    print_table(rows, ["question", "answer", *SCORER_NAMES], title=f"{report.model}: answers")
    means = ", ".join(f"{k} {v:.3g}" for k, v in report.metrics.items())
    console.print(f"[bold]means[/]: {means}")
    tagged = f"; tagged on {report.registered}" if report.registered else ""
    console.print(f"run [green]{report.run_id}[/] (experiment {report.experiment_id}){tagged}")
    if report.gate is not None:
        verdict = "[green]passed[/]" if report.gate_passed else "[red]failed[/]"
        why = f": {'; '.join(report.gate_failures)}" if report.gate_failures else ""
        console.print(f"gate {report.gate}: {verdict}{why}")
