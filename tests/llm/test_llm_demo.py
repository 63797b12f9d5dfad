"""`mlp llm demo` against the run's engine: registers, prompts, chats, reads metrics and traces.

(`make demo-llm` starts its own engine; here the demo uses the shared one through
``--endpoint`` so the suite stays within its three engine starts.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow

from mlplatform.llm.demo import DEMO_QUESTIONS
from mlplatform.llm.registry import resolve_llm

from ._engine import LlmEndpoint

MLP = Path(sys.executable).with_name("mlp")


def test_the_demo_runs_the_lifecycle(llm_endpoint: LlmEndpoint, tmp_path: Path):
    env = {**os.environ, "COLUMNS": "200", "MLPLATFORM_HOME": str(tmp_path / ".mlplatform")}
    done = subprocess.run(
        [str(MLP), "llm", "demo", "--endpoint", llm_endpoint.url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # the model was built here and registered with its alias, weights stored
    tracking = f"sqlite:///{tmp_path / '.mlplatform' / 'mlflow.db'}"
    llm = resolve_llm("tiny-chat@champion", tracking_uri=tracking)
    assert llm.local_path is not None
    assert (llm.local_path / "model.safetensors").is_file()
    assert llm.shape.architecture == "LlamaForCausalLM"
    # every question was answered and traced; vLLM's metrics were read
    for question in DEMO_QUESTIONS:
        assert question in out
    assert "vllm:generation_tokens_total" in out
    assert "prompts:/" in out
    mlflow.set_tracking_uri(tracking)
    experiment = mlflow.get_experiment_by_name("llm-demo")
    assert experiment is not None
    traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list")
    assert len(traces) >= len(DEMO_QUESTIONS)
    assert all(t.info.token_usage and t.info.token_usage["output_tokens"] > 0 for t in traces)
