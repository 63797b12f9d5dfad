"""The one canary rule: ALIAS=PERCENT (or VERSION=PERCENT), a whole percent 1..99, under 100
in all; the same for `mlp serve`, `mlp deploy model` and the serving container."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplatform.errors import CanaryError
from mlplatform.grammar import Canary, ModelRef, parse_canaries, parse_canary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("challenger=10", Canary("challenger", None, 10)),
        (" c-2=1 ", Canary("c-2", None, 1)),
        ("b=99%", Canary("b", None, 99)),
        ("3=5", Canary(None, 3, 5)),
        ("x=07", Canary("x", None, 7)),
    ],
)
def test_parse_canary(text, expected):
    assert parse_canary(text) == expected


def test_a_canary_names_a_version_of_the_primarys_model():
    assert parse_canary("challenger=10").of("churn") == ModelRef("churn", alias="challenger")
    assert parse_canary("3=10").of("churn").uri == "models:/churn/3"
    assert parse_canary("3=10").target == "3"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("challenger", "is not ALIAS=PERCENT"),
        ("=10", "is not ALIAS=PERCENT"),
        ("a b=10", "is not ALIAS=PERCENT"),
        ("challenger=", "is not ALIAS=PERCENT"),
        ("x=2.5", "2.5 is not a whole percent from 1 to 99"),
        ("x=0", "0 is not a whole percent"),
        ("x=100", "100 is not a whole percent"),
        ("x=-5", "-5 is not a whole percent"),
        ("x=ten", "ten is not a whole percent"),
        ("v2=10", "MLflow reserves the alias 'v2'"),
        ("a:b=10", "only letters, digits"),
    ],
)
def test_a_bad_canary_is_one_error_with_the_rule_in_the_hint(text, problem):
    with pytest.raises(CanaryError) as caught:
        parse_canary(text)
    assert caught.value.headline.startswith(f"--canary {text!r}")
    assert problem in caught.value.headline
    assert "1 to 99" in caught.value.hint
    assert "--canary challenger=10" in caught.value.hint


def test_canaries_together_leave_the_primary_some_traffic():
    assert [c.percent for c in parse_canaries(["a=60", "b=39"])] == [60, 39]
    with pytest.raises(CanaryError, match="take 100 % of the traffic"):
        parse_canaries(["a=60", "b=40"])


def test_a_target_given_twice_is_refused():
    with pytest.raises(CanaryError, match="--canary a given more than once"):
        parse_canaries(["a=10", "b=10", "a=5"])


@given(st.integers(-1000, 1000))
def test_exactly_the_whole_numbers_1_to_99_are_a_percent(percent):
    try:
        canary = parse_canary(f"challenger={percent}")
    except CanaryError:
        assert not 1 <= percent <= 99
    else:
        assert 1 <= percent <= 99
        assert canary.percent == percent
