"""Headless Chromium for the tests of the HTML the platform writes (drift reports, model
cards). A missing browser fails the test with how to install it; it never skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["INSTALL", "chromium", "console_messages"]

INSTALL = "chromium is missing: run scripts/install-test-tools.sh (Debian package chromium)"


def chromium(tmp_path: Path, *args: str, console: bool = False) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args`` and a profile under ``tmp_path``; with ``console``
    the page's console messages go to stderr as ``:CONSOLE`` lines (``console_messages``)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail(INSTALL)
    logging = ["--enable-logging=stderr", "--v=0"] if console else []
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        *logging,
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def console_messages(stderr: str) -> list[str]:
    """The page's console lines in Chromium's stderr (run with ``console=True``)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]
