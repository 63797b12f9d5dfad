"""LLMs on this machine: vLLM in its own venv, behind one local OpenAI endpoint.

- ``llm_python``: the LLM venv's interpreter (``make install-llm``, or ``MLPLATFORM_LLM_PYTHON``);
- ``build_tiny_model``: the tiny chat model tests and the demo serve (built, never downloaded);
- ``EngineSpec`` / ``Engine``: one vLLM OpenAI server as a child process;
- ``EnginePool`` / ``RouterApp``: several engines behind one endpoint, routed by the request's
  ``model``, each started on first request and stopped when idle;
- ``build_router`` / ``serve_router``: what ``mlp llm serve`` runs.
"""

from __future__ import annotations

from mlplatform.llm.local.engine import Engine, EngineSpec, free_port, log_tail
from mlplatform.llm.local.pool import EnginePool
from mlplatform.llm.local.router import MAX_BODY_BYTES, WAIT_HEADER, RouterApp
from mlplatform.llm.local.serve import build_router, running_router, serve_router
from mlplatform.llm.local.tinymodel import TINY_SERVED_NAME, build_tiny_model
from mlplatform.llm.local.venv import LLM_PYTHON_ENV, llm_python

__all__ = [
    "LLM_PYTHON_ENV",
    "MAX_BODY_BYTES",
    "TINY_SERVED_NAME",
    "WAIT_HEADER",
    "Engine",
    "EnginePool",
    "EngineSpec",
    "RouterApp",
    "build_router",
    "build_tiny_model",
    "free_port",
    "llm_python",
    "log_tail",
    "running_router",
    "serve_router",
]
