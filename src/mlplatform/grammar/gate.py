"""A quality gate: ``METRIC OP NUMBER`` conditions, comma-separated, all of which must hold.

One rule wherever a gate is written (``mlp llm evaluate --gate``; the pipelines' gate
parameter): ``exact_match>=0.5``, ``r2>=0.4,rmse<12``. Operators: ``>=``, ``>``, ``<=``,
``<``. A metric is a name of letters, digits, ``_``, ``.``, ``/`` and ``-``; the number is a
decimal (``0.5``, ``1e-3``). A metric the evaluation did not produce fails its condition
(a gate never passes by omission).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlplatform.errors import ConfigError

__all__ = ["Condition", "Gate", "parse_gate"]

_CONDITION = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_./-]*)\s*(?P<op>>=|<=|>|<)\s*(?P<number>\S+)\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_EXAMPLE = "exact_match>=0.5 or r2>=0.4,rmse<12"


@dataclass(frozen=True)
class Condition:
    """``metric op threshold``, e.g. ``r2 >= 0.4``."""

    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def failure(self, metrics: Mapping[str, float]) -> str | None:
        """None when the condition holds on ``metrics``, else why not."""
        value = metrics.get(self.metric)
        if value is None or math.isnan(value):
            return f"{self.metric} was not measured (needed {self})"
        if _OPS[self.op](value, self.threshold):
            return None
        return f"{self.metric} {value:.4g} is not {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Gate:
    """Conditions that must all hold."""

    conditions: tuple[Condition, ...]

    def __str__(self) -> str:
        return ",".join(map(str, self.conditions))

    def check(self, metrics: Mapping[str, float]) -> tuple[bool, list[str]]:
        """Whether every condition holds on ``metrics``, and each failure in words."""
        failures = [f for c in self.conditions if (f := c.failure(metrics)) is not None]
        return not failures, failures


def parse_gate(text: str) -> Gate:
    """``"r2>=0.4,rmse<12"`` -> ``Gate``.

    Raises:
        ConfigError: a condition is not METRIC OP NUMBER, or the gate is empty.
    """
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError("the quality gate is empty", f"Write conditions such as {_EXAMPLE}.")
    conditions = []
    for part in parts:
        found = _CONDITION.match(part)
        number = _number(found.group("number")) if found else None
        if found is None or number is None:
            raise ConfigError(
                f"gate condition {part.strip()!r} is not METRIC OP NUMBER",
                f"Use >=, >, <= or < between a metric name and a number, e.g. {_EXAMPLE}.",
            )
        conditions.append(Condition(found.group("metric"), found.group("op"), number))
    return Gate(tuple(conditions))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
