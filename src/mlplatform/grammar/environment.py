"""``--env dev|staging|prod``: the platform's environments, and the governance stage each
deploys at.

Each environment is its own cluster (docs/environments.md, ADR 0022). prod serves production
models only: a deployment to prod is checked against the production rules (a version approved
for production in the registry) and any other ``--stage`` is refused; dev and staging default to
the development and staging stages and take any stage they are given (a production candidate
is tried in staging first).
"""

from __future__ import annotations

from enum import StrEnum

from mlplatform.errors import ConfigError

__all__ = ["Environment", "deploy_stage"]


class Environment(StrEnum):
    """The environments every cloud has (infrastructure/environments/<env>.yaml)."""

    dev = "dev"
    staging = "staging"
    prod = "prod"


_DEFAULT_STAGE = {
    Environment.dev: "development",
    Environment.staging: "staging",
    Environment.prod: "production",
}


def deploy_stage(env: Environment, stage: str | None) -> str:
    """The governance stage a deployment to ``env`` is checked against: ``stage`` (what the
    user asked for; None: not given), else the environment's (dev: development, staging:
    staging, prod: production).

    Raises:
        ConfigError: prod with a stage other than production.
    """
    if env is Environment.prod and stage not in (None, "production"):
        raise ConfigError(
            f"--env prod serves production models only, not --stage {stage}",
            "Leave --stage out (prod means production), or deploy to --env staging to try a "
            "version not yet approved; approve one for production with "
            "`mlp models approve NAME VERSION --ticket KEY`.",
        )
    return stage or _DEFAULT_STAGE[env]
