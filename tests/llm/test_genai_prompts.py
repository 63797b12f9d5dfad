"""Prompts in MLflow's prompt registry (a local SQLite store): versions, aliases, load by URI."""

from __future__ import annotations

import pytest

from mlplatform.errors import ModelReferenceError, RegistryError
from mlplatform.llm.prompts import (
    DEMO_ALIAS,
    DEMO_PROMPT,
    demo_prompt,
    load_prompt,
    prompt_uri,
    register_prompt,
    set_prompt_alias,
)

from ._genai import sqlite_uri


def test_moving_the_alias_makes_loading_by_alias_return_the_new_template(tmp_path):
    uri = sqlite_uri(tmp_path)
    # GIVEN two versions of a prompt, the alias on the first
    v1 = register_prompt("support", "Answer briefly: {{question}}", tracking_uri=uri,
                         alias="production")  # fmt: skip
    v2 = register_prompt("support", "Answer in one word: {{question}}", tracking_uri=uri)
    assert (v1.version, v2.version) == (1, 2)
    before = load_prompt("prompts:/support@production", tracking_uri=uri)
    assert before.version == 1
    # WHEN the alias moves to the second
    set_prompt_alias("support", "production", v2.version, tracking_uri=uri)
    # THEN loading by the alias gets the new template at once (no cache), formatted
    after = load_prompt("prompts:/support@production", tracking_uri=uri)
    assert after.version == 2
    assert after.format(question="What is vLLM?") == "Answer in one word: What is vLLM?"
    # AND a version stays what it was
    assert load_prompt("support/1", tracking_uri=uri).template == "Answer briefly: {{question}}"


def test_registering_the_same_template_again_makes_no_new_version(tmp_path):
    uri = sqlite_uri(tmp_path)
    first = register_prompt("support", "Hi {{name}}", tracking_uri=uri)
    again = register_prompt("support", "Hi {{name}}", tracking_uri=uri, alias="champion")
    assert again.version == first.version == 1
    assert load_prompt("support", tracking_uri=uri).version == 1  # bare NAME: its champion


def test_the_demo_prompt_is_a_chat_template_loaded_by_its_alias(tmp_path):
    uri = sqlite_uri(tmp_path)
    prompt = demo_prompt(uri)
    assert prompt.name == DEMO_PROMPT
    assert DEMO_ALIAS in load_prompt(f"{DEMO_PROMPT}@{DEMO_ALIAS}", tracking_uri=uri).aliases
    messages = prompt.format(team="platform", question="What is MLflow?")
    assert messages[-1] == {"role": "user", "content": "What is MLflow?"}
    assert "platform" in messages[0]["content"]
    assert demo_prompt(uri).version == prompt.version  # the demo can run again


def test_prompt_references_follow_the_model_reference_grammar(tmp_path):
    assert prompt_uri("support@production") == "prompts:/support@production"
    assert prompt_uri("prompts:/support/3") == "prompts:/support/3"
    with pytest.raises(ModelReferenceError):
        prompt_uri("prompts:/support@")
    with pytest.raises(RegistryError) as err:
        load_prompt("missing@production", tracking_uri=sqlite_uri(tmp_path))
    assert "register_prompt" in err.value.hint
