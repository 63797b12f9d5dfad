"""Renders an mlplatform pipeline file of N trivial steps in a chain: ``inc -> inc-2 -> ...``.

The benchmark writes it into a throw-away project (``pipelines = ["pipeline.py"]`` in its
``mlplatform.toml``) so that ``mlp pipeline run trivial-N`` finds it by name, as a user's
project would. Each step does the same work as the Metaflow peer's
(``metaflow_linear.py``): take an int, add one. The file imports nothing beyond the DSL.
"""

from __future__ import annotations

__all__ = ["pipeline_name", "render"]

_SOURCE = '''"""{n} trivial steps in a line, made by benchmarks/_flows/mlp_linear.py."""

from mlplatform import pipeline, step


@step
def inc(x: int) -> int:
    return x + 1


@pipeline(name="{name}")
def trivial_{n}(x: int = 0) -> None:
    value = x
    for _ in range({n}):
        value = inc(value)
'''


def pipeline_name(n: int) -> str:
    """The name ``mlp pipeline run`` knows the ``n``-step pipeline by."""
    return f"trivial-{n}"


def render(n: int) -> str:
    """The source of a pipeline module with ``n`` steps (nodes ``inc``, ``inc-2``, ...)."""
    if n < 1:
        raise ValueError(f"a pipeline needs at least one step, not {n}")
    return _SOURCE.format(n=n, name=pipeline_name(n))
