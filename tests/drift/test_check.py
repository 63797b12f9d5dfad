"""check_drift: verdicts on clean and shifted data, and every bad input of the issue."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlplatform.drift import DriftConfig, build_profile, check_drift
from mlplatform.errors import ConfigError, DriftDataError, DriftSchemaError


def test_clean_data_does_not_drift_and_shifted_data_does(reference, clean, shifted):
    profile = build_profile(reference)
    calm = check_drift(profile, clean)
    moved = check_drift(profile, shifted)
    assert not calm.drifted
    assert calm.drift_share < 0.5
    assert moved.drifted
    assert set(moved.drifted_columns) == {"income", "plan"}
    assert moved.by_severity()[0].name in {"income", "plan"}
    assert moved.summary()["drift_share"] == 0.5


def test_every_test_of_a_column_is_reported_and_equals_scipy(reference, shifted):
    result = check_drift(build_profile(reference), shifted)
    income = result.column("income")
    assert set(income.tests) == {"ks", "wasserstein", "psi", "js"}
    ks = stats.ks_2samp(reference["income"], shifted["income"], method="asymp")
    assert income.tests["ks"].score == pytest.approx(ks.statistic, abs=1e-12)
    assert income.tests["ks"].p_value == pytest.approx(ks.pvalue, abs=1e-9)
    w1 = stats.wasserstein_distance(reference["income"], shifted["income"])
    assert income.tests["wasserstein"].raw == pytest.approx(w1, rel=1e-9)
    assert income.tests["wasserstein"].score == pytest.approx(
        w1 / np.std(reference["income"]), rel=1e-9
    )
    plan = result.column("plan")
    table = pd.crosstab(
        np.r_[np.zeros(len(reference)), np.ones(len(shifted))],
        np.r_[reference["plan"].astype(str), shifted["plan"].astype(str)],
    )
    assert plan.tests["chi2"].p_value == pytest.approx(
        stats.chi2_contingency(table.to_numpy()).pvalue, abs=1e-9
    )


def test_the_deciding_test_and_thresholds_come_from_the_config(reference, shifted):
    profile = build_profile(reference)
    by_psi = check_drift(profile, shifted, DriftConfig(numeric_test="psi", psi_threshold=0.05))
    assert by_psi.column("income").test == "psi"
    assert by_psi.column("income").drifted
    lenient = check_drift(profile, shifted, DriftConfig(numeric_test="psi", psi_threshold=50.0))
    assert not lenient.column("income").drifted


def test_corrections_adjust_the_deciding_p_values(reference, clean):
    profile = build_profile(reference)
    plain = check_drift(profile, clean)
    bonf = check_drift(profile, clean, DriftConfig(correction="bonferroni"))
    raw = plain.column("age").tests["ks"].p_value
    assert bonf.column("age").tests["ks"].adjusted_p_value == pytest.approx(min(1.0, raw * 4))
    bh = check_drift(profile, clean, DriftConfig(correction="bh"))
    assert bh.column("age").tests["ks"].adjusted_p_value >= raw


def test_exact_ks_on_request(reference):
    small = reference.head(300)
    profile = build_profile(small)
    current = reference.tail(200)
    result = check_drift(profile, current, DriftConfig(ks_method="exact"))
    expected = stats.ks_2samp(small["age"], current["age"], method="exact")
    assert result.column("age").tests["ks"].p_value == pytest.approx(expected.pvalue, abs=1e-9)


def test_a_missing_column_is_named_and_extra_columns_are_noted(reference, clean):
    profile = build_profile(reference)
    with pytest.raises(DriftSchemaError, match="lacks 1 of the reference's columns: income"):
        check_drift(profile, clean.drop(columns=["income"]))
    result = check_drift(profile, clean.assign(extra=1))
    assert "not in the reference, not compared: extra" in result.notes
    only = check_drift(profile, clean.drop(columns=["income"]), columns=["age", "plan"])
    assert [c.name for c in only.columns] == ["age", "plan"]
    with pytest.raises(DriftSchemaError, match="not profiled in the reference: nope"):
        check_drift(profile, clean, columns=["nope"])


def test_duplicate_columns_are_refused(reference, clean):
    doubled = pd.concat([clean, clean[["age"]]], axis=1)
    with pytest.raises(DriftSchemaError, match="duplicate columns: age"):
        check_drift(build_profile(reference), doubled)


def test_text_in_a_numeric_column_is_a_clear_error(reference, clean):
    bad = clean.assign(age=clean["age"].astype(str).where(clean.index > 0, "n/a"))
    with pytest.raises(DriftSchemaError, match=r"'age' is numeric in the reference .* but"):
        check_drift(build_profile(reference), bad)


def test_numbers_in_a_categorical_column_compare_as_labels():
    ref = pd.DataFrame({"code": ["1", "2", "3"] * 100})
    cur = pd.DataFrame({"code": [1, 2, 3] * 100})  # e.g. read back from CSV
    result = check_drift(build_profile(ref), cur)
    assert result.column("code").unseen == ()
    assert not result.column("code").drifted


def test_an_empty_window_is_a_clear_error(reference, clean):
    with pytest.raises(DriftDataError, match="no rows"):
        check_drift(build_profile(reference), clean.head(0))


def test_an_all_missing_current_column_gets_no_verdict_but_a_missing_signal(reference, clean):
    gone = clean.assign(age=np.nan, plan=pd.Categorical([None] * len(clean)))
    result = check_drift(build_profile(reference), gone)
    age = result.column("age")
    assert not age.decided
    assert not age.drifted
    assert age.missing_drifted
    assert age.current_missing_share == 1.0
    assert "no finite values in the current data" in age.notes[0]
    assert result.column("plan").missing_drifted
    assert set(result.missing_drifted) == {"age", "plan"}
    assert result.any_drift
    assert result.drift_share == 0.0  # of the two columns that could be tested


def test_an_all_missing_object_column_counts_as_missing_numbers(reference, clean):
    gone = clean.assign(age=pd.Series([None] * len(clean), dtype=object))
    result = check_drift(build_profile(reference), gone)
    assert result.column("age").current_missing_share == 1.0


def test_an_all_missing_reference_column_is_compared_with_nothing(clean):
    ref = pd.DataFrame({"x": [np.nan] * 50, "y": np.arange(50.0)})
    result = check_drift(build_profile(ref), pd.DataFrame({"x": np.arange(10.0), "y": 1.0}))
    assert not result.column("x").decided
    assert "the reference has no finite values" in result.column("x").notes[0]


def test_no_testable_column_gives_a_defined_verdict_with_a_note():
    ref = pd.DataFrame({"x": [np.nan] * 5})
    result = check_drift(build_profile(ref), pd.DataFrame({"x": [1.0]}))
    assert not result.drifted
    assert "no column could be tested" in result.notes[-1]


def test_infinities_are_counted_apart_and_not_compared(reference, clean):
    cur = clean.copy()
    cur.loc[:9, "age"] = np.inf
    cur.loc[10:14, "age"] = -np.inf
    result = check_drift(build_profile(reference), cur)
    age = result.column("age")
    assert age.current_infinite == 15
    assert age.current_count == len(cur) - 15
    assert "15 in the current data" in age.notes[0]
    finite = cur["age"][np.isfinite(cur["age"])]
    expected = stats.ks_2samp(reference["age"], finite, method="asymp")
    assert age.tests["ks"].score == pytest.approx(expected.statistic, abs=1e-12)


def test_a_single_distinct_value():
    ref = pd.DataFrame({"x": [5.0] * 200})
    same = check_drift(build_profile(ref), pd.DataFrame({"x": [5.0] * 100}))
    x = same.column("x")
    assert not x.drifted
    assert (x.tests["ks"].score, x.tests["ks"].p_value) == (0.0, 1.0)
    assert x.tests["wasserstein"].score == 0.0
    moved = check_drift(build_profile(ref), pd.DataFrame({"x": [6.0] * 100}))
    x = moved.column("x")
    assert x.drifted
    assert x.tests["ks"].score == 1.0
    assert x.tests["wasserstein"].raw == 1.0
    assert math.isinf(x.tests["wasserstein"].score)
    assert any("reference is constant" in n for n in x.notes)
    body = json.loads(json.dumps(moved.to_dict()))
    assert body["results"][0]["tests"]["wasserstein"]["score"] is None  # inf: not JSON


def test_unseen_categories_are_reported_and_counted(reference, clean):
    cur = clean.copy()
    cur["region"] = cur["region"].where(cur.index >= 200, "mars")
    result = check_drift(build_profile(reference), cur)
    region = result.column("region")
    assert region.unseen == ("mars",)
    assert region.unseen_share == pytest.approx(0.1)
    assert region.drifted
    assert "1 categories not in the reference (10.00% of values): mars" in region.notes[0]


def test_results_are_plain_json_sorted_by_severity(reference, shifted):
    result = check_drift(build_profile(reference), shifted)
    body = json.loads(json.dumps(result.to_dict()))
    assert body["drifted"] is True
    assert [r["name"] for r in body["results"]][:2] == [c.name for c in result.by_severity()[:2]]
    assert body["config"]["numeric_test"] == "ks"
    assert result.column("income").histogram is not None


def test_a_bad_config_is_refused():
    with pytest.raises(ConfigError, match="alpha"):
        DriftConfig(alpha=1.5)
    with pytest.raises(ConfigError, match="numeric_test"):
        DriftConfig(numeric_test="chi2")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown drift settings: alfa"):
        DriftConfig.from_mapping({"alfa": 0.1})


def test_the_number_of_workers_changes_nothing(reference, shifted):
    profile = build_profile(reference)
    one = check_drift(profile, shifted, workers=1).to_dict()
    two = check_drift(profile, shifted, workers=3).to_dict()
    one.pop("seconds"), two.pop("seconds")
    assert one == two


def test_an_error_in_a_worker_thread_surfaces(reference, clean):
    bad = clean.assign(income="lots")
    with pytest.raises(DriftSchemaError, match="'income' is numeric"):
        check_drift(build_profile(reference), bad, workers=2)


def test_pandas_extension_dtypes_are_read_like_their_numpy_kin():
    ref = pd.DataFrame(
        {
            "n": pd.array([1, 2, None, 4] * 50, dtype="Int64"),
            "f": pd.array([0.5, None, 1.5, 2.5] * 50, dtype="Float64"),
            "s": pd.array(["a", "b", None, "a"] * 50, dtype="string"),
            "b": pd.array([True, False, None, True] * 50, dtype="boolean"),
        }
    )
    result = check_drift(build_profile(ref), ref)
    assert [c.kind for c in result.columns] == ["numeric", "numeric", "categorical", "categorical"]
    assert not result.any_drift
    assert result.column("n").reference_missing_share == 0.25
    assert result.column("s").current_missing_share == 0.25
    assert result.column("n").tests["ks"].score == 0.0
