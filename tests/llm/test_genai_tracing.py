"""Every chat call through `mlplatform.llm.client` is an MLflow trace: inputs, outputs, token
usage and latency, against the real vLLM engine (the run's shared `mlp llm serve`), in a
local SQLite store and on the team MLflow server.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pytest

from mlplatform.errors import ServingError
from mlplatform.llm.client import chat, enable_tracing, openai_client
from mlplatform.llm.local import free_port
from services.conftest import config, project_home, running

from ._genai import sqlite_uri, tracing_restored

EXPERIMENT = "genai-tracing"


@pytest.fixture
def traced():
    with tracing_restored():
        yield


def traces_by_id(experiment_id: str) -> dict[str, Any]:
    found = mlflow.search_traces(locations=[experiment_id], return_type="list", flush=True)
    return {t.info.trace_id: t for t in found}


def test_each_chat_call_is_a_trace_with_inputs_outputs_tokens_and_latency(
    llm_endpoint, tmp_path, traced
):
    # GIVEN tracing into a local SQLite store and the tiny model served by vLLM
    uri = sqlite_uri(tmp_path)
    experiment_id = enable_tracing(uri, EXPERIMENT)
    client = openai_client(llm_endpoint.openai_base)
    questions = ["What is MLflow?", "Name a colour."]
    # WHEN two chat calls are made through the helper
    replies = [
        chat(client, [{"role": "user", "content": q}], model=llm_endpoint.model, max_tokens=12)
        for q in questions
    ]
    # THEN each one is a trace of its own in the settings' experiment
    traces = traces_by_id(experiment_id)
    assert all(r.trace_id in traces for r in replies)
    assert len({r.trace_id for r in replies}) == 2
    for question, reply in zip(questions, replies, strict=True):
        trace = traces[reply.trace_id]
        # AND its token usage is the server's usage of that response
        assert trace.info.token_usage == {
            "input_tokens": reply.usage.prompt_tokens,
            "output_tokens": reply.usage.completion_tokens,
            "total_tokens": reply.usage.total_tokens,
        }
        assert 0 < reply.usage.completion_tokens <= 12
        # AND the chat span holds the request as inputs and the completion as outputs
        (span,) = trace.data.spans
        assert span.span_type == "CHAT_MODEL"
        assert span.inputs["messages"] == [{"role": "user", "content": question}]
        assert span.inputs["model"] == llm_endpoint.model
        assert span.outputs["choices"][0]["message"]["content"] == reply.text
        # AND its latency is recorded (milliseconds), within the client's own measure
        assert 0 < trace.info.execution_duration <= reply.latency_s * 1000 + 1
        assert trace.info.state == "OK"


def test_without_tracing_a_reply_names_no_trace(llm_endpoint, traced):
    # GIVEN no enable_tracing in this process (autologging off)
    import mlflow.openai

    mlflow.openai.autolog(disable=True)
    client = openai_client(llm_endpoint.openai_base)
    # WHEN a chat call is made THEN it is answered, and no trace id is claimed for it
    reply = chat(client, [{"role": "user", "content": "Hi"}], model=llm_endpoint.model)
    assert reply.usage.completion_tokens > 0
    assert reply.trace_id is None


def test_a_failed_call_says_how_to_fix_it(llm_endpoint):
    client = openai_client(llm_endpoint.openai_base)
    # WHEN a model the endpoint does not serve is asked
    with pytest.raises(ServingError) as err:
        chat(client, [{"role": "user", "content": "Hi"}], model="no-such-model")
    # THEN the error names the status and the way to list the served models
    assert "404" in err.value.headline
    assert f"curl {llm_endpoint.openai_base}/models" in err.value.hint
    # AND an endpoint that is not there says how to start one
    nothing = openai_client(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ServingError) as err:
        chat(nothing, [{"role": "user", "content": "Hi"}], model="tiny-chat")
    assert "mlp llm serve" in err.value.hint


def test_traces_reach_the_team_mlflow_server(llm_endpoint, traced):
    # GIVEN the team MLflow server (PostgreSQL behind it)
    with project_home() as home, running(config(home), ("mlflow",)) as team:
        uri = team.cfg.url("mlflow")
        experiment_id = enable_tracing(uri, EXPERIMENT)
        client = openai_client(llm_endpoint.openai_base)
        # WHEN a chat call is made through the helper
        reply = chat(client, [{"role": "user", "content": "Hello team"}], model=llm_endpoint.model)
        # THEN the server holds its trace, with the response's token counts
        trace = traces_by_id(experiment_id)[reply.trace_id]
        assert trace.info.token_usage["total_tokens"] == reply.usage.total_tokens
        assert trace.info.token_usage["output_tokens"] == reply.usage.completion_tokens
        assert "Hello team" in str(trace.data.spans[0].inputs["messages"])
        # AND a fresh client (no cache, over HTTP) reads the same trace back
        again = mlflow.MlflowClient(uri).get_trace(reply.trace_id)
        assert again.info.token_usage == trace.info.token_usage
