"""Bad data stops the standard pipeline at validate, with the report; nothing is registered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.ingest import ingest
from mlplatform.components.standard import standard_training
from mlplatform.components.validate import infer_schema, save_schema
from mlplatform.errors import StepFailedError
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.tracking import list_models


def _spoil(df: pd.DataFrame, how: str) -> pd.DataFrame:
    bad = df.copy()
    if how == "missing column":
        return bad.drop(columns=["mean_radius"])
    if how == "wrong dtype":
        bad["mean_radius"] = bad["mean_radius"].astype(str)
        bad.loc[bad.index[:2], "mean_radius"] = "n/a"  # CSV keeps it text only if not numeric
    elif how == "nulls over threshold":
        bad.loc[bad.index[:100], "mean_texture"] = np.nan
    elif how == "out of range":
        bad.loc[bad.index[:3], "mean_area"] = 1e9
    return bad


EXPECT = {
    "missing column": "mean_radius",
    "wrong dtype": "mean_radius",
    "nulls over threshold": "null_fraction",
    "out of range": "mean_area",
}


@pytest.mark.parametrize("how", list(EXPECT))
def test_bad_data_stops_at_validate_and_registers_nothing(tmp_path, how):
    # GIVEN a schema inferred once from good data, and a spoiled copy of that data
    good = ingest.fn("sklearn://breast_cancer")
    schema = save_schema(infer_schema(good), tmp_path / "schema.yaml")
    csv = tmp_path / "bad.csv"
    _spoil(good, how).to_csv(csv, index=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    executor = LocalExecutor(
        ArtifactStore(tmp_path / "store"),
        RunOptions(in_process=True, env={"MLFLOW_TRACKING_URI": uri}),
    )
    # WHEN the standard pipeline runs on it
    with pytest.raises(StepFailedError) as info:
        executor.run(
            standard_training.graph,
            {"source": str(csv), "schema": str(schema), "model_name": "must-not-exist"},
        )
    # THEN it stops at validate with a report naming the problem
    err = info.value
    assert err.step == "validate"
    assert "DataValidationError" in err.headline
    assert EXPECT[how] in err.details
    statuses = {n: o.status for n, o in err.result.steps.items()}
    assert statuses["ingest"] == "ran"
    assert statuses["register"] == "skipped"
    # AND nothing was registered
    assert all(m.name != "must-not-exist" for m in list_models(uri))
