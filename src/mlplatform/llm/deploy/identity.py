"""What ``mlp deploy llm MODEL`` deploys: a model identity, from the registry or the catalog.

A deployment is made from an identity (served name, weights URI, version, alias, run, shape),
not from a catalog key: ``MODEL`` is a model reference (``NAME@ALIAS``, ``NAME/VERSION``,
``models:/...``: ``mlplatform.grammar.model_ref``) resolved by ``mlplatform.llm.registry``, or
a catalog key (``tinyllama-1.1b``), which is an identity with no version history and no run.
Canaries (``--canary ALIAS=PCT``: ``mlplatform.grammar.canary``) are other versions of the
same registered LLM, so a catalog key takes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlplatform.errors import ConfigError, DeployError, RegistryError
from mlplatform.governance.check import VersionFacts, facts_from_version
from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy.spec import LlmCanary, LlmDeployOptions, LlmDeploySpec

if TYPE_CHECKING:
    from mlplatform.llm.registry import RegisteredLLM

__all__ = ["facts_of", "from_catalog", "from_registered", "resolve"]


def resolve(
    ref: str,
    options: LlmDeployOptions,
    *,
    tracking_uri: str,
    canaries: Sequence[str] = (),
) -> LlmDeploySpec:
    """The spec for ``ref``: a catalog key, or a registered LLM version and its canaries.

    Raises:
        ConfigError: a catalog key with ``--canary``.
        ModelReferenceError, CanaryError: ``ref`` or a ``--canary`` cannot be read.
        RegistryError: no such LLM, version or alias (or it is not an LLM).
    """
    from mlplatform.grammar import parse_canaries

    parsed = parse_canaries(canaries)  # the one canary syntax, checked before the registry
    if ref in CATALOG:
        if parsed:
            raise ConfigError(
                f"{ref!r} is a catalog key: it has no versions to put beside it as a canary.",
                f"Register it (`mlp llm register --catalog {ref}`) and deploy NAME@ALIAS "
                "with --canary.",
            )
        return from_catalog(ref, options)
    from mlplatform.llm.registry import resolve_llm

    try:
        primary = resolve_llm(ref, tracking_uri=tracking_uri)
    except RegistryError as exc:
        raise RegistryError(
            f"{ref!r} is not in the LLM catalog, and the registry says: {exc.headline}",
            f"Pass a registered LLM (`mlp llm list`) or a catalog key: "
            f"{', '.join(sorted(CATALOG))}.",
        ) from exc
    found = [
        (resolve_llm(c.of(primary.name), tracking_uri=tracking_uri), c.percent) for c in parsed
    ]
    return from_registered(
        primary,
        options,
        experiment_id=experiment_of(primary, tracking_uri),
        canaries=tuple(
            _canary(llm, percent, experiment_of(llm, tracking_uri), facts_of(llm, tracking_uri))
            for llm, percent in found
        ),
        facts=facts_of(primary, tracking_uri),
    )


def from_catalog(key: str, options: LlmDeployOptions) -> LlmDeploySpec:
    """A catalog entry as a model with no run (the InferenceService kind refuses it: the
    model-lineage policy wants a run)."""
    return LlmDeploySpec(CATALOG[key], options)


def from_registered(
    llm: RegisteredLLM,
    options: LlmDeployOptions,
    *,
    experiment_id: str = "",
    canaries: tuple[LlmCanary, ...] = (),
    facts: VersionFacts | None = None,
) -> LlmDeploySpec:
    """A registered LLM version (``mlplatform.llm.registry.resolve_llm``) as a spec, with its
    governance ``facts`` (``facts_of``)."""
    _deployable(llm)
    return LlmDeploySpec(
        llm.catalog_model(),
        options,
        registered=llm.name,
        version=llm.version,
        alias=llm.alias or "",
        run_id=llm.run_id or "",
        experiment_id=experiment_id,
        canaries=canaries,
        facts=facts,
    )


def experiment_of(llm: RegisteredLLM, tracking_uri: str) -> str:
    """The experiment of the run that registered ``llm`` ("" without a run).

    Raises:
        RegistryError: the tracking server cannot be read.
    """
    if not llm.run_id:
        return ""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        run = MlflowClient(tracking_uri=tracking_uri).get_run(llm.run_id)
    except MlflowException as exc:
        raise RegistryError(f"cannot read the run of {llm.ref}: {exc.message}") from exc
    return str(run.info.experiment_id)


def facts_of(llm: RegisteredLLM, tracking_uri: str) -> VersionFacts:
    """The governance facts of the registry version ``llm`` (its semver, owner, author and
    approvals: ``governance.check.facts_from_version``).

    Raises:
        RegistryError: the registry cannot be read.
    """
    from mlplatform.tracking import get_version

    return facts_from_version(get_version(llm.name, llm.version, tracking_uri=tracking_uri))


def _canary(llm: RegisteredLLM, percent: int, experiment_id: str, facts: VersionFacts) -> LlmCanary:
    _deployable(llm)
    return LlmCanary(
        llm.catalog_model(),
        llm.version,
        percent,
        alias=llm.alias or "",
        run_id=llm.run_id or "",
        experiment_id=experiment_id,
        facts=facts,
    )


def _deployable(llm: RegisteredLLM) -> None:
    """Weights stored in a local tracking store cannot be read by a cluster."""
    if llm.weights_uri.partition("://")[0] in ("", "file"):
        raise DeployError(
            f"{llm.ref} keeps its weights in a local folder ({llm.weights_uri}), which no "
            "cluster can read",
            "Register the weights where the cluster reads them (hf://ORG/NAME@REVISION, "
            "s3://, gs:// or abfs://), or serve it here with `mlp llm serve`.",
        )
