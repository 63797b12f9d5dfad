"""Hooks for the whole suite: the folder of resources the xdist workers share (tests/_shared.py)."""

from __future__ import annotations

import pytest

from _schedule import rank
from _shared import begin_run, stop_all


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        begin_run()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        stop_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (tests/_schedule.py); the rest keep their order. Every
    worker sorts the same way, so the collections stay equal."""
    root = config.rootpath
    order = {id(item): i for i, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, int]:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        return rank(path), order[id(item)]

    items.sort(key=key)
