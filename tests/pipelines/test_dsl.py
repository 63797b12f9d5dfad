"""The DSL: steps stay plain functions, pipelines trace into a validated graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlplatform import pipeline, step
from mlplatform.artifacts import materializers
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import PipelineDefinitionError
from mlplatform.pipelines.context import current_step
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding, ConstBinding, ParamBinding
from mlplatform.pipelines.local import LocalExecutor, RunOptions

from . import flows


@step
def add(a: int, b: int) -> int:
    return a + b


@step
def load() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2]})


@step
def where_am_i() -> bool:
    return current_step() is None


@step
def scale(values: list, factor: float = 2.0) -> list:
    return [v * factor for v in values]


def test_step_called_outside_a_pipeline_is_a_plain_function_call():
    # GIVEN steps used outside any @pipeline
    # WHEN they are called
    # THEN they run right away and return what the function returns
    assert add(2, 3) == 5
    assert where_am_i() is True
    np.testing.assert_array_equal(flows.square([1, 2, 3]), np.array([1, 4, 9]))
    assert flows.describe(np.array([3, 1, 2])) == (3, {"max": 3, "min": 1})


def test_pipeline_traces_calls_into_nodes_and_bindings():
    # GIVEN a pipeline wiring a parameter, step outputs and a constant
    @pipeline(name="wired")
    def wired(n: int = 3) -> None:
        add(add(n, 1), 10)

    # WHEN its graph is built
    graph = wired.graph

    # THEN each call is a node, bound by reference, in topological order
    assert graph.order == ("add", "add-2")
    assert graph.nodes["add"].bindings == {"a": ParamBinding("n"), "b": ConstBinding(1)}
    assert graph.nodes["add-2"].bindings == {
        "a": ArtifactBinding("add", "output"),
        "b": ConstBinding(10),
    }
    assert graph.nodes["add-2"].upstream == ("add",)


def test_multi_output_step_gives_one_reference_per_output(tmp_path):
    # GIVEN a pipeline whose step declares two outputs, one consumed downstream
    graph = flows.described.graph
    assert graph.nodes["describe"].output_types == {"count": int, "stats": dict}
    assert graph.nodes["report"].bindings["rows"] == ArtifactBinding("describe", "count")

    # WHEN it runs
    store = ArtifactStore(tmp_path / "store")
    result = LocalExecutor(store, RunOptions(in_process=True)).run(graph, {"n": 4})

    # THEN each output is its own artifact, with its own materializer
    def read(node: str, name: str = "output") -> object:
        ref = result.output(node, name)
        return materializers.by_name(ref.type).read(store.fetch(ref, tmp_path))

    assert read("describe", "count") == 4
    assert read("describe", "stats") == {"max": 9, "min": 0}
    assert read("report") == {"rows": 4}
    assert result.steps["describe"].metrics == {"count": 4.0}


def test_outputs_must_match_the_tuple_annotation():
    # GIVEN a step that names two outputs but annotates a single value
    @step(outputs=("a", "b"))
    def two(x: int) -> int:
        return x

    @pipeline(name="bad-outputs")
    def bad(x: int = 1) -> None:
        two(x)

    # WHEN the graph is built THEN the mismatch is reported with the fix
    with pytest.raises(PipelineDefinitionError, match=r"declares outputs \['a', 'b'\]") as info:
        _ = bad.graph
    assert "tuple[...] with 2 items" in info.value.hint


def test_passing_all_outputs_of_a_multi_output_step_is_rejected():
    # GIVEN a pipeline that passes a multi-output step's tuple as one input
    @pipeline(name="unpack-me")
    def unpack_me(n: int = 3) -> None:
        flows.report(flows.describe(flows.square(flows.source(n))))

    # WHEN / THEN
    with pytest.raises(PipelineDefinitionError, match="all outputs of a multi-output step"):
        _ = unpack_me.graph


@pytest.fixture
def typed_graph():
    @pipeline(name="typed")
    def typed(n: int = 1, flag: bool = False, rate: float = 0.5, name: str = "x") -> None:
        add(n, 1)
        scale([1], rate)

    return typed.graph


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("off", False), ("FALSE", False), ("0", False)],
)
def test_bool_parameters_accept_cli_words(typed_graph, raw, expected):
    # GIVEN a bool pipeline parameter WHEN it is passed as a CLI string THEN it is a bool
    assert resolve_params(typed_graph, {"flag": raw})["flag"] is expected


def test_cli_strings_are_coerced_to_the_declared_types(typed_graph):
    # GIVEN `-p n=3 -p rate=0.25` as strings
    # WHEN the parameters are resolved
    values = resolve_params(typed_graph, {"n": "3", "rate": "0.25", "name": "42"})

    # THEN each has its declared type, and defaults fill the rest
    assert values == {"n": 3, "flag": False, "rate": 0.25, "name": "42"}
    assert type(values["n"]) is int
    assert type(values["name"]) is str


@pytest.mark.parametrize(("param", "raw"), [("n", "three"), ("n", "3.5"), ("flag", "maybe")])
def test_a_value_that_does_not_parse_names_the_parameter(typed_graph, param, raw):
    # GIVEN a value that cannot be converted WHEN resolved THEN the error names the parameter
    with pytest.raises(PipelineDefinitionError, match=f"parameter '{param}' expects") as info:
        resolve_params(typed_graph, {param: raw})
    assert f"-p {param}=" in info.value.hint


def test_an_unknown_parameter_is_rejected_with_the_known_ones(typed_graph):
    with pytest.raises(PipelineDefinitionError, match="has no parameter 'nn'") as info:
        resolve_params(typed_graph, {"nn": "3"})
    assert "n, flag, rate, name" in info.value.hint


def test_executor_coerces_cli_strings_before_running(tmp_path):
    # GIVEN `-p n=3` as the CLI passes it
    store = ArtifactStore(tmp_path / "store")

    # WHEN the pipeline runs
    result = LocalExecutor(store, RunOptions(in_process=True)).run(flows.squares.graph, {"n": "3"})

    # THEN the step received an int
    assert result.params == {"n": 3}
    assert result.steps["source"].params == {"n": 3}


def test_pipeline_parameter_without_default_is_rejected():
    @pipeline(name="no-default")
    def no_default(n: int) -> None:
        add(n, 1)

    with pytest.raises(PipelineDefinitionError, match="parameter 'n' has no default"):
        _ = no_default.graph


def test_non_json_constant_is_rejected():
    # GIVEN a pipeline passing a set (not JSON) as a constant
    @pipeline(name="set-constant")
    def set_constant() -> None:
        scale({1, 2})

    # WHEN / THEN the error names the input, the step and the offending type
    with pytest.raises(PipelineDefinitionError, match="input 'values' of step 'scale' is a set"):
        _ = set_constant.graph


def test_json_constants_are_accepted():
    @pipeline(name="json-constant")
    def json_constant() -> None:
        scale([1, 2.5], 3)

    assert json_constant.graph.nodes["scale"].bindings["values"] == ConstBinding([1, 2.5])


def test_type_mismatch_names_both_types():
    # GIVEN a DataFrame output fed into an int input
    @pipeline(name="mismatch")
    def mismatch() -> None:
        add(load(), 1)

    # WHEN / THEN the error names the input, where it comes from and both types
    with pytest.raises(PipelineDefinitionError) as info:
        _ = mismatch.graph
    assert info.value.headline == (
        "type mismatch: input 'a' of step 'add' (from load.output) "
        "expects int but gets pandas.DataFrame"
    )


def test_missing_argument_is_reported_before_anything_runs(tmp_path):
    # GIVEN a pipeline that forgets a required input, and an empty store
    @pipeline(name="forgetful")
    def forgetful(n: int = 1) -> None:
        add(n)

    store = ArtifactStore(tmp_path / "store")

    # WHEN it is run
    with pytest.raises(PipelineDefinitionError, match="missing a required argument: 'b'") as info:
        LocalExecutor(store, RunOptions(in_process=True)).run(forgetful.graph)

    # THEN the error names the step and nothing was written
    assert "step 'add' is called with the wrong inputs" in info.value.headline
    assert store.list("") == []
