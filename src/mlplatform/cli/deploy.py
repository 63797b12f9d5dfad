"""`mlp deploy model`: a registered model as a KServe InferenceService (render, then apply);
`mlp deploy llm`: a registered or catalog LLM on vLLM in KServe behind the OpenAI endpoint
(capacity check, render, then apply); `mlp undeploy model|llm`: delete what they applied (a
plan unless --yes).

Governance (docs/governance.md): the semver, owner, author and, for production, the approval
come from the registry version, never from flags; a production deploy of a version that breaks
the production rules is refused before anything is written or applied, and recorded as
``refused`` in the audit log; an applied deploy and an undeploy with --yes are recorded as
``deploy`` and ``undeploy``. Printing (--dry-run, -o) records nothing."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform.cli._console import console, err_console, workspace
from mlplatform.grammar.environment import Environment, deploy_stage

if TYPE_CHECKING:
    from mlplatform.governance.check import VersionFacts
    from mlplatform.serving.deploy import DeployOptions
    from mlplatform.serving.deploy.undeploy import ObjectRef, Ownership
    from mlplatform.settings import Settings
    from mlplatform.workspace import Workspace

app = typer.Typer(
    help="Deploy registered models (KServe Standard mode) and LLMs (vLLM on KServe) to "
    "Kubernetes.\n\n"
    "Example: mlp deploy model churn-model@champion --cloud gcp --canary challenger=10 --dry-run"
    "\n\n"
    "Example: mlp deploy llm tinyllama@champion --cloud aws --canary challenger=10 --dry-run",
    no_args_is_help=True,
)
undeploy_app = typer.Typer(
    help="Take deployed models down: delete what `mlp deploy model` or `mlp deploy llm` "
    "applied.\n\n"
    "Example: mlp undeploy model churn-model            (prints the plan)\n\n"
    "Example: mlp undeploy llm tinyllama --yes          (deletes)",
    no_args_is_help=True,
)


class DocFormat(StrEnum):
    """How the rendered documents are written."""

    yaml = "yaml"
    json = "json"


class Autoscaler(StrEnum):
    hpa = "hpa"
    keda = "keda"


class LlmKind(StrEnum):
    """What `mlp deploy llm` renders (docs/llm.md)."""

    llminferenceservice = "llminferenceservice"
    inferenceservice = "inferenceservice"


# Options `deploy model`, `deploy llm` and `undeploy model` share: one declaration each.
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the documents; contact no cluster.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the documents to this file.")
]
Format = Annotated[
    DocFormat,
    typer.Option("--format", "-f", help="yaml (multi-document) or json (a v1 List)."),
]
Namespace = Annotated[str | None, typer.Option(help="Namespace (deploy.namespace).")]
Context = Annotated[str | None, typer.Option(help="kubeconfig context to use.")]


class Stage(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


StageOpt = Annotated[
    Stage | None,
    typer.Option(
        help="Governance stage (deploy.stage). production needs a version that meets the "
        "production rules, approved in the registry (`mlp models approve`)."
    ),
]


EnvOpt = Annotated[
    Environment | None,
    typer.Option(
        "--env",
        help="Target environment (each is its own cluster, docs/environments.md): labels every "
        "object mlplatform.io/environment; prod applies the production rules (default stage: "
        "dev development, staging staging, prod production).",
    ),
]


@app.command("model")
def model(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A model reference: NAME (its champion), NAME@ALIAS, NAME@VERSION, "
            "NAME/VERSION, models:/NAME@ALIAS or models:/NAME/VERSION "
            "(docs/model-references.md).",
        ),
    ],
    cloud: Annotated[str, typer.Option("--cloud", help="aws, azure or gcp.")],
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary",
            metavar="ALIAS=PCT",
            help="Canary alias (or version) and its % of the traffic: a whole number 1 to 99.",
        ),
    ] = None,
    dry_run: DryRun = False,
    output: Output = None,
    doc_format: Format = DocFormat.yaml,
    namespace: Namespace = None,
    min_replicas: Annotated[int | None, typer.Option(help="Fewest replicas.")] = None,
    max_replicas: Annotated[int | None, typer.Option(help="Most replicas.")] = None,
    autoscaler: Annotated[
        Autoscaler | None, typer.Option(help="hpa (CPU) or keda (request rate).")
    ] = None,
    storage_uri: Annotated[
        list[str] | None,
        typer.Option(
            "--storage-uri",
            metavar="[ALIAS=]URI",
            help="Where the cluster reads the model: URI for the primary, ALIAS=URI for a canary.",
        ),
    ] = None,
    stage: StageOpt = None,
    env: EnvOpt = None,
    name: Annotated[
        str | None, typer.Option(help="InferenceService name (default: from the model name).")
    ] = None,
    sample_fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of requests whose payloads are kept for drift, 0 to 1 "
            "(serving.sample_fraction; default 0, off: payloads are personal data)."
        ),
    ] = None,
    sample_retention_days: Annotated[
        int | None,
        typer.Option(help="Days sampled payloads are kept (serving.sample_retention_days)."),
    ] = None,
    samples_store: Annotated[
        str | None,
        typer.Option(help="Where samples go (default: the model's bucket, serving-samples/)."),
    ] = None,
    context: Context = None,
) -> None:
    """Render a model as a KServe InferenceService (+ HTTPRoute, PodMonitor) and apply it.

    Canaries become spec.canary[] entries; the HTTPRoute carries the traffic split.
    With --autoscaler keda --min-replicas 0 the route goes through the KEDA HTTP add-on,
    which wakes the predictor (an HTTPScaledObject is rendered too).
    After applying, objects of this deployment that were not rendered this time are deleted.

    With --dry-run nothing is applied: the documents go to stdout, or to -o FILE.

    Labels and annotations carry the version's semver, owner, MLflow run and author from the
    registry; --stage production also its approval, and is refused (nothing written or
    applied; recorded in the audit log) unless every served version meets the production
    rules. Applying records a deploy in the audit log.

    Example: mlp deploy model churn-model@champion --cloud gcp --canary challenger=10 --dry-run

    Example: mlp deploy model churn-model/3 --cloud aws --dry-run   (or churn-model@3)

    Example: mlp deploy model churn-model@champion --cloud gcp --stage production

    Example: mlp deploy model churn-model@champion --cloud aws --env prod -o models/churn.yaml
    """
    from mlplatform.serving.deploy import (
        parse_storage_uris,
        render,
        resolve,
    )
    from mlplatform.serving.deploy.environments import label_environment

    ws = workspace(ctx)
    asked = stage.value if stage else None
    options = deploy_options(
        ws.settings,
        cloud,
        namespace=namespace,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        autoscaler=autoscaler.value if autoscaler else None,
        stage=deploy_stage(env, asked) if env else asked,
        name=name,
        sample_fraction=sample_fraction,
        sample_retention_days=sample_retention_days,
        samples_store=samples_store,
    )
    spec = resolve(
        ref,
        options,
        tracking_uri=ws.tracking_uri,
        canaries=canary or (),
        storage_uris=parse_storage_uris(storage_uri or ()),
        azure_account=ws.settings.storage_options.get("account_name"),
    )
    from mlplatform.llm.deploy.undeploy import LLMS
    from mlplatform.serving.deploy import governed
    from mlplatform.serving.deploy.undeploy import MODELS

    variants = (spec.primary, *spec.canaries)
    facts = [v.facts or governed.unknown_version(spec.model) for v in variants]
    refuse_ungoverned(ws, spec.model, options.stage, facts)  # before anything is written
    documents = render(spec) if env is None else label_environment(render(spec), env)
    if ws.settings.deploy.hostname is None:
        route = documents[2]["spec"]["hostnames"][0]
        err_console.print(f"[yellow]note:[/] deploy.hostname is not set; the route uses {route}")
    served = [(v.version, governed.semver(v.facts, v.version), v.percent) for v in variants]
    after = governed.deployed(spec.model, options.stage, options.namespace, served)
    if _print_or_apply(documents, doc_format, output, dry_run, context, mine=MODELS, other=LLMS):
        record_deploy(ws, "deploy", spec.model, spec.primary.version, None, after)


@app.command("llm")
def llm(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A registered LLM: NAME@ALIAS, NAME/VERSION, NAME (its champion) "
            "(docs/model-references.md); or a catalog key: tinyllama-1.1b, "
            "mistral-7b-instruct or codellama-7b-instruct.",
        ),
    ],
    cloud: Annotated[str, typer.Option("--cloud", help="aws, azure or gcp.")],
    kind: Annotated[
        LlmKind,
        typer.Option(
            help="llminferenceservice (KServe's generative path) or inferenceservice "
            "(KServe's vLLM runtime; needs a registered version; scales to zero)."
        ),
    ] = LlmKind.llminferenceservice,
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary",
            metavar="ALIAS=PCT",
            help="Another version (alias or number) and its % of the served name's "
            "requests: a whole number 1 to 99.",
        ),
    ] = None,
    min_replicas: Annotated[
        int,
        typer.Option(
            help="Fewest replicas per version (0: scale to zero; --kind inferenceservice)."
        ),
    ] = 1,
    max_replicas: Annotated[
        int | None,
        typer.Option(
            help="Most replicas: KEDA scales on vLLM's queue and KV cache (--kind "
            "inferenceservice; default: --min-replicas, fixed)."
        ),
    ] = None,
    max_model_len: Annotated[
        int | None,
        typer.Option(help="vLLM's --max-model-len (default: the model's context length)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Sequences of --max-model-len tokens the KV cache must hold.")
    ] = 1,
    gpu_memory_utilization: Annotated[
        float, typer.Option(help="vLLM's --gpu-memory-utilization: its share of GPU memory.")
    ] = 0.9,
    dtype: Annotated[
        str | None,
        typer.Option(help="vLLM's --dtype (default: the checkpoint's, as the GPU runs it)."),
    ] = None,
    gpus: Annotated[
        int, typer.Option(help="GPUs per replica (tensor parallelism; needs --pool).")
    ] = 1,
    pool: Annotated[
        str | None,
        typer.Option(help="GPU pool (default: the smallest of the cloud's pools that fits)."),
    ] = None,
    stage: StageOpt = None,
    env: EnvOpt = None,
    dry_run: DryRun = False,
    output: Output = None,
    doc_format: Format = DocFormat.yaml,
    namespace: Namespace = None,
    name: Annotated[
        str | None, typer.Option(help="Deployment name (default: from the model name).")
    ] = None,
    context: Context = None,
) -> None:
    """Check that an LLM fits a GPU pool, render it as vLLM on KServe (+ PodMonitor, its rule
    on the OpenAI endpoint, scalers) and apply it.

    The capacity check comes first: weights + KV cache (--max-model-len x --concurrency) +
    a reserve must fit the GPU's memory x --gpu-memory-utilization; a model that does not
    fit is refused with the numbers and what to change. The pool is the cloud's smallest GPU
    pool that fits, unless --pool names one.

    Every LLM is served on one OpenAI endpoint, the host deploy.hostname names for "llm",
    routed by the request body's "model" (the served name). --canary puts another version
    beside the primary with that share of the served name's requests. After applying,
    objects of this deployment no longer rendered (a promoted canary) are deleted.

    With --dry-run nothing is applied: the documents go to stdout, or to -o FILE.

    Labels and annotations carry the version's semver, owner, MLflow run and author from the
    registry; --stage production also its approval, and is refused (nothing written or
    applied; recorded in the audit log) unless every served version meets the production
    rules (a catalog key, with no registry version, never does). Applying records a deploy
    in the audit log.

    Example: mlp deploy llm tinyllama@champion --cloud gcp --canary challenger=10 --dry-run

    Example: mlp deploy llm tinyllama@champion --cloud aws --kind inferenceservice
    --min-replicas 0 --max-replicas 2 --dry-run

    Example: mlp deploy llm mistral-7b-instruct --cloud aws --max-model-len 8192 --concurrency 4

    Example: mlp deploy llm tinyllama@champion --cloud gcp --env prod --dry-run
    """
    from mlplatform.llm import capacity
    from mlplatform.llm.deploy import LlmDeployOptions, check, render
    from mlplatform.llm.deploy.identity import resolve

    ws = workspace(ctx)
    s, d = ws.settings, ws.settings.deploy
    asked = stage.value if stage else None
    options = LlmDeployOptions(
        cloud=cloud,
        kind=kind.value,
        namespace=namespace or d.namespace,
        owner=s.owner,
        stage=deploy_stage(env, asked) if env else (asked or d.stage),
        service_account=d.service_account,
        max_model_len=max_model_len,
        concurrency=concurrency,
        gpu_memory_utilization=gpu_memory_utilization,
        dtype=dtype,
        gpus=gpus,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        pool=pool,
        name=name,
        gateway_name=d.gateway_name,
        gateway_namespace=d.gateway_namespace,
        hostname=d.hostname,
    )
    from mlplatform.serving.deploy import governed

    catalog_kind(ref, kind)
    spec = resolve(ref, options, tracking_uri=ws.tracking_uri, canaries=canary or ())
    unknown = governed.unknown_version(spec.model_name)
    facts = [spec.facts or unknown, *(c.facts or unknown for c in spec.canaries)]
    refuse_ungoverned(ws, spec.model_name, options.stage, facts)  # before anything else
    chosen = check(spec)  # refuses what does not fit, before anything is rendered
    report = capacity.check(
        spec.model,
        chosen.gpu,
        max_model_len=spec.max_model_len,
        concurrency=concurrency,
        gpu_memory_utilization=gpu_memory_utilization,
        gpus=gpus,
    )
    err_console.print(f"GPU pool {chosen.name}: {report.explain()}", highlight=False)
    from mlplatform.llm.deploy.undeploy import LLMS
    from mlplatform.serving.deploy.environments import label_environment
    from mlplatform.serving.deploy.undeploy import MODELS

    documents = render(spec) if env is None else label_environment(render(spec), env)
    if d.hostname is None:
        host = next(x for x in documents if x["kind"] == "HTTPRoute")["spec"]["hostnames"][0]
        err_console.print(f"[yellow]note:[/] deploy.hostname is not set; the endpoint is {host}")
    served = [(spec.version, governed.semver(spec.facts, spec.version), 0)]
    served += [(c.version, governed.semver(c.facts, c.version), c.percent) for c in spec.canaries]
    after = governed.deployed(spec.model_name, options.stage, options.namespace, served)
    version = spec.version if spec.facts is not None else None  # a catalog key has none
    if _print_or_apply(documents, doc_format, output, dry_run, context, mine=LLMS, other=MODELS):
        record_deploy(ws, "deploy", spec.model_name, version, None, after)


def _print_or_apply(
    documents: list[dict[str, Any]],
    doc_format: DocFormat,
    output: Path | None,
    dry_run: bool,
    context: str | None,
    *,
    mine: Ownership,
    other: Ownership,
) -> bool:
    """What `deploy model` and `deploy llm` do with their documents: write them (-o), print
    them (--dry-run), or apply them and delete what this deployment no longer renders.
    Before applying, a deployment of the ``other`` kind under the same name is refused.
    True when the documents were applied."""
    from mlplatform.atomicfile import atomic_write_text
    from mlplatform.serving.deploy import KubernetesApplier, apply_all, to_json, to_yaml

    text = to_json(documents) if doc_format is DocFormat.json else to_yaml(documents)
    if output is not None:
        atomic_write_text(output, text)
        err_console.print(f"wrote {len(documents)} documents to {output}", highlight=False)
    if dry_run:
        if output is None:
            typer.echo(text, nl=False)
        return False
    cluster = KubernetesApplier(context)
    mine.refuse_collisions(documents, cluster, other)
    for applied in apply_all(documents, cluster):
        console.print(f"[green]applied[/] {applied}", highlight=False)
    for stale in mine.prune(documents, cluster):
        console.print(f"[yellow]deleted[/] {stale} (no longer rendered)", highlight=False)
    return True


def refuse_ungoverned(ws: Workspace, model: str, stage: str, versions: list[VersionFacts]) -> None:
    """Refuse a deployment whose versions break the rules of ``stage`` (production: each must
    meet the production rules, approved in the registry), before anything is written or
    applied; the refusal is appended to the audit log.

    Raises:
        PromotionRejectedError: every broken rule, named, with what to do.
    """
    from mlplatform.cli._governance import actor
    from mlplatform.governance.check import refused
    from mlplatform.serving.deploy import governed

    found = governed.violations(stage, versions, actor(ws))
    if not found:
        return
    action = f"deploy {model} to {stage}"
    ids = ", ".join(dict.fromkeys(str(v.rule.id) for v in found))
    version = versions[0].version or None
    record_deploy(ws, "refused", model, version, None, None, note=f"refused: {action} ({ids})")
    raise refused(
        action, found, changed="Nothing was written or applied; the refusal is in the audit log."
    )


def record_deploy(
    ws: Workspace,
    what: str,
    model: str,
    version: int | None,
    before: Any,
    after: Any,
    *,
    note: str | None = None,
) -> None:
    """Append a ``deploy``, ``undeploy`` or ``refused`` record to the audit log (who:
    ``actor(ws)``; the chain of ``model``, its head kept on the registered model if it is
    one)."""
    from mlplatform.cli._governance import actor, audit_log
    from mlplatform.governance.audit import AuditRecord, append

    log = audit_log(ws)
    record = AuditRecord(
        who=actor(ws).strip() or "(nobody)",
        what=what,
        model=model,
        version=None if version is None else str(version),
        before=before,
        after=after,
        note=note,
    )
    append(
        record,
        store_root=log.store_root,
        storage_options=log.storage_options,
        key=log.key,
        tracking_uri=ws.tracking_uri,
    )


def catalog_kind(ref: str, kind: LlmKind) -> None:
    """Refuse ``--kind inferenceservice`` for a catalog key, with the way to get a run.

    Raises:
        ConfigError: a catalog key has no MLflow run; the model-lineage policy refuses an
            InferenceService without one.
    """
    from mlplatform.errors import ConfigError
    from mlplatform.llm.catalog import CATALOG

    if ref in CATALOG and kind is LlmKind.inferenceservice:
        raise ConfigError(
            "--kind inferenceservice needs a registered LLM version with its MLflow run (the "
            f"model-lineage policy refuses an InferenceService without one); {ref!r} is a "
            "catalog key and has none.",
            f"Register it (`mlp llm register --catalog {ref}`) and deploy NAME@ALIAS, or "
            "pass --kind llminferenceservice (the default).",
        )


@undeploy_app.command("model")
def undeploy_model(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The deployment: its InferenceService name (deploy's --name), or the "
            "registered model name it was made from.",
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete. Without it, only print what would be deleted.")
    ] = False,
    namespace: Namespace = None,
    context: Context = None,
) -> None:
    """Delete what `mlp deploy model` applied for NAME: its InferenceService, HTTPRoute,
    PodMonitor and HTTPScaledObject (found by their labels; the shared ServingRuntime stays).

    Without --yes nothing is deleted: the objects are listed (the cluster is read).

    Example: mlp undeploy model churn-model

    Example: mlp undeploy model churn-model --namespace kserve --yes
    """
    from mlplatform.serving.deploy import KubernetesApplier, service_name, undeploy

    ws = workspace(ctx)
    where = namespace or ws.settings.deploy.namespace
    found = undeploy(service_name(name), where, KubernetesApplier(context), delete=yes)
    _report_undeploy(ws, name, where, found, yes)


@undeploy_app.command("llm")
def undeploy_llm(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The LLM deployment: deploy llm's --name, or the model name it was made from.",
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete. Without it, only print what would be deleted.")
    ] = False,
    namespace: Namespace = None,
    context: Context = None,
) -> None:
    """Delete what `mlp deploy llm` applied for NAME: every version's LLMInferenceService or
    InferenceService, its HTTPRoute, PodMonitor and KEDA scalers (found by their labels).

    Without --yes nothing is deleted: the objects are listed (the cluster is read).

    Example: mlp undeploy llm tinyllama

    Example: mlp undeploy llm tinyllama --namespace kserve --yes
    """
    from mlplatform.llm.deploy import undeploy
    from mlplatform.serving.deploy import KubernetesApplier, service_name

    ws = workspace(ctx)
    where = namespace or ws.settings.deploy.namespace
    found = undeploy(service_name(name), where, KubernetesApplier(context), delete=yes)
    _report_undeploy(ws, name, where, found, yes)


def _report_undeploy(
    ws: Workspace, name: str, namespace: str, found: list[ObjectRef], deleted: bool
) -> None:
    """Print what was (or would be) deleted; a deletion is recorded in NAME's audit chain."""
    verb = "[red]deleted[/]" if deleted else "would delete"
    for ref in found:
        console.print(f"{verb} {ref}", highlight=False)
    if not deleted:
        err_console.print("nothing deleted: pass --yes to delete these", highlight=False)
        return
    before = {"namespace": namespace, "objects": [str(ref) for ref in found]}
    record_deploy(ws, "undeploy", name, None, before, None)


def deploy_options(settings: Settings, cloud: str, **flags: Any) -> DeployOptions:
    """``[deploy]`` settings, the platform image and owner, and ``[serving]``'s sampling
    (one setting for ``mlp serve`` and the cluster), overridden by flags not ``None``. The
    predictors read drift reference profiles from the in-cluster MLflow (``CLUSTER_MLFLOW``),
    whatever URI this machine reaches the registry by."""
    from mlplatform.serving.deploy import DeployOptions, Resources
    from mlplatform.settings import CLUSTER_MLFLOW

    d = settings.deploy
    options = DeployOptions(
        cloud=cloud,
        image=settings.image,
        image_digest=settings.image_digest,
        namespace=d.namespace,
        owner=settings.owner,
        stage=d.stage,
        service_account=d.service_account,
        min_replicas=d.min_replicas,
        max_replicas=d.max_replicas,
        autoscaler=d.autoscaler,
        resources=Resources(d.cpu_request, d.cpu_limit, d.memory_request, d.memory_limit),
        gateway_name=d.gateway_name,
        gateway_namespace=d.gateway_namespace,
        hostname=d.hostname,
        sample_fraction=settings.serving.sample_fraction,
        sample_retention_days=settings.serving.sample_retention_days,
        tracking_uri=CLUSTER_MLFLOW,
    )
    return dataclasses.replace(options, **{k: v for k, v in flags.items() if v is not None})
