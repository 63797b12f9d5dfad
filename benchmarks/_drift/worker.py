"""One tool in one process: time its drift computation on the benchmark's files, write JSON.

    python worker.py TOOL REFERENCE.parquet CURRENT.parquet --threads 2 --out result.json

Cold tools process the reference inside the timed call; warm tools get it prepared
beforehand (not timed):

| tool | timed | prepared beforehand |
| --- | --- | --- |
| ``mlplatform-cold`` | ``check_drift(build_profile(ref), cur)`` | - |
| ``mlplatform-warm`` | ``check_drift(profile, cur)`` | ``build_profile(ref)`` |
| ``mlplatform-evidently`` | the same in our Evidently mode (agreement, not a row) | the profile |
| ``scipy`` | the plain loop: KS, Wasserstein, PSI, JS, chi-square | - |
| ``evidently`` | ``Report([DataDriftPreset()]).run(cur, ref)`` | - |
| ``nannyml-cold`` | ``UnivariateDriftCalculator(...).fit(ref)``, ``.calculate(cur)`` | - |
| ``nannyml-warm`` | ``.calculate(cur)`` | the calculator, fitted on ``ref`` |

Ours and the floor run with ``--threads`` threads (``workers`` of ``build_profile`` and
``check_drift``). The floor is timed just before each of our runs, in the same process:
``np.sort`` of every numeric column the run must sort (both sides' cold, the current
side's warm: the profile holds the reference sorted), each copied into a reused buffer
and sorted in place, on as many threads.

Each process reads the files (not timed), makes one untimed warm-up call on the first
``WARM_UP_ROWS`` rows (imports and first-call costs: every tool gets one), then times
``--runs`` calls. The peers run in their own venv (Evidently needs pandas < 3): this file
imports only what a tool needs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import measured

Values = dict[str, dict[str, float]]
WARM_UP_ROWS = 2_000  # above Evidently's 1,000-row switch: the warm-up takes the same path


@dataclass(frozen=True)
class Prepared:
    """A tool, ready: the timed call, how to read its outputs, the floor to time beside it."""

    run: Callable[[], Any]
    values: Callable[[Any], Values]
    floor: Callable[[], Any] | None = None
    version: str = ""


def split(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return numeric, [c for c in frame.columns if c not in numeric]


def sorts(columns: list[np.ndarray], threads: int) -> Callable[[], Any]:
    """The floor: each column copied into its thread's buffer and sorted there, in place.

    The least sorting an exact check does (ours sorts each current column so, and keeps a
    sorted copy of each reference column), on ``threads`` threads as our run uses.
    """

    def run() -> None:
        local = threading.local()

        def one(column: np.ndarray) -> None:
            buffer = getattr(local, "buffer", None)
            if buffer is None or buffer.size < column.size:
                buffer = local.buffer = np.empty(column.size)
            out = buffer[: column.size]
            np.copyto(out, column)
            out.sort()

        if threads <= 1:
            for column in columns:
                one(column)
            return
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, columns))

    return run


def _numeric_arrays(*frames: pd.DataFrame) -> list[np.ndarray]:
    return [f[c].to_numpy() for f in frames for c in split(f)[0]]


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


def _mlplatform_version() -> str:
    from importlib.metadata import version

    return f"mlplatform {version('mlplatform')}"


def mlplatform_cold(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    from mlplatform.drift import build_profile, check_drift

    def run() -> Any:
        return check_drift(build_profile(ref, workers=threads), cur, workers=threads)

    floor = sorts(_numeric_arrays(ref, cur), threads)
    return Prepared(run, _ours, floor, _mlplatform_version())


def mlplatform_warm(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    from mlplatform.drift import build_profile, check_drift

    profile = build_profile(ref, workers=threads)
    run = lambda: check_drift(profile, cur, workers=threads)  # noqa: E731
    return Prepared(run, _ours, sorts(_numeric_arrays(cur), threads), _mlplatform_version())


def mlplatform_evidently(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    from mlplatform.drift import DriftConfig, build_profile, check_drift

    profile = build_profile(ref, workers=threads)
    config = DriftConfig.evidently()

    def values(result: Any) -> Values:
        keys = {"wasserstein": "wasserstein_norm_evidently", "js": "js_evidently"}
        return {
            c.name: {keys.get(c.test, c.test): c.tests[c.test].score}
            for c in result.columns
            if c.decided
        }

    run = lambda: check_drift(profile, cur, config, workers=threads)  # noqa: E731
    return Prepared(run, values, None, _mlplatform_version())


# ---- the plain scipy loop ----------------------------------------------------------------
def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    import scipy

    numeric, categorical = split(ref)

    def run() -> Values:
        out = {c: _scipy_numeric(ref[c].to_numpy(), cur[c].to_numpy()) for c in numeric}
        out |= {c: _scipy_categorical(ref[c], cur[c]) for c in categorical}
        return out

    return Prepared(run, lambda values: values, None, f"scipy {scipy.__version__}")


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


def evidently(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    import evidently as package
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

    run = lambda: Report([DataDriftPreset()]).run(cur, ref)  # noqa: E731
    return Prepared(run, values, None, f"Evidently {package.__version__}")


def _nannyml_calculator(columns: list[str]) -> Any:
    import nannyml as nml

    return nml.UnivariateDriftCalculator(
        column_names=columns,
        continuous_methods=["kolmogorov_smirnov", "wasserstein", "jensen_shannon"],
        categorical_methods=["chi2", "jensen_shannon"],
        chunk_number=1,
    )


def _nannyml_values(result: Any) -> Values:
    frame = result.filter(period="analysis").to_df()
    keys = {"kolmogorov_smirnov": "ks", "wasserstein": "wasserstein", "chi2": "chi2"}
    out: Values = {}
    for column, method, field in frame.columns:
        if field == "value" and method in keys:
            out.setdefault(column, {})[keys[method]] = float(frame[(column, method, field)].iloc[0])
    return out


def _nannyml_version() -> str:
    import warnings

    import nannyml

    warnings.filterwarnings("ignore")
    return f"NannyML {nannyml.__version__}"


def nannyml_cold(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    version = _nannyml_version()
    run = lambda: _nannyml_calculator(list(ref.columns)).fit(ref).calculate(cur)  # noqa: E731
    return Prepared(run, _nannyml_values, None, version)


def nannyml_warm(ref: pd.DataFrame, cur: pd.DataFrame, threads: int) -> Prepared:
    version = _nannyml_version()
    fitted = _nannyml_calculator(list(ref.columns)).fit(ref)
    return Prepared(lambda: fitted.calculate(cur), _nannyml_values, None, version)


TOOLS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, int], Prepared]] = {
    "mlplatform-cold": mlplatform_cold,
    "mlplatform-warm": mlplatform_warm,
    "mlplatform-evidently": mlplatform_evidently,
    "scipy": scipy_loop,
    "evidently": evidently,
    "nannyml-cold": nannyml_cold,
    "nannyml-warm": nannyml_warm,
}


def measure(
    tool: str, ref: pd.DataFrame, cur: pd.DataFrame, threads: int, runs: int
) -> dict[str, Any]:
    """Warm up, then time ``runs`` calls (and the floor before each, where there is one)."""
    rows = min(WARM_UP_ROWS, len(ref), len(cur))
    TOOLS[tool](ref.iloc[:rows], cur.iloc[:rows], threads).run()
    prepared = TOOLS[tool](ref, cur, threads)
    report: dict[str, Any] = {"version": prepared.version, "seconds": [], "floor_seconds": []}
    peaks = []
    for _ in range(runs):
        if prepared.floor is not None:  # paired with each run: a busy machine slows both
            report["floor_seconds"].append(measured(prepared.floor)[1])
        result, seconds, peak = measured(prepared.run)
        report["seconds"].append(seconds)
        peaks.append(peak)
    report["peak_extra_bytes"] = max(peaks)
    report["values"] = _clean(prepared.values(result))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("reference", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"tool": args.tool}
    try:
        ref, cur = pd.read_parquet(args.reference), pd.read_parquet(args.current)
        report["input_bytes"] = int(cur.memory_usage(deep=True).sum())
        report |= measure(args.tool, ref, cur, args.threads, args.runs)
    except Exception as exc:  # a peer that fails is reported, not fatal
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc()
    args.out.write_text(json.dumps(report))
    return 0


def _clean(values: Values) -> dict[str, dict[str, float | None]]:
    """NaN and infinities as ``None``: JSON has no place for them."""
    return {
        col: {k: (v if v is not None and math.isfinite(v) else None) for k, v in metrics.items()}
        for col, metrics in values.items()
    }


if __name__ == "__main__":
    raise SystemExit(main())
