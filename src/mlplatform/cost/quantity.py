"""Kubernetes resource quantities (``500m``, ``4Gi``, ``1.5G``, ``2e3``) as numbers.

The same grammar and values as ``kubernetes.utils.parse_quantity`` (a test compares them on
every suffix). It is not imported from there because importing the ``kubernetes`` package
costs about 0.7 s, which every tracked pipeline run would pay for its step costs.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from mlplatform.errors import ConfigError

__all__ = ["parse_quantity"]

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -3, "u": -2, "m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(text: str | float) -> Decimal:
    """A Kubernetes quantity as a ``Decimal``: ``"4Gi"`` -> 4294967296, ``"500m"`` -> 0.5.

    Raises:
        ConfigError: the text is not a quantity.
    """
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(str(text).strip())
    if match is None:
        raise _error(text)
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise _error(text) from exc
    if suffix in _BINARY:
        return value * Decimal(1024) ** _BINARY[suffix]
    return value * Decimal(1000) ** _DECIMAL[suffix]


def _error(text: object) -> ConfigError:
    return ConfigError(
        f"{text!r} is not a Kubernetes quantity",
        "Write CPU as cores or millicores (2, 500m) and memory with a suffix (512Mi, 4Gi, 2G).",
    )
