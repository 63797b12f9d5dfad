"""An alert rule and a group of them, as typed data; ``to_dict`` is the Prometheus shape.

The same ``to_dict`` output is a group of a Prometheus rules file and of a Prometheus
Operator ``PrometheusRule``'s ``spec.groups``, so one definition serves both renderers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlplatform.errors import ConfigError

__all__ = ["AlertRule", "RuleGroup", "Severity"]

Severity = Literal["info", "warning", "critical"]
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_GROUP = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule.

    Attributes:
        name: the alert's name, CamelCase (``DataDriftDetected``).
        expr: the PromQL condition; every series it returns is an alert.
        for_: how long the condition must hold before the alert fires (``15m``).
        severity: ``info``, ``warning`` or ``critical`` (the ``severity`` label).
        summary: one line, may use ``{{ $labels.x }}`` and ``{{ $value }}``.
        description: what happened and what to do.
        labels: more labels for routing.
        runbook_url: where the runbook lives (optional).
    """

    name: str
    expr: str
    summary: str
    description: str
    for_: str = "0s"
    severity: Severity = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"alert name {self.name!r} must be CamelCase letters and digits")
        if not _DURATION.match(self.for_):
            raise ConfigError(
                f"alert {self.name}: 'for' must be a duration like 15m, got {self.for_!r}"
            )
        if self.severity not in ("info", "warning", "critical"):
            raise ConfigError(f"alert {self.name}: unknown severity {self.severity!r}")
        if not self.expr.strip():
            raise ConfigError(f"alert {self.name} has an empty expression")

    def to_dict(self) -> dict[str, Any]:
        annotations = {"summary": self.summary, "description": self.description}
        if self.runbook_url:
            annotations["runbook_url"] = self.runbook_url
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **dict(self.labels)},
            "annotations": annotations,
        }


@dataclass(frozen=True)
class RuleGroup:
    """Rules evaluated together, every ``interval`` (the server's default if empty)."""

    name: str
    rules: tuple[AlertRule, ...]
    interval: str = ""

    def __post_init__(self) -> None:
        if not _GROUP.match(self.name):
            raise ConfigError(f"rule group name {self.name!r} must be lower-case, dots, dashes")
        if self.interval and not _DURATION.match(self.interval):
            raise ConfigError(f"rule group {self.name}: bad interval {self.interval!r}")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"rule group {self.name} names an alert twice")

    def to_dict(self) -> dict[str, Any]:
        group: dict[str, Any] = {"name": self.name}
        if self.interval:
            group["interval"] = self.interval
        group["rules"] = [rule.to_dict() for rule in self.rules]
        return group
