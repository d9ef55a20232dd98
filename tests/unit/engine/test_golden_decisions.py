"""The packaged decision version decides the 5,000 shipped rows exactly as the rendered golden file
says: the whole decision of every row (see ``golden_decisions``)."""

from __future__ import annotations

from golden_decisions import GOLDEN_PATH, render


def test_the_shipped_rows_decide_exactly_as_the_golden_file_records() -> None:
    expected = GOLDEN_PATH.read_text(encoding="utf-8").splitlines()
    actual = render().splitlines()
    assert len(actual) == len(expected) == 5_000
    changed = [row for row, (now, before) in enumerate(zip(actual, expected, strict=True)) if now != before]
    assert changed == [], f"{len(changed)} rows decide differently, first: {changed[:20]}"
