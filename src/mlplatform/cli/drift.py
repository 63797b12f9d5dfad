"""`mlp drift profile|check|monitor`: data drift of new data against a reference profile.

Exit status of ``check`` and ``monitor``: 0 no drift, 1 drift (the data set drifted, or a
column's missing values rose past the threshold), 2 error (bad input: the message says
what and how to fix it); the table every command follows (docs/cli.md). Thresholds come
from the settings (``[drift]`` in mlplatform.toml); flags override them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlplatform._exit import ExitCode
from mlplatform.cli._console import Format, FormatOpt, console, print_json, print_table
from mlplatform.cli._console import settings as _settings
from mlplatform.errors import DriftDataError

app = typer.Typer(
    help="Data drift: profile training data once, check new data against it.\n\n"
    "Example: mlp drift check --reference ref.npz --current today.parquet --report drift.html",
    no_args_is_help=True,
)

EXIT_DRIFT = ExitCode.FOUND

ReferenceOpt = Annotated[
    str,
    typer.Option(
        "--reference",
        "-r",
        help="A profile (.npz), training data (.parquet/.csv: profiled now), or a model "
        "reference for the profile saved at registration: NAME (its champion), NAME@ALIAS, "
        "NAME/VERSION, models:/NAME@ALIAS (docs/model-references.md). Example: -r churn@champion",
    ),
]
ColumnsOpt = Annotated[
    str | None, typer.Option("--columns", help="Comma-separated columns (default: all).")
]
NumericTestOpt = Annotated[
    str | None, typer.Option("--numeric-test", help="ks, wasserstein, psi or js.")
]
CategoricalTestOpt = Annotated[
    str | None, typer.Option("--categorical-test", help="chi2, psi or js.")
]
AlphaOpt = Annotated[float | None, typer.Option("--alpha", help="Significance of p-values.")]
CorrectionOpt = Annotated[str | None, typer.Option("--correction", help="none, bonferroni or bh.")]
ModeOpt = Annotated[
    str | None, typer.Option("--mode", help="native, or evidently (Evidently's definitions).")
]
KsMethodOpt = Annotated[str | None, typer.Option("--ks-method", help="asymp, exact or auto.")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", min=1, help="Threads working on columns (same results).")
]


def _split(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _config(ctx: typer.Context, **flags: Any) -> Any:
    from mlplatform.drift import DriftConfig

    given = {k: v for k, v in flags.items() if v is not None}
    if given.get("mode") == "evidently":
        return DriftConfig.evidently(**{k: v for k, v in given.items() if k != "mode"})
    values = _settings(ctx).drift.model_dump(exclude={"bins"})
    return DriftConfig.from_mapping({**values, **given})


def _reference(ctx: typer.Context, reference: str) -> Any:
    """A file (one that exists, or a name ending in .npz, .parquet, .pq or .csv), else a
    model reference: the profile saved beside that version at registration."""
    from mlplatform.drift import build_profile, is_profile_file, load_profile, read_table
    from mlplatform.drift.io import DATA_SUFFIXES
    from mlplatform.drift.profile import PROFILE_SUFFIX

    path = Path(reference)
    if not path.exists() and path.suffix.lower() not in (PROFILE_SUFFIX, *DATA_SUFFIXES):
        from mlplatform.components.register import load_reference_profile
        from mlplatform.grammar import parse_model_ref

        ref = parse_model_ref(reference)
        uri = _settings(ctx).resolved_tracking_uri()
        return load_reference_profile(ref.name, ref.alias_or_version, tracking_uri=uri)
    if is_profile_file(path):
        return load_profile(path)
    if not path.exists():
        raise DriftDataError(f"no reference at {reference}", "Pass a profile or a data file.")
    bins = _settings(ctx).drift.bins
    return build_profile(read_table(path), bins=bins, source=str(path))


@app.command("profile")
def profile(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="Training data: Parquet or CSV.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Profile file to write (.npz).")],
    columns: ColumnsOpt = None,
    categorical: Annotated[
        str | None, typer.Option("--categorical", help="Numeric columns to treat as categories.")
    ] = None,
    bins: Annotated[int | None, typer.Option("--bins", help="Quantile bins (settings).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Profile training data once: what every later drift check compares against.

    Example: mlp drift profile train.parquet -o ref.npz
    """
    from mlplatform.drift import build_profile, read_table, save_profile

    table = read_table(data)
    built = build_profile(
        table,
        columns=_split(columns),
        categorical=_split(categorical) or (),
        bins=bins or _settings(ctx).drift.bins,
        source=str(data),
    )
    written = save_profile(built, output)
    summary = {**built.summary(), "path": str(written)}
    if fmt is Format.json:
        print_json(summary)
        return
    rows = [{"column": name, **info} for name, info in summary["columns"].items()]
    print_table(
        rows,
        ["column", "kind", "dtype", "missing_share", "mean", "std", "distinct"],
        title=f"profile of {data} ({built.rows:,} rows) -> {written}",
    )


@app.command("check")
def check(
    ctx: typer.Context,
    reference: ReferenceOpt,
    current: Annotated[Path, typer.Option("--current", "-c", help="Data to check.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a self-contained HTML report here.")
    ] = None,
    columns: ColumnsOpt = None,
    numeric_test: NumericTestOpt = None,
    categorical_test: CategoricalTestOpt = None,
    alpha: AlphaOpt = None,
    correction: CorrectionOpt = None,
    mode: ModeOpt = None,
    ks_method: KsMethodOpt = None,
    workers: WorkersOpt = 2,
    fmt: FormatOpt = Format.table,
) -> None:
    """Check data against a reference: exit 0 no drift, 1 drift, 2 error.

    Example: mlp drift check --reference ref.npz --current today.parquet --report drift.html
    """
    from mlplatform.drift import check_drift, read_table
    from mlplatform.drift.report import write_report

    config = _config(
        ctx,
        numeric_test=numeric_test,
        categorical_test=categorical_test,
        alpha=alpha,
        correction=correction,
        mode=mode,
        ks_method=ks_method,
    )
    ref = _reference(ctx, reference)
    data = read_table(current)
    result = check_drift(ref, data, config, columns=_split(columns), workers=workers)
    if report is not None:
        write_report(result, report, reference_name=reference, current_name=str(current))
    _print_check(result, fmt, report)
    if result.any_drift:
        raise typer.Exit(EXIT_DRIFT)


def _print_check(result: Any, fmt: Format, report: Path | None) -> None:
    if fmt is Format.json:
        print_json({**result.to_dict(), "report": str(report) if report else None})
        return
    rows = []
    for col in result.by_severity():
        test = col.tests.get(col.test)
        rows.append(
            {
                "column": col.name,
                "test": col.test,
                "score": None if test is None else test.score,
                "p_value": None if test is None else test.p_value,
                "drift": "yes" if col.drifted else ("no" if col.decided else "-"),
                "missing": f"{col.reference_missing_share:.0%}->{col.current_missing_share:.0%}"
                + (" !" if col.missing_drifted else ""),
                "notes": "; ".join(col.notes),
            }
        )
    columns = ["column", "test", "score", "p_value", "drift", "missing"]
    columns += ["notes"] if any(row["notes"] for row in rows) else []
    print_table(rows, columns, title="drift by column, most severe first")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
    console.print(_verdict_line(result), highlight=False)
    if report is not None:
        console.print(f"report: {report}", highlight=False)


def _verdict_line(result: Any) -> str:
    decided = sum(c.decided for c in result.columns)
    share = f"{len(result.drifted_columns)} of {decided} columns (share {result.drift_share:.2f}"
    share += f", threshold {result.config.drift_share:.2f})"
    head = "[bold red]DRIFT[/]" if result.drifted else "[bold green]no drift[/]"
    missing = result.missing_drifted
    tail = f"; [yellow]missing values up in: {', '.join(missing)}[/]" if missing else ""
    return f"{head}: {share}{tail}"


@app.command("monitor")
def monitor(
    ctx: typer.Context,
    reference: ReferenceOpt,
    current: Annotated[
        list[Path], typer.Option("--current", "-c", help="Inference inputs, in order (repeat).")
    ],
    window_rows: Annotated[
        int | None, typer.Option("--window-rows", help="Rows per window.")
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="Time window (15min, 1h, 1d).")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Column with each row's time.")
    ] = None,
    model: Annotated[str, typer.Option("--model", help="Model label of the gauges.")] = "",
    version: Annotated[
        str, typer.Option("--model-version", help="Version label of the gauges.")
    ] = "",
    metrics_file: Annotated[
        Path | None,
        typer.Option("--metrics-file", help="Write the Prometheus gauges here (textfile)."),
    ] = None,
    workers: WorkersOpt = 2,
    fmt: FormatOpt = Format.table,
) -> None:
    """Check windows of inference inputs; gauges for Prometheus. Exit 1 if any drifted.

    Example: mlp drift monitor -r models:/churn@champion -c day1.parquet --window-rows 10000
    """
    from mlplatform.drift import DriftMetrics, DriftMonitor, iter_frames

    metrics = DriftMetrics()
    watcher = DriftMonitor(
        _reference(ctx, reference),
        _config(ctx),
        window_rows=window_rows,
        window=window,
        time_column=time_column,
        metrics=metrics,
        model=model,
        version=version,
        workers=workers,
    )
    windows = list(watcher.run(iter_frames(current)))
    if metrics_file is not None:
        metrics.write_textfile(metrics_file)
    rows = [w.to_dict() for w in windows]
    if fmt is Format.json:
        print_json({"windows": rows, "late_rows": watcher.late_rows})
    else:
        columns = ["window", "start", "end", "rows", "drifted", "drift_share", "drifted_columns"]
        print_table(rows, [*columns, "missing_drifted"], title="drift by window")
    if any(w.result.any_drift for w in windows):
        raise typer.Exit(EXIT_DRIFT)
