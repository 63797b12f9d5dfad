"""Trivial linear pipelines for the overhead benchmark: N steps, each returns its input + 1.

Loaded by file path (not as a package) so that the launcher subprocess can load it from the
same file. It imports nothing beyond the DSL, so a step process pays only for the engine.
"""

from __future__ import annotations

from mlplatform import pipeline, step
from mlplatform.pipelines.dsl import Pipeline

__all__ = ["inc", "linear"]


@step
def inc(x: int) -> int:
    return x + 1


def linear(n: int) -> Pipeline:
    """A pipeline of ``n`` ``inc`` steps in a chain (nodes ``inc``, ``inc-2``, ...)."""

    def chain(x: int = 0) -> None:
        value = x
        for _ in range(n):
            value = inc(value)

    chain.__name__ = f"trivial_{n}"
    return pipeline(chain, name=f"trivial-{n}")
