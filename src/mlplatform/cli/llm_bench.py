"""`mlp llm bench`: vLLM's own serving benchmark over a concurrency ladder, logged to MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlplatform.cli._console import (
    Format,
    FormatOpt,
    console,
    err_console,
    print_json,
    workspace,
)
from mlplatform.cli.llm import app, resolve

if TYPE_CHECKING:
    from mlplatform.llm.bench import BenchResult, StepResult
    from mlplatform.llm.registry import RegisteredLLM

__all__ = ["bench", "render_result"]


@app.command("bench")
def bench(
    ctx: typer.Context,
    endpoint: Annotated[
        str,
        typer.Argument(help="The OpenAI server: http://HOST:PORT (a trailing /v1 is fine)."),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="The OpenAI `model` to ask for, or a registered LLM (NAME@ALIAS, NAME/VERSION): "
            "then its served name, its weights' tokenizer, and the run is linked to it.",
        ),
    ],
    tokenizer: Annotated[
        str | None,
        typer.Option(help="Tokenizer folder (default: the registered LLM's weights folder)."),
    ] = None,
    registered: Annotated[
        str | None,
        typer.Option(
            help="Link the run to this registered LLM (NAME@ALIAS...) when --model is a "
            "served name."
        ),
    ] = None,
    concurrency: Annotated[
        str, typer.Option(help="The ladder: concurrent requests per step.")
    ] = "1,4,16",
    input_len: Annotated[int, typer.Option(min=1, help="Prompt tokens per request.")] = 128,
    output_len: Annotated[int, typer.Option(min=1, help="Output tokens per request.")] = 128,
    num_prompts: Annotated[
        int | None,
        typer.Option(min=1, help="Requests per step (default: 4 per concurrent one, >= 16)."),
    ] = None,
    goodput: Annotated[
        str | None,
        typer.Option(help="SLOs in ms for goodput: ttft, tpot, e2el (e.g. ttft:500,tpot:50)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random prompts.")] = 0,
    start_timeout: Annotated[
        float, typer.Option(help="Seconds the first request may wait for an engine to start.")
    ] = 600.0,
    track: Annotated[
        bool, typer.Option("--track/--no-track", help="Log the run to MLflow.")
    ] = True,
    output: FormatOpt = Format.table,
) -> None:
    """Benchmark an OpenAI endpoint with vLLM's own load generator.

    Random prompts of fixed length, one step per concurrency (--max-concurrency of
    `vllm bench serve`, every request sent at once); prints TTFT, TPOT, ITL and end-to-end
    latency (p50/p90/p99), output tokens/s and goodput per step, and logs an MLflow run
    (experiment llm-bench) linked to the registered version.

    Needs vLLM in .venv-llm (`make install-llm`) or MLPLATFORM_LLM_PYTHON.

    Example: mlp llm bench http://127.0.0.1:8000 --model tiny-chat@champion

    Example: mlp llm bench http://127.0.0.1:8000 -m tiny-chat --tokenizer ./tiny-chat
    --concurrency 1,8 --goodput ttft:500,tpot:50 --format json
    """
    from mlplatform.llm.bench import (
        BenchOptions,
        endpoint_base,
        log_bench,
        parse_goodput,
        parse_ladder,
        run_bench,
    )
    from mlplatform.llm.local.venv import llm_python

    slos, ladder, base = parse_goodput(goodput), parse_ladder(concurrency), endpoint_base(endpoint)
    python = llm_python()
    llm = _registered(ctx, model, registered, tokenizer)
    options = BenchOptions(
        endpoint=base,
        model=llm.served_name if llm and registered is None else model,
        tokenizer=_tokenizer(model, tokenizer, llm),
        concurrency=ladder,
        input_len=input_len,
        output_len=output_len,
        num_prompts=num_prompts,
        goodput=slos,
        seed=seed,
        start_timeout=start_timeout,
    )
    with err_console.status(f"Checking {base} ...") as status:

        def progress(event: str, step: int) -> None:
            index = ladder.index(step) + 1
            if event == "start":
                status.update(f"vLLM benchmark: concurrency {step} (step {index}/{len(ladder)})")
            else:
                err_console.print(f"  concurrency {step}: done")

        result = run_bench(options, python=python, on_step=progress)
    if track:
        link = (llm.name, llm.version) if llm else None
        result = log_bench(result, workspace(ctx).tracking_uri, registered=link)
    if output is Format.json:
        print_json(result.to_dict())
        return
    console.print(render_result(result))
    if result.run_id:
        linked = f", linked to {result.registered}" if result.registered else ""
        console.print(f"MLflow run {result.run_id} (experiment llm-bench{linked}).")


def _registered(
    ctx: typer.Context, model: str, registered: str | None, tokenizer: str | None
) -> RegisteredLLM | None:
    """The registered LLM: ``--registered``'s (errors shown), else ``--model``'s if it is one."""
    from mlplatform.errors import ModelReferenceError, RegistryError

    if registered is not None:
        return resolve(ctx, registered)
    try:
        return resolve(ctx, model)
    except (ModelReferenceError, RegistryError) as exc:
        if tokenizer is None:
            raise type(exc)(
                f"--model {model!r} is not a registered LLM ({exc.headline}), and no "
                "--tokenizer was given.",
                "Pass --tokenizer with the model's tokenizer folder (the checkpoint folder), "
                "or --model NAME@ALIAS of a registered LLM (`mlp llm list`).",
            ) from None
        return None


def _tokenizer(model: str, tokenizer: str | None, llm: RegisteredLLM | None) -> str:
    from mlplatform.errors import ConfigError

    if tokenizer is not None:
        return tokenizer
    if llm is not None and llm.local_path is not None:
        return str(llm.local_path)
    raise ConfigError(
        f"No tokenizer for {model!r}: its weights are not stored here"
        + (f" ({llm.weights_uri})." if llm else "."),
        "Pass --tokenizer with a folder that holds its tokenizer (tokenizer.json), e.g. the "
        "checkpoint downloaded with `hf download ORG/NAME --local-dir DIR`.",
    )


def render_result(result: BenchResult) -> object:
    """The figures as a Rich table: one row per measure, one column per concurrency."""
    from rich.table import Table

    from mlplatform.llm.bench import LATENCY_METRICS, PERCENTILES

    opts = result.options
    slos = ", ".join(f"{k} <= {v:g} ms" for k, v in opts.goodput.items())
    table = Table(
        title=f"{opts.model} at {opts.endpoint}: {opts.input_len} tokens in, "
        f"{opts.output_len} out, random prompts (vLLM bench serve)",
        title_justify="left",
    )
    table.add_column("concurrency")
    for step in result.steps:
        table.add_column(str(step.concurrency), justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("requests (ok/failed)", [f"{s.completed}/{s.failed}" for s in result.steps]),
        ("output tokens/s", [f"{s.output_tokens_per_s:,.0f}" for s in result.steps]),
        ("requests/s", [f"{s.requests_per_s:.2f}" for s in result.steps]),
    ]
    if opts.goodput:
        rows.append((f"goodput req/s ({slos})", [_goodput(s) for s in result.steps]))
    names = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2el": "E2E"}
    for metric in LATENCY_METRICS:
        for p in PERCENTILES:
            cells = [_ms(s.latency_ms.get(metric, {}).get(p)) for s in result.steps]
            rows.append((f"{names[metric]} {p} (ms)", cells))
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


def _goodput(step: StepResult) -> str:
    if step.goodput_rps is None or step.good_fraction is None:
        return "-"
    return f"{step.goodput_rps:.2f} ({step.good_fraction:.0%})"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"
