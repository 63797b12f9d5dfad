"""The feature store in pipelines: the training table step is point-in-time correct and its
cache key holds the feature definitions and the offline data; the churn example trains from
the store, materializes it, and tags its model with the feature service."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from _feature_store import REPO, TABLE, churn_layout
from _mlflow_store import sqlite_store
from mlplatform import pipeline
from mlplatform.artifacts.materializers import load
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components import historical_features, ingest
from mlplatform.components.churn_data import churn_activity, churn_labels
from mlplatform.errors import StepFailedError
from mlplatform.features import apply, layout_environ, open_store, write_table
from mlplatform.features.training import SERVICE_TAG
from mlplatform.pipelines.discovery import find_pipeline
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.tracking import get_version

CUSTOMERS = 80
FEATURES = ["plan", "tenure_days", "spend_30d", "visits_30d", "support_tickets_30d"]


@pipeline(name="training-table")
def training_table(rows: int = CUSTOMERS, service: str = "churn") -> None:
    entities = ingest("synthetic://churn-labels", rows=rows, seed=7)
    historical_features(entities, service=service)


def run(store: ArtifactStore, layout, params=None, **env: str):
    options = RunOptions(in_process=True, env={**layout_environ(layout), **env})
    return LocalExecutor(store, options).run(training_table.graph, params or {})


def point_in_time(labels: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """The join by hand: each label with its customer's last snapshot before the event."""
    left = labels.assign(event_timestamp=labels.event_timestamp.astype("datetime64[ns, UTC]"))
    right = activity.assign(event_timestamp=activity.event_timestamp.astype("datetime64[ns, UTC]"))
    joined = pd.merge_asof(
        left.sort_values("event_timestamp"),
        right.sort_values("event_timestamp"),
        on="event_timestamp",
        by="customer_id",
    )
    return joined.sort_values("customer_id").reset_index(drop=True)


def test_the_training_table_is_the_point_in_time_join_and_not_the_leaky_one(tmp_path):
    layout = churn_layout(tmp_path / "fs", customers=CUSTOMERS)
    store = ArtifactStore(tmp_path / "store")
    outcome = run(store, layout)
    table = load(store, outcome.output("historical-features"))
    labels, activity = churn_labels(CUSTOMERS, 7), churn_activity(CUSTOMERS, 7)
    expected = point_in_time(labels, activity)
    got = table.sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[FEATURES], expected[FEATURES], check_dtype=False, check_like=True
    )
    # AND the leaky join (each customer's latest snapshot) differs for churners: their last
    # snapshots show the closed account, which the training table never does
    latest = activity.sort_values("event_timestamp").groupby("customer_id").tail(1)
    leaky = labels.merge(latest.drop(columns="event_timestamp"), on="customer_id")
    churners = labels.churned == 1
    assert (leaky[churners.values].visits_30d == 0).all()
    assert (got[got.churned == 1].visits_30d > 0).mean() > 0.5
    assert outcome.steps["historical-features"].metrics["rows_without_features"] == 0


def test_the_cache_key_holds_definitions_and_offline_data(tmp_path):
    layout = churn_layout(tmp_path / "fs", customers=CUSTOMERS)
    store = ArtifactStore(tmp_path / "store")
    assert run(store, layout).steps["historical-features"].status == "ran"
    # unchanged: cached
    assert run(store, layout).steps["historical-features"].status == "cached"
    # new rows in the offline table: it runs again
    write_table(layout, churn_activity(CUSTOMERS + 1, 7), TABLE, timestamp_field="event_timestamp")
    assert run(store, layout).steps["historical-features"].status == "ran"
    assert run(store, layout).steps["historical-features"].status == "cached"
    # a changed definition, applied: it runs again (the repository file alone does not count:
    # what is applied is what Feast reads)
    view = layout.repo / "churn.py"
    view.write_text(view.read_text().replace('Field(name="plan", dtype=String),\n', ""))
    assert run(store, layout).steps["historical-features"].status == "cached"
    apply(layout)
    outcome = run(store, layout)
    assert outcome.steps["historical-features"].status == "ran"
    assert "plan" not in load(store, outcome.output("historical-features")).columns


def test_without_a_feature_store_the_step_says_how_to_get_one(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    options = RunOptions(in_process=True, env={})
    with pytest.raises(StepFailedError) as info:
        LocalExecutor(store, options).run(training_table.graph, {})
    assert "MLPLATFORM_FEATURE_STORE" in str(info.value)


def test_the_churn_example_trains_from_the_store_and_tags_its_model(tmp_path_factory, tmp_path):
    uri = sqlite_store(tmp_path_factory, tmp_path)
    layout = churn_layout(tmp_path / "fs", customers=200)
    example = REPO / "examples" / "pipelines" / "churn" / "features_pipeline.py"
    graph = find_pipeline("churn-features-training", [str(example)]).graph
    store = ArtifactStore(tmp_path / "store")
    options = RunOptions(
        in_process=True, env={**layout_environ(layout), "MLFLOW_TRACKING_URI": uri}
    )
    outcome = LocalExecutor(store, options).run(graph, {"rows": 200})
    assert outcome.status == "succeeded"
    registered = load(store, outcome.output("register"))
    version = get_version("churn-features-model", registered["version"], tracking_uri=uri)
    assert version.tags[SERVICE_TAG] == "churn"
    # AND the materialize step loaded the online store with the customers' latest values
    online = (
        open_store(layout)
        .get_online_features(
            features=["customer_activity:visits_30d"], entity_rows=[{"customer_id": 1000}]
        )
        .to_dict()
    )
    activity = churn_activity(200, 7)
    last = activity[activity.customer_id == 1000].sort_values("event_timestamp").iloc[-1]
    assert online["visits_30d"] == [last.visits_30d]
    assert Path(layout.state_dir / "online.db").is_file()
