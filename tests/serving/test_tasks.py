"""Serving regression and multiclass models: each answers in its own datatype (FP64 values,
BYTES string labels, INT64 integer labels), a classifier adds its class probabilities when a
request asks (V2 ``outputs``, V1 ``parameters``), a regressor asked for them gets a 422 that
says why, and tritonclient reads every answer.

The regression model is trained on scikit-learn's bundled diabetes data; the multiclass one on
a generated table with string categoricals, missing values and an unbalanced class. Both are
trained with scikit-learn directly and registered in a temporary SQLite registry with their
drift profile (features, target and predictions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlplatform.components.register import load_reference_profile, save_reference_profile
from mlplatform.drift import check_drift
from mlplatform.serving import BackgroundServer, build_app, start_background
from mlplatform.tracking import register_model

from .conftest import config

V1 = "/v1/models/{name}:predict"
V2 = "/v2/models/{name}/infer"
CLASSES = ("setosa", "versicolor", "virginica")


def species_table(rows: int, seed: int) -> pd.DataFrame:
    """A multiclass table: two numbers, two string categoricals with missing values, and a
    string label whose third class is rare (about 10 %)."""
    rng = np.random.default_rng(seed)
    label = rng.choice(CLASSES, size=rows, p=[0.55, 0.35, 0.10])
    code = {c: i for i, c in enumerate(CLASSES)}
    shift = np.array([code[c] for c in label], dtype=float)
    frame = pd.DataFrame(
        {
            "length": rng.normal(4 + 1.5 * shift, 0.6),
            "width": rng.normal(2 + shift, 0.5),
            "habitat": np.where(shift > 1, "marsh", rng.choice(["field", "wood"], size=rows)),
            "colour": rng.choice(["red", "blue", "white"], size=rows),
            "species": label,
        }
    )
    frame.loc[rng.random(rows) < 0.05, "habitat"] = None
    frame.loc[rng.random(rows) < 0.05, "length"] = np.nan
    return frame


def _register(
    folder: Path, name: str, model: Any, features: pd.DataFrame, target: pd.Series
) -> str:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    version = register_model(
        model, name, tracking_uri=uri, signature_input=features, tags={},
        model_digest=f"sha256:{name}",
    ).version  # fmt: skip
    save_reference_profile(
        name,
        version,
        features,
        tracking_uri=uri,
        target=target,
        predictions=model.predict(features),
    )
    return uri


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> tuple[str, Pipeline, pd.DataFrame, pd.Series]:
    """(tracking URI, model, test features, test target) of the diabetes regressor."""
    data = load_diabetes(as_frame=True).frame
    train, test = data.iloc[:350], data.iloc[350:]
    features, target = train.drop(columns=["target"]), train["target"]
    model = make_pipeline(HistGradientBoostingRegressor(max_iter=50, random_state=0))
    model.fit(features, target)
    uri = _register(tmp_path_factory.mktemp("diabetes"), "diabetes", model, features, target)
    return uri, model, test.drop(columns=["target"]), test["target"]


@pytest.fixture(scope="module")
def species(tmp_path_factory) -> tuple[str, Pipeline, pd.DataFrame, pd.Series]:
    """(tracking URI, model, complete test rows, their labels) of the species classifier."""
    train, test = species_table(600, seed=1), species_table(200, seed=2).dropna()
    features, target = train.drop(columns=["species"]), train["species"]
    prepare = ColumnTransformer(
        [
            ("numbers", SimpleImputer(), ["length", "width"]),
            (
                "labels",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["habitat", "colour"],
            ),
        ]
    )
    model = Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=1000))])
    model.fit(features, target)
    uri = _register(tmp_path_factory.mktemp("species"), "species", model, features, target)
    return uri, model, test.drop(columns=["species"]).reset_index(drop=True), test["species"]


@pytest.fixture(scope="module")
def regression_server(diabetes) -> Iterator[BackgroundServer]:
    with start_background(build_app(config("diabetes", "models:/diabetes/1", diabetes[0]))) as s:
        yield s


@pytest.fixture(scope="module")
def species_server(species) -> Iterator[BackgroundServer]:
    with start_background(build_app(config("species", "models:/species/1", species[0]))) as s:
        yield s


def _v2_columns(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "name": str(column),
            "shape": [len(rows)],
            "datatype": "BYTES" if rows[column].dtype == object else "FP64",
            "data": rows[column].tolist(),
        }
        for column in rows.columns
    ]


def _post(server: BackgroundServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30)


# ---- regression ----------------------------------------------------------------------------


def test_a_regressor_answers_fp64_values_in_v1_and_v2(regression_server, diabetes):
    # GIVEN the diabetes regressor and ten test rows
    _, model, rows, _ = diabetes
    rows = rows.head(10)
    expected = model.predict(rows)

    # WHEN they are sent with V1 (objects keyed by column) and V2 (one input per column)
    v1 = _post(regression_server, V1.format(name="diabetes"),
               {"instances": rows.to_dict("records")})  # fmt: skip
    v2 = _post(regression_server, V2.format(name="diabetes"), {"inputs": _v2_columns(rows)})

    # THEN V1 predictions are JSON numbers and V2's output is FP64, both the model's values
    assert v1.status_code == 200, v1.text
    predictions = v1.json()["predictions"]
    assert all(isinstance(p, float) for p in predictions)
    np.testing.assert_allclose(predictions, expected)
    assert v2.status_code == 200, v2.text
    (output,) = v2.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("output-0", "FP64", [10])
    np.testing.assert_allclose(output["data"], expected)


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("v2", {"outputs": [{"name": "probabilities"}]}),
        ("v1", {"parameters": {"probabilities": True}}),
    ],
)
def test_a_regressor_asked_for_probabilities_gets_a_422_that_says_why(
    regression_server, diabetes, protocol, body
):
    # GIVEN a request for class probabilities of the regressor
    rows = diabetes[2].head(2)
    if protocol == "v2":
        path, request = V2, {"inputs": _v2_columns(rows), **body}
    else:
        path, request = V1, {"instances": rows.to_dict("records"), **body}

    # WHEN it is sent
    answer = _post(regression_server, path.format(name="diabetes"), request)

    # THEN it is refused with 422 naming the reason, and the server still answers after it
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert "no class probabilities" in error
    assert "regression model" in error
    assert "FP64" in error
    again = _post(regression_server, V1.format(name="diabetes"),
                  {"instances": rows.to_dict("records")})  # fmt: skip
    assert again.status_code == 200


def test_the_regressor_metadata_lists_one_fp64_output(regression_server):
    # WHEN the V2 metadata of the regressor is read
    metadata = httpx.get(regression_server.url + "/v2/models/diabetes").json()

    # THEN its one output is FP64 and no classes are listed
    assert metadata["outputs"] == [{"name": "output-0", "datatype": "FP64", "shape": [-1]}]
    assert "classes" not in metadata["parameters"]


# ---- multiclass, string labels -------------------------------------------------------------


def test_a_classifier_answers_string_labels_as_bytes(species_server, species):
    # GIVEN the species classifier and complete test rows with string categoricals
    _, model, rows, _ = species
    rows = rows.head(12)
    expected = model.predict(rows).tolist()

    # WHEN they are sent with V1 and V2
    v1 = _post(species_server, V1.format(name="species"), {"instances": rows.to_dict("records")})
    v2 = _post(species_server, V2.format(name="species"), {"inputs": _v2_columns(rows)})

    # THEN V1 predictions are the labels as JSON strings, V2's output is BYTES
    assert v1.json() == {"predictions": expected}
    (output,) = v2.json()["outputs"]
    assert (output["datatype"], output["shape"], output["data"]) == ("BYTES", [12], expected)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_gets_labels_and_probabilities_with_the_class_names(
    species_server, species, binary
):
    # GIVEN tritonclient inputs for the rows, asking for the labels and the probabilities
    _, model, rows, _ = species
    rows = rows.head(8)
    inputs = []
    for column in rows.columns:
        values = rows[column].to_numpy()
        values = values.astype(object) if values.dtype == object else values.astype(np.float64)
        tensor = triton.InferInput(column, [len(rows)], triton.np_to_triton_dtype(values.dtype))
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    outputs = [
        triton.InferRequestedOutput("output-0", binary_data=binary),
        triton.InferRequestedOutput("probabilities", binary_data=binary),
    ]

    # WHEN tritonclient sends them
    client = triton.InferenceServerClient(species_server.url.removeprefix("http://"))
    result = client.infer("species", inputs, outputs=outputs)

    # THEN it parses both: the labels (BYTES) and FP64 [rows, classes] probabilities equal to
    # predict_proba, whose columns the class names in the tensor's parameters name
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("output-0")]
    assert labels == model.predict(rows).tolist()
    probabilities = result.as_numpy("probabilities")
    assert probabilities.dtype == np.float64
    assert probabilities.shape == (8, 3)
    np.testing.assert_allclose(probabilities, model.predict_proba(rows))
    tensor = result.get_output("probabilities")
    assert tensor["datatype"] == "FP64"
    assert tensor["parameters"]["classes"] == list(CLASSES)
    assert tensor["parameters"]["classes"] == model.classes_.tolist()


def test_v1_probabilities_come_with_the_classes(species_server, species):
    # GIVEN a V1 request asking for probabilities
    _, model, rows, _ = species
    rows = rows.head(5)
    body = {"instances": rows.to_dict("records"), "parameters": {"probabilities": True}}

    # WHEN it is sent
    answer = _post(species_server, V1.format(name="species"), body).json()

    # THEN the answer has the labels, one probability row per instance and the class names
    assert answer["predictions"] == model.predict(rows).tolist()
    assert answer["classes"] == list(CLASSES)
    np.testing.assert_allclose(answer["probabilities"], model.predict_proba(rows))
    assert set(answer) == {"predictions", "probabilities", "classes"}


def test_probabilities_alone_and_bad_output_requests(species_server, species):
    # GIVEN the classifier's rows
    rows = species[2].head(3)
    path = V2.format(name="species")

    # WHEN probabilities alone are asked for, then bad output requests are sent
    alone = _post(species_server, path, {"inputs": _v2_columns(rows),
                                         "outputs": [{"name": "probabilities"}]})  # fmt: skip
    unknown = _post(species_server, path, {"inputs": _v2_columns(rows),
                                           "outputs": [{"name": "scores"}]})  # fmt: skip
    twice = _post(species_server, path, {"inputs": _v2_columns(rows), "outputs": [
        {"name": "probabilities"}, {"name": "probabilities"}]})  # fmt: skip
    instances = rows.to_dict("records")
    flag = _post(species_server, V1.format(name="species"),
                 {"instances": instances, "parameters": {"probabilities": "yes"}})  # fmt: skip
    parameters = _post(species_server, V1.format(name="species"),
                       {"instances": rows.to_dict("records"), "parameters": [1]})  # fmt: skip

    # THEN only the probabilities come back; the others get a 4xx naming the problem
    (output,) = alone.json()["outputs"]
    assert (output["name"], output["shape"]) == ("probabilities", [3, 3])
    assert unknown.status_code == 422
    assert "'scores'" in unknown.json()["error"]
    assert "probabilities" in unknown.json()["error"]
    assert twice.status_code == 400
    assert "twice" in twice.json()["error"]
    assert flag.status_code == 400
    assert "'probabilities'" in flag.json()["error"]
    assert parameters.status_code == 400
    assert "JSON object" in parameters.json()["error"]


def test_the_classifier_metadata_lists_labels_and_probabilities(species_server):
    # WHEN the V2 metadata of the classifier is read
    metadata = httpx.get(species_server.url + "/v2/models/species").json()

    # THEN it lists the BYTES labels, the FP64 probabilities and the class names
    assert metadata["outputs"] == [
        {"name": "output-0", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]},
    ]
    assert metadata["parameters"]["classes"] == list(CLASSES)


# ---- integer labels ------------------------------------------------------------------------


def test_integer_labels_are_int64(tmp_path, start_server):
    # GIVEN a classifier trained on integer labels 0..2, registered
    rows = species_table(300, seed=3).dropna()
    features = rows[["length", "width"]]
    target = pd.Series([CLASSES.index(s) for s in rows["species"]], name="code")
    model = make_pipeline(LogisticRegression(max_iter=1000)).fit(features, target)
    uri = _register(tmp_path, "codes", model, features, target)
    server = start_server(config("codes", "models:/codes/1", uri))

    # WHEN rows are sent with V2 and V1
    head = features.head(4)
    v2 = _post(server, V2.format(name="codes"), {"inputs": _v2_columns(head)})
    instances = head.to_dict("records")
    v1 = _post(server, V1.format(name="codes"),
               {"instances": instances, "parameters": {"probabilities": True}})  # fmt: skip

    # THEN the labels are INT64 (JSON integers in V1) and the classes are integers
    (output,) = v2.json()["outputs"]
    assert output["datatype"] == "INT64"
    assert output["data"] == model.predict(head).tolist()
    answer = v1.json()
    assert all(type(p) is int for p in answer["predictions"])
    assert answer["classes"] == [0, 1, 2]


# ---- drift of the target and the predictions -----------------------------------------------


def test_the_regressors_profile_holds_target_and_predictions(diabetes):
    # GIVEN the diabetes regressor's registered profile
    uri, model, rows, target = diabetes
    profile = load_reference_profile("diabetes", 1, tracking_uri=uri)

    # WHEN labelled test rows with the model's predictions are checked, then the same rows
    # with predictions moved up by a third
    current = rows.assign(target=target.to_numpy(), prediction=model.predict(rows))
    clean = check_drift(profile, current)
    shifted = check_drift(profile, current.assign(prediction=current["prediction"] * 1.33))

    # THEN both outputs are numeric and profiled apart from the features, the clean rows do
    # not drift, and the shifted predictions drift without changing the features' verdict
    assert set(profile.outputs) == {"target", "prediction"}
    assert profile.outputs["target"].kind == "numeric"
    assert profile.outputs["prediction"].kind == "numeric"
    assert "target" not in profile.columns
    assert "prediction" not in profile.columns
    assert clean.outputs_drifted == {"target": False, "prediction": False}
    assert shifted.outputs_drifted == {"target": False, "prediction": True}
    assert shifted.drifted is clean.drifted
    assert shifted.column("prediction").role == "prediction"


def test_a_demo_style_check_of_features_alone_still_works(diabetes):
    # GIVEN the regressor's profile and test features without target or predictions (what
    # the demo checks)
    uri, _, rows, _ = diabetes
    profile = load_reference_profile("diabetes", 1, tracking_uri=uri)

    # WHEN they are checked
    result = check_drift(profile, rows[list(profile.columns)])

    # THEN the features are compared, and a note says the outputs were not
    assert {c.name for c in result.columns} == set(profile.columns)
    assert result.outputs_drifted == {}
    assert any("target (target)" in n and "prediction (prediction)" in n for n in result.notes)


def test_the_classifiers_profile_counts_labels(species):
    # GIVEN the species classifier's registered profile
    uri, model, rows, _labels = species
    profile = load_reference_profile("species", 1, tracking_uri=uri)

    # WHEN served-style samples (features and prediction) of only one class are checked
    current = rows.assign(prediction=model.predict(rows))
    skewed = current[current["prediction"] == "virginica"]
    result = check_drift(profile, pd.concat([skewed] * 3, ignore_index=True))

    # THEN target and prediction are categorical with the three classes, the prediction
    # drifts, and the absent target is noted
    assert profile.outputs["target"].name == "species"
    assert set(profile.outputs["target"].categories) == set(CLASSES)
    assert profile.outputs["prediction"].kind == "categorical"
    assert result.outputs_drifted == {"prediction": True}
    assert any("species (target)" in n for n in result.notes)
