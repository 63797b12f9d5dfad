"""mlplatform: one platform for the ML lifecycle, the same on a laptop and on a cluster.

The public API is what a pipeline author writes; everything else lives in subpackages.
The names load on first use, so that importing a subpackage (``mlp --help`` imports
``mlplatform.cli``) does not pay for the pipeline DSL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplatform.pipelines.context import log_metrics, log_params
    from mlplatform.pipelines.dsl import Pipeline, Resources, Retries, Step, pipeline, step

__version__ = "0.1.0"

_HOMES = {
    **dict.fromkeys(("log_metrics", "log_params"), "mlplatform.pipelines.context"),
    **dict.fromkeys(
        ("Pipeline", "Resources", "Retries", "Step", "pipeline", "step"), "mlplatform.pipelines.dsl"
    ),
}

__all__ = [
    "Pipeline",
    "Resources",
    "Retries",
    "Step",
    "__version__",
    "log_metrics",
    "log_params",
    "pipeline",
    "step",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mlplatform' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
