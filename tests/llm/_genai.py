"""What the GenAI tests share: MLflow's process-wide tracing state, put back after each test.

``mlplatform.llm.client.enable_tracing`` points the whole process at one tracking URI and
experiment (MLflow's tracer is process-wide) and turns OpenAI autologging on; a test that
calls it runs under ``tracing_restored`` so the tests after it (same worker) see MLflow as
they would have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["sqlite_uri", "tracing_restored"]

_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")


def sqlite_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


@contextmanager
def tracing_restored() -> Iterator[None]:
    import mlflow
    import mlflow.openai
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils

    old_uri = utils._tracking_uri
    old_env = {name: os.environ.get(name) for name in _ENV}
    try:
        yield
    finally:
        mlflow.flush_trace_async_logging()
        mlflow.openai.autolog(disable=True)
        mlflow.set_tracking_uri(old_uri)  # type: ignore[arg-type]  # None resets it
        fluent._active_experiment_id = None
        for name, value in old_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
