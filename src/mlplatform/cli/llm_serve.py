"""`mlp llm serve`: vLLM's own OpenAI server for registered LLMs, behind one local endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplatform.cli._console import console, settings
from mlplatform.cli.llm import app, resolve
from mlplatform.cli.serve import _targets_dir

__all__ = ["serve"]


@app.command("serve")
def serve(
    ctx: typer.Context,
    models: Annotated[
        list[str],
        typer.Argument(
            metavar="MODEL...",
            help="[SERVED=]REF: a registered LLM (NAME, NAME@ALIAS, NAME/VERSION) or a "
            "checkpoint folder; SERVED is the name clients send as `model`.",
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the OpenAI endpoint.")] = 8000,
    idle_timeout: Annotated[
        float,
        typer.Option(help="Stop a model's engine after this many idle seconds (0: never)."),
    ] = 600.0,
    start_timeout: Annotated[
        float, typer.Option(help="Seconds an engine may take to start answering.")
    ] = 600.0,
    preload: Annotated[
        bool, typer.Option("--preload", help="Start every engine now, not on first request.")
    ] = False,
    dtype: Annotated[
        str | None,
        typer.Option(help="vLLM --dtype (default: the registered dtype, else auto)."),
    ] = None,
    max_model_len: Annotated[
        int | None, typer.Option(help="vLLM --max-model-len (default: the model's context).")
    ] = None,
    kv_cache_gib: Annotated[
        float,
        typer.Option(help="KV-cache memory per engine on vLLM's CPU build (GiB)."),
    ] = 1.0,
) -> None:
    """Serve LLMs on one local OpenAI endpoint, each on vLLM's own server.

    Requests are routed by their `model` field (GET /v1/models lists them).

    Each model's engine starts on its first request and stops after --idle-timeout idle
    seconds; the client waits (a streaming client sees `: mlplatform: starting` comments).

    GET /status shows the engines and their memory; GET /engines/NAME/metrics is vLLM's
    Prometheus text. Ctrl-C stops the router and every engine.

    Needs vLLM in .venv-llm (`make install-llm`) or MLPLATFORM_LLM_PYTHON.

    Example: mlp llm serve tiny-chat@champion

    Example: mlp llm serve chat=tiny-chat@champion code=./my-checkpoint --port 8080 --preload

    Example: curl localhost:8000/v1/chat/completions -H 'content-type: application/json'
    -d '{"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}]}'
    """
    from mlplatform.llm.local import build_router, llm_python, serve_router
    from mlplatform.llm.local.models import ServeOptions, engine_spec_for

    options = ServeOptions(
        dtype=dtype, max_model_len=max_model_len, kv_cache_gib=kv_cache_gib, host="127.0.0.1"
    )
    python = llm_python()  # fail now, not at the first request, when vLLM is missing
    from mlplatform.llm.local.memory import available_gib, check_local_fit

    served = [engine_spec_for(arg, options, lambda ref: resolve(ctx, ref)) for arg in models]
    check_local_fit([m.need for m in served], available_gib())  # before anything starts
    specs = [m.spec for m in served]
    log_dir = settings(ctx).home_dir / "llm-logs"
    targets = _targets_dir(ctx)

    def scrape(name: str, address: str | None) -> None:
        """With `mlp up` services, Prometheus scrapes each running engine's vLLM metrics."""
        if targets is None:
            return
        from mlplatform.services.targets import register_target, unregister_target

        if address is None:
            unregister_target(targets, f"llm-{name}")
        else:
            register_target(targets, f"llm-{name}", address, {"model": name, "component": "llm"})

    app_ = build_router(
        specs,
        log_dir,
        idle_timeout=idle_timeout,
        start_timeout=start_timeout,
        python=python,
        on_change=scrape,
    )
    names = ", ".join(spec.served_name for spec in specs)
    console.print(
        f"Serving {names} on http://{host}:{port}/v1 "
        f"({'starting now' if preload else 'each starts on its first request'}; "
        f"idle stop after {idle_timeout:g} s; engine logs in {log_dir}). Ctrl-C stops."
    )
    serve_router(app_, host=host, port=port, preload=preload)
