"""validate: a schema path that does not exist yet is inferred once from good data and saved."""

from __future__ import annotations

import pytest

from mlplatform.components.ingest import ingest
from mlplatform.components.validate import load_schema, validate
from mlplatform.errors import DataValidationError


def test_first_good_data_writes_the_schema_then_later_data_is_checked_against_it(tmp_path):
    # GIVEN no schema file yet
    path = tmp_path / "schemas" / "cancer.yaml"
    good = ingest.fn("sklearn://breast_cancer")
    # WHEN validate runs on good data THEN the schema is inferred and saved there
    data, used = validate.fn(good, schema=str(path))
    assert path.is_file()
    assert set(load_schema(path).columns) == set(good.columns)
    assert data.equals(good)
    assert set(used["columns"]) == set(good.columns)
    # WHEN later data breaks it THEN the saved schema (not a fresh inference) rejects it
    bad = good.copy()
    bad.loc[bad.index[:2], "mean_area"] = 1e9
    with pytest.raises(DataValidationError) as info:
        validate.fn(bad, schema=str(path))
    assert "mean_area" in info.value.report


def test_no_schema_is_written_from_data_that_breaks_the_null_limit(tmp_path):
    path = tmp_path / "schema.yaml"
    bad = ingest.fn("sklearn://breast_cancer")
    bad.loc[bad.index[:200], "mean_texture"] = None
    with pytest.raises(DataValidationError, match="not written"):
        validate.fn(bad, schema=str(path), max_null_fraction=0.05)
    assert not path.exists()
