"""From a model reference and ``--canary ALIAS=PCT`` to a ``DeploySpec``, through the registry.

Both are parsed by ``mlplatform.grammar`` (``parse_model_ref``, ``parse_canaries``). Each alias
(or version number) is looked up with ``mlplatform.tracking.get_version``; the
version's artifact location comes from MLflow's download URI (or ``--storage-uri``) and is
mapped to the cloud's store by ``storage.storage_uri``; its governance facts (semver, owner,
author, approvals: ``governance.check.facts_from_version``) and its feature service (the
``mlplatform.feature_service`` tag) travel with it to the renderer.
MLflow is imported when used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mlplatform.errors import DeployError, RegistryError
from mlplatform.features.training import SERVICE_TAG
from mlplatform.governance.check import facts_from_version
from mlplatform.grammar import ModelRef, parse_canaries, parse_model_ref
from mlplatform.serving.deploy.render import DeployOptions, DeploySpec, VariantSpec
from mlplatform.serving.deploy.storage import storage_uri

if TYPE_CHECKING:
    from mlplatform.tracking import VersionInfo

__all__ = ["parse_storage_uris", "resolve"]

PRIMARY = ""  # the key of the primary's --storage-uri
_ALIAS_URI = re.compile(r"^(?P<alias>[\w-]+)=(?P<uri>.+)$")


def parse_storage_uris(items: Sequence[str]) -> dict[str, str]:
    """``URI`` (the primary's) and ``ALIAS=URI`` (a canary's) -> {alias or "": URI}."""
    out: dict[str, str] = {}
    for item in items:
        match = _ALIAS_URI.match(item.strip())
        alias, uri = (match["alias"], match["uri"]) if match else (PRIMARY, item.strip())
        if alias in out:
            raise DeployError(
                f"--storage-uri given twice for {alias or 'the primary'}",
                "Pass one URI for the primary and one ALIAS=URI per canary.",
            )
        out[alias] = uri
    return out


def resolve(
    ref: str,
    options: DeployOptions,
    *,
    tracking_uri: str,
    canaries: Sequence[str] = (),
    storage_uris: Mapping[str, str] | None = None,
    azure_account: str | None = None,
) -> DeploySpec:
    """Look ``ref`` (a model reference: ``NAME``, ``NAME@ALIAS``, ``NAME/VERSION``...) and
    each canary (``ALIAS=PCT``) up in the registry and build the spec to render.

    Each version's governance facts come with it (``VariantSpec.facts``): the renderer labels
    its semver and owner from them, and production needs its approval.

    Raises:
        ModelReferenceError: ``ref`` is not a model reference.
        CanaryError: a canary is not ALIAS=PCT with a whole percent 1..99, or the canaries
            take all the traffic.
        DeployError: an unknown model, version or alias, a canary on the primary's version,
            or artifacts a cluster cannot read (see ``storage.storage_uri``).
        RegistryError: the registry could not be read.
    """
    model = parse_model_ref(ref)
    uris = dict(storage_uris or {})
    parsed = parse_canaries(canaries)
    wanted = [(model, 0), *((c.of(model.name), c.percent) for c in parsed)]
    unknown = set(uris) - {PRIMARY, *(c.target for c in parsed)}
    if unknown:
        raise DeployError(
            f"--storage-uri for {', '.join(sorted(unknown))}, which is not a --canary",
            "Give ALIAS=URI only for the aliases passed with --canary.",
        )
    resolved = []
    for i, (wanted_ref, pct) in enumerate(wanted):
        given = uris.get(PRIMARY if i == 0 else wanted_ref.alias_or_version)
        resolved.append(_variant(wanted_ref, pct, options, tracking_uri, given, azure_account))
    primary, canary_variants = resolved[0], tuple(resolved[1:])
    return DeploySpec(model.name, primary, options, canary_variants)


def _variant(
    ref: ModelRef,
    percent: int,
    options: DeployOptions,
    tracking_uri: str,
    given_uri: str | None,
    azure_account: str | None,
) -> VariantSpec:
    info = _version(ref, tracking_uri)
    location, experiment_id = _location_and_experiment(info, tracking_uri)
    variant = VariantSpec(
        version=info.version,
        storage_uri=storage_uri(given_uri or location, options.cloud, azure_account=azure_account),
        run_id=info.run_id or "",
        experiment_id=experiment_id,
        alias=ref.alias or "",
        percent=percent,
        facts=facts_from_version(info),
        feature_service=info.tags.get(SERVICE_TAG, ""),  # served from entity keys
    )
    return variant


def _version(ref: ModelRef, tracking_uri: str) -> VersionInfo:
    from mlplatform.tracking import get_version

    try:
        return get_version(ref.name, ref.alias_or_version, tracking_uri=tracking_uri)
    except RegistryError as exc:
        raise DeployError(
            exc.headline, f"Run `mlp models show {ref.name}` to see its versions and aliases."
        ) from exc


def _location_and_experiment(info: VersionInfo, tracking_uri: str) -> tuple[str, str]:
    """MLflow's download URI of the version's artifacts, and its run's experiment id."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        location = client.get_model_version_download_uri(info.name, str(info.version))
        run = client.get_run(info.run_id) if info.run_id else None
    except MlflowException as exc:
        raise RegistryError(
            f"cannot read version {info.version} of {info.name!r}: {exc.message}"
        ) from exc
    return str(location), str(run.info.experiment_id) if run else ""
