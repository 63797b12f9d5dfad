"""Hooks for the whole suite: the folder of resources the xdist workers share (tests/_shared.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

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


@pytest.fixture(autouse=True)
def _mlflow_global_tracking_uri_restored() -> Iterator[None]:
    """Put MLflow's process-wide tracking URI (and ``MLFLOW_TRACKING_URI``) back after each test.

    Code under test may point MLflow's fluent API somewhere for the rest of the process
    (``mlflow.set_tracking_uri``, ``enable_tracing``); without this, a later module in the same
    xdist worker that resolves ``models:/`` through the environment would read the wrong
    registry, and the suite's result would depend on its order.
    """
    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if "mlflow" not in sys.modules:  # nothing could have changed it
        return
    from mlflow.tracking._tracking_service import utils as tracking_utils

    if tracking_utils._tracking_uri is not None:
        tracking_utils._tracking_uri = None
    if env_before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = env_before
