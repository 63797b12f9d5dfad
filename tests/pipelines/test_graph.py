"""The graph IR validates itself on construction: nothing invalid reaches an executor."""

from __future__ import annotations

import pandas as pd
import pytest

from mlplatform import step
from mlplatform.errors import PipelineDefinitionError
from mlplatform.pipelines.graph import (
    ArtifactBinding,
    Binding,
    ConstBinding,
    Node,
    ParamBinding,
    ParamSpec_,
    PipelineGraph,
)


@step
def inc(x: int) -> int:
    return x + 1


@step
def frame() -> pd.DataFrame:
    return pd.DataFrame()


def node(name: str, bindings: dict[str, Binding], st: object = inc) -> Node:
    return Node(
        name=name,
        step=st,
        bindings=bindings,
        input_types=st.input_types(),  # type: ignore[attr-defined]
        output_types=st.output_types,  # type: ignore[attr-defined]
    )


def graph(*nodes: Node) -> PipelineGraph:
    params = {"n": ParamSpec_(name="n", type=int, default=1)}
    return PipelineGraph(name="g", params=params, nodes={n.name: n for n in nodes})


def test_a_valid_graph_has_a_deterministic_topological_order():
    # GIVEN nodes listed out of order
    nodes = (
        node("c", {"x": ArtifactBinding("b", "output")}),
        node("b", {"x": ArtifactBinding("a", "output")}),
        node("a", {"x": ParamBinding("n")}),
        node("z", {"x": ConstBinding(0)}),
    )

    # WHEN the graph is built THEN dependencies come first, ties broken by name
    assert graph(*nodes).order == ("a", "b", "c", "z")
    assert graph(*nodes).downstream({"b"}) == {"b", "c"}


def test_a_cycle_is_rejected_with_its_path():
    # GIVEN a -> b -> c -> a, and d hanging off the cycle (not part of it)
    nodes = (
        node("a", {"x": ArtifactBinding("c", "output")}),
        node("b", {"x": ArtifactBinding("a", "output")}),
        node("c", {"x": ArtifactBinding("b", "output")}),
        node("d", {"x": ArtifactBinding("a", "output")}),
        node("ok", {"x": ParamBinding("n")}),
    )

    # WHEN the graph is built THEN the message shows exactly the cycle, in data-flow order
    with pytest.raises(PipelineDefinitionError) as info:
        graph(*nodes)
    assert info.value.headline == "the pipeline has a cycle: a -> b -> c -> a"
    assert "depend" in info.value.hint


def test_a_step_consuming_its_own_output_is_a_cycle():
    with pytest.raises(PipelineDefinitionError, match="cycle: a -> a"):
        graph(node("a", {"x": ArtifactBinding("a", "output")}))


def test_unknown_upstream_step_is_a_missing_input():
    with pytest.raises(PipelineDefinitionError) as info:
        graph(
            node("a", {"x": ParamBinding("n")}), node("b", {"x": ArtifactBinding("nope", "output")})
        )
    assert info.value.headline == (
        "missing input: input 'x' of step 'b' refers to unknown step 'nope'"
    )
    assert info.value.hint == "Known steps: a, b."


def test_unknown_output_of_a_known_step_is_a_missing_input():
    with pytest.raises(PipelineDefinitionError) as info:
        graph(node("a", {"x": ParamBinding("n")}), node("b", {"x": ArtifactBinding("a", "model")}))
    assert "refers to 'a.model', which does not exist" in info.value.headline
    assert info.value.hint == "Outputs of 'a': output."


def test_unbound_required_input_is_a_missing_input():
    with pytest.raises(PipelineDefinitionError, match="step 'a' has no value for x"):
        graph(node("a", {}))


def test_unknown_parameter_is_a_missing_input():
    with pytest.raises(PipelineDefinitionError, match="refers to unknown parameter 'm'"):
        graph(node("a", {"x": ParamBinding("m")}))


def test_type_mismatch_between_nodes_names_both_types():
    # GIVEN a DataFrame output bound directly to an int input
    nodes = (node("f", {}, frame), node("a", {"x": ArtifactBinding("f", "output")}))

    # WHEN / THEN
    with pytest.raises(PipelineDefinitionError, match=r"expects int but gets pandas\.DataFrame"):
        graph(*nodes)
