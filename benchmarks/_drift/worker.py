"""One tool in one process: time its drift computation on the benchmark's files, write JSON.

    python worker.py TOOL REFERENCE.parquet CURRENT.parquet --repeat 3 --out result.json

Tools: ``mlplatform`` (profile built beforehand, not timed; it also times the floor, one
``np.sort`` of the current numeric data, before each run), ``mlplatform-1-thread`` (the
same with ``workers=1``: every column in one thread), ``mlplatform-cold`` (profile build +
check),
``mlplatform-evidently`` (our Evidently compatibility mode), ``scipy`` (the plain loop),
``evidently`` (its data drift preset) and ``nannyml`` (univariate drift). The peers run
in their own venv (Evidently needs pandas < 3): this file imports only what a tool needs.
Reading the files is not timed; each tool gets the DataFrames pandas reads (categorical
columns as ``category``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import measured

Values = dict[str, dict[str, float]]
Prepared = tuple[Callable[[], Any], Callable[[Any], Values]]


def split(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return numeric, [c for c in frame.columns if c not in numeric]


# ---- mlplatform --------------------------------------------------------------------------
def _ours(result: Any) -> Values:
    out: Values = {}
    for col in result.columns:
        t = col.tests
        if col.kind == "numeric":
            out[col.name] = {
                "ks": t["ks"].score,
                "ks_p": t["ks"].p_value,
                "wasserstein": t["wasserstein"].raw,
                "wasserstein_norm": t["wasserstein"].score,
                "psi": t["psi"].score,
                "js": t["js"].score,
            }
        else:
            out[col.name] = {
                "chi2": t["chi2"].score,
                "chi2_p": t["chi2"].p_value,
                "psi": t["psi"].score,
                "js": t["js"].score,
            }
    return out


def mlplatform(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    from mlplatform.drift import build_profile, check_drift

    profile = build_profile(ref)
    return (lambda: check_drift(profile, cur)), _ours


def mlplatform_one_thread(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    from mlplatform.drift import build_profile, check_drift

    profile = build_profile(ref)
    return (lambda: check_drift(profile, cur, workers=1)), _ours


def _floor(cur: pd.DataFrame) -> Callable[[], Any]:
    numeric, _ = split(cur)
    columns = [cur[c].to_numpy() for c in numeric]
    return lambda: [np.sort(c) for c in columns]


def mlplatform_cold(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    from mlplatform.drift import build_profile, check_drift

    return (lambda: check_drift(build_profile(ref), cur)), _ours


def mlplatform_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    from mlplatform.drift import DriftConfig, build_profile, check_drift

    profile = build_profile(ref)
    config = DriftConfig.evidently()

    def values(result: Any) -> Values:
        keys = {"wasserstein": "wasserstein_norm_evidently", "js": "js_evidently"}
        return {
            c.name: {keys.get(c.test, c.test): c.tests[c.test].score}
            for c in result.columns
            if c.decided
        }

    return (lambda: check_drift(profile, cur, config)), values


# ---- the plain scipy loop ----------------------------------------------------------------
def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    numeric, categorical = split(ref)

    def run() -> Values:
        out = {c: _scipy_numeric(ref[c].to_numpy(), cur[c].to_numpy()) for c in numeric}
        out |= {c: _scipy_categorical(ref[c], cur[c]) for c in categorical}
        return out

    return run, lambda values: values


def _scipy_numeric(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    ks = stats.ks_2samp(a, b, method="asymp")
    w = stats.wasserstein_distance(a, b)
    edges = np.unique(np.quantile(a, np.linspace(0, 1, 11)[1:-1]))
    p = np.bincount(np.digitize(a, edges), minlength=edges.size + 1)
    q = np.bincount(np.digitize(b, edges), minlength=edges.size + 1)
    std = float(a.std())
    return {
        "ks": float(ks.statistic),
        "ks_p": float(ks.pvalue),
        "wasserstein": float(w),
        "wasserstein_norm": w / std,
        "wasserstein_norm_evidently": w / max(std, 0.001),
        "psi": _psi(p, q),
        "js": float(jensenshannon(p, q, base=2)),
    }


def _scipy_categorical(a: pd.Series, b: pd.Series) -> dict[str, float]:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    counts = pd.concat(
        [a.astype(object).value_counts(), b.astype(object).value_counts()], axis=1
    ).fillna(0)
    counts = counts[counts.sum(axis=1) > 0]
    p, q = counts.iloc[:, 0].to_numpy(), counts.iloc[:, 1].to_numpy()
    chi2 = stats.chi2_contingency(np.vstack([p, q]))
    return {
        "chi2": float(chi2.statistic),
        "chi2_p": float(chi2.pvalue),
        "psi": _psi(p, q),
        "js": float(jensenshannon(p, q, base=2)),
        "js_evidently": float(jensenshannon(p / p.sum(), q / q.sum())),
    }


def _psi(p: np.ndarray, q: np.ndarray, eps: float = 1e-4) -> float:
    p, q = p / p.sum(), q / q.sum()
    p, q = np.where(p == 0, eps, p), np.where(q == 0, eps, q)
    return float(np.sum((q - p) * np.log(q / p)))


# ---- peers -------------------------------------------------------------------------------
_EVIDENTLY_KEYS = {
    "Wasserstein distance (normed)": "wasserstein_norm_evidently",
    "Jensen-Shannon distance": "js_evidently",
    "K-S p_value": "ks_p",
    "chi-square p_value": "chi2_p",
}


def evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def values(snapshot: Any) -> Values:
        out: Values = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric.get("config", {})
            if config.get("type", "").endswith("ValueDrift"):
                key = _EVIDENTLY_KEYS.get(config.get("method", ""), config.get("method", "?"))
                out.setdefault(config["column"], {})[key] = float(metric["value"])
        return out

    return (lambda: Report([DataDriftPreset()]).run(cur, ref)), values


def nannyml(ref: pd.DataFrame, cur: pd.DataFrame) -> Prepared:
    import warnings

    import nannyml as nml

    warnings.filterwarnings("ignore")
    columns = list(ref.columns)

    def run() -> Any:
        calc = nml.UnivariateDriftCalculator(
            column_names=columns,
            continuous_methods=["kolmogorov_smirnov", "wasserstein", "jensen_shannon"],
            categorical_methods=["chi2", "jensen_shannon"],
            chunk_number=1,
        )
        calc.fit(ref)
        return calc.calculate(cur)

    def values(result: Any) -> Values:
        frame = result.filter(period="analysis").to_df()
        keys = {"kolmogorov_smirnov": "ks", "wasserstein": "wasserstein", "chi2": "chi2"}
        out: Values = {}
        for column, method, field in frame.columns:
            if field == "value" and method in keys:
                out.setdefault(column, {})[keys[method]] = float(
                    frame[(column, method, field)].iloc[0]
                )
        return out

    return run, values


TOOLS: dict[str, Callable[[pd.DataFrame, pd.DataFrame], Prepared]] = {
    "mlplatform": mlplatform,
    "mlplatform-1-thread": mlplatform_one_thread,
    "mlplatform-cold": mlplatform_cold,
    "mlplatform-evidently": mlplatform_evidently,
    "scipy": scipy_loop,
    "evidently": evidently,
    "nannyml": nannyml,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("reference", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"tool": args.tool, "seconds": [], "peak_extra_bytes": None}
    try:
        ref, cur = pd.read_parquet(args.reference), pd.read_parquet(args.current)
        report["input_bytes"] = int(cur.memory_usage(deep=True).sum())
        run, extract = TOOLS[args.tool](ref, cur)
        floor = _floor(cur) if args.tool == "mlplatform" else None
        peaks = []
        for _ in range(args.repeat):
            if floor is not None:  # the floor, paired with each run: a busy machine slows both
                report.setdefault("floor_seconds", []).append(measured(floor)[1])
            result, seconds, peak = measured(run)
            report["seconds"].append(seconds)
            peaks.append(peak)
        report["peak_extra_bytes"] = max(peaks)
        report["values"] = _clean(extract(result))
    except Exception as exc:  # a peer that fails is reported, not fatal
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc()
    args.out.write_text(json.dumps(report))
    return 0


def _clean(values: Values) -> Values:
    return {
        col: {k: (v if v is not None and math.isfinite(v) else None) for k, v in metrics.items()}
        for col, metrics in values.items()
    }


if __name__ == "__main__":
    raise SystemExit(main())
