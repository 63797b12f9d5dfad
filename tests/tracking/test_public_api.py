"""The public API of mlplatform.tracking is pinned here; change it on purpose."""

from __future__ import annotations

import mlplatform.tracking as tracking


def test_all_is_pinned_and_sorted():
    assert tracking.__all__ == [
        "DIGEST_TAG",
        "AliasChange",
        "MlflowObserver",
        "ModelSummary",
        "RegisteredVersion",
        "RunDetail",
        "RunSummary",
        "VersionInfo",
        "alias_history",
        "champion",
        "get_run",
        "get_version",
        "list_models",
        "list_runs",
        "list_versions",
        "promote",
        "register_model",
        "rollback",
        "set_alias",
    ]
    assert all(hasattr(tracking, name) for name in tracking.__all__)


def test_the_observer_implements_the_run_observer_protocol():
    import inspect

    from mlplatform.pipelines.observer import RunObserver

    for method in ("pipeline_started", "step_started", "step_finished", "pipeline_finished"):
        ours = inspect.signature(getattr(tracking.MlflowObserver, method))
        protocol = inspect.signature(getattr(RunObserver, method))
        assert list(ours.parameters) == list(protocol.parameters), method
