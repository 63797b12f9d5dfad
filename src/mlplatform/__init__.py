"""mlplatform: one platform for the ML lifecycle, the same on a laptop and on a cluster.

The public API is what a pipeline author writes; everything else lives in subpackages.
"""

from __future__ import annotations

from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.dsl import Pipeline, Resources, Retries, Step, pipeline, step

__version__ = "0.1.0"

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
