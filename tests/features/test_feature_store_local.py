"""The feature store on one machine, with Feast's own stores: layouts, apply, list, ingest,
materialize, online reads, and the errors a user meets on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from _feature_store import TABLE, churn_layout
from mlplatform.components.churn_data import ANCHOR, churn_activity
from mlplatform.errors import ConfigError, FeatureStoreError
from mlplatform.features import (
    apply,
    describe,
    historical_table,
    load_definitions,
    local_layout,
    materialize,
    open_store,
    team_layout,
    write_table,
)
from mlplatform.features.state import service_identity


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return churn_layout(tmp_path_factory.mktemp("fs"))


def test_local_layout_keeps_everything_under_the_artifact_store_and_home(tmp_path):
    lay = local_layout(project="p", repo=tmp_path, artifact_root="/a/store", home=tmp_path / "h")
    config = lay.feast_config()
    assert lay.offline_root == "/a/store/features"
    assert config["online_store"] == {
        "type": "sqlite",
        "path": str(tmp_path / "h/features/online.db"),
    }
    assert config["registry"]["registry_type"] == "file"
    assert config["offline_store"] == {"type": "dask"}
    assert lay.environ == {}


def test_team_layout_names_secrets_by_reference_and_resolves_them_only_on_request(tmp_path):
    lay = team_layout(
        project="p",
        repo=tmp_path,
        artifact_root="s3://bucket/artifacts",
        storage_options={"endpoint_url": "http://127.0.0.1:9", "key": "K", "secret": "S3CR3T"},
        home=tmp_path,
        postgres=("127.0.0.1", 5433, "features", "mlp", "pg-pass-123"),
    )
    written = str(lay.feast_config())
    # THEN the file form never holds a secret; the resolved form does, for in-process use
    assert "pg-pass-123" not in written
    assert "S3CR3T" not in written
    assert "${MLPLATFORM_FEATURES_POSTGRES_PASSWORD}" in written
    resolved = lay.resolved_config()
    assert resolved["online_store"]["password"] == "pg-pass-123"
    assert resolved["registry"]["path"] == (
        "postgresql+psycopg://mlp:pg-pass-123@127.0.0.1:5433/features"
    )
    assert lay.environ["AWS_SECRET_ACCESS_KEY"] == "S3CR3T"
    assert lay.s3_endpoint == "http://127.0.0.1:9"
    assert lay.source_path("t.parquet") == "s3://bucket/artifacts/features/t.parquet"


def test_an_invalid_project_name_is_refused_with_the_setting_to_change(tmp_path):
    with pytest.raises(ConfigError) as info:
        local_layout(project="my-project", repo=tmp_path, artifact_root="/a", home=tmp_path)
    assert "MLPLATFORM_FEATURES__PROJECT" in info.value.hint


def test_relative_source_paths_resolve_into_the_layouts_offline_store(layout, tmp_path):
    contents = load_definitions(layout)
    [source] = [s for s in contents.data_sources if s.name == "customer_activity"]
    assert source.path == layout.source_path(TABLE)
    # AND loading the same folder for another layout does not keep the first one's paths
    other = local_layout(
        project="other", repo=layout.repo, artifact_root=str(tmp_path), home=tmp_path
    )
    [again] = [s for s in load_definitions(other).data_sources if s.name == "customer_activity"]
    assert again.path == f"{tmp_path}/features/{TABLE}"


def test_apply_registers_the_definitions_and_list_shows_them(layout):
    rows = {(r.kind, r.name): r.detail for r in describe(layout)}
    assert rows[("entity", "customer")] == "customer_id"
    assert rows[("feature service", "churn")] == "customer_activity"
    assert "spend_30d" in rows[("feature view", "customer_activity")]
    # AND a second apply of unchanged definitions changes nothing
    assert "No changes" in apply(layout, dry_run=True)


def test_apply_before_the_offline_table_exists_names_the_file_and_the_command(tmp_path):
    lay = churn_layout(tmp_path)
    (tmp_path / "artifacts" / "features" / TABLE).unlink()
    with pytest.raises(FeatureStoreError) as info:
        apply(lay)
    assert TABLE in info.value.headline
    assert "mlp features ingest" in info.value.hint


def test_a_repository_that_fails_to_import_is_named(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "broken.py").write_text("import feast\nraise RuntimeError('typo in view')\n")
    lay = local_layout(project="p", repo=repo, artifact_root=str(tmp_path), home=tmp_path)
    with pytest.raises(FeatureStoreError) as info:
        load_definitions(lay)
    assert "typo in view" in info.value.headline


def test_a_missing_repository_says_which_setting_points_at_it(tmp_path):
    lay = local_layout(
        project="p", repo=tmp_path / "nope", artifact_root=str(tmp_path), home=tmp_path
    )
    with pytest.raises(FeatureStoreError) as info:
        load_definitions(lay)
    assert "MLPLATFORM_FEATURES__REPO" in info.value.hint


def test_write_table_refuses_a_table_without_its_timestamp_column(layout):
    with pytest.raises(FeatureStoreError) as info:
        write_table(layout, pd.DataFrame({"a": [1]}), "x.parquet", timestamp_field="ts")
    assert "timestamp column ts (it has: a)" in info.value.headline
    assert not (layout.state_dir / "x.parquet").exists()


def test_materialize_loads_the_latest_values_into_the_online_store(layout):
    done = materialize(layout, start=ANCHOR - timedelta(weeks=20), end=ANCHOR + timedelta(days=1))
    assert done == ["customer_activity"]
    store = open_store(layout)
    online = store.get_online_features(
        features=store.get_feature_service("churn"), entity_rows=[{"customer_id": 1000}]
    ).to_dict()
    activity = churn_activity(60, 7)
    latest = activity[activity.customer_id == 1000].sort_values("event_timestamp").iloc[-1]
    assert online["spend_30d"] == [pytest.approx(latest.spend_30d)]
    assert online["plan"] == [latest.plan]


def test_materialize_of_an_unknown_view_lists_the_known_ones(layout):
    with pytest.raises(FeatureStoreError) as info:
        materialize(layout, views=["nope"])
    assert "customer_activity" in info.value.hint


def test_historical_table_keeps_the_entity_frames_rows_and_order(layout):
    store = open_store(layout)
    entities = pd.DataFrame(
        {
            "customer_id": [1005, 1000, 1005],
            "when": [ANCHOR, ANCHOR - timedelta(weeks=11), ANCHOR - timedelta(weeks=11)],
            "label": [1, 2, 3],
        }
    )
    table = historical_table(store, entities, "churn", timestamp_field="when")
    assert list(table.columns[:3]) == ["customer_id", "when", "label"]
    assert table.label.tolist() == [1, 2, 3]
    activity = churn_activity(60, 7)
    first = activity[(activity.customer_id == 1005)].sort_values("event_timestamp")
    assert table.tenure_days.tolist()[0] == first.tenure_days.iloc[-1]
    assert table.tenure_days.tolist()[2] == first.tenure_days.iloc[0]


def test_historical_table_names_a_missing_entity_key(layout):
    store = open_store(layout)
    with pytest.raises(FeatureStoreError) as info:
        historical_table(store, pd.DataFrame({"event_timestamp": [ANCHOR]}), "churn")
    assert "customer_id" in info.value.headline


def test_an_unknown_feature_service_lists_the_known_ones(layout):
    store = open_store(layout)
    with pytest.raises(FeatureStoreError) as info:
        historical_table(store, pd.DataFrame({"customer_id": [1]}), "nope")
    assert "churn" in info.value.headline


def test_service_identity_changes_with_offline_rows_and_definitions_not_otherwise(tmp_path):
    lay = churn_layout(tmp_path, customers=30)
    first = service_identity(open_store(lay), "churn")
    assert service_identity(open_store(lay), "churn") == first
    # a materialization changes the registry's metadata, not what the service returns
    materialize(lay, start=ANCHOR - timedelta(weeks=20), end=datetime.now(UTC))
    assert service_identity(open_store(lay), "churn") == first
    # new offline rows change it
    more = churn_activity(31, 7)
    write_table(lay, more, TABLE, timestamp_field="event_timestamp")
    second = service_identity(open_store(lay), "churn")
    assert second != first
    # a changed definition, applied, changes it
    view = lay.repo / "churn.py"
    view.write_text(view.read_text().replace("timedelta(days=3650)", "timedelta(days=365)"))
    apply(lay)
    assert service_identity(open_store(lay), "churn") not in (first, second)
