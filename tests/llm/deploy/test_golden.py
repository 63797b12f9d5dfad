"""Rendered YAML per cloud and kind, compared byte for byte.

A difference means the renderer's output changed. If that is intended, regenerate with
``MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm/deploy/test_golden.py`` and review the
diff like code. Every golden document also validates against the strict CRD schemas.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
import yaml

from mlplatform.llm.deploy import LlmDeploySpec, render, to_yaml

from ._specs import CLOUDS, KINDS, spec

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm/deploy/test_golden.py"
SHORT = {"llminferenceservice": "llmisvc", "inferenceservice": "isvc"}
CASES: dict[str, LlmDeploySpec] = {
    f"{cloud}-{SHORT[kind]}.yaml": spec(cloud, kind, max_model_len=2048)
    for cloud in CLOUDS
    for kind in KINDS
}
CASES["gcp-llmisvc-mistral-l4.yaml"] = spec(
    "gcp", model="mistral-7b-instruct", max_model_len=8192, concurrency=4
)
CASES["azure-isvc-codellama-a10.yaml"] = spec(
    "azure", "inferenceservice", model="codellama-7b-instruct", max_model_len=4096, concurrency=2
)
KINDS_OUT = {
    "llminferenceservice": ["LLMInferenceService", "PodMonitor"],
    "inferenceservice": ["InferenceService", "PodMonitor"],
}


def _diff(old: str, new: str, name: str, lines: int = 40) -> str:
    out = difflib.unified_diff(
        old.splitlines(), new.splitlines(), name, "rendered now", lineterm=""
    )
    return "\n".join(list(out)[:lines])


@pytest.mark.parametrize("name", CASES)
def test_rendered_yaml_matches_the_golden_file(name):
    new = to_yaml(render(CASES[name]))
    path = GOLDEN / name
    if os.environ.get("MLPLATFORM_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(new)
        return
    if not path.is_file():
        pytest.fail(f"{name} does not exist. Write it with: {REGENERATE}", pytrace=False)
    old = path.read_text()
    if old != new:
        pytest.fail(
            f"{name} differs from what the renderer writes now. If the change is intended, "
            f"regenerate the golden files with: {REGENERATE}\n{_diff(old, new, name)}",
            pytrace=False,
        )


@pytest.mark.parametrize("name", CASES)
def test_golden_files_validate_strictly(name, validate):
    path = GOLDEN / name
    if not path.is_file():
        pytest.fail(f"{name} does not exist. Write it with: {REGENERATE}", pytrace=False)
    docs = list(yaml.safe_load_all(path.read_text()))
    assert [d["kind"] for d in docs] == KINDS_OUT[CASES[name].options.kind]
    for doc in docs:
        validate(doc)


def test_every_golden_file_is_a_case():
    assert sorted(p.name for p in GOLDEN.glob("*.yaml")) == sorted(CASES)
