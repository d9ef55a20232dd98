"""Valid application payloads for the sample curl, the integration tests and the burst benchmark.

Rows of ``data/loan_applications.csv`` as the API takes them: ``loan_approved`` (the label) dropped,
numbers as JSON numbers, ``True``/``False`` as JSON booleans.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devstack.processes import PROJECT_ROOT

DATA_FILE = PROJECT_ROOT / "data" / "loan_applications.csv"
LABEL_COLUMN = "loan_approved"
PERSONAL_COLUMNS = ("applicant_id", "applicant_name")


def _typed(value: str) -> Any:
    if value in ("True", "False"):
        return value == "True"
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def application_from_row(row: dict[str, str], with_personal_data: bool = True) -> dict[str, Any]:
    dropped = {LABEL_COLUMN} | (set() if with_personal_data else set(PERSONAL_COLUMNS))
    return {name: _typed(value) for name, value in row.items() if name not in dropped}


def iter_applications(with_personal_data: bool = True, path: Path = DATA_FILE) -> Iterator[dict[str, Any]]:
    """Every row of the data file once, in file order."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            yield application_from_row(row, with_personal_data)


def applications(count: int, with_personal_data: bool = True) -> list[dict[str, Any]]:
    """``count`` payloads, cycling through the file when more are asked for than it has rows."""
    rows = list(iter_applications(with_personal_data))
    return [dict(row) for row in itertools.islice(itertools.cycle(rows), count)]


def sample_application(with_personal_data: bool = False) -> dict[str, Any]:
    return next(iter_applications(with_personal_data))
