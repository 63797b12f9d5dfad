"""The longest-first list of test modules names modules that exist (a stale name would
quietly stop ordering anything)."""

from __future__ import annotations

from pathlib import Path

from _schedule import LONGEST_FIRST, rank

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_module_exists_once():
    missing = [p for p in LONGEST_FIRST if not (ROOT / p).is_file()]
    assert not missing, f"tests/_schedule.py names modules that do not exist: {missing}"
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_listed_modules_come_first_in_their_order():
    assert rank(LONGEST_FIRST[0]) == 0
    assert rank(LONGEST_FIRST[-1]) == len(LONGEST_FIRST) - 1
    assert rank("tests/test_schedule.py") == len(LONGEST_FIRST)
