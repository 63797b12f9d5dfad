"""Hooks for the whole suite: the folder of resources the xdist workers share (tests/_shared.py)."""

from __future__ import annotations

import pytest

from _shared import begin_run, stop_all


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        begin_run()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        stop_all()
