"""Golden files: rendered text compared byte for byte with a committed file, rewritten when
``MLPLATFORM_UPDATE_GOLDEN=1``. One comparison for every renderer's golden tests."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE = "MLPLATFORM_UPDATE_GOLDEN"


def diff(old: str, new: str, name: str, lines: int = 40) -> str:
    out = difflib.unified_diff(
        old.splitlines(), new.splitlines(), name, "rendered now", lineterm=""
    )
    return "\n".join(list(out)[:lines])


def compare(path: Path, new: str, regenerate: str) -> None:
    """Fail unless ``path`` holds exactly ``new``; with ``MLPLATFORM_UPDATE_GOLDEN=1``, write
    it instead. ``regenerate`` is the command that rewrites the golden files."""
    if os.environ.get(UPDATE) == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(new)
        return
    existing(path, regenerate)
    old = path.read_text()
    if old != new:
        pytest.fail(
            f"{path.name} differs from what the renderer writes now. If the change is "
            f"intended, regenerate the golden files with: {regenerate}\n"
            f"{diff(old, new, path.name)}",
            pytrace=False,
        )


def existing(path: Path, regenerate: str) -> Path:
    """``path``, or a failure saying how to write it."""
    if not path.is_file():
        pytest.fail(f"{path.name} does not exist. Write it with: {regenerate}", pytrace=False)
    return path
