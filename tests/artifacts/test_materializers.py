"""Materializers: typed round trips, deterministic bytes, declared types enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlplatform.artifacts import materializers
from mlplatform.artifacts.digest import digest_file
from mlplatform.errors import MaterializerError


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"x": [1.5, 2.5, None], "label": ["a", "b", "c"], "n": [1, 2, 3]},
        index=pd.Index([10, 20, 30], name="id"),
    )


def fitted() -> LogisticRegression:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    return LogisticRegression(C=0.5).fit(x, [0, 1, 0, 1])


def round_trip(declared: Any, value: object, path: Path) -> tuple[str, object]:
    mat = materializers.for_value(declared, value, "output 'out' of step 's'")
    mat.write(value, path)
    return mat.name, materializers.by_name(mat.name).read(path)


def test_dataframe_round_trips_through_parquet(tmp_path):
    name, back = round_trip(pd.DataFrame, frame(), tmp_path / "f")
    assert name == "parquet"
    pd.testing.assert_frame_equal(back, frame())


def test_ndarray_round_trips_through_numpy(tmp_path):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    name, back = round_trip(np.ndarray, arr, tmp_path / "a")
    assert name == "numpy"
    np.testing.assert_array_equal(back, arr)
    assert back.dtype == np.float32


def test_json_dict_round_trips(tmp_path):
    value = {"b": [1, 2.5, None], "a": {"nested": True}, "s": "ü"}
    assert round_trip(dict, value, tmp_path / "j") == ("json", value)


def test_sklearn_estimator_round_trips(tmp_path):
    model = fitted()
    name, back = round_trip(LogisticRegression, model, tmp_path / "m")
    assert name == "sklearn"
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.coef_, model.coef_)


def test_an_unannotated_output_is_chosen_by_value(tmp_path):
    assert round_trip(Any, frame(), tmp_path / "a")[0] == "parquet"
    assert round_trip(Any, [1, 2], tmp_path / "b") == ("json", [1, 2])
    assert round_trip(Any, {1, 2}, tmp_path / "c") == ("pickle", {1, 2})


@pytest.mark.parametrize(
    ("declared", "make"),
    [
        (pd.DataFrame, frame),
        (np.ndarray, lambda: np.linspace(0, 1, 50)),
        (dict, lambda: {"z": 1, "a": [1, 2], "m": {"y": 0.1, "b": None}}),
        (LogisticRegression, fitted),
    ],
    ids=["parquet", "numpy", "json", "sklearn"],
)
def test_equal_values_give_equal_digests(tmp_path, declared, make):
    # GIVEN two equal values built separately
    # WHEN each is written
    round_trip(declared, make(), tmp_path / "one")
    round_trip(declared, make(), tmp_path / "two")

    # THEN the bytes, and so the digests, are equal
    assert digest_file(tmp_path / "one") == digest_file(tmp_path / "two")


def test_json_key_order_does_not_change_the_bytes(tmp_path):
    round_trip(dict, {"a": 1, "b": 2}, tmp_path / "one")
    round_trip(dict, {"b": 2, "a": 1}, tmp_path / "two")
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes()


def test_different_values_give_different_digests(tmp_path):
    round_trip(pd.DataFrame, frame(), tmp_path / "one")
    round_trip(pd.DataFrame, frame().assign(n=[1, 2, 4]), tmp_path / "two")
    assert digest_file(tmp_path / "one") != digest_file(tmp_path / "two")


@pytest.mark.parametrize(
    ("declared", "value", "returned"),
    [
        (pd.DataFrame, {"a": [1]}, "dict"),
        (np.ndarray, [1, 2], "list"),
        (dict, object(), "object"),
        (LogisticRegression, {"C": 1}, "dict"),
    ],
)
def test_a_value_of_another_type_than_declared_is_rejected(declared, value, returned):
    # GIVEN an output declared as one type WHEN the step returns another
    with pytest.raises(MaterializerError) as info:
        materializers.for_value(declared, value, "output 'features' of step 'featurize'")

    # THEN the error names the output, the step and what was returned
    assert info.value.headline.startswith("output 'features' of step 'featurize' is declared")
    assert info.value.headline.endswith(f"but the step returned {returned}")


def test_unknown_materializer_name_is_an_error():
    with pytest.raises(MaterializerError, match="unknown artifact type 'feather'"):
        materializers.by_name("feather")
