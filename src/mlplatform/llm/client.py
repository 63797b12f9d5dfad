"""Chat with an OpenAI-compatible endpoint, every call an MLflow trace.

The endpoint is anything that speaks OpenAI's chat API: ``mlp llm serve``'s router, a vLLM
server, a KServe LLMInferenceService. Tracing is MLflow's own OpenAI autologging
(``mlflow.openai.autolog``): each ``chat.completions.create`` becomes a trace whose span
(type ``CHAT_MODEL``) holds the request as inputs and the completion as outputs, whose
``info.token_usage`` holds ``input_tokens``, ``output_tokens`` and ``total_tokens`` (the
server's ``usage``) and whose ``info.execution_duration`` is the latency in milliseconds.

MLflow's tracer is process-wide, so ``enable_tracing`` points the process at one tracking
URI and experiment (``mlflow.set_tracking_uri`` / ``set_experiment``); a command calls it once.
Traces are written in the background: ``mlflow.flush_trace_async_logging()`` (or
``mlflow.search_traces(..., flush=True)``) waits for them.

Example::

    enable_tracing("sqlite:///.mlplatform/mlflow.db", "mlplatform")
    client = openai_client("http://127.0.0.1:8000/v1")
    reply = chat(client, [{"role": "user", "content": "Hi"}], model="tiny-chat")
    reply.text, reply.usage.total_tokens, reply.trace_id
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlplatform.errors import ServingError

if TYPE_CHECKING:
    import openai

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "ChatReply",
    "TokenUsage",
    "chat",
    "enable_tracing",
    "openai_client",
]

DEFAULT_MAX_TOKENS = 64
Message = Mapping[str, Any]


@dataclass(frozen=True)
class TokenUsage:
    """The server's ``usage`` of one completion (what the trace records as token usage)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class ChatReply:
    """One chat completion.

    Attributes:
        text: the first choice's message content ("" when the model said nothing).
        finish_reason: ``stop`` (the model ended), ``length`` (``max_tokens`` reached)...
        usage: the server's token counts.
        latency_s: seconds from sending the request to having the whole answer.
        trace_id: the MLflow trace that holds the call (the enclosing one when the call
            is made inside a traced function); ``None`` when tracing is off.
    """

    text: str
    finish_reason: str | None
    usage: TokenUsage
    latency_s: float
    model: str
    trace_id: str | None


def enable_tracing(tracking_uri: str, experiment: str) -> str:
    """Trace every OpenAI call of this process into ``experiment`` at ``tracking_uri``.

    Creates the experiment when missing (next to an SQLite store, its artifacts go to
    ``<store dir>/mlartifacts``, as everywhere in mlplatform). Calling it again with the same
    arguments changes nothing.

    Returns:
        The experiment's id.

    Raises:
        RegistryError: the tracking store cannot be reached or refused the experiment.
    """
    import mlflow
    import mlflow.openai

    from mlplatform.tracking._mlflow import client_for, ensure_experiment

    experiment_id = ensure_experiment(client_for(tracking_uri), experiment, tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment_id=experiment_id)
    mlflow.openai.autolog(log_traces=True, silent=True)
    return experiment_id


def openai_client(
    base_url: str, *, api_key: str = "EMPTY", timeout_s: float = 600.0
) -> openai.OpenAI:
    """An OpenAI client for ``base_url`` (``http://HOST:PORT/v1``).

    No retries: the local router already waits for an engine that is starting, and a retried
    request would be a second trace. ``api_key`` is sent as a bearer token (vLLM's
    ``--api-key``; the local endpoint ignores it).
    """
    import openai

    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


def chat(
    client: openai.OpenAI,
    messages: Iterable[Message],
    *,
    model: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float = 0.0,
    **params: Any,
) -> ChatReply:
    """Send one chat completion request; traced when ``enable_tracing`` ran.

    Args:
        client: from ``openai_client``.
        messages: OpenAI chat messages (``{"role": "user", "content": "..."}``).
        model: the served name (the request's ``model``: the router routes by it).
        max_tokens: the completion's token budget.
        temperature: 0 (the default) decodes greedily: the same answer every time.
        params: any other OpenAI (or vLLM ``extra_body``) parameter.

    Raises:
        ServingError: the endpoint cannot be reached or refused the request.
    """
    import mlflow

    outer = mlflow.get_current_active_span()
    before = mlflow.get_last_active_trace_id(thread_local=True)
    start = time.perf_counter()
    response = _create(client, list(messages), model, max_tokens, temperature, params)
    latency = time.perf_counter() - start
    after = mlflow.get_last_active_trace_id(thread_local=True)
    usage = response.usage
    choice = response.choices[0] if response.choices else None
    return ChatReply(
        text=(choice.message.content or "") if choice else "",
        finish_reason=choice.finish_reason if choice else None,
        usage=TokenUsage(
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            total_tokens=usage.total_tokens if usage else 0,
        ),
        latency_s=latency,
        model=response.model,
        trace_id=outer.trace_id if outer is not None else (after if after != before else None),
    )


def _create(
    client: openai.OpenAI,
    messages: list[Message],
    model: str,
    max_tokens: int,
    temperature: float,
    params: Mapping[str, Any],
) -> Any:
    """``client.chat.completions.create``, its errors mapped to ``ServingError``."""
    import openai

    base = str(client.base_url).rstrip("/")
    try:
        return client.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]  # plain dicts, as OpenAI documents
            max_tokens=max_tokens,
            temperature=temperature,
            **params,
        )
    except openai.APIConnectionError as exc:
        raise ServingError(
            f"cannot reach the OpenAI endpoint {base}: {exc}",
            "Start it (`mlp llm serve NAME@ALIAS`) or pass the right --endpoint "
            "(http://HOST:PORT/v1).",
        ) from exc
    except openai.APIStatusError as exc:
        raise ServingError(
            f"the endpoint {base} answered {exc.status_code} for model {model!r}: {_message(exc)}",
            f"`curl {base}/models` lists the models it serves; pass one of them.",
        ) from exc


def _message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and "message" in inner:
            return str(inner["message"])
        if "message" in body:
            return str(body["message"])
    return str(exc.message)
