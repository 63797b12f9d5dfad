"""The native tests of one column, on a prepared sample (see ``statistics`` for definitions).

Numeric: ``ks`` (its p-value comes later, vectorized over columns), ``wasserstein`` (score
over the reference std, ``raw`` in data units), ``psi`` and ``js`` on the profile's quantile
bins. Categorical: ``chi2`` (homogeneity, with Yates' correction for two categories, as
scipy), ``psi`` and ``js`` on the categories, unseen ones included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplatform.drift.binning import bin_counts
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.result import TestResult
from mlplatform.drift.samples import CategoricalSample, NumericSample
from mlplatform.drift.statistics import (
    chi2_homogeneity,
    ecdf_distances,
    js_distance,
    psi,
)

__all__ = ["KsPending", "Scored", "distance_test", "score_categorical", "score_numeric"]


@dataclass(frozen=True)
class KsPending:
    """A KS statistic whose p-value is computed with the other columns'."""

    statistic: float
    n_reference: int
    n_current: int


@dataclass(frozen=True)
class Scored:
    """A column's tests so far; ``decides`` names the deciding test where the mode chooses it
    (Evidently's rules), else the configured test of the column's kind decides."""

    tests: dict[str, TestResult]
    notes: tuple[str, ...] = ()
    ks: KsPending | None = None
    decides: str | None = None


def score_numeric(sample: NumericSample, config: DriftConfig) -> Scored:
    ref = sample.reference
    notes = list(_infinite_note(sample))
    if ref.count == 0:
        return Scored({}, (*notes, "the reference has no finite values: nothing to compare"))
    if sample.finite.size == 0:
        return Scored({}, (*notes, "no finite values in the current data: nothing to compare"))
    distances = ecdf_distances(ref.values, sample.finite)
    normalized, note = _normalized(distances.wasserstein, ref.std)
    if note:
        notes.append(note)
    current_bins = bin_counts(sample.finite, ref.edges)
    tests = {
        "wasserstein": distance_test(
            "wasserstein", normalized, config.wasserstein_threshold, raw=distances.wasserstein
        ),
        **_binned(ref.bin_counts, current_bins, config),
    }
    pending = KsPending(distances.ks, ref.count, int(sample.finite.size))
    return Scored(tests, tuple(notes), pending)


def _normalized(wasserstein: float, std: float) -> tuple[float, str]:
    if std > 0:
        return wasserstein / std, ""
    if wasserstein == 0:
        return 0.0, ""
    return math.inf, "the reference is constant (std 0): normalized Wasserstein is infinite"


def _infinite_note(sample: NumericSample) -> list[str]:
    ref_inf = sample.reference.positive_infinite + sample.reference.negative_infinite
    if not sample.infinite and not ref_inf:
        return []
    return [
        f"infinite values are not compared: {sample.infinite} in the current data, "
        f"{ref_inf} in the reference"
    ]


def score_categorical(sample: CategoricalSample, config: DriftConfig) -> Scored:
    notes = []
    if sample.unseen:
        share = sample.current_counts[-len(sample.unseen) :].sum() / sample.current_counts.sum()
        shown = ", ".join(sample.unseen[:5]) + (", ..." if len(sample.unseen) > 5 else "")
        notes.append(
            f"{len(sample.unseen)} categories not in the reference ({share:.2%} of values): {shown}"
        )
    if sample.reference.count == 0:
        return Scored({}, (*notes, "the reference has no values: nothing to compare"))
    if sample.current_counts.sum() == 0:
        return Scored({}, (*notes, "no values in the current data: nothing to compare"))
    chi2 = chi2_homogeneity(sample.reference_counts, sample.current_counts)
    tests = {
        "chi2": TestResult(
            "chi2", chi2.statistic, config.alpha, chi2.p_value < config.alpha, chi2.p_value
        ),
        **_binned(sample.reference_counts, sample.current_counts, config),
    }
    return Scored(tests, tuple(notes))


def _binned(
    reference: np.ndarray, current: np.ndarray, config: DriftConfig
) -> dict[str, TestResult]:
    psi_value = float(psi(reference, current, epsilon=config.epsilon, base=config.psi_log_base))
    js_value = float(js_distance(reference, current, base=config.js_log_base))
    return {
        "psi": distance_test("psi", psi_value, config.psi_threshold),
        "js": distance_test("js", js_value, config.js_threshold),
    }


def distance_test(
    name: str, score: float, threshold: float, raw: float | None = None
) -> TestResult:
    """A test without a p-value: it drifts when the score reaches the threshold."""
    return TestResult(name, score, threshold, bool(score >= threshold), raw=raw)
