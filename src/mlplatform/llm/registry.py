"""LLMs in the MLflow model registry: registered models with versions and aliases, like any
model, whose version tags carry what serving and the capacity check need.

``register_llm`` takes a source (``mlplatform.llm.sources``): a catalog entry, a local
Hugging Face checkpoint folder (copied into the tracking store's artifacts: the version's
source is that folder), or a URI whose weights stay where they are (``hf://`` pinned,
``s3://``, ``gs://``, ``abfs://``). Every registration is an MLflow run in ``llm-registry``
(the version's ``run_id``) and a version tagged::

    mlp.kind                 llm (what tells an LLM version from a predictive one)
    mlp.llm.served_name      the name clients pass as the OpenAI ``model``
    mlp.llm.architecture, .parameters, .dtype, .context_length, .num_layers,
    mlp.llm.num_kv_heads, .head_dim          the shape (config.json + safetensors headers)
    mlp.llm.gpu_memory_gib   weights + KV cache of one sequence at the full context + reserve
    mlp.llm.weights_uri      where the weights are
    mlp.llm.storage          stored (in the tracking store's artifacts) or external
    mlp.llm.digest           the idempotency key: the stored files' sha256, or the URI

Registering the same weights again returns the existing version. Every check runs before
the first write; a write that fails takes back what this call wrote (the version, the model
it created, and the run, which is marked FAILED and deleted). Aliases move through
``mlplatform.tracking.promote``, the audited path of predictive models, so
``mlp models promote|rollback`` work on LLMs unchanged.
"""

from __future__ import annotations

import contextlib
import getpass
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlplatform.atomicfile import atomic_folder
from mlplatform.errors import DigestMismatchError, RegistryError
from mlplatform.governance.check import VersionFacts, check_alias_move, refused
from mlplatform.governance.operations import AuditLog, move_alias, record_registration
from mlplatform.governance.rules import AUTHOR_TAG, OWNER_TAG, RULES, RuleSet
from mlplatform.grammar import ModelRef, parse_model_ref
from mlplatform.grammar.names import suggest_name
from mlplatform.llm import capacity
from mlplatform.llm.catalog import CatalogModel
from mlplatform.llm.sources import WeightsSource
from mlplatform.llm.weights import PICKLE_SUFFIXES, LlmShape, folder_digest, read_shape
from mlplatform.tracking import VersionInfo, get_version, list_versions
from mlplatform.tracking._mlflow import (
    client_for,
    ensure_experiment,
    existing_client,
    is_already_exists,
    quoted,
    registry_errors,
    using_tracking_uri,
)

__all__ = [
    "EXPERIMENT",
    "KIND_TAG",
    "TAG_PREFIX",
    "RegisteredLLM",
    "from_version",
    "list_llms",
    "register_llm",
    "resolve_llm",
]

EXPERIMENT = "llm-registry"
KIND_TAG = "mlp.kind"
LLM_KIND = "llm"
TAG_PREFIX = "mlp.llm."
WEIGHTS_PATH = "weights"  # the run's artifact folder that holds a stored checkpoint
_SHAPE_INTS = ("parameters", "context_length", "num_layers", "num_kv_heads", "head_dim")


@dataclass(frozen=True)
class RegisteredLLM:
    """One LLM version of the registry, as serving, deployment and the CLI see it.

    Attributes:
        alias: the alias it was resolved by (or set at registration); ``None`` by number.
        weights_uri: where the weights are: ``hf://ORG/NAME@COMMIT``, an object store
            folder, or (``stored``) the run's artifact folder in the tracking store.
        local_path: a local folder holding the weights, for stored weights: the artifact
            folder itself on a local store, else the copy downloaded into the cache folder;
            ``None`` for weights that stay elsewhere (hf://, s3://...).
        gpu_memory_gib: GPU memory for one sequence at the full context
            (``mlplatform.llm.capacity``'s arithmetic).
        created: True when ``register_llm`` made this version (False: it existed).
    """

    name: str
    version: int
    served_name: str
    weights_uri: str
    stored: bool
    shape: LlmShape
    gpu_memory_gib: float
    run_id: str | None
    alias: str | None = None
    aliases: tuple[str, ...] = ()
    local_path: Path | None = None
    catalog_key: str | None = None
    created_at: datetime | None = None
    created: bool = False

    @property
    def ref(self) -> str:
        """``NAME/VERSION``, the model reference of exactly this version."""
        return f"{self.name}/{self.version}"

    def catalog_model(self) -> CatalogModel:
        """The figures in the form ``mlplatform.llm.capacity`` and ``mlplatform.llm.deploy``
        take (``LlmDeploySpec(model=llm.catalog_model(), registered=llm.name, ...)``); its
        ``key`` is the registered name."""
        return _catalog_model(self.name, self.weights_uri, self.served_name, self.shape)


def register_llm(
    source: WeightsSource,
    *,
    tracking_uri: str,
    name: str | None = None,
    alias: str | None = None,
    served_name: str | None = None,
    user: str = "",
    owner: str = "",
    log: AuditLog | None = None,
    rules: RuleSet = RULES,
    storage_options: Mapping[str, Any] | None = None,
    experiment: str = EXPERIMENT,
) -> RegisteredLLM:
    """Register ``source`` (``mlplatform.llm.sources.parse_source``) as a version of ``name``.

    Args:
        source: the weights.
        tracking_uri: MLflow tracking (and registry) URI.
        name: registered model name; default: the catalog key, folder or repository name.
        alias: an alias to move to the version (audited, as ``mlp models promote`` does).
        served_name: the OpenAI ``model`` name clients use; default: ``name``, or the
            catalog's served name.
        user: who registers it: the version's author (four eyes) and who moved the alias;
            empty: the OS user.
        owner: the version's owner (governance rule ``metadata.owner``); empty: none.
        log: the audit log to record the registration and the alias move in (None: none).
        rules: the governance rules the alias move is checked against (production aliases).
        storage_options: fsspec options to read an object store folder's shape.
        experiment: the experiment of the registration run.

    Raises:
        ConfigError: the source cannot be read as a checkpoint (nothing was written).
        ModelReferenceError: ``name`` or ``alias`` breaks the naming rules (nothing written).
        RegistryError: MLflow refused a write; what this call wrote was taken back.
    """
    plan = _plan(source, name, served_name, storage_options)
    user = user.strip() or getpass.getuser()
    if alias is not None:
        ModelRef(plan.name, alias=alias)  # refuses a bad alias before anything is written
    client = client_for(tracking_uri)
    _refuse_other_kinds(client, plan.name)
    found = _find_by_digest(client, plan.name, plan.digest)
    mover = _Alias(alias, user, log, rules)
    if found is None and alias in rules.production_aliases:  # a new version is in no stage
        new = VersionFacts(name=plan.name, version=0)
        action = f"register {plan.name!r} with the production alias {alias!r}"
        raise refused(action, check_alias_move(new, alias, user, rules=rules))
    if found is None:
        governed = {AUTHOR_TAG: user} | ({OWNER_TAG: owner.strip()} if owner.strip() else {})
        version = _write(client, plan, tracking_uri, experiment, governed, mover)
    else:
        version = found
        mover.move(plan, version, tracking_uri)
    info = get_version(plan.name, version, tracking_uri=tracking_uri)
    llm = from_version(info, alias=alias)
    local = _local_weights(llm, info, tracking_uri, None) if llm.stored else None
    return replace(llm, local_path=local, created=found is None)


def resolve_llm(
    ref: str | ModelRef, *, tracking_uri: str, cache_dir: Path | None = None
) -> RegisteredLLM:
    """The LLM version ``ref`` names (``NAME``, ``NAME@ALIAS``, ``NAME/VERSION``...).

    Stored weights get a ``local_path``: the artifact folder on a local store, else a copy
    downloaded (once, checked against the recorded digest) into ``cache_dir/NAME/VERSION``;
    without ``cache_dir`` nothing is downloaded and ``local_path`` stays ``None``.

    Raises:
        ModelReferenceError: ``ref`` is not a model reference.
        RegistryError: no such model, version or alias, or the version is not an LLM.
        DigestMismatchError: the downloaded files differ from what was registered.
    """
    parsed = parse_model_ref(ref) if isinstance(ref, str) else ref
    info = get_version(parsed.name, parsed.alias_or_version, tracking_uri=tracking_uri)
    llm = from_version(info, alias=parsed.alias)
    if not llm.stored:
        return llm
    return replace(llm, local_path=_local_weights(llm, info, tracking_uri, cache_dir))


def list_llms(tracking_uri: str) -> list[RegisteredLLM]:
    """Every LLM version, by model name, newest version first (none in an uncreated store)."""
    client = existing_client(tracking_uri)
    if client is None:
        return []
    query = f"tags.`{KIND_TAG}` = {quoted(LLM_KIND)}"
    with registry_errors("cannot search the registry for LLMs"):
        names = sorted({v.name for v in client.search_model_versions(query, max_results=10000)})
    return [
        from_version(info)
        for name in names
        for info in list_versions(name, tracking_uri=tracking_uri)
        if info.tags.get(KIND_TAG) == LLM_KIND
    ]


def from_version(info: VersionInfo, *, alias: str | None = None) -> RegisteredLLM:
    """The ``RegisteredLLM`` a registry version's tags describe.

    Raises:
        RegistryError: the version is not an LLM, or its tags lack a figure.
    """
    tags = info.tags
    if tags.get(KIND_TAG) != LLM_KIND:
        raise RegistryError(
            f"{info.name}/{info.version} is not an LLM: it has no tag {KIND_TAG}={LLM_KIND}",
            f"Serve a predictive model with `mlp serve {info.name}/{info.version}`; "
            "`mlp llm list` shows the registered LLMs.",
        )
    try:
        figures = {k: int(tags[TAG_PREFIX + k]) for k in _SHAPE_INTS}
        shape = LlmShape(
            architecture=tags[TAG_PREFIX + "architecture"], dtype=tags[TAG_PREFIX + "dtype"],
            **figures,
        )  # fmt: skip
        return RegisteredLLM(
            name=info.name,
            version=info.version,
            served_name=tags[TAG_PREFIX + "served_name"],
            weights_uri=tags[TAG_PREFIX + "weights_uri"],
            stored=tags[TAG_PREFIX + "storage"] == "stored",
            shape=shape,
            gpu_memory_gib=float(tags[TAG_PREFIX + "gpu_memory_gib"]),
            run_id=info.run_id,
            alias=alias,
            aliases=info.aliases,
            catalog_key=tags.get(TAG_PREFIX + "catalog") or None,
            created_at=info.created,
        )
    except (KeyError, ValueError) as exc:
        raise RegistryError(
            f"{info.name}/{info.version} is tagged as an LLM but its tag {exc} is missing or "
            "not a number",
            f"Register the weights again (`mlp llm register ... --name {info.name}`).",
        ) from None


# ---- planning: every check, no write -----------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    source: WeightsSource
    name: str
    served_name: str
    shape: LlmShape
    digest: str
    files: tuple[str, ...] = ()  # a local folder's files to store, relative POSIX paths

    def tags(self, weights_uri: str) -> dict[str, str]:
        stored = self.source.kind == "local"
        model = _catalog_model(self.name, weights_uri, self.served_name, self.shape)
        needed = (
            capacity.weights_bytes(model)
            + capacity.kv_cache_bytes(model, self.shape.context_length, 1)
        ) / capacity.GIB + capacity.RESERVE_GIB
        figures = {k: str(getattr(self.shape, k)) for k in _SHAPE_INTS}
        return {
            KIND_TAG: LLM_KIND,
            **{TAG_PREFIX + k: v for k, v in figures.items()},
            TAG_PREFIX + "architecture": self.shape.architecture,
            TAG_PREFIX + "dtype": self.shape.dtype,
            TAG_PREFIX + "served_name": self.served_name,
            TAG_PREFIX + "gpu_memory_gib": f"{needed:.2f}",
            TAG_PREFIX + "weights_uri": weights_uri,
            TAG_PREFIX + "storage": "stored" if stored else "external",
            TAG_PREFIX + "source": self.source.kind,
            TAG_PREFIX + "catalog": self.source.model.key if self.source.model else "",
            TAG_PREFIX + "digest": self.digest,
        }


def _plan(
    source: WeightsSource,
    name: str | None,
    served_name: str | None,
    storage_options: Mapping[str, Any] | None,
) -> _Plan:
    chosen = _check_model_name(name or _default_name(source))
    served = served_name or (source.model.served_name if source.model else chosen)
    if source.model is not None:
        return _Plan(source, chosen, served, LlmShape.of(source.model), source.uri)
    if source.path is None:
        return _Plan(source, chosen, served, read_shape(source.uri, storage_options), source.uri)
    files = tuple(_files_to_store(source.path))
    shape = read_shape(source.path)
    return _Plan(source, chosen, served, shape, folder_digest(source.path, list(files)), files)


def _check_model_name(name: str) -> str:
    """``name`` if it can name a registered model; ``ModelReferenceError`` if not."""
    return ModelRef(name, alias="champion").name


def _default_name(source: WeightsSource) -> str:
    if source.model is not None and source.kind == "catalog":
        return source.model.key
    last = source.uri.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    return suggest_name(last.lower()) or last


def _files_to_store(folder: Path) -> list[str]:
    """The folder's files as relative POSIX paths, without pickled weights (never stored)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(PICKLE_SUFFIXES)
    )


# ---- writing, and taking it back ---------------------------------------------------------
def _write(
    client: MlflowClient,
    plan: _Plan,
    tracking_uri: str,
    experiment: str,
    governed: Mapping[str, str],
    alias: _Alias,
) -> int:
    """Run, stored weights, model, version (with the ``governed`` tags: author, owner, and
    its semantic version), alias; on any failure, what was written is taken back (the audit
    log keeps what it recorded: records are never removed)."""
    with registry_errors(f"cannot register LLM {plan.name!r}"):
        exp_id = ensure_experiment(client, experiment, tracking_uri)
        run = client.create_run(exp_id, run_name=f"register-{plan.name}")
        run_id = run.info.run_id
        created_model, version = False, None
        try:
            weights_uri = plan.source.uri
            if plan.source.path is not None:
                _store(client, run_id, plan.source.path, plan.files, tracking_uri)
                weights_uri = f"{run.info.artifact_uri.rstrip('/')}/{WEIGHTS_PATH}"
            tags = {**plan.tags(weights_uri), **governed}
            client.log_batch(run_id, params=_params(plan, tags))
            created_model = _ensure_model(client, plan.name)
            created = client.create_model_version(
                plan.name, source=weights_uri, run_id=run_id, tags=tags
            )
            version = int(created.version)
            record_registration(
                plan.name, version, created=True, tracking_uri=tracking_uri,
                actor=alias.user, log=alias.log, rules=alias.rules,
            )  # fmt: skip
            alias.move(plan, version, tracking_uri)
            with contextlib.redirect_stdout(sys.stderr):  # MLflow prints the run's link
                client.set_terminated(run_id, "FINISHED")
        except BaseException:
            _take_back(client, plan.name, version, created_model=created_model, run_id=run_id)
            raise
    return version


def _store(
    client: MlflowClient, run_id: str, folder: Path, files: tuple[str, ...], tracking_uri: str
) -> None:
    with using_tracking_uri(tracking_uri):  # mlflow-artifacts: URIs resolve against it
        for relative in files:
            parent = Path(WEIGHTS_PATH, relative).parent.as_posix()
            client.log_artifact(run_id, str(folder / relative), parent)


def _params(plan: _Plan, tags: Mapping[str, str]) -> list[Any]:
    from mlflow.entities import Param

    keys = ("served_name", "architecture", "parameters", "dtype", "context_length")
    return [
        Param("source", plan.source.uri[:6000]),
        *(Param(k, tags[TAG_PREFIX + k]) for k in keys),
    ]


def _ensure_model(client: MlflowClient, name: str) -> bool:
    """Create the registered model; True if this call created it."""
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if not is_already_exists(exc):
            raise
        return False
    return True


def _take_back(
    client: MlflowClient, name: str, version: int | None, *, created_model: bool, run_id: str | None
) -> None:
    """Undo a registration that failed half-way; best effort (the first error is the one
    raised), each step on its own."""
    steps: list[tuple[Any, tuple[Any, ...]]] = []
    if version is not None:
        steps.append((client.delete_model_version, (name, str(version))))
    if created_model:
        steps.append((client.delete_registered_model, (name,)))
    if run_id is not None:
        steps += [(client.set_terminated, (run_id, "FAILED")), (client.delete_run, (run_id,))]
    for call, args in steps:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                call(*args)
        except MlflowException:
            continue


@dataclass(frozen=True)
class _Alias:
    """The alias to move at registration: checked by the governance rules (a production
    alias is refused) and recorded, as ``mlp models promote`` does."""

    name: str | None
    user: str
    log: AuditLog | None
    rules: RuleSet

    def move(self, plan: _Plan, version: int, tracking_uri: str) -> None:
        if self.name is None:
            return
        move_alias(
            plan.name,
            self.name,
            version,
            tracking_uri=tracking_uri,
            actor=self.user,
            reason=f"registered from {plan.source.uri}",
            log=self.log,
            rules=self.rules,
        )


def _refuse_other_kinds(client: MlflowClient, name: str) -> None:
    """An LLM version never joins a model whose versions are predictive ones."""
    with registry_errors(f"cannot search the versions of {name!r}"):
        found = client.search_model_versions(f"name = {quoted(name)}", max_results=1000)
    other = sorted(int(v.version) for v in found if (v.tags or {}).get(KIND_TAG) != LLM_KIND)
    if other:
        raise RegistryError(
            f"{name!r} is a registered model whose version {other[0]} is not an LLM",
            "Register the LLM under a name of its own: --name NAME. Nothing was written.",
        )


def _find_by_digest(client: MlflowClient, name: str, digest: str) -> int | None:
    query = f"name = {quoted(name)} and tags.`{TAG_PREFIX}digest` = {quoted(digest)}"
    with registry_errors(f"cannot search the versions of {name!r}"):
        found = client.search_model_versions(query, max_results=10)
    return min(int(v.version) for v in found) if found else None


# ---- stored weights on this machine ------------------------------------------------------
def _local_weights(
    llm: RegisteredLLM, info: VersionInfo, tracking_uri: str, cache_dir: Path | None
) -> Path | None:
    if llm.weights_uri.startswith("file:"):
        path = Path(unquote(urlparse(llm.weights_uri).path))
        if not path.is_dir():
            raise RegistryError(
                f"the weights of {llm.ref} are gone from {path}",
                f"Register them again: `mlp llm register FOLDER --name {llm.name}`.",
            )
        return path
    if cache_dir is None or llm.run_id is None:
        return None
    target = cache_dir / llm.name / str(llm.version)
    if not target.is_dir():
        _download(llm, info.tags[TAG_PREFIX + "digest"], tracking_uri, target)
    return target / WEIGHTS_PATH


def _download(llm: RegisteredLLM, digest: str, tracking_uri: str, target: Path) -> None:
    """Download the run's weights folder into ``target/weights``, all or nothing, checking
    the digest (``atomic_folder``: a failed or corrupt download leaves no ``target``)."""
    assert llm.run_id is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(target) as staging:
        client = client_for(tracking_uri)
        with (
            registry_errors(f"cannot download the weights of {llm.ref}"),
            using_tracking_uri(tracking_uri),
        ):
            folder = Path(client.download_artifacts(llm.run_id, WEIGHTS_PATH, str(staging)))
        got = folder_digest(folder, _files_to_store(folder))
        if got != digest:
            raise DigestMismatchError(
                f"the weights downloaded for {llm.ref} differ from those registered "
                f"({got} != {digest})",
                "The stored files were changed; register the checkpoint again.",
            )


def _catalog_model(name: str, uri: str, served_name: str, shape: LlmShape) -> CatalogModel:
    return CatalogModel(
        key=name,
        uri=uri,
        served_name=served_name,
        architecture=shape.architecture,
        parameters=shape.parameters,
        dtype=shape.dtype,
        context_length=shape.context_length,
        num_layers=shape.num_layers,
        num_kv_heads=shape.num_kv_heads,
        head_dim=shape.head_dim,
    )
