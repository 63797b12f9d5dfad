"""The public API of mlplatform.drift is pinned here; change it on purpose."""

from __future__ import annotations

import mlplatform.drift as drift


def test_all_is_pinned_and_sorted():
    assert drift.__all__ == [
        "CategoricalProfile",
        "ColumnDrift",
        "DriftConfig",
        "DriftMetrics",
        "DriftMonitor",
        "DriftResult",
        "Histogram",
        "NumericProfile",
        "ReferenceProfile",
        "TestResult",
        "Window",
        "build_profile",
        "check_drift",
        "is_profile_file",
        "iter_frames",
        "load_profile",
        "read_table",
        "save_profile",
    ]
    for name in drift.__all__:
        assert hasattr(drift, name)


def test_the_drift_package_reads_no_settings():
    import ast
    from pathlib import Path

    for path in Path(drift.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert "mlplatform.settings" not in imported, path.name
