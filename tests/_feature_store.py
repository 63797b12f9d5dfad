"""A real local feature store for tests: the churn example's definitions on a temporary layout.

``churn_layout`` copies the example's feature repository (so a test may edit it), lands the
example's activity table and applies the definitions; everything is Feast's own local stores
(Parquet, SQLite, a file registry) under the test's folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from mlplatform.components.churn_data import churn_activity
from mlplatform.features import FeatureStoreLayout, apply, local_layout, write_table

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_REPO = REPO / "examples" / "pipelines" / "churn" / "features"
TABLE = "customer_activity.parquet"


def churn_layout(
    root: Path,
    *,
    customers: int = 60,
    seed: int = 7,
    project: str = "churn_test",
    activity: pd.DataFrame | None = None,
) -> FeatureStoreLayout:
    """The example's feature store under ``root``, applied, its offline table landed
    (``activity``, else the example's table of ``customers``)."""
    repo = root / "features"
    shutil.copytree(EXAMPLE_REPO, repo, ignore=shutil.ignore_patterns("__pycache__"))
    layout = local_layout(
        project=project, repo=repo, artifact_root=str(root / "artifacts"), home=root / "home"
    )
    table = churn_activity(customers, seed) if activity is None else activity
    write_table(layout, table, TABLE, timestamp_field="event_timestamp")
    apply(layout)
    return layout


def last_snapshots(activity: pd.DataFrame) -> pd.DataFrame:
    """What the online store holds after a materialization: each customer's last snapshot,
    indexed by id."""
    last = activity.sort_values("event_timestamp").groupby("customer_id").tail(1)
    return last.set_index("customer_id").sort_index()
