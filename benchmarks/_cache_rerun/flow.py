"""The benchmark's chain: one step makes a large array, the next consumes it, a third sums.

``block`` writes ``mb`` megabytes of float64 (``.npy``) to the artifact store; ``column_means``
reads all of it back; ``total`` is a float. A cached re-run checks all three outputs.
"""

from __future__ import annotations

import numpy as np

from mlplatform import pipeline, step

COLUMNS = 64


@step
def block(mb: int, seed: int) -> np.ndarray:
    rows = max(1, mb * (1 << 20) // (8 * COLUMNS))
    return np.random.default_rng(seed).random((rows, COLUMNS))


@step
def column_means(values: np.ndarray) -> np.ndarray:
    return np.asarray(values.mean(axis=0))


@step
def total(means: np.ndarray) -> float:
    return float(means.sum())


@pipeline(name="cache-rerun-chain")
def chain(mb: int = 200, seed: int = 0) -> None:
    total(column_means(block(mb, seed)))
