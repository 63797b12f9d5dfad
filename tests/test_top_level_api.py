"""The public API of the top-level package is pinned: changing it is a decision."""

from __future__ import annotations

import mlplatform
import mlplatform.errors
import mlplatform.pipelines


def test_top_level_api_is_pinned():
    assert sorted(mlplatform.__all__) == sorted(
        [
            "Pipeline",
            "Resources",
            "Retries",
            "Step",
            "__version__",
            "log_metrics",
            "log_params",
            "pipeline",
            "step",
        ]
    )
    for name in mlplatform.__all__:
        assert hasattr(mlplatform, name)


def test_every_error_has_a_hint_and_derives_from_the_root():
    for name in mlplatform.errors.__all__:
        cls = getattr(mlplatform.errors, name)
        assert issubclass(cls, mlplatform.errors.MlplatformError)
        assert cls.default_hint


def test_pipelines_api_exports_exist():
    for name in mlplatform.pipelines.__all__:
        assert hasattr(mlplatform.pipelines, name)
