"""The tiny chat model the tests and ``make demo-llm`` serve: built here, never downloaded.

``build_tiny_model(dest)`` runs ``tiny_model_script.py`` with the LLM venv's Python (it needs
torch, transformers and tokenizers, which only that venv has) into a temporary folder beside
``dest`` that becomes ``dest`` when the build succeeds: a failed build leaves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlplatform.atomicfile import atomic_folder
from mlplatform.errors import LlmEngineError
from mlplatform.llm.local.venv import llm_python

__all__ = ["SCRIPT", "TINY_SERVED_NAME", "build_tiny_model"]

SCRIPT = Path(__file__).with_name("tiny_model_script.py")
TINY_SERVED_NAME = "tiny-chat"


def build_tiny_model(dest: Path, *, seed: int = 0, python: Path | None = None) -> Path:
    """Build the tiny random-weight Llama chat model into ``dest`` (which must not exist).

    Returns:
        ``dest``, a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer).

    Raises:
        LlmEngineError: the LLM venv is missing or the build failed (its output is attached).
        FileExistsError: ``dest`` exists.
    """
    interpreter = python or llm_python()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with atomic_folder(dest) as tmp:
        proc = subprocess.run(
            [str(interpreter), str(SCRIPT), str(tmp), "--seed", str(seed)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise LlmEngineError(
                f"Building the tiny model failed (exit {proc.returncode}).",
                f"Check the LLM venv: `{interpreter} -c 'import transformers, tokenizers'`; "
                "reinstall it with `make install-llm`.",
            ) from RuntimeError(proc.stderr[-4000:])
    return dest


if __name__ == "__main__":  # pragma: no cover - a convenience: python -m ... DEST
    print(build_tiny_model(Path(sys.argv[1])))
