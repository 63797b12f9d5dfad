"""A registered version copied to a folder, as KServe's storage initializer copies it to
``/mnt/models``, served with ``--registered-as NAME/VERSION`` by the container entrypoint
(``python -m mlplatform.serving``) in both front ends: it is labelled with that version (not
``local``), its sampled rows feed a drift monitor against that version's reference profile,
and the gauges the platform's drift alerts read are on ``/metrics``, where the PodMonitor
scrapes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow.artifacts
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlplatform.alerts.drift import drift_rules
from mlplatform.alerts.exported import EXPORTED, metric_names
from mlplatform.errors import ConfigError, ModelReferenceError
from mlplatform.grammar import ModelRef
from mlplatform.serving.__main__ import config_from_args, main, parser
from mlplatform.tracking._mlflow import using_tracking_uri

from ._container import serving_process
from .conftest import MODEL

EXIT = {"kserve": 0, "mlplatform": 128 + signal.SIGTERM}  # ours re-raises SIGTERM's status


@contextlib.contextmanager
def container(server: str, *args: str) -> Iterator[str]:
    """``python -m mlplatform.serving --server SERVER ARGS`` until the model is ready; its
    URL. It gets SIGTERM at the end, as a pod does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    with serving_process(
        MODEL, ["--server", server, "--host", "127.0.0.1", *args], env, exit_code=EXIT[server]
    ) as url:
        yield url


@pytest.fixture(scope="module")
def copied(registry, tmp_path_factory) -> Path:
    """churn version 1 copied out of the registry into a plain folder (the storage
    initializer's ``/mnt/models``): nothing in it says which version it is."""
    folder = tmp_path_factory.mktemp("mnt") / "models"
    folder.mkdir()
    with using_tracking_uri(registry):  # models:/ URIs resolve against the global registry
        mlflow.artifacts.download_artifacts(f"models:/{MODEL}/1", dst_path=str(folder))
    assert (folder / "MLmodel").is_file()
    return folder


def alert_metrics() -> set[str]:
    """Every metric name the platform's drift alerts read."""
    names: set[str] = set()
    for rule in drift_rules().rules:
        names |= metric_names(rule.expr)
    return names


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The samples of a /metrics page, by metric family name."""
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


@pytest.mark.parametrize("server", ["mlplatform", "kserve"])
def test_a_copied_version_is_served_and_monitored_as_that_version(
    server, registry, copied, churn_data
):
    # GIVEN the copy served as churn/1 (no --name: the registered name names it), sampling
    # every request, drift windows of 30 rows, the registry only reachable by --tracking-uri
    flags = ["--model-dir", str(copied), "--registered-as", f"{MODEL}/1",
             "--tracking-uri", registry, "--sample-fraction", "1",
             "--sample-flush-interval-s", "0.2", "--drift-window-rows", "30"]  # fmt: skip
    test = churn_data[1]
    with container(server, *flags) as url:
        # WHEN 60 rows are predicted in 6 requests
        for i in range(6):
            rows = test.iloc[i * 10 : i * 10 + 10].to_dict("records")
            answer = httpx.post(f"{url}/v1/models/{MODEL}:predict", json={"instances": rows})
            assert answer.status_code == 200, answer.text
        drift = {"model": MODEL, "version": "1"}
        for _ in range(300):  # the sampler flushes every 0.2 s; a window closes at 30 rows
            found = families(httpx.get(f"{url}/metrics").text)
            rows = found.get("mlplatform_drift_window_rows", [])
            if (drift, 30.0) in rows:
                break
            time.sleep(0.1)
        # THEN a drift window closed for version 1, from the sampled rows
        assert (drift, 30.0) in found.get("mlplatform_drift_window_rows", []), sorted(found)
        # AND every gauge the drift alerts read is exported, labelled with model and version
        wanted = alert_metrics()
        assert wanted, "the drift alerts read no metric"
        for name in wanted:
            assert name in EXPORTED
            labelled = [labels for labels, _ in found.get(name, [])]
            assert any(drift.items() <= labels.items() for labels in labelled), name
        # AND the served version is the registered one, nowhere `local`
        info = [labels for labels, v in found["mlplatform_model_info"] if v == 1.0]
        assert {labels["version"] for labels in info if labels["model"] == MODEL} == {"1"}
        versions = {
            labels["version"]
            for family in found.values()
            for labels, _ in family
            if labels.get("model") == MODEL and "version" in labels
        }
        assert versions == {"1"}


def test_registered_as_takes_a_pinned_version_only(copied):
    # a version, in any of the grammar's pinned forms, is what the folder is
    for text in (f"{MODEL}/1", f"{MODEL}@1", f"models:/{MODEL}/1"):
        args = parser().parse_args(["--model-dir", str(copied), "--registered-as", text])
        (variant,) = config_from_args(args).variants
        assert variant.registered_as == ModelRef(MODEL, version=1)
        assert config_from_args(args).name == MODEL
    # an alias moves and a copy does not: refused, with the form to pass instead
    for text in (f"{MODEL}@champion", MODEL):
        args = parser().parse_args(["--model-dir", str(copied), "--registered-as", text])
        with pytest.raises(ModelReferenceError, match="names the alias") as caught:
            config_from_args(args)
        assert f"--registered-as {MODEL}/VERSION" in caught.value.hint
    # and what is no model reference at all is the grammar's error
    args = parser().parse_args(["--model-dir", str(copied), "--registered-as", "churn/x"])
    with pytest.raises(ModelReferenceError, match="is not a model reference"):
        config_from_args(args)


def test_registered_as_is_for_a_folder_only(registry, capsys):
    args = ["--model-uri", f"models:/{MODEL}@champion", "--registered-as", f"{MODEL}/1"]
    with pytest.raises(ConfigError, match="is for a model folder"):
        config_from_args(parser().parse_args(args))
    # the container prints it as every command does, and exits 2 before loading anything
    assert main([*args, "--tracking-uri", registry]) != 0
    assert "hint: Drop --registered-as" in capsys.readouterr().err
