"""The order test modules are handed to the xdist workers: the longest first.

`make test` runs `--dist loadfile --no-loadscope-reorder`: each module goes whole to one
worker, in collection order. Left to xdist's default order (most tests first), the modules that
start service stacks or run whole pipelines (few tests, minutes each) came last, and one
worker ran them alone while the other sat idle. Listing them first lets the short modules fill
in around them (longest processing time first).

Module seconds measured with `pytest -n 2 --dist loadfile --durations=0` (setup + call +
teardown per module) on 2026-12-07; refresh the list when the suite's long modules change.
A module not listed runs after these, in collection order.
"""

from __future__ import annotations

LONGEST_FIRST = (
    "tests/services/test_team_stack.py",  # 263 s
    "tests/e2e/test_demo.py",
    "tests/services/test_team_features.py",  # 125 s
    "tests/services/test_object_stores.py",  # 123 s
    "tests/llm/test_registry_team.py",  # 110 s
    "tests/e2e/test_features_example.py",  # 98 s
    "tests/llm/test_local_scale_to_zero.py",  # 80 s
    "tests/services/test_mlflow_outage.py",  # 74 s
    "tests/serving/test_overload.py",  # 70 s
    "tests/pipelines/test_data_keys.py",  # 65 s
    "tests/benchmarks/test_pipeline_overhead_smoke.py",  # 65 s
    "tests/llm/test_bench.py",  # 61 s
    "tests/services/test_audit_receiver.py",
    "tests/governance/test_identity_team.py",
    "tests/e2e/test_examples.py",
    "tests/serving/test_kserve_modelserver.py",
    "tests/benchmarks/test_features_serving_smoke.py",
    "tests/governance/test_audit_team.py",
    "tests/llm/test_genai_tracing.py",
    "tests/llm/test_llm_demo.py",
    "tests/infrastructure/test_checkov.py",
)


def rank(path: str) -> int:
    """Where a module's tests go: its place in ``LONGEST_FIRST``, else after all of them."""
    try:
        return LONGEST_FIRST.index(path)
    except ValueError:
        return len(LONGEST_FIRST)
