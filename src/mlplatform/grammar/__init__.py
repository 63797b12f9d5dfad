"""What users type to name things, parsed in one place (docs/model-references.md).

- ``model_ref``: ``NAME``, ``NAME@ALIAS``, ``NAME@VERSION``, ``NAME/VERSION`` and MLflow's
  ``models:/`` URIs -> ``ModelRef``; a bare ``NAME`` for ``mlp models``; errors are
  ``ModelReferenceError``;
- ``canary``: ``--canary ALIAS=PERCENT`` -> ``Canary``; errors are ``CanaryError``;
- ``gate``: ``METRIC>=NUMBER[,...]`` quality gates -> ``Gate``; errors are ``ConfigError``;
- ``environment``: ``--env dev|staging|prod`` -> ``Environment`` and the governance stage a
  deployment there is checked against (``deploy_stage``);
- ``names``: the one rule for pipeline, step and model names (``NAME_RULE``, ``check_name``),
  which become store keys; each entry point wraps its ``ValueError`` in its own error.

Every command and the serving container parse with these; nothing else splits on ``@``.
"""

from __future__ import annotations

from mlplatform.grammar.canary import Canary, parse_canaries, parse_canary
from mlplatform.grammar.environment import Environment, deploy_stage
from mlplatform.grammar.gate import Gate, parse_gate
from mlplatform.grammar.model_ref import (
    DEFAULT_ALIAS,
    ModelRef,
    parse_model_name,
    parse_model_ref,
)
from mlplatform.grammar.names import NAME_RULE, check_name

__all__ = [
    "DEFAULT_ALIAS",
    "NAME_RULE",
    "Canary",
    "Environment",
    "Gate",
    "ModelRef",
    "check_name",
    "deploy_stage",
    "parse_canaries",
    "parse_canary",
    "parse_gate",
    "parse_model_name",
    "parse_model_ref",
]
