"""Renders the Metaflow peer of ``mlp_linear.render(n)``: ``start -> s1 -> ... -> end``, N steps.

Metaflow reads a flow's graph from its source, so the flow file is generated, not built at
run time. Each step does the same work as ours: take an int, add one.
"""

from __future__ import annotations

__all__ = ["render"]

_HEADER = '''"""{n} trivial steps in a line, made by benchmarks/_flows/metaflow_linear.py."""

from metaflow import FlowSpec, step


class TrivialLinear{n}(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.{first})
'''

_MIDDLE = """
    @step
    def {name}(self):
        self.x += 1
        self.next(self.{after})
"""

_FOOTER = """
    @step
    def end(self):
        self.x += 1


if __name__ == "__main__":
    TrivialLinear{n}()
"""


def render(n: int) -> str:
    """The source of a flow with ``n`` steps in total (``start`` and ``end`` included)."""
    if n < 2:
        raise ValueError(f"a Metaflow flow needs at least start and end, not {n} step(s)")
    middle = [f"s{i}" for i in range(1, n - 1)]
    chain = [*middle, "end"]
    text = _HEADER.format(n=n, first=chain[0])
    for name, after in zip(middle, chain[1:], strict=True):
        text += _MIDDLE.format(name=name, after=after)
    return text + _FOOTER.format(n=n)
