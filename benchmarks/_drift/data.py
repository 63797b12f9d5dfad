"""The benchmark's synthetic data: 20 numeric and 5 categorical columns, seeded.

Reference and current come from the same generators; the current data is shifted in some
columns (means, scales, category shares, one unseen category) so that tests have work to do.
Only numpy and pandas: the peers' venv imports this too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = 20
CATEGORICAL = 5
SHIFTED_MEANS = range(0, 5)  # x0..x4: mean + 0.02..0.10 std
SCALED = range(5, 8)  # x5..x7: 5% wider
SHIFTED_SHARES = (0, 1)  # c0, c1: category shares moved
UNSEEN = 2  # c2: a category the reference never saw


def numeric_column(i: int, rows: int, rng: np.random.Generator, current: bool) -> np.ndarray:
    kind = i % 5
    if kind == 0:
        values = rng.normal(0.0, 1.0, rows)
    elif kind == 1:
        values = rng.lognormal(3.0, 0.7, rows)
    elif kind == 2:
        values = rng.uniform(-5.0, 5.0, rows)
    elif kind == 3:
        values = rng.poisson(4.0, rows).astype(np.float64)  # many ties
    else:
        values = np.where(rng.random(rows) < 0.3, rng.normal(-2, 0.5, rows), rng.normal(1, 1, rows))
    if current and i in SHIFTED_MEANS:
        values = values + (0.02 + 0.02 * i) * values.std()
    if current and i in SCALED:
        values = values.mean() + (values - values.mean()) * 1.05
    missing = rng.random(rows) < 0.01
    values[missing] = np.nan
    return values


def categorical_column(
    j: int, rows: int, rng: np.random.Generator, current: bool
) -> pd.Categorical:
    levels = [f"level_{k:02d}" for k in range(5 + 10 * j)]
    weights = np.linspace(1.0, 3.0, len(levels))
    if current and j in SHIFTED_SHARES:
        weights = weights[::-1].copy()
    values = rng.choice(levels, rows, p=weights / weights.sum())
    if current and j == UNSEEN:
        values[rng.random(rows) < 0.002] = "unseen"
    return pd.Categorical(values)


def frame(rows: int, seed: int, current: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        f"x{i}": numeric_column(i, rows, rng, current) for i in range(NUMERIC)
    }
    columns |= {f"c{j}": categorical_column(j, rows, rng, current) for j in range(CATEGORICAL)}
    return pd.DataFrame(columns)


def write(rows: int, folder: Path, seed: int = 20260101) -> tuple[Path, Path]:
    """Reference and current Parquet files of ``rows`` rows each."""
    folder.mkdir(parents=True, exist_ok=True)
    ref, cur = folder / f"reference-{rows}.parquet", folder / f"current-{rows}.parquet"
    if not ref.exists():
        frame(rows, seed, current=False).to_parquet(ref)
    if not cur.exists():
        frame(rows, seed + 1, current=True).to_parquet(cur)
    return ref, cur
