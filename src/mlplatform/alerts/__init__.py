"""The platform's alert rules, as typed Python data, rendered to Prometheus rules files.

- ``AlertRule``, ``RuleGroup``: the data (``rule``);
- ``rule_groups()``: every group the platform defines (``catalog``);
- ``render_rules_file`` / ``write_rules_file``: a Prometheus rules file (``render``;
  ``render.prometheus_rule`` gives the same groups as a ``PrometheusRule`` for the cluster);
- ``exported``: every metric name a rule may use, with the component that exports it, and
  ``vllm_metrics_read``: the vLLM metrics the platform reads;
- ``llm_rules`` (``llm``) and ``llm_dashboard``: the LLM serving alerts and Grafana dashboard,
  on vLLM's metric names (``vllm``);
- ``cost_dashboard`` / ``render_cost_dashboard``: the cost dashboard, the design's six panels
  at the prices of ``mlplatform.cost.rates`` (Grafana variables), OpenCost's figures beside
  them, LLM cost per million tokens (``cost_dashboard``); ``dashboard_view``: a dashboard's
  panels queried on a Prometheus and drawn as static HTML (for PNG pictures).

Drift alerts read the metric names from the package that exports them
(``mlplatform.drift.metrics``), so a rule and its gauge cannot drift apart. Nothing here reads
settings.
"""

from __future__ import annotations

from mlplatform.alerts.catalog import rule_groups
from mlplatform.alerts.cost_dashboard import cost_dashboard, render_cost_dashboard
from mlplatform.alerts.drift import drift_rules
from mlplatform.alerts.llm import llm_rules
from mlplatform.alerts.render import render_rules_file, rules_document, write_rules_file
from mlplatform.alerts.rule import AlertRule, RuleGroup

__all__ = [
    "AlertRule",
    "RuleGroup",
    "cost_dashboard",
    "drift_rules",
    "llm_rules",
    "render_cost_dashboard",
    "render_rules_file",
    "rule_groups",
    "rules_document",
    "write_rules_file",
]
