"""Materializers: typed round trips, deterministic bytes, declared types enforced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlplatform.artifacts import materializers, skops_format
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
    assert name == "skops"
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
    ids=["parquet", "numpy", "json", "skops"],
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


# ---- safe formats: skops with the platform's trusted types, pickle only as a last resort ---


class Marked(BaseEstimator):  # type: ignore[misc]
    """An estimator whose type no trusted list holds; loading its state leaves a marker."""

    marker = ""

    def __init__(self, marker: str = "") -> None:
        self.marker = marker

    def fit(self, x: object, y: object = None) -> Marked:
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("loaded")
        super().__setstate__(state)


def test_estimators_are_stored_as_skops_not_pickle(tmp_path):
    # GIVEN a forest (its trees need a type beyond skops' own list, on the platform's list)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, [0, 1, 0, 1])
    # WHEN it is written as an unannotated output
    name, back = round_trip(Any, forest, tmp_path / "m")
    # THEN it is a skops zip, not a pickle, and predicts the same
    assert name == "skops"
    assert (tmp_path / "m").read_bytes()[:2] == b"PK"
    np.testing.assert_array_equal(back.predict(x), forest.predict(x))


def test_skops_bytes_do_not_depend_on_the_process(tmp_path):
    # GIVEN the same model dumped in this process and in a fresh one
    code = (
        "import sys, numpy as np; from sklearn.linear_model import LogisticRegression;"
        "from mlplatform.artifacts import skops_format;"
        "x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]);"
        "model = LogisticRegression(C=0.5).fit(x, [0, 1, 0, 1]);"
        "sys.stdout.buffer.write(skops_format.dumps(model))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    # THEN the bytes are equal (array names and zip times are canonical)
    assert skops_format.dumps(fitted()) == other


def test_an_estimator_with_an_untrusted_type_falls_back_to_pickle(tmp_path):
    # GIVEN an estimator whose class is on no trusted list
    # WHEN it is stored THEN it is pickled (a cache entry's signature must then vouch for it)
    assert materializers.for_value(BaseEstimator, Marked(), "o").name == "pickle"
    assert materializers.for_value(Any, Marked(), "o").name == "pickle"


def test_a_skops_file_holding_an_untrusted_type_is_refused_before_anything_runs(tmp_path):
    # GIVEN a skops file whose object has a type nobody trusted (its state loader leaves a mark)
    marker = tmp_path / "marker"
    skops.io.dump(Marked(str(marker)), tmp_path / "evil.skops")
    # WHEN the skops materializer reads it
    with pytest.raises(skops_format.UntrustedTypesError) as err:
        materializers.by_name("skops").read(tmp_path / "evil.skops")
    # THEN it is refused, naming the type and the setting that would trust it
    assert f"{__name__}.Marked" in err.value.headline
    assert "trusted_types" in err.value.hint
    # AND nothing of the object ran
    assert not marker.exists()
    # (control: skops told to trust the type does run it, so the check above can fail)
    skops.io.load(tmp_path / "evil.skops", trusted=[f"{__name__}.Marked"])
    assert marker.exists()
