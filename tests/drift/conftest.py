from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def frame(rows: int = 2000, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Two numeric and two categorical columns; ``shift`` moves ``income`` and ``plan``."""
    rng = np.random.default_rng(seed)
    plan_p = np.array([0.5, 0.3, 0.2]) if not shift else np.array([0.2, 0.3, 0.5])
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "income": rng.lognormal(10 + shift, 0.5, rows),
            "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], rows, p=plan_p)),
            "region": rng.choice(["north", "south", "east", "west"], rows).astype(object),
        }
    )


@pytest.fixture
def reference() -> pd.DataFrame:
    return frame(seed=0)


@pytest.fixture
def clean() -> pd.DataFrame:
    return frame(seed=1)


@pytest.fixture
def shifted() -> pd.DataFrame:
    return frame(seed=2, shift=0.5)
