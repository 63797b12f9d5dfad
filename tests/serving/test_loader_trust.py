"""The model loader trusts the platform and the user, never the model artifact.

A model folder is whatever its writer made it. A tampered ``MLmodel`` that lists an evil type
in ``skops_trusted_types`` (stock ``mlflow.sklearn.load_model`` honours that list) is refused;
so is a skops file holding a type no one trusted; pickle-based models load only with the
setting that the refusal names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.sklearn
import numpy as np
import pytest
import yaml
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlplatform.errors import ServingError
from mlplatform.serving.loader import ModelTrust, load_model
from mlplatform.settings import load_settings
from mlplatform.workspace import Workspace

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]] * 5)
Y = [0, 1, 0, 1] * 5
EVIL = f"{__name__}.Tripwire"


class Tripwire(BaseEstimator):  # type: ignore[misc]
    """An estimator whose loading leaves a marker file: proof that its code ran."""

    def __init__(self, marker: str = "") -> None:
        self.marker = marker

    def fit(self, x: Any, y: Any = None) -> Tripwire:
        return self

    def predict(self, x: Any) -> np.ndarray[Any, Any]:
        return np.zeros(len(x))

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("ran")
        super().__setstate__(state)


def save(model: object, path: Path, **options: Any) -> Path:
    mlflow.sklearn.save_model(model, str(path), input_example=X[:2], **options)
    return path


def test_a_skops_model_with_platform_types_loads(tmp_path):
    # GIVEN a forest saved with skops (its trees are on the platform's trusted list)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    folder = save(forest, tmp_path / "m", serialization_format="skops",
                  skops_trusted_types=["sklearn.tree._tree.Tree"])  # fmt: skip
    # WHEN the loader loads it THEN it predicts like the original
    loaded = load_model(folder, None, name="m")
    block = loaded.schema.from_v1({"instances": X[:4].tolist()})
    np.testing.assert_array_equal(loaded.predict(block), forest.predict(X[:4]))


def test_a_tampered_trusted_type_list_is_ignored_and_the_model_refused(tmp_path):
    # GIVEN a skops model holding an evil type, whose MLmodel lists that type as trusted
    marker = tmp_path / "marker"
    folder = save(Tripwire(str(marker)), tmp_path / "m", serialization_format="skops",
                  skops_trusted_types=[EVIL])  # fmt: skip
    assert (
        EVIL
        in yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["sklearn"][
            "skops_trusted_types"
        ]
    )
    marker.unlink()  # MLflow loads the model back once while saving it
    # WHEN the loader loads it THEN it is refused, naming the type and the setting
    with pytest.raises(ServingError) as err:
        load_model(folder, None, name="m")
    assert err.value.headline.startswith("refused to load the model")
    assert EVIL in err.value.headline
    assert "trusted_types" in err.value.hint
    # AND the evil code never ran
    assert not marker.exists()
    # (control: MLflow's own loader honours the artifact's list and runs it)
    mlflow.sklearn.load_model(str(folder))
    assert marker.exists()


def test_a_type_the_user_trusts_in_the_settings_loads(tmp_path):
    folder = save(Tripwire(str(tmp_path / "marker")), tmp_path / "m",
                  serialization_format="skops", skops_trusted_types=[EVIL])  # fmt: skip
    loaded = load_model(folder, None, name="m", trust=ModelTrust(trusted_types=(EVIL,)))
    assert loaded.flavor == "sklearn"


def test_a_cloudpickle_model_is_refused_unless_the_setting_allows_it(tmp_path, monkeypatch):
    # GIVEN a model saved with cloudpickle
    model = LogisticRegression().fit(X, Y)
    folder = save(model, tmp_path / "m", serialization_format="cloudpickle")
    # WHEN it is loaded with the default trust THEN it is refused, naming the setting
    with pytest.raises(ServingError) as err:
        load_model(folder, None, name="m")
    assert "cloudpickle" in err.value.headline
    assert "MLPLATFORM_SERVING__ALLOW_PICKLE_MODELS=true" in err.value.hint
    # WHEN the user follows the hint THEN `mlp serve`'s configuration loads it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLPLATFORM_SERVING__ALLOW_PICKLE_MODELS", "true")
    config = Workspace(load_settings()).server_config(str(folder))
    loaded = load_model(folder, None, name="m", trust=config.trust)
    block = loaded.schema.from_v1({"instances": X[:4].tolist()})
    np.testing.assert_array_equal(loaded.predict(block), model.predict(X[:4]))


def test_the_trust_settings_reach_the_server_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlplatform.toml").write_text(
        f'trusted_types = ["{EVIL}"]\n[serving]\nallow_pickle_models = true\n'
    )
    folder = save(LogisticRegression().fit(X, Y), tmp_path / "m")
    config = Workspace(load_settings()).server_config(str(folder))
    assert config.trust == ModelTrust(trusted_types=(EVIL,), allow_pickle=True)
    # and nothing is trusted beyond the platform's list by default
    (tmp_path / "mlplatform.toml").write_text("")
    assert Workspace(load_settings()).server_config(str(folder)).trust == ModelTrust()


def test_the_container_entrypoint_takes_the_same_trust_as_flags(tmp_path):
    from mlplatform.serving.__main__ import config_from_args, parser

    folder = save(LogisticRegression().fit(X, Y), tmp_path / "m")
    args = ["--model-dir", str(folder), "--name", "m"]
    assert config_from_args(parser().parse_args(args)).trust == ModelTrust()
    flags = [*args, "--allow-pickle-models", "--trusted-type", EVIL]
    trust = config_from_args(parser().parse_args(flags)).trust
    assert trust == ModelTrust(trusted_types=(EVIL,), allow_pickle=True)
