"""A deployment for one environment (``--env``, mlplatform.grammar.environment): every object
labelled ``mlplatform.io/environment``, the label the cluster's per-environment kustomize
components put on the platform's own objects (docs/environments.md)."""

from __future__ import annotations

import copy
from typing import Any

from mlplatform.grammar.environment import Environment

__all__ = ["ENVIRONMENT_LABEL", "label_environment"]

ENVIRONMENT_LABEL = "mlplatform.io/environment"


def label_environment(documents: list[dict[str, Any]], env: Environment) -> list[dict[str, Any]]:
    """``documents`` (rendered objects) with ``mlplatform.io/environment: <env>`` added to the
    labels of each; pure (the input is not changed)."""
    labelled = copy.deepcopy(documents)
    for document in labelled:
        metadata = document.setdefault("metadata", {})
        metadata.setdefault("labels", {})[ENVIRONMENT_LABEL] = env.value
    return labelled
