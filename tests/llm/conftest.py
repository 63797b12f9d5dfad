"""Fixtures of the LLM tests that run the real engine (tests/llm/_engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._engine import LlmEndpoint, shared_endpoint, shared_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The tiny chat model's checkpoint folder (built once per run, read-only for tests)."""
    return shared_tiny_model()


@pytest.fixture(scope="session")
def llm_endpoint() -> LlmEndpoint:
    """`mlp llm serve` with the tiny model, engine running (shared by the whole run)."""
    return shared_endpoint()
