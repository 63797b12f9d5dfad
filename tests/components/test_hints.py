"""Every hint the standard pipeline prints for bad input names parameters it has, and doing what
the hint says is accepted: the run that follows it succeeds.

Each case runs the pipeline with one bad input (in-process, a real store and registry),
takes the hint of the error, reads every ``-p NAME=VALUE`` in it with the CLI's own parser,
checks NAME is a parameter of the pipeline, applies the first concrete suggestion (else the
first placeholder such as ``<one of: ...>``, filled with the case's choice, which must be one
the hint lists) and runs again. One case goes through the real ``mlp`` command end to end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from _user_tables import multiclass_table

from _mlflow_store import sqlite_store
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.cli.pipeline import parse_params
from mlplatform.components.standard import standard_training
from mlplatform.errors import MlplatformError
from mlplatform.pipelines.local import LocalExecutor, RunOptions

GRAPH = standard_training.graph
_FLAG = re.compile(r"-p (\w+)=((?:[^\s<]|<[^>]*>)*)")
PENGUINS = "{penguins}"
FAST = {"model": "linear"}
SPECIES = {"source": PENGUINS, "target": "species"}

# (case id, bad overrides, the value that fills a placeholder in the hint, if it has one)
CASES = [
    ("label-not-named-target", {"source": PENGUINS}, "species"),
    ("unknown-task", {"task": "classify"}, "auto"),
    ("binary-task-with-three-classes", {**SPECIES, "task": "binary"}, None),
    ("regression-on-text-labels", {**SPECIES, "task": "regression"}, None),
    ("unknown-split", {"split": "sideways"}, None),
    ("time-split-on-a-missing-column", {**SPECIES, "split": "time:when"}, "time:observed"),
    ("stratified-regression", {"source": "sklearn://diabetes", "split": "stratified"}, None),
    ("unknown-id-column", {"id_columns": "customer"}, None),
    ("unreadable-gate", {"gate": "accuracy=>0.5"}, None),
    ("gate-on-another-task's-metric", {"gate": "r2>=0.4"}, None),
    ("classifier-for-regression", {"source": "sklearn://diabetes", "model": "logreg"}, "linear"),
    ("unknown-model", {"model": "xgboost"}, "gbm"),
    ("compare-on-another-task's-metric", {"compare": "r2"}, "accuracy"),
    ("negative-margin", {"margin": -1.0}, None),
    ("accuracy-threshold-in-percent", {"min_accuracy": 70.0}, None),
    ("test-size-out-of-range", {"test_size": 2.0}, None),
    ("missing-source-file", {"source": "no/such/data.csv"}, "sklearn://breast_cancer"),
    ("too-few-synthetic-rows", {"source": "synthetic://classification", "rows": 5}, None),
    ("null-limit-too-strict", {**SPECIES, "max_null_fraction": 0.01}, "0.05"),
    ("not-a-number", {"rows": "many"}, "1000"),
]  # fmt: skip


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path) -> str:
    return sqlite_store(tmp_path_factory, tmp_path)


def suggestions(hint: str) -> list[tuple[str, str]]:
    """Every ``-p NAME=VALUE`` of a hint, each read by the CLI's parser (``parse_params``)."""
    found = []
    for name, value in _FLAG.findall(hint):
        value = value if "<" in value or value == "..." else value.rstrip(".,;)")
        ((parsed, parsed_value),) = parse_params([f"{name}={value}"]).items()
        found.append((parsed, parsed_value))
    return found


def failure(params: dict[str, object], store: ArtifactStore, uri: str) -> MlplatformError | None:
    options = RunOptions(in_process=True, env={"MLFLOW_TRACKING_URI": uri})
    try:
        LocalExecutor(store, options).run(GRAPH, params)
    except MlplatformError as exc:
        return exc
    return None


@pytest.mark.parametrize(("case", "bad", "choice"), CASES, ids=[c[0] for c in CASES])
def test_following_the_hint_is_accepted(case, bad, choice, tmp_path, tracking_uri):
    # GIVEN a run with one bad input
    penguins = tmp_path / "penguins.csv"
    multiclass_table().to_csv(penguins, index=False)
    params = {**FAST, **{k: str(penguins) if v == PENGUINS else v for k, v in bad.items()}}
    store = ArtifactStore(tmp_path / "store")

    # WHEN it runs, THEN it fails with a hint that names only parameters the pipeline has
    error = failure(params, store, tracking_uri)
    assert error is not None, f"{case}: {params} did not fail"
    suggested = suggestions(error.hint)
    assert suggested, f"{case}: the hint suggests no -p NAME=VALUE: {error.hint}"
    assert all(name in GRAPH.params for name, _ in suggested), error.hint

    # WHEN the first suggestion is followed (the first concrete one; else a placeholder filled
    # with a value it lists)
    concrete = [(n, v) for n, v in suggested if "<" not in v and v != "..."]
    name, value = (concrete or suggested)[0]
    if "<" in value or value == "...":
        assert choice is not None, f"{case}: the hint has a placeholder: {error.hint}"
        listed = re.search(r"<(?:one of: )?([^>]*)>", value)
        if (listed and "," in listed.group(1)) or (listed and "|" in listed.group(1)):
            options = re.split(r"[,|]\s*", listed.group(1))
            assert choice.removeprefix("time:") in options, (choice, value)
        value = choice
    params[name] = GRAPH.params[name].coerce(value)

    # THEN the run is accepted
    again = failure(params, store, tracking_uri)
    assert again is None, f"{case}: following {error.hint!r} failed again: {again}"


def test_the_reported_bug_through_the_real_cli(tmp_path):
    # GIVEN a user's CSV whose label is 'species', in a fresh project
    multiclass_table().to_csv(tmp_path / "data.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}

    def mlp(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mlplatform", "pipeline", "run", "standard-training"]
        return subprocess.run(
            [*command, *args, "-p", "model=linear", "--in-process"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    # WHEN it is run as it is
    first = mlp("-p", "source=data.csv")

    # THEN it fails at featurize with a hint naming the target parameter and the columns
    output = first.stdout + first.stderr
    assert first.returncode != 0
    assert "-p target=<one of: animal_id, observed," in output
    # AND following the hint (the label is one of the listed columns) trains and registers
    second = mlp("-p", "source=data.csv", "-p", "target=species")
    assert second.returncode == 0, second.stdout + second.stderr
