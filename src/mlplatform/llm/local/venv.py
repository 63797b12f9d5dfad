"""Where the LLM engine's Python is: vLLM lives in its own venv (``make install-llm``).

vLLM pins its own torch and transformers, which the platform's venv must not carry, so the
engine runs as a subprocess of ``.venv-llm/bin/python``. ``MLPLATFORM_LLM_PYTHON`` names another
interpreter (a CUDA build of vLLM, say); otherwise ``.venv-llm`` is looked for in the current
folder and its parents, then beside the mlplatform checkout this package runs from (an
editable install: the repository's venvs sit at its root).
"""

from __future__ import annotations

import os
from pathlib import Path

from mlplatform.errors import LlmEngineError

__all__ = ["LLM_PYTHON_ENV", "LLM_VENV", "llm_python"]

LLM_PYTHON_ENV = "MLPLATFORM_LLM_PYTHON"
LLM_VENV = ".venv-llm"


def llm_python(start: Path | None = None) -> Path:
    """The Python with vLLM: ``$MLPLATFORM_LLM_PYTHON``, else ``.venv-llm`` upwards of ``start``.

    Raises:
        LlmEngineError: neither exists; the hint says how to install it.
    """
    named = os.environ.get(LLM_PYTHON_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise LlmEngineError(
                f"{LLM_PYTHON_ENV}={named} is not a file.",
                f"Point {LLM_PYTHON_ENV} at a Python with vLLM installed, or unset it to use "
                f"{LLM_VENV} (`make install-llm` in the mlplatform repository).",
            )
        return path
    here = (start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[4]  # src/mlplatform/llm/local/venv.py
    for folder in (here, *here.parents, checkout):
        candidate = folder / LLM_VENV / "bin" / "python"
        if candidate.is_file():
            return candidate
    raise LlmEngineError(
        f"No LLM engine: no {LLM_VENV}/bin/python in {here} or its parents, "
        f"and {LLM_PYTHON_ENV} is not set.",
        f"Run `make install-llm` in the mlplatform repository (vLLM's CPU build, about 3.5 GB), "
        f"or set {LLM_PYTHON_ENV} to a Python that has vLLM.",
    )
