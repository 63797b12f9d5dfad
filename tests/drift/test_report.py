"""The HTML report: one offline file, rendered by headless Chromium with its plots.

Chromium is a test tool (Debian package ``chromium``): without it these tests fail and say
how to install it, they never skip.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from _browser import chromium
from mlplatform.drift import build_profile, check_drift
from mlplatform.drift.report import render_report, write_report

CURRENT = (0xD9, 0x48, 0x0F)  # the current sample's bar colour


@pytest.fixture
def report(tmp_path, reference, shifted):
    result = check_drift(build_profile(reference), shifted)
    return result, write_report(result, tmp_path / "drift.html", current_name="shifted.parquet")


def test_the_report_is_self_contained(report):
    _, path = report
    html = path.read_text()
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * 4


def test_chromium_renders_a_summary_a_sorted_table_and_a_plot_per_column(tmp_path, report):
    # GIVEN the report of a shifted batch
    result, path = report

    # WHEN headless Chromium loads it and dumps the DOM
    dumped = chromium(tmp_path, "--dump-dom", path.as_uri())

    # THEN the page has the verdict, the table sorted by severity, and every column's plot
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "DRIFT" in dom
    assert "shifted.parquet" in dom
    plots = re.findall(r'<svg class="dist-plot" data-column="([^"]+)"', dom)
    assert sorted(plots) == sorted(c.name for c in result.columns)
    table_order = re.findall(r'<td><a href="#col-[^"]+">([^<]+)</a></td>', dom)
    assert table_order == [c.name for c in result.by_severity()]
    assert dom.count('class="current"') >= 30 + 3  # income's bins, plan's categories...


def test_the_screenshot_is_not_blank_and_shows_the_bars(tmp_path, report):
    _, path = report
    shot = tmp_path / "drift.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1600)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 50  # text, bars, table: not a blank page
    assert any(colour == CURRENT for _, colour in colours)


def test_undecided_columns_and_notes_render(reference):
    gone = reference.assign(age=float("nan"))
    html = render_report(check_drift(build_profile(reference), gone))
    assert "MISSING VALUES: age" in html
    assert "no values to plot" in html
    assert "no finite values in the current data" in html
