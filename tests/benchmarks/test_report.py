"""What the benchmarks share (benchmarks/_report.py): how ``--check`` turns rows into an exit
status, and the row's ratio. Made-up figures; nothing is timed."""

from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def report(load_benchmark) -> ModuleType:
    return load_benchmark("_report")


def test_check_exits_1_on_a_missed_target_and_2_on_a_target_without_a_figure(
    report: ModuleType,
) -> None:
    # GIVEN a met target, a missed one, two without a figure and a row shown for information
    row = report.Row
    met = row("a", 1.0, 2.0, "<= 1 x peer", True)
    missed = row("b", 3.0, 2.0, "<= 1 x peer", False)
    no_peer = row("c", 1.0, None, "<= 1 x peer", None)
    no_ours = row("d", None, 2.0, "< 1 s", None)
    info = row("e", 1.0, 2.0, report.INFORMATION, None)
    untargeted = row("f", 1.0)
    # WITHOUT --check every outcome exits 0 (make bench prints and goes on)
    assert report.exit_code([met, missed, no_peer], False) == 0
    # WITH --check: all met is 0 (rows without a target do not count), a missed target 1,
    # a target without a figure 2
    assert report.exit_code([met, info, untargeted], True) == 0
    assert report.exit_code([met, missed, no_peer], True) == 1
    assert report.exit_code([met, no_peer, info], True) == 2
    assert report.exit_code([met, no_ours], True) == 2


def test_a_row_has_a_ratio_only_with_both_figures(report: ModuleType) -> None:
    row = report.Row
    assert row("a", 1.0, 4.0).ratio == 0.25
    assert row("a", 1.0, 4.0).to_dict() == {
        "ours": 1.0,
        "peer": 4.0,
        "ratio": 0.25,
        "target": "-",
        "met": None,
    }
    assert row("b", None, 4.0).ratio is None
    assert row("c", 1.0, None).ratio is None
    assert row("d", 1.0, 0.0).ratio is None
