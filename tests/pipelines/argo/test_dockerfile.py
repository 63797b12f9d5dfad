"""The platform image installs from the same lock file as `make demo` and runs as the pods'
non-root user (docker does not run here: the Dockerfile is checked, not built)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_dockerfile_installs_from_the_lock_file_and_runs_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert "-r requirements/lock.txt" in text
    assert "USER 1000:1000" in text  # matches runAsUser/runAsGroup in compiled workflows
    assert "UV_COMPILE_BYTECODE=1" in text  # read-only root filesystem: no .pyc writes at run time
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements/lock.txt" in makefile
