"""All three tasks from a user's table through the whole lifecycle: the standard pipeline
trains and registers (CSV or Parquet, a label not named target), the model server answers in
the task's datatype (and with class probabilities on request), and the registered drift
profile checks the held-out rows, target and predictions included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from _user_tables import multiclass_table

from _mlflow_store import sqlite_store
from mlplatform.artifacts.materializers import load
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.register import load_reference_profile
from mlplatform.components.standard import standard_training
from mlplatform.drift import DriftConfig, check_drift
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.serving import ServerConfig, VariantConfig, build_app, start_background
from mlplatform.tracking._mlflow import using_tracking_uri


def diabetes_csv(folder) -> tuple[str, str]:
    """scikit-learn's regression data as a user's CSV, its label named ``progression``."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    path = folder / "diabetes.csv"
    frame.to_csv(path, index=False)
    return str(path), "progression"


def penguins_parquet(folder) -> tuple[str, str]:
    path = folder / "penguins.parquet"
    multiclass_table().to_parquet(path, index=False)
    return str(path), "species"


def cancer(folder) -> tuple[str, str]:
    return "sklearn://breast_cancer", "target"


CASES: dict[str, tuple[Callable[[Any], tuple[str, str]], dict[str, Any], str]] = {
    "regression": (diabetes_csv, {"model": "linear", "gate": "r2>=0.3"}, "FP64"),
    "multiclass": (penguins_parquet, {"model": "linear", "id_columns": "animal_id"}, "BYTES"),
    "binary": (cancer, {"model": "logreg"}, "INT64"),
}


@pytest.mark.parametrize("task", list(CASES))
def test_a_users_table_is_trained_served_and_checked_for_drift(
    task, tmp_path_factory, tmp_path, monkeypatch
):
    # GIVEN a user's table and the standard pipeline, on a real registry and store
    make, params, datatype = CASES[task]
    source, target = make(tmp_path)
    uri = sqlite_store(tmp_path_factory, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    store = ArtifactStore(tmp_path / "store")
    options = RunOptions(in_process=True, env={"MLFLOW_TRACKING_URI": uri})
    # WHEN it is trained as it is
    run = LocalExecutor(store, options).run(
        standard_training.graph, {"source": source, "target": target, **params}
    )
    evaluation = load(store, run.output("evaluate"))
    registered = load(store, run.output("register"))
    test = load(store, run.output("featurize", "test"))
    # THEN auto found the task, and the version is the champion
    assert evaluation["task"] == task
    assert "champion" in registered["aliases"]

    # WHEN the champion is served and asked about held-out rows
    profile = load_reference_profile("standard-model", "champion", tracking_uri=uri)
    rows = test[list(profile.columns)].head(5)
    inputs = [
        {
            "name": str(name),
            "datatype": "BYTES" if rows[name].dtype == object else "FP64",
            "shape": [len(rows)],
            "data": [None if pd.isna(v) else v for v in rows[name].tolist()],
        }
        for name in rows.columns
    ]
    wanted = [{"name": "output-0"}] + ([{"name": "probabilities"}] if task != "regression" else [])
    cfg = ServerConfig(
        "standard-model", (VariantConfig("primary", "models:/standard-model@champion"),), uri
    )
    with start_background(build_app(cfg)) as server:
        answer = httpx.post(
            f"{server.url}/v2/models/standard-model/infer",
            json={"inputs": inputs, "outputs": wanted},
            timeout=30,
        )
    # THEN it answers in the task's datatype, probabilities with the class names on request
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["output-0"]["datatype"] == datatype
    assert len(outputs["output-0"]["data"]) == len(rows)
    if task != "regression":
        probabilities = outputs["probabilities"]
        classes = probabilities["parameters"]["classes"]
        assert probabilities["shape"] == [len(rows), len(classes)]
        sums = np.asarray(probabilities["data"], dtype=float).reshape(len(rows), -1).sum(axis=1)
        assert np.allclose(sums, 1.0)

    # WHEN the held-out rows, with their labels and the model's predictions, are checked
    # against the profile registered with the version
    import mlflow.pyfunc

    with using_tracking_uri(uri):  # not the env alone: an earlier module may set the global
        model = mlflow.pyfunc.load_model("models:/standard-model@champion")
    current = test[list(profile.columns)].copy()
    current[target] = test[target].to_numpy()
    current["prediction"] = np.asarray(model.predict(test[list(profile.columns)])).ravel()
    result = check_drift(profile, current, DriftConfig())
    # THEN the target and the predictions were compared too, and a held-out split of the
    # same data does not drift
    roles = {c.name: c.role for c in result.columns}
    assert roles[target] == "target"
    assert roles["prediction"] == "prediction"
    assert not result.drifted, result.drifted_columns
