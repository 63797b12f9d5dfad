"""A canary: ``--canary ALIAS=PERCENT`` puts the version an alias names beside the primary
with that share of the traffic. One rule for ``mlp serve``, ``mlp deploy model`` and the
serving container (docs/model-references.md):

- the target is what may follow ``NAME@`` in a model reference: an alias, or a version number;
- the percentage is a whole number from 1 to 99 (an optional ``%`` sign after it), because
  KServe's ``trafficPercent`` and the HTTPRoute's weights are integers: the local server
  splits exactly what the cluster would;
- no target twice, and all canaries together take 99 % or less: the primary keeps some.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mlplatform.errors import CanaryError
from mlplatform.grammar._rules import split_selector
from mlplatform.grammar.model_ref import ModelRef

__all__ = ["Canary", "parse_canaries", "parse_canary"]

_CANARY = re.compile(r"^(?P<target>[^=\s]+)=(?P<percent>\S+?)%?$")
_WHOLE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class Canary:
    """A canary target (``alias`` or ``version``, exactly one) and its whole percent."""

    alias: str | None
    version: int | None
    percent: int

    @property
    def target(self) -> str:
        """``challenger`` or ``3``: as written before ``=``."""
        return self.alias if self.alias is not None else str(self.version)

    def of(self, name: str) -> ModelRef:
        """The model reference of this canary for the registered model ``name``."""
        return ModelRef(name, alias=self.alias, version=self.version)


def parse_canary(text: str) -> Canary:
    """``challenger=10`` (or ``challenger=10%``, ``3=10``) -> ``Canary``.

    Raises:
        CanaryError: not ALIAS=PERCENT, or the percentage is not a whole number 1..99.
    """
    match = _CANARY.match(text.strip())
    if not match:
        raise CanaryError(f"--canary {text!r} is not ALIAS=PERCENT")
    try:
        alias, version = split_selector(match["target"])
    except ValueError as exc:
        raise CanaryError(f"--canary {text!r}: {exc}") from None
    percent = match["percent"]
    if not _WHOLE.match(percent) or not 1 <= int(percent) <= 99:
        raise CanaryError(f"--canary {text!r}: {percent} is not a whole percent from 1 to 99")
    return Canary(alias, version, int(percent))


def parse_canaries(texts: Iterable[str]) -> tuple[Canary, ...]:
    """Every ``--canary``, checked together: no target twice, 99 % or less in all.

    Raises:
        CanaryError: a canary cannot be read, a target is given twice, or the canaries
            leave the primary no traffic.
    """
    canaries = tuple(parse_canary(text) for text in texts)
    targets = [c.target for c in canaries]
    if twice := sorted({t for t in targets if targets.count(t) > 1}):
        raise CanaryError(f"--canary {', '.join(twice)} given more than once")
    total = sum(c.percent for c in canaries)
    if total > 99:
        raise CanaryError(
            f"the canaries take {total} % of the traffic, leaving none to the primary"
        )
    return canaries
