"""`mlp features skew`: training/serving skew of a model's feature service.

For a registered model version trained from the feature store (tagged with its feature
service by the register step) the entities are its train split's entity keys, the
distribution reference is the profile saved at registration; ``--service``, ``--entities``
and ``--reference`` give them without a model (or override them). Exit status: 0 no value
skew, 1 value skew (with ``--strict`` also when the online values' distribution drifted from
the training profile), 2 error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlplatform._exit import ExitCode
from mlplatform.cli._console import (
    Format,
    FormatOpt,
    console,
    print_json,
    print_table,
    settings,
    workspace,
)
from mlplatform.cli.features import app
from mlplatform.errors import FeatureStoreError

if TYPE_CHECKING:
    import pandas as pd

    from mlplatform.drift.profile import ReferenceProfile
    from mlplatform.drift.skew import SkewResult

__all__ = ["skew"]


@dataclass
class _Inputs:
    """What the check compares: the service, the entities, the training profile."""

    service: str
    entities: pd.DataFrame | None = None
    reference: ReferenceProfile | None = None
    model: str = ""
    version: str = ""


@app.command("skew")
def skew(
    ctx: typer.Context,
    model: Annotated[
        str | None,
        typer.Argument(
            help="A registered model trained from the feature store: NAME (its champion), "
            "NAME@ALIAS, NAME/VERSION (docs/model-references.md)."
        ),
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="The feature service (default: the model's).")
    ] = None,
    entities: Annotated[
        Path | None,
        typer.Option(
            "--entities",
            help="Parquet or CSV with the entity keys (default: the model's train split).",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            "-r",
            help="Training profile (.npz) or data for the distribution check "
            "(default: the model's profile).",
        ),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", min=0.0, help="Relative and absolute, for numbers.")
    ] = 1e-6,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="Mismatch share that is skew."),
    ] = 0.0,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on distribution drift too.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report here.")
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option("--metrics-file", help="Write the Prometheus gauges here (textfile)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Compare a model's features offline and online: exit 0 no skew, 1 skew, 2 error.

    Examples:

      mlp features skew churn-features-model@champion --report skew.html

      mlp features skew --service churn --entities labels.parquet --metrics-file skew.prom
    """
    from mlplatform.drift.skew_metrics import SkewMetrics
    from mlplatform.drift.skew_report import write_skew_report
    from mlplatform.features.skew import check_skew
    from mlplatform.features.store import open_store

    found = _model_inputs(ctx, model) if model else _Inputs(service="")
    found.service = service or found.service
    if not found.service:
        raise FeatureStoreError(
            "which feature service? no model trained from the feature store was given",
            "Name a model registered by a feature-store pipeline (mlp features skew NAME@ALIAS), "
            "or pass --service NAME --entities KEYS.parquet.",
        )
    if entities is not None:
        found.entities = _table(entities)
    if reference is not None:
        from mlplatform.cli.drift import _reference

        found.reference = _reference(ctx, reference)
    if found.entities is None:
        raise FeatureStoreError(
            "no entities to compare",
            "Pass --entities KEYS.parquet (a table with the entity keys, e.g. the labels).",
        )
    result = check_skew(
        open_store(workspace(ctx).feature_store()),
        found.service,
        found.entities,
        reference=found.reference,
        tolerance=tolerance,
        threshold=threshold,
        model=found.model,
        version=found.version,
    )
    if report is not None:
        write_skew_report(result, report)
    if metrics_file is not None:
        metrics = SkewMetrics()
        metrics.observe(result)
        metrics.write_textfile(metrics_file)
    _print(result, fmt, report)
    if result.skewed or (strict and result.distribution_drifted):
        raise typer.Exit(ExitCode.FOUND)


def _model_inputs(ctx: typer.Context, model: str) -> _Inputs:
    """The model version's feature service, train split entities and reference profile."""
    from mlplatform.components.register import load_reference_profile
    from mlplatform.errors import ProfileError
    from mlplatform.features.training import SERVICE_TAG
    from mlplatform.grammar import parse_model_ref
    from mlplatform.tracking import get_version

    ref = parse_model_ref(model)
    uri = settings(ctx).resolved_tracking_uri()
    info = get_version(ref.name, ref.alias_or_version, tracking_uri=uri)
    found = _Inputs(
        service=info.tags.get(SERVICE_TAG, ""), model=ref.name, version=str(info.version)
    )
    digest = info.tags.get("mlplatform.data_digest", "")
    if digest and info.tags.get("mlplatform.pipeline_run_id"):
        found.entities = _train_split(ctx, digest)
    try:
        found.reference = load_reference_profile(ref.name, info.version, tracking_uri=uri)
    except ProfileError:
        found.reference = None
    return found


def _train_split(ctx: typer.Context, digest: str) -> pd.DataFrame | None:
    """The train split of the pipeline run that registered the version (its artifact in
    the artifact store, by the digest the version is tagged with), or None if gone."""
    import tempfile

    from mlplatform.artifacts.refs import ArtifactRef
    from mlplatform.errors import ArtifactNotFoundError, DigestMismatchError

    store = workspace(ctx).store
    ref = ArtifactRef(store.url(store.object_key(digest)), digest, "parquet", 0)
    with tempfile.TemporaryDirectory(prefix="mlp-skew-") as tmp:
        try:
            path = store.fetch(ref, Path(tmp))
        except (ArtifactNotFoundError, DigestMismatchError):
            return None
        import pandas as pd

        return pd.read_parquet(path)


def _table(path: Path) -> pd.DataFrame:
    from mlplatform.drift import read_table

    return read_table(path)


def _print(result: SkewResult, fmt: Format, report: Path | None) -> None:
    if fmt is Format.json:
        print_json({**result.to_dict(), "report": str(report) if report else None})
        return
    rows = [
        {
            "feature": v.feature,
            "kind": v.kind,
            "mismatch": f"{v.mismatch_rate:.1%}",
            "entities": v.compared,
            "missing_online": v.missing_online,
            "skewed": "yes" if v.mismatch_rate > result.threshold else "no",
        }
        for v in sorted(result.values, key=lambda v: -v.mismatch_rate)
    ]
    who = f" of {result.model}/{result.version}" if result.model else ""
    print_table(
        rows,
        ["feature", "kind", "mismatch", "entities", "missing_online", "skewed"],
        title=f"skew of feature service {result.service}{who}: offline vs online",
    )
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
    skewed = result.skewed_features
    head = f"[bold red]SKEW[/] in {', '.join(skewed)}" if skewed else "[bold green]no skew[/]"
    console.print(head, highlight=False)
    if result.distribution is not None:
        drifted = result.distribution.drifted_columns
        console.print(
            "distribution vs training profile: "
            + (f"[yellow]drifted: {', '.join(drifted)}[/]" if drifted else "no drift"),
            highlight=False,
        )
    if report is not None:
        console.print(f"report: {report}", highlight=False)
