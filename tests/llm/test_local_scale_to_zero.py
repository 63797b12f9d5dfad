"""Local scale to zero on the real engine: two models behind one endpoint, each started by its
first request, stopped when idle, the wait reported to the client rather than failing it.

This module's router starts two engines in all (the second and third of the three engine
starts `make test` allows): model ``a`` by a plain request, then, after ``a`` was stopped for
being idle, model ``b`` by a streaming one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from mlplatform.llm.local import WAIT_HEADER, free_port

MLP = Path(sys.executable).with_name("mlp")
IDLE_S = 4


@pytest.fixture(scope="module")
def router(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("scale-to-zero")
    (home / ".mlplatform" / "services").mkdir(parents=True)  # as after `mlp up`: targets kept
    port = free_port()
    log = (home / "serve.log").open("ab")
    proc = subprocess.Popen(
        [
            str(MLP),
            "llm",
            "serve",
            f"a={tiny_model_dir}",
            f"b={tiny_model_dir}",
            "--port",
            str(port),
            "--idle-timeout",
            str(IDLE_S),
            "--dtype",
            "float32",
        ],
        cwd=home,
        env={**os.environ, "MLPLATFORM_HOME": str(home / ".mlplatform")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
        pids = [int(str(r["pid"])) for r in _status(url).values() if r["pid"] is not None]
    finally:
        proc.terminate()  # SIGTERM: the router stops its engines on the way out
        proc.wait(timeout=60)
    # uvicorn re-raises the signal once it has shut down (lifespan included)
    assert proc.returncode in (0, -15), (home / "serve.log").read_text()[-3000:]
    assert pids  # b was running when the module ended
    assert not [pid for pid in pids if _process_exists(pid)]


def _target(url: str, model: str) -> Path:
    """The Prometheus file-SD target `mlp llm serve` writes for ``model``'s engine."""
    home = Path(httpx.get(f"{url}/status", timeout=5).json()["models"][0]["log"]).parents[1]
    return home / "services" / "prometheus" / "targets" / f"llm-{model}.json"


def _status(url: str) -> dict[str, dict[str, object]]:
    return {row["model"]: row for row in httpx.get(f"{url}/status", timeout=5).json()["models"]}


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_first_request_starts_the_engine_and_idle_stops_it(router: str):
    # GIVEN two models, neither running: nothing started, no memory taken
    assert {name: row["state"] for name, row in _status(router).items()} == {
        "a": "stopped",
        "b": "stopped",
    }
    client = openai.OpenAI(base_url=f"{router}/v1", api_key="unused", max_retries=0, timeout=600)

    # WHEN a plain request for ``a`` arrives
    raw = client.chat.completions.with_raw_response.create(
        model="a", messages=[{"role": "user", "content": "wake up"}], max_tokens=4
    )
    # THEN it is answered (not failed) once the engine is up, and the wait is reported
    assert raw.parse().usage.completion_tokens == 4
    waited = float(raw.headers[WAIT_HEADER])
    assert waited > 1.0  # an engine start, not a warm call
    rows = _status(router)
    assert rows["a"]["state"] == "running"
    assert rows["b"]["state"] == "stopped"  # only what was asked for runs
    assert int(str(rows["a"]["memory_bytes"])) > 500 * 2**20
    pid = int(str(rows["a"]["pid"]))
    # AND with `mlp up` services, Prometheus is told to scrape the engine's vLLM metrics
    target = json.loads(_target(router, "a").read_text())
    assert target == [
        {
            "targets": [str(rows["a"]["url"]).removeprefix("http://")],
            "labels": {"model": "a", "component": "llm"},
        }
    ]

    # AND a second request to the warm engine waits for nothing
    warm = client.chat.completions.with_raw_response.create(
        model="a", messages=[{"role": "user", "content": "again"}], max_tokens=2
    )
    assert WAIT_HEADER not in warm.headers

    # WHEN nothing asks for ``a`` for longer than the idle timeout
    deadline = time.monotonic() + IDLE_S + 60
    while _status(router)["a"]["state"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.5)
    # THEN its engine is stopped: the process group is gone, memory freed
    assert _status(router)["a"]["state"] == "stopped"
    assert _status(router)["a"]["memory_bytes"] == 0
    assert not _process_exists(pid)
    assert not _target(router, "a").exists()  # and no longer scraped
    metrics = httpx.get(f"{router}/metrics", timeout=5).text
    assert 'mlp_llm_engine_starts_total{model="a"} 1.0' in metrics
    assert 'mlp_llm_engine_running{model="a"} 0.0' in metrics


def test_a_streaming_client_sees_the_wait_then_the_answer(router: str):
    # WHEN a streaming request arrives for a stopped model
    body = {
        "model": "b",
        "messages": [{"role": "user", "content": "stream while you wake"}],
        "max_tokens": 5,
        "stream": True,
    }
    lines: list[str] = []
    with httpx.stream("POST", f"{router}/v1/chat/completions", json=body, timeout=600) as resp:
        # THEN the 200 comes at once and comment lines report the start until vLLM's events
        assert resp.status_code == 200
        lines = [line for line in resp.iter_lines() if line]
    comments = [line for line in lines if line.startswith(":")]
    events = [line for line in lines if line.startswith("data: ")]
    assert comments
    assert all("starting the engine for 'b'" in line for line in comments)
    assert lines.index(comments[-1]) < lines.index(events[0])  # waits come first
    assert events[-1] == "data: [DONE]"
    assert any('"content"' in line for line in events)
    # AND the OpenAI client reads the same kind of stream without noticing the comments
    client = openai.OpenAI(base_url=f"{router}/v1", api_key="unused", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="b", messages=[{"role": "user", "content": "hi"}], max_tokens=3, stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
