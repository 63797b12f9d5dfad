"""One name rule for pipelines, steps and models: what passes, what is refused, and where."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplatform.errors import ModelReferenceError, PipelineDefinitionError
from mlplatform.grammar import NAME_RULE, check_name, parse_model_name, parse_model_ref
from mlplatform.grammar.names import suggest_name
from mlplatform.pipelines import Pipeline, Step, pipeline, step

GOOD = ["churn", "standard-training", "Odd_Name.v2", "churn.v2", "a", "9lives", "x" * 128]
BAD = ["../evil", "..", ".", "a/b", "a\\b", "a..b", "-x", "_x", ".hidden", "my model", "",
       "x" * 129, "évil", "a\nb", "a:b", "a@b"]  # fmt: skip


@pytest.mark.parametrize("name", GOOD)
def test_names_that_follow_the_rule_pass_unchanged(name):
    assert check_name(name, "step") == name


@pytest.mark.parametrize("name", BAD)
def test_a_bad_name_is_refused_naming_it_and_the_rule(name):
    with pytest.raises(ValueError, match="does not follow the name rule") as caught:
        check_name(name, "pipeline")
    assert f"the pipeline name {name!r}" in str(caught.value)
    assert NAME_RULE in str(caught.value)


@given(st.text(max_size=200))
def test_what_passes_never_leaves_the_folder_it_is_joined_to(text):
    try:
        name = check_name(text, "model")
    except ValueError:
        suggestion = suggest_name(text)
        assert suggestion is None or check_name(suggestion, "model") == suggestion
        return
    assert not {"/", "\\"} & set(name)
    assert ".." not in name
    assert not name.startswith(".")
    assert 1 <= len(name) <= 128


def test_pipeline_and_step_names_are_checked_where_they_enter():
    # GIVEN names that would climb out of the store WHEN a pipeline or a step is defined
    # THEN the definition is refused, naming the name, the rule and a name that would do
    with pytest.raises(PipelineDefinitionError) as caught:

        @pipeline(name="../evil")
        def evil() -> None: ...

    assert "'../evil'" in caught.value.headline
    assert NAME_RULE in caught.value.headline
    assert "name='evil'" in caught.value.hint
    with pytest.raises(PipelineDefinitionError, match=re.escape("the step name '../up'")):

        @step(name="../up")
        def up() -> int:
            return 1

    with pytest.raises(PipelineDefinitionError, match=re.escape("the step name '<lambda>'")):
        Step(lambda: 1)


def test_the_hint_works_when_followed():
    def _private() -> int:  # the derived name '-private' breaks the rule
        return 1

    with pytest.raises(PipelineDefinitionError) as caught:
        Step(_private)
    assert "name='private'" in caught.value.hint
    assert Step(_private, name="private").name == "private"
    assert Pipeline(lambda: None, name="private").name == "private"


def test_model_names_follow_the_same_rule_at_every_command():
    for text in ("../evil", "../evil@champion", "models:/..%2Fevil@champion"):
        with pytest.raises(ModelReferenceError):
            parse_model_ref(text)
    with pytest.raises(ModelReferenceError, match="name rule"):
        parse_model_name("-evil")
    with pytest.raises(ModelReferenceError, match="name rule"):
        parse_model_name("my model")
    assert parse_model_name("churn.v2") == "churn.v2"
