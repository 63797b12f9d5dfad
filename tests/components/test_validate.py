"""Tests of data validation: schema inference, persistence, and the validate step's report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplatform.components.ingest import ingest
from mlplatform.components.validate import (
    Violation,
    format_report,
    infer_schema,
    load_schema,
    save_schema,
    validate,
    validation_report,
)
from mlplatform.errors import DataValidationError


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    return ingest("synthetic://classification", rows=200, seed=0)


@pytest.fixture
def schema_path(tmp_path: Path, good: pd.DataFrame) -> str:
    return str(save_schema(infer_schema(good), tmp_path / "schema.yaml"))


def _report(data: pd.DataFrame, schema: str = "", max_null_fraction: float = 0.05) -> str:
    with pytest.raises(DataValidationError) as info:
        validate(data, schema, max_null_fraction)
    return info.value.report


def test_good_data_passes_against_its_saved_schema(good: pd.DataFrame, schema_path: str) -> None:
    # GIVEN good data and the schema inferred from it
    # WHEN the data is validated against the saved schema
    data, schema = validate(good, schema_path)
    # THEN it comes back unchanged with the schema as strict JSON
    assert data.equals(good)
    assert set(schema["columns"]) == set(good.columns)
    json.dumps(schema, allow_nan=False)


def test_good_data_passes_the_inferred_sanity_schema(good: pd.DataFrame) -> None:
    data, schema = validate(good)
    assert data.equals(good)
    assert schema["columns"]["f00"]["checks"] == [{"options": {"check_name": "finite"}}]


def test_missing_column_is_reported(good: pd.DataFrame, schema_path: str) -> None:
    # GIVEN data without the column "plan"
    # WHEN validated against the schema
    report = _report(good.drop(columns=["plan"]), schema_path)
    # THEN the report names the missing column
    assert "plan" in report
    assert "missing column" in report


def test_wrong_dtype_is_reported_with_the_dtype_found(good: pd.DataFrame, schema_path: str) -> None:
    # GIVEN data where the numeric column f03 arrives as text
    # WHEN validated
    text = good.assign(f03=good["f03"].astype(str))
    report = _report(text, schema_path)
    # THEN the report names the column, the expected dtype and the dtype found
    line = next(row for row in report.splitlines() if "dtype" in row)
    assert line.split()[0] == "f03"
    assert "float64" in line
    assert str(text["f03"].dtype) in line.split()[-1]


def test_nulls_over_the_threshold_are_reported_under_it_pass(good: pd.DataFrame) -> None:
    # GIVEN one column with 10 % nulls
    data = good.copy()
    data.loc[: len(data) // 10 - 1, "f05"] = np.nan
    # WHEN validated with the default 5 % limit, and with a 20 % limit
    report = _report(data)
    validate(data, "", max_null_fraction=0.2)
    # THEN only the first fails, naming the column, the check and the fraction
    row = next(r for r in report.splitlines() if r.startswith("f05"))
    assert "null_fraction<=0.05" in row
    assert "10.0% null" in row


def test_out_of_range_values_are_reported_with_examples(
    good: pd.DataFrame, schema_path: str
) -> None:
    # GIVEN data where two values of f00 are far outside the range seen
    data = good.copy()
    data.loc[[3, 4], "f00"] = [1000.5, -2000.25]
    # WHEN validated
    report = _report(data, schema_path)
    # THEN the report names the column, the range check, the count and the values
    row = next(r for r in report.splitlines() if r.startswith("f00"))
    assert "in_range(" in row
    assert " 2 " in row
    assert "1000.5" in row
    assert "-2000.25" in row


def test_unknown_category_and_infinite_value_are_reported(
    good: pd.DataFrame, schema_path: str
) -> None:
    data = good.copy()
    data.loc[0, "region"] = "mars"
    data.loc[1, "f02"] = np.inf
    assert "mars" in _report(data, schema_path)
    assert "finite" in _report(data)


def test_every_violation_is_collected_in_one_report(good: pd.DataFrame, schema_path: str) -> None:
    # GIVEN data with a missing column, an extra column and out-of-range values
    data = good.drop(columns=["f01"]).assign(extra=1, f00=good["f00"] * 100)
    # WHEN validated
    with pytest.raises(DataValidationError) as info:
        validate(data, schema_path)
    # THEN every problem is in the report and the headline counts them
    report = info.value.report
    assert {"f01", "extra", "f00"} <= {row.split()[0] for row in report.splitlines()[2:]}
    assert "3 violation(s)" in info.value.headline


def test_schema_round_trip_keeps_every_check(good: pd.DataFrame, tmp_path: Path) -> None:
    # GIVEN a schema inferred from good data
    schema = infer_schema(good)
    # WHEN it is saved and loaded
    path = save_schema(schema, tmp_path / "nested" / "schema.yaml")
    loaded = load_schema(path)
    # THEN columns, dtypes, nullability and checks are the same, and no temp file is left
    assert loaded == schema
    for name, column in schema.columns.items():
        assert loaded.columns[name].checks == column.checks
        assert loaded.columns[name].nullable == column.nullable
    assert [p.name for p in path.parent.iterdir()] == ["schema.yaml"]


def test_inferred_ranges_have_a_margin_and_categoricals_an_isin(good: pd.DataFrame) -> None:
    # GIVEN good data
    schema = infer_schema(good)
    # WHEN the checks are read
    f00 = schema.columns["f00"].checks[0].statistics
    low, high = good["f00"].min(), good["f00"].max()
    margin = 0.1 * (high - low)
    # THEN the range is widened by about 10 % on each side and the levels are listed
    assert f00["min_value"] == pytest.approx(low - margin, abs=margin / 10)
    assert f00["max_value"] == pytest.approx(high + margin, abs=margin / 10)
    assert schema.columns["plan"].checks[0].statistics["allowed_values"] == [
        "basic",
        "plus",
        "premium",
    ]
    assert schema.strict is True


def test_non_negative_columns_keep_a_zero_lower_bound() -> None:
    schema = infer_schema(pd.DataFrame({"count": [0, 5, 10]}))
    assert schema.columns["count"].checks[0].statistics["min_value"] == 0.0


def test_max_null_fraction_makes_columns_nullable() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    assert infer_schema(frame).columns["a"].nullable is False
    assert infer_schema(frame, max_null_fraction=0.1).columns["a"].nullable is True


def test_validation_report_returns_violations_for_a_cli() -> None:
    # GIVEN a schema and data with one out-of-range value
    schema = infer_schema(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    # WHEN the report is built
    violations = validation_report(pd.DataFrame({"a": [1.0, 99.0, 3.0]}), schema, 0.0)
    # THEN it is one Violation with the failing value, and renders as a table
    assert violations == [Violation("a", "in_range(0.8, 3.2)", 1, ("99.0",))]
    assert format_report(violations).splitlines()[0].split() == [
        "column",
        "check",
        "failing",
        "examples",
    ]


def test_validate_declares_the_schema_file_as_optional_data() -> None:
    assert validate.data == {"schema": "optional"}
    assert list(validate.output_types) == ["data", "schema"]
