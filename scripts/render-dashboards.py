#!/usr/bin/env python3
"""Render every committed Grafana dashboard to a PNG picture (``make dashboards``).

Each dashboard's panels are queried on a Prometheus and drawn as an HTML page
(``mlplatform.alerts.dashboard_view``), which headless Chromium screenshots. Without
``--prometheus`` the queries run on a Prometheus started here on loopback over the synthetic
cluster of the dashboard tests (``tests/alerts/_prometheus.py``: two namespaces, three pods, an
LLM, OpenCost prices), so the pictures are reproducible; with it, on yours, for the last
``--minutes`` (e.g. ``kubectl -n monitoring port-forward svc/kube-prometheus-stack-prometheus
9090`` and ``--prometheus http://127.0.0.1:9090``).

Example::

    .venv/bin/python scripts/render-dashboards.py --out docs/images/dashboards

Exit status 1 with the reason on standard error when Chromium or a query fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = REPO / "infrastructure" / "kubernetes" / "base" / "monitoring" / "dashboards"
WIDTH, HEIGHT = 1200, 1160


def screenshot(page: Path, png: Path, workdir: Path) -> None:
    """Headless Chromium's picture of ``page`` at WIDTH x HEIGHT."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("chromium is missing: run scripts/install-test-tools.sh")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", f"--user-data-dir={workdir / 'chromium-profile'}",
               f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    if result.returncode != 0 or not png.is_file():
        raise SystemExit(f"chromium could not screenshot {page}: {result.stderr[-2000:]}")


def render_all(url: str, out: Path, start: float, end: float, workdir: Path) -> list[Path]:
    """A PNG per ``dashboard.*.json`` under ``out``, named like the dashboard."""
    from mlplatform.alerts.dashboard_view import fetch, render_html

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(DASHBOARDS.glob("dashboard.*.json")):
        board = json.loads(path.read_text())
        page = workdir / f"{path.stem}.html"
        page.write_text(render_html(board["title"], fetch(url, board, start, end, 60)))
        png = out / f"{path.stem.removeprefix('dashboard.')}.png"
        screenshot(page, png, workdir)
        written.append(png)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "dashboards")
    parser.add_argument("--prometheus", help="a Prometheus URL (default: the synthetic one)")
    parser.add_argument("--minutes", type=int, default=30, help="the time range drawn")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source: AbstractContextManager[object]
        if args.prometheus:
            end = time.time()
            source = nullcontext(args.prometheus.rstrip("/"))
        else:
            sys.path.insert(0, str(REPO / "tests"))
            from alerts._prometheus import END, running_prometheus

            end, source = END, running_prometheus(workdir)
        with source as prometheus:
            url = prometheus if isinstance(prometheus, str) else prometheus.url  # type: ignore[attr-defined]
            for png in render_all(url, args.out, end - args.minutes * 60, end, workdir):
                print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
