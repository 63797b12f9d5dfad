"""The one model reference grammar: every form, every refusal, and the MLflow URI round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplatform.errors import ModelReferenceError
from mlplatform.grammar import DEFAULT_ALIAS, ModelRef, parse_model_name, parse_model_ref

CHAMPION = ModelRef("churn", alias="champion")
V3 = ModelRef("churn", version=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn", CHAMPION),
        ("churn@champion", CHAMPION),
        ("models:/churn@champion", CHAMPION),
        ("churn@3", V3),
        ("churn/3", V3),
        ("models:/churn/3", V3),
        ("models:/churn@3", V3),  # digits after @ are a version, here as everywhere
        ("  churn/3\n", V3),
        ("churn@challenger-2", ModelRef("churn", alias="challenger-2")),
        ("churn@latest", ModelRef("churn", alias="latest")),  # MLflow resolves it: newest
        ("my_model@shadow_1", ModelRef("my_model", alias="shadow_1")),
        ("churn.v2/12", ModelRef("churn.v2", version=12)),
    ],
)
def test_every_form_names_the_same_version(text, expected):
    assert parse_model_ref(text) == expected


def test_a_bare_name_means_its_champion():
    assert parse_model_ref("churn").alias == DEFAULT_ALIAS == "champion"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the model name is empty"),
        ("@champion", "the model name is empty"),
        ("/3", "the model name is empty"),
        ("churn@", "the alias is empty"),
        ("churn/", "not a whole number"),
        ("churn/champion", "not a whole number"),
        ("churn/0", "not a whole number"),
        ("churn/3/4", "not a whole number"),
        ("churn@v3", "MLflow reserves the alias 'v3'"),
        ("churn@V3", "MLflow reserves the alias 'V3'"),
        ("churn@cham pion", "only letters, digits"),
        ("a@b@c", "only letters, digits"),
        ("churn@" + "a" * 256, "longer than 255"),
        ("models:/churn", "models:/NAME needs @ALIAS or /VERSION"),
        ("runs:/abc/model", "cannot contain ':'"),
        ("churn @champion", "starts or ends with a space"),
        ("..@champion", "read as a path"),
        ("my model@shadow_1", "does not follow the name rule"),  # a store key, a URL segment
        ("-churn/3", "does not follow the name rule"),
        ("a..b@champion", "does not follow the name rule"),
        ("x" * 129, "does not follow the name rule"),
    ],
)
def test_a_bad_reference_is_one_error_naming_the_text_and_the_grammar(text, reason):
    with pytest.raises(ModelReferenceError) as caught:
        parse_model_ref(text)
    assert caught.value.headline.startswith(f"{text!r} is not a model reference: ")
    assert reason in caught.value.headline
    for form in ("NAME@ALIAS", "NAME@VERSION", "NAME/VERSION", "models:/NAME@ALIAS"):
        assert form in caught.value.hint


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"alias": "champion", "version": 3}, {"alias": "3"}, {"version": 0}, {"alias": "v1"}],
)
def test_the_constructor_keeps_the_same_rules(kwargs):
    with pytest.raises(ModelReferenceError):
        ModelRef("churn", **kwargs)


def test_uri_and_lookup_key():
    assert (CHAMPION.uri, CHAMPION.alias_or_version, str(CHAMPION)) == (
        "models:/churn@champion",
        "champion",
        "churn@champion",
    )
    assert (V3.uri, V3.alias_or_version, str(V3)) == ("models:/churn/3", "3", "churn/3")


def test_the_uri_is_what_mlflow_reads():
    from mlflow.store.artifact.utils.models import _parse_model_uri

    assert _parse_model_uri(CHAMPION.uri)[1:] == ("churn", None, None, "champion")
    assert _parse_model_uri(V3.uri)[1:] == ("churn", "3", None, None)


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", fullmatch=True).filter(
    lambda n: ".." not in n
)
aliases = st.from_regex(r"[A-Za-z_-][A-Za-z0-9_-]{0,30}", fullmatch=True).filter(
    lambda a: not (a[0] in "vV" and a[1:].isdigit())
)
refs = st.one_of(
    st.builds(lambda n, a: ModelRef(n, alias=a), names, aliases),
    st.builds(lambda n, v: ModelRef(n, version=v), names, st.integers(1, 10**6)),
)


@given(refs)
def test_every_ref_round_trips_through_its_uri_and_its_short_form(ref):
    assert parse_model_ref(ref.uri) == ref
    assert parse_model_ref(str(ref)) == ref


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_the_one_error(text):
    try:
        ref = parse_model_ref(text)
    except ModelReferenceError:
        return
    assert parse_model_ref(ref.uri) == ref


def test_parse_model_name_takes_a_name_alone():
    assert parse_model_name(" churn ") == "churn"
    with pytest.raises(ModelReferenceError, match="names a model version"):
        parse_model_name("churn@champion")
    with pytest.raises(ModelReferenceError, match="cannot contain ':'"):
        parse_model_name("a:b")
