"""Tables a new user brings: a label not named target, string categoricals, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPECIES = ("adelie", "gentoo", "chinstrap")


def multiclass_table(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Three species (``chinstrap`` rare, about 10 %), two string categoricals, about 3 % of
    the feature values missing, an ``animal_id`` and an ISO ``observed`` date."""
    rng = np.random.default_rng(seed)
    species = rng.choice(np.array(SPECIES), size=rows, p=[0.55, 0.35, 0.10])
    offset = {"adelie": 0.0, "gentoo": 3.0, "chinstrap": -2.5}
    shift = np.array([offset[s] for s in species])
    island = np.where(
        species == "gentoo", "biscoe", rng.choice(np.array(["dream", "torgersen"]), rows)
    )
    frame = pd.DataFrame(
        {
            "animal_id": [f"a{i:05d}" for i in range(rows)],
            "observed": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "bill_length": 40 + 2 * shift + rng.normal(0, 1.5, rows),
            "flipper_length": 190 + 4 * shift + rng.normal(0, 4, rows),
            "body_mass": 4000 + 150 * shift + rng.normal(0, 300, rows),
            "island": island,
            "sex": rng.choice(np.array(["male", "female"]), rows),
            "species": species,
        }
    )
    for column in ("bill_length", "body_mass", "island", "sex"):
        frame.loc[rng.random(rows) < 0.03, column] = None
    return frame
