"""Batch files for the multipart tests (import as ``tests.support.batch_files``): the shipped rows,
each with a padding column (an extra column is allowed), so that a file of several S3 parts
(5 MiB each at least) holds thousands of rows rather than tens of thousands."""

from __future__ import annotations

import itertools
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "loan_applications.csv"
PADDING_BYTES = 900


def padded_csv(size: int) -> tuple[bytes, int]:
    """A CSV of at least ``size`` bytes and its number of rows (the shipped rows, cycled)."""
    header, *rows = DATA.read_bytes().splitlines()
    lines = [header + b",note\n"]
    total, count = len(lines[0]), 0
    for row in itertools.cycle(rows):
        if total >= size:
            break
        line = row + b"," + b"p" * PADDING_BYTES + b"\n"
        lines.append(line)
        total += len(line)
        count += 1
    return b"".join(lines), count
