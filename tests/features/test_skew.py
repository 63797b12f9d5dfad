"""Training/serving skew over Feast's real local stores: a clean materialization shows none,
values written to the online store by hand are found with their features and rates, and the
result reaches the HTML report (rendered in headless Chromium) and the Prometheus gauges."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from _browser import chromium
from _feature_store import TABLE, churn_layout
from mlplatform.drift import build_profile
from mlplatform.drift.skew_metrics import SkewMetrics
from mlplatform.drift.skew_report import write_skew_report
from mlplatform.errors import FeatureStoreError
from mlplatform.features import materialize, open_store
from mlplatform.features.skew import check_skew

FEATURES = ["plan", "tenure_days", "spend_30d", "visits_30d", "support_tickets_30d"]
CUSTOMERS = 40
SKEWED = 10  # customers whose spend is rewritten online


def _store(root):
    layout = churn_layout(root, customers=CUSTOMERS)
    materialize(layout)
    activity = pd.read_parquet(layout.source_path(TABLE))
    return layout, open_store(layout), activity


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return _store(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    # GIVEN a store whose online values for some customers were written by hand, unlike the
    # offline table's (a second pipeline, a backfill that missed the offline store)
    layout, store, activity = _store(tmp_path_factory.mktemp("skewed"))
    latest = activity.sort_values("event_timestamp").groupby("customer_id").tail(1)
    changed = latest.sort_values("customer_id").head(SKEWED).copy()
    changed["spend_30d"] = changed["spend_30d"] + 5.0
    changed["event_timestamp"] = datetime.now(UTC)
    store.write_to_online_store("customer_activity", df=changed)
    return layout, store, activity, sorted(changed["customer_id"].tolist())


def _entities(activity: pd.DataFrame) -> pd.DataFrame:
    return activity[["customer_id"]].drop_duplicates()


def test_a_clean_materialization_has_no_skew(clean):
    # GIVEN the online store loaded by Feast's materialize from the offline table
    _, store, activity = clean

    # WHEN the offline and online answers for every customer are compared
    result = check_skew(store, "churn", _entities(activity))

    # THEN every feature of every customer matches, and the moment compared is named
    assert result.entities == CUSTOMERS
    assert [v.feature for v in result.values] == FEATURES
    assert all(v.mismatches == 0 and v.compared == CUSTOMERS for v in result.values)
    assert not result.skewed
    assert list(result.as_of) == ["customer_activity"]


def test_values_written_online_by_hand_are_found_with_their_feature_and_rate(skewed):
    _, store, activity, changed = skewed

    result = check_skew(store, "churn", _entities(activity), model="churn", version="3")

    # THEN spend alone is skewed, on exactly the rewritten share, by the amount written
    assert result.skewed_features == ["spend_30d"]
    spend = result.value("spend_30d")
    assert spend.mismatches == SKEWED
    assert spend.mismatch_rate == pytest.approx(SKEWED / CUSTOMERS)
    assert spend.max_abs_diff == pytest.approx(5.0)
    assert {int(e) for e, _, _ in spend.examples} <= set(changed)
    assert all(result.value(f).mismatches == 0 for f in FEATURES if f != "spend_30d")


def test_a_threshold_above_the_rate_and_a_wide_tolerance_accept_it(skewed):
    _, store, activity, _ = skewed
    entities = _entities(activity)
    assert not check_skew(store, "churn", entities, threshold=0.3).skewed
    assert not check_skew(store, "churn", entities, tolerance=5.0).skewed  # |diff| is 5


def test_an_entity_the_online_store_lacks_counts_as_missing_online(clean):
    _, store, activity = clean
    # a customer that exists nowhere is missing on both sides: not compared, not skew
    entities = pd.concat([_entities(activity), pd.DataFrame({"customer_id": [999_999]})])
    result = check_skew(store, "churn", entities)
    assert result.entities == CUSTOMERS + 1
    assert all(v.compared == CUSTOMERS and v.mismatches == 0 for v in result.values)


def test_entities_without_the_join_key_are_refused_with_a_hint(clean):
    _, store, _ = clean
    with pytest.raises(FeatureStoreError, match="customer_id") as err:
        check_skew(store, "churn", pd.DataFrame({"user": [1]}))
    assert "entity keys" in err.value.hint


def test_the_distribution_check_compares_the_training_profile_with_online_values(skewed):
    _, store, activity, _ = skewed
    reference = build_profile(activity[FEATURES])
    result = check_skew(store, "churn", _entities(activity), reference=reference)
    assert result.distribution is not None
    assert {c.name for c in result.distribution.columns} == set(FEATURES)
    assert result.distribution.current_rows == CUSTOMERS


@pytest.fixture(scope="module")
def report(skewed, tmp_path_factory):
    _, store, activity, _ = skewed
    reference = build_profile(activity[FEATURES])
    result = check_skew(
        store, "churn", _entities(activity), reference=reference, model="churn", version="3"
    )
    return result, write_skew_report(result, tmp_path_factory.mktemp("report") / "skew.html")


def test_chromium_renders_the_skew_section_in_the_drift_report(tmp_path, report):
    _, path = report
    html = path.read_text()
    assert "<script" not in html

    dumped = chromium(tmp_path, "--dump-dom", path.as_uri())

    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    section = dom[dom.index('<section id="skew">') : dom.index("</section>")]
    assert "SKEW" in section
    assert "churn" in section
    rows = re.findall(r'<tr class="(skewed)?" data-feature="([^"]+)"', section)
    assert rows[0] == ("skewed", "spend_30d")  # the skewed feature first, marked
    assert sorted(f for _, f in rows) == sorted(FEATURES)
    assert "25.0%" in section
    # the drift report of the distribution check is on the same page, a plot per feature
    plots = re.findall(r'<svg class="dist-plot" data-column="([^"]+)"', dom)
    assert sorted(plots) == sorted(FEATURES)


def test_the_gauges_carry_each_features_skew(report, tmp_path):
    result, _ = report
    metrics = SkewMetrics()
    metrics.observe(result)
    text = metrics.exposition().decode()

    labels = 'feature="spend_30d",kind="value",model="churn",version="3"'
    assert f"mlplatform_feature_skew{{{labels}}} 0.25" in text
    assert f"mlplatform_feature_skew_detected{{{labels}}} 1.0" in text
    plan = 'feature="plan",kind="value",model="churn",version="3"'
    assert f"mlplatform_feature_skew_detected{{{plan}}} 0.0" in text
    assert 'mlplatform_feature_skew_entities{model="churn",version="3"} 40.0' in text
    assert re.search(r'mlplatform_feature_skew\{feature="plan",kind="distribution"', text)
    metrics.write_textfile(tmp_path / "skew.prom")
    assert (tmp_path / "skew.prom").read_text() == text
