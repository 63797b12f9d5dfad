"""The local OpenAI endpoint on the real vLLM engine: answers, streams, errors, routing.

One engine for the whole run (tests/llm/_engine.py). The answers are random tokens of the
tiny model; what is checked is the path: the OpenAI client's calls, vLLM's usage figures,
streaming through the router, and each bad request's status and message.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from ._engine import LlmEndpoint


@pytest.fixture(scope="module")
def client(llm_endpoint: LlmEndpoint) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_endpoint.openai_base, api_key="unused", max_retries=0)


def test_chat_through_the_openai_client(client: openai.OpenAI, llm_endpoint: LlmEndpoint):
    # WHEN the OpenAI client asks the router for a chat completion
    answer = client.chat.completions.create(
        model=llm_endpoint.model,
        messages=[{"role": "user", "content": "Which model is the champion?"}],
        max_tokens=8,
        temperature=0,
    )
    # THEN vLLM answered it: its id, our served name, exactly the tokens asked for
    assert answer.id.startswith("chatcmpl-")
    assert answer.model == llm_endpoint.model
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 8
    assert answer.usage.prompt_tokens > 5
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content


def test_streaming_passes_every_event(client: openai.OpenAI, llm_endpoint: LlmEndpoint):
    # WHEN the same request streams
    chunks = list(
        client.chat.completions.create(
            model=llm_endpoint.model,
            messages=[{"role": "user", "content": "hello"}],
            max_tokens=6,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    # THEN the router passed vLLM's events through: deltas, then usage
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6


def test_greedy_answers_are_the_same_direct_and_routed(llm_endpoint: LlmEndpoint):
    # GIVEN one greedy request sent to vLLM directly and through the router
    body = {
        "model": llm_endpoint.model,
        "messages": [{"role": "user", "content": "same question"}],
        "max_tokens": 5,
        "temperature": 0,
    }
    direct = httpx.post(f"{llm_endpoint.engine_url}/v1/chat/completions", json=body, timeout=60)
    routed = httpx.post(f"{llm_endpoint.url}/v1/chat/completions", json=body, timeout=60)
    # THEN the router changed nothing
    assert direct.status_code == routed.status_code == 200
    assert direct.json()["choices"][0]["message"] == routed.json()["choices"][0]["message"]


def test_models_lists_what_is_served(llm_endpoint: LlmEndpoint):
    listed = httpx.get(f"{llm_endpoint.openai_base}/models", timeout=10).json()
    assert [(m["id"], m["status"]) for m in listed["data"]] == [(llm_endpoint.model, "running")]


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        (b"this is not json", 400, "invalid_json", "not JSON"),
        (b'{"messages": []}', 400, "missing_model", '"model"'),
        (b'["a", "list"]', 400, "missing_model", '"model"'),
        (b'{"model": "gpt-4", "messages": []}', 404, "model_not_found", "'gpt-4'"),
    ],
)
def test_bad_requests_get_openai_errors(llm_endpoint, body, status, code, says):
    # WHEN a request is not an OpenAI request for a served model
    resp = httpx.post(
        f"{llm_endpoint.openai_base}/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    # THEN it gets an OpenAI-shaped error naming what is wrong and what to send
    assert resp.status_code == status
    error = resp.json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    assert llm_endpoint.model in error["hint"]


def test_a_context_longer_than_max_model_len_is_refused_by_vllm(client, llm_endpoint):
    # WHEN the prompt alone is longer than the model's 2,048-token context
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=llm_endpoint.model,
            messages=[{"role": "user", "content": "word " * 3000}],
            max_tokens=4,
        )
    # THEN vLLM's own 400 reaches the client, naming the limit
    assert "maximum context length is 2048" in str(refused.value)


def test_the_router_stays_up_after_bad_requests(client, llm_endpoint):
    for body in (b"\xff\xfe", b"{", b'{"model": 1}'):
        httpx.post(f"{llm_endpoint.openai_base}/chat/completions", content=body, timeout=10)
    assert httpx.get(f"{llm_endpoint.url}/health", timeout=5).status_code == 200
    answer = client.completions.create(model=llm_endpoint.model, prompt="still", max_tokens=2)
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 2


def test_unknown_paths_and_stopped_engines_answer_404(llm_endpoint: LlmEndpoint):
    resp = httpx.get(f"{llm_endpoint.url}/v2/models", timeout=5)
    assert resp.status_code == 404
    assert "/v1/chat/completions" in resp.json()["error"]["hint"]
    resp = httpx.get(f"{llm_endpoint.url}/engines/gpt-4/metrics", timeout=5)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "model_not_found"
