"""What pipeline steps learn about governance from their environment.

The CLI knows who runs a pipeline, the project's owner and which aliases are production
aliases (settings); steps do not read settings, so ``Workspace.step_env`` passes these three
facts in environment variables and the register step reads them back with ``from_environ``.
The names are the settings' own variables, so a step started by hand reads the same values
the CLI would. The production aliases travel as a JSON list, the form the settings parse.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlplatform.governance.rules import RULES

__all__ = ["ALIASES_ENV", "OWNER_ENV", "USER_ENV", "StepGovernance", "from_environ", "to_environ"]

USER_ENV = "MLPLATFORM_USER"
OWNER_ENV = "MLPLATFORM_OWNER"
ALIASES_ENV = "MLPLATFORM_PRODUCTION_ALIASES"
_DEFAULT_OWNER = "mlplatform"


@dataclass(frozen=True)
class StepGovernance:
    """Who runs the pipeline (the author of what it registers), the owner recorded on new
    versions, and the aliases that may only point at a production version."""

    user: str
    owner: str
    production_aliases: tuple[str, ...] = RULES.production_aliases


def to_environ(user: str, owner: str, production_aliases: Sequence[str]) -> dict[str, str]:
    """The environment variables that carry these facts to a step process."""
    extra = [a for a in production_aliases if a not in RULES.production_aliases]
    return {USER_ENV: user, OWNER_ENV: owner, ALIASES_ENV: json.dumps(extra)}


def from_environ(environ: Mapping[str, str] | None = None) -> StepGovernance:
    """The facts ``to_environ`` wrote; outside a pipeline run: the OS user, the default
    owner, the platform's production aliases."""
    env = os.environ if environ is None else environ
    try:
        extra = json.loads(env.get(ALIASES_ENV) or "[]")
    except json.JSONDecodeError:
        extra = [a.strip() for a in env.get(ALIASES_ENV, "").split(",") if a.strip()]
    aliases = tuple(dict.fromkeys((*RULES.production_aliases, *map(str, extra))))
    return StepGovernance(
        user=(env.get(USER_ENV) or "").strip() or getpass.getuser(),
        owner=(env.get(OWNER_ENV) or "").strip() or _DEFAULT_OWNER,
        production_aliases=aliases,
    )
