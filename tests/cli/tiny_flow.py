"""A tiny pipeline for CLI tests (fast steps, no MLflow)."""

from __future__ import annotations

from mlplatform import log_metrics, pipeline, step


@step
def numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(values: list[int], fail: bool = False) -> int:
    if fail:
        raise ValueError("total refused on purpose")
    log_metrics({"total": sum(values)})
    return sum(values)


@pipeline(name="tiny")
def tiny(n: int = 3, fail: bool = False) -> None:
    """Sum the first n integers."""
    total(numbers(n), fail=fail)
