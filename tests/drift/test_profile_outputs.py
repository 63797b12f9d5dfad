"""A profile's outputs (the model's target and prediction columns): kept apart from the
features, written and read back with their roles, and written in the old format without them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlplatform.drift import build_profile, load_profile, save_profile
from mlplatform.drift.profile import build_model_profile
from mlplatform.errors import DriftSchemaError


def _features(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=rows), "colour": rng.choice(["a", "b"], rows)})


def _version(path) -> int:
    with np.load(path, allow_pickle=False) as archive:
        return int(json.loads(bytes(archive["__profile__"]).decode())["version"])


def test_outputs_round_trip_with_their_roles(tmp_path):
    # GIVEN a profile of features, integer labels and a classifier's integer predictions
    features = _features()
    labels = pd.Series(np.arange(200) % 3, name="label")
    profile = build_model_profile(features, target=labels, predictions=labels.to_numpy())

    # WHEN it is saved and read back
    path = save_profile(profile, tmp_path / "ref.npz")
    loaded = load_profile(path)

    # THEN the outputs keep their roles and names, are categorical (labels, not numbers),
    # stay out of the features, and the file says it is a version 2 profile
    assert list(loaded.columns) == ["x", "colour"]
    assert loaded.roles == {"label": "target", "prediction": "prediction"}
    assert loaded.outputs["target"].kind == "categorical"
    assert loaded.outputs["prediction"].categories == profile.outputs["prediction"].categories
    assert _version(path) == 2


def test_a_profile_without_outputs_is_still_written_as_version_1(tmp_path):
    # WHEN a profile of features alone is saved
    path = save_profile(build_profile(_features()), tmp_path / "ref.npz")

    # THEN older readers can still read it
    assert _version(path) == 1
    assert load_profile(path).outputs == {}


def test_regression_outputs_are_numeric():
    # WHEN a regressor's float predictions and integer targets are profiled
    profile = build_model_profile(
        _features(), target=pd.Series(np.arange(200), name="y"), predictions=np.linspace(0, 1, 200)
    )

    # THEN both are numeric
    assert profile.outputs["target"].kind == "numeric"
    assert profile.outputs["prediction"].kind == "numeric"


@pytest.mark.parametrize(
    ("target", "predictions", "why"),
    [
        (pd.Series(np.zeros(5), name="y"), None, "one value per feature row"),
        (pd.Series(np.zeros(200), name="x"), None, "under a name no feature has"),
        (pd.Series(np.zeros(200), name="prediction"), np.zeros(200), "Rename the label"),
    ],
)
def test_outputs_that_do_not_fit_are_refused(target, predictions, why):
    # WHEN outputs of the wrong length, or with clashing names, are profiled
    with pytest.raises(DriftSchemaError) as raised:
        build_model_profile(_features(), target=target, predictions=predictions)

    # THEN the hint says what to do
    assert why in raised.value.hint
