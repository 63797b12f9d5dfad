"""The monitor: row and time windows over files, results into Prometheus gauges."""

from __future__ import annotations

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlplatform.drift import DriftMetrics, DriftMonitor, build_profile, iter_frames
from mlplatform.errors import DriftDataError

from .conftest import frame


def samples(metrics: DriftMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_row_windows_over_parquet_and_csv_files(tmp_path, reference, clean, shifted):
    # GIVEN a clean file (Parquet) then a shifted one (CSV), 2000 rows each
    clean.to_parquet(tmp_path / "a.parquet")
    shifted.to_csv(tmp_path / "b.csv", index=False)
    monitor = DriftMonitor(build_profile(reference), window_rows=1500)

    # WHEN they stream through 1500-row windows, in batches that do not match the windows
    windows = list(
        monitor.run(iter_frames([tmp_path / "a.parquet", tmp_path / "b.csv"], batch_rows=700))
    )

    # THEN windows follow row offsets; the first is clean, the last two are shifted
    assert [(w.start, w.end, w.rows) for w in windows] == [
        ("0", "1500", 1500),
        ("1500", "3000", 1500),
        ("3000", "4000", 1000),
    ]
    assert [w.result.drifted for w in windows] == [False, True, True]


def test_time_windows_close_when_a_later_one_starts_and_late_rows_are_dropped(reference):
    rng_rows = [frame(300, seed=s) for s in (1, 2)]
    first = rng_rows[0].assign(ts=pd.date_range("2024-01-01 00:00", periods=300, freq="10s"))
    later = rng_rows[1].assign(ts=pd.date_range("2024-01-01 01:00", periods=300, freq="10s"))
    late = rng_rows[1].head(5).assign(ts=pd.Timestamp("2024-01-01 00:30"))
    monitor = DriftMonitor(build_profile(reference), window="1h", time_column="ts")

    closed = monitor.feed(first)
    assert closed == []
    closed = monitor.feed(later)
    assert [(w.start, w.rows) for w in closed] == [("2024-01-01T00:00:00+00:00", 300)]
    assert monitor.feed(late) == []
    assert monitor.late_rows == 5
    last = monitor.flush()
    assert [(w.start, w.end, w.rows) for w in last] == [
        ("2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00", 300)
    ]
    assert "not in the reference, not compared: ts" in last[0].result.notes


def test_gauges_per_model_version_feature_and_test(reference, shifted):
    metrics = DriftMetrics()
    monitor = DriftMonitor(
        build_profile(reference), window_rows=5000, metrics=metrics, model="churn", version="3"
    )
    [window] = list(monitor.run([shifted]))
    found = samples(metrics)
    model = (("model", "churn"), ("version", "3"))
    assert found[("mlplatform_drift_dataset_detected", model)] == 1.0
    assert found[("mlplatform_drift_dataset_share", model)] == 0.5
    assert found[("mlplatform_drift_window_rows", model)] == 2000
    key = tuple(sorted((*model, ("feature", "income"), ("test", "ks"))))
    assert found[("mlplatform_drift_detected", key)] == 1.0
    assert (
        found[("mlplatform_drift_score", key)] == window.result.column("income").tests["ks"].score
    )
    assert ("mlplatform_drift_p_value", key) in found
    psi = tuple(sorted((*model, ("feature", "income"), ("test", "psi"))))
    assert ("mlplatform_drift_p_value", psi) not in found  # PSI has no p-value
    feature = tuple(sorted((*model, ("feature", "age"))))
    assert found[("mlplatform_drift_missing_share", feature)] == 0.0


def test_gauges_can_go_to_a_textfile(tmp_path, reference, clean):
    metrics = DriftMetrics()
    list(DriftMonitor(build_profile(reference), window_rows=10_000, metrics=metrics).run([clean]))
    metrics.write_textfile(tmp_path / "drift.prom")
    assert "mlplatform_drift_dataset_detected" in (tmp_path / "drift.prom").read_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one kind of window"),
        ({"window_rows": 10, "window": "1h", "time_column": "t"}, "exactly one kind"),
        ({"window_rows": 0}, "at least 1"),
        ({"window": "soon", "time_column": "t"}, "as a duration"),
        ({"window": "1h"}, "needs the column"),
    ],
)
def test_bad_windows_are_clear_errors(reference, kwargs, message):
    with pytest.raises(DriftDataError, match=message):
        DriftMonitor(build_profile(reference), **kwargs)


def test_a_missing_time_column_and_empty_input(reference, clean):
    monitor = DriftMonitor(build_profile(reference), window="1h", time_column="ts")
    assert monitor.feed(clean.head(0)) == []
    assert monitor.flush() == []
    with pytest.raises(DriftDataError, match="time column 'ts' is not in the data"):
        monitor.feed(clean)
