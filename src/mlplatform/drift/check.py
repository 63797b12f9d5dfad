"""``check_drift``: current data against a reference profile, column by column, then a verdict.

Per column the current values are prepared once (sorted, or counted), every test of its
kind is computed, and the configured test decides. KS p-values are computed for all
columns at once; the deciding p-values are then corrected for multiple testing (none,
Bonferroni or Benjamini-Hochberg) and compared with ``alpha``. The data set drifts when the
share of drifted columns, among those with a verdict, reaches ``drift_share``.

A profile's outputs (the model's ``target`` and ``prediction`` columns) are checked the same
way when the current data has them, and reported with their role; the data set verdict is
about the features alone (``DriftResult.outputs_drifted`` tells the outputs').
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mlplatform.drift.config import DriftConfig
from mlplatform.drift.histograms import categorical_histogram, numeric_histogram
from mlplatform.drift.profile import ColumnProfile, ReferenceProfile
from mlplatform.drift.result import ColumnDrift, DriftResult, TestResult
from mlplatform.drift.samples import NumericSample, Sample, SortBuffer, prepare
from mlplatform.drift.scoring import Scored, score_categorical, score_numeric
from mlplatform.drift.statistics import adjust_p_values, ks_p_values
from mlplatform.errors import DriftDataError, DriftSchemaError

__all__ = ["check_drift", "listed", "select_columns"]


def check_drift(
    reference: ReferenceProfile,
    current: pd.DataFrame,
    config: DriftConfig | None = None,
    *,
    columns: Sequence[str] | None = None,
    histograms: bool = True,
    workers: int = 2,
) -> DriftResult:
    """Compare ``current`` with the ``reference`` profile.

    Each of ``workers`` threads takes one column at a time, sorting and merging it in its
    own scratch space (numpy sorts and merges without the GIL): the extra memory is a few
    times one column per worker, whatever the number of columns, and the results do not
    depend on the number of workers.

    Args:
        reference: the profile of the training data (``build_profile``, ``load_profile``).
        current: the data to check, with (at least) the profiled columns.
        config: tests and thresholds (default ``DriftConfig()``).
        columns: check only these profiled columns (default: all of them).
        histograms: keep per-column distributions for plots (cheap).
        workers: threads working on columns (1: all in the calling thread).

    Raises:
        DriftSchemaError: a profiled column is missing from ``current``, or holds values of
            the wrong kind (text where the reference has numbers).
        DriftDataError: ``current`` has no rows.
    """
    started = time.perf_counter()
    config = config or DriftConfig()
    names, notes = select_columns(reference, current, columns)
    if len(current) == 0:
        raise DriftDataError(
            "the current data has no rows", "An empty window has nothing to compare; skip it."
        )
    pairs = [(reference.column(name), current[name]) for name in names]
    parts = _columns(pairs, config, histograms, workers)
    scored = _with_ks([sc for sc, _ in parts], config)
    roles = reference.roles
    facts = [replace(col, role=roles.get(col.name, "feature")) for _, col in parts]
    decided = _decide(facts, scored, config)
    return _verdict(reference, current, decided, config, notes, started)


@dataclass(frozen=True)
class _Scratch:
    sort: SortBuffer
    config: DriftConfig
    histograms: bool


def _columns(
    pairs: list[tuple[ColumnProfile, pd.Series]],
    config: DriftConfig,
    histograms: bool,
    workers: int,
) -> list[tuple[Scored, ColumnDrift]]:
    """Every column evaluated, in order; each thread reuses its own scratch space."""
    local = threading.local()

    def one(pair: tuple[ColumnProfile, pd.Series]) -> tuple[Scored, ColumnDrift]:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = _Scratch(SortBuffer(), config, histograms)
        return _evaluate(prepare(*pair, scratch.sort), scratch)

    if workers <= 1 or len(pairs) <= 1:
        return [one(pair) for pair in pairs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        return list(pool.map(one, pairs))


def select_columns(
    reference: ReferenceProfile, current: pd.DataFrame, columns: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """The columns to compare, and notes about the current data's other columns."""
    if current.columns.has_duplicates:
        dupes = sorted({str(c) for c in current.columns[current.columns.duplicated()]})
        raise DriftSchemaError(f"the current data has duplicate columns: {', '.join(dupes)}")
    present = {str(c) for c in current.columns}
    roles = reference.roles
    profiled = [*reference.columns, *roles]
    wanted = list(columns) if columns else list(reference.columns)
    unknown = [c for c in wanted if c not in profiled]
    if unknown:
        raise DriftSchemaError(
            f"not profiled in the reference: {', '.join(unknown)}",
            f"Profiled columns: {', '.join(profiled)}.",
        )
    notes = []
    if not columns:  # the outputs the current data has: labelled data, sampled predictions
        wanted += [name for name in roles if name in present]
        absent = [f"{name} ({role})" for name, role in roles.items() if name not in present]
        if absent:
            notes.append(f"not in the current data, not compared: {listed(absent)}")
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DriftSchemaError(
            f"the current data lacks {len(missing)} of the reference's columns: {listed(missing)}",
            "Send every profiled column, or check only some with --columns. The current "
            f"data has: {listed([str(c) for c in current.columns])}.",
        )
    extra = [c for c in map(str, current.columns) if c not in profiled]
    if extra:
        notes.append(f"not in the reference, not compared: {listed(extra)}")
    return wanted, notes


def listed(names: Sequence[str], limit: int = 8) -> str:
    """Names joined by commas, the tail of a long list counted instead of shown."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} ... ({len(names) - limit} more)"


def _evaluate(sample: Sample, scratch: _Scratch) -> tuple[Scored, ColumnDrift]:
    """One column's tests, and its facts (the verdict comes once every column is in)."""
    if scratch.config.mode == "evidently":
        from mlplatform.drift.compat import score_evidently

        scored = score_evidently(sample, scratch.config)
    elif isinstance(sample, NumericSample):
        scored = score_numeric(sample, scratch.config)
    else:
        scored = score_categorical(sample, scratch.config)
    return scored, _facts(sample, scratch)


def _facts(sample: Sample, scratch: _Scratch) -> ColumnDrift:
    ref = sample.reference
    ref_missing = ref.missing / ref.rows if ref.rows else 0.0
    cur_missing = sample.missing / sample.rows if sample.rows else 0.0
    column = ColumnDrift(
        name=ref.name,
        kind=ref.kind,
        test="",
        drifted=False,
        tests={},
        reference_count=ref.count,
        current_count=0,
        reference_missing_share=ref_missing,
        current_missing_share=cur_missing,
        missing_drifted=bool(cur_missing - ref_missing > scratch.config.missing_share_threshold),
    )
    if isinstance(sample, NumericSample):
        return replace(
            column,
            current_count=int(sample.finite.size),
            reference_infinite=sample.reference.positive_infinite
            + sample.reference.negative_infinite,
            current_infinite=sample.infinite,
            histogram=numeric_histogram(sample) if scratch.histograms else None,
        )
    current_total = int(sample.current_counts.sum())
    unseen_count = int(sample.current_counts[len(sample.reference.categories) :].sum())
    return replace(
        column,
        current_count=current_total,
        unseen=sample.unseen,
        unseen_share=unseen_count / current_total if current_total else 0.0,
        histogram=categorical_histogram(sample) if scratch.histograms else None,
    )


def _with_ks(scored: list[Scored], config: DriftConfig) -> list[Scored]:
    """Add the ``ks`` test to every column that has a pending statistic, p-values at once."""
    pending = [(i, s.ks) for i, s in enumerate(scored) if s.ks is not None]
    if not pending:
        return scored
    found = ks_p_values(
        [k.statistic for _, k in pending],
        [k.n_reference for _, k in pending],
        [k.n_current for _, k in pending],
        method=config.ks_method,
    )
    out = list(scored)
    for j, (i, _) in enumerate(pending):
        p = float(found.p_values[j])
        drifted = p <= config.alpha if config.mode == "evidently" else p < config.alpha
        ks = TestResult("ks", float(found.statistics[j]), config.alpha, drifted, p)
        notes = scored[i].notes
        if math.isnan(p):
            notes = (*notes, "too few values for a KS p-value (scipy's is NaN too)")
        if config.ks_method == "exact" and found.methods[j] != "exact":
            notes = (*notes, "exact KS p-value not possible for these sizes: asymptotic used")
        out[i] = replace(scored[i], tests={"ks": ks, **scored[i].tests}, notes=notes, ks=None)
    return out


def _decide(
    facts: list[ColumnDrift], scored: list[Scored], config: DriftConfig
) -> list[ColumnDrift]:
    deciding = [_deciding_test(f, sc, config) for f, sc in zip(facts, scored, strict=True)]
    p_values = [_p(sc.tests.get(name)) for sc, name in zip(scored, deciding, strict=True)]
    adjusted = adjust_p_values(p_values, config.correction)
    columns = []
    for fact, sc, name, adj in zip(facts, scored, deciding, adjusted, strict=True):
        tests = dict(sc.tests)
        if name in tests and tests[name].p_value is not None:
            tests[name] = _adjusted(tests[name], float(adj), config)
        drifted = bool(name in tests and tests[name].drifted)
        columns.append(replace(fact, test=name, drifted=drifted, tests=tests, notes=sc.notes))
    return columns


def _deciding_test(fact: ColumnDrift, scored: Scored, config: DriftConfig) -> str:
    if scored.decides is not None:
        return scored.decides
    return config.numeric_test if fact.kind == "numeric" else config.categorical_test


def _p(test: TestResult | None) -> float:
    return np.nan if test is None or test.p_value is None else test.p_value


def _adjusted(test: TestResult, adjusted: float, config: DriftConfig) -> TestResult:
    if config.correction == "none":
        return replace(test, adjusted_p_value=adjusted)
    return replace(test, adjusted_p_value=adjusted, drifted=bool(adjusted < config.alpha))


def _verdict(
    reference: ReferenceProfile,
    current: pd.DataFrame,
    columns: list[ColumnDrift],
    config: DriftConfig,
    notes: list[str],
    started: float,
) -> DriftResult:
    decided = [c for c in columns if c.decided and c.role == "feature"]
    if not decided:
        notes = [*notes, "no column could be tested: the data set verdict is 'no drift'"]
    share = sum(c.drifted for c in decided) / len(decided) if decided else 0.0
    return DriftResult(
        columns=tuple(columns),
        drifted=bool(decided) and share >= config.drift_share,
        drift_share=share,
        reference_rows=reference.rows,
        current_rows=len(current),
        config=config,
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
    )
