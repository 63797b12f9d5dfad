"""The quality gate grammar: METRIC OP NUMBER conditions, all of which must hold."""

from __future__ import annotations

import math

import pytest

from mlplatform.errors import ConfigError
from mlplatform.grammar import parse_gate


@pytest.mark.parametrize(
    ("text", "metrics", "failures"),
    [
        ("r2>=0.4", {"r2": 0.4}, []),
        ("r2>=0.4", {"r2": 0.39}, ["r2 0.39 is not >= 0.4"]),
        ("r2 > 0.4, rmse<12", {"r2": 0.5, "rmse": 12.0}, ["rmse 12 is not < 12"]),
        ("exact_match/mean<=1e-3", {"exact_match/mean": 0.0}, []),
        ("accuracy>0.9", {}, ["accuracy was not measured (needed accuracy>0.9)"]),
        (
            "accuracy>0.9",
            {"accuracy": math.nan},
            ["accuracy was not measured (needed accuracy>0.9)"],
        ),
    ],
)
def test_a_gate_passes_only_when_every_condition_holds(text, metrics, failures):
    gate = parse_gate(text)
    assert gate.check(metrics) == (not failures, failures)


def test_a_gate_prints_as_it_parses():
    assert str(parse_gate(" r2 >= 0.40 ,rmse<12 ")) == "r2>=0.4,rmse<12"
    assert parse_gate(str(parse_gate("a>=1,b<2"))) == parse_gate("a>=1,b<2")


@pytest.mark.parametrize(
    "text", ["", " , ", "r2=0.4", "r2>=", "r2>=high", ">=0.4", "r2>=inf", "r2 >= 0.4 0.5"]
)
def test_a_malformed_gate_names_the_condition_and_the_form(text):
    with pytest.raises(ConfigError) as caught:
        parse_gate(text)
    message = caught.value.headline + " " + (caught.value.hint or "")
    assert "METRIC OP NUMBER" in message or "empty" in message
    assert "r2>=0.4" in message
