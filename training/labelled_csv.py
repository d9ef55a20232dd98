"""Read a labelled CSV in the application schema, in plain Python (evaluation needs no numpy/sklearn)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chalicelib.engine.schema import ValidationFailed, parse_csv_row
from chalicelib.engine.types import Application

LABEL = "loan_approved"


@dataclass
class LabelledRows:
    applications: list[Application]
    labels: list[int]
    rejected_rows: list[tuple[int, list[dict[str, str]]]]  # (CSV line number, validation errors)
    sha256: str


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_labelled_csv(path: Path) -> LabelledRows:
    """Parse and validate every row exactly like an API payload; rows that fail are set aside."""
    applications: list[Application] = []
    labels: list[int] = []
    rejected: list[tuple[int, list[dict[str, str]]]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line_number, row in enumerate(csv.DictReader(handle), start=2):
            label = (row.get(LABEL) or "").strip()
            try:
                application = parse_csv_row(row)
                if label not in ("0", "1"):
                    raise ValidationFailed([{"field": LABEL, "problem": "must be 0 or 1"}])
            except ValidationFailed as failure:
                rejected.append((line_number, failure.errors))
                continue
            applications.append(application)
            labels.append(int(label))
    return LabelledRows(applications, labels, rejected, file_sha256(path))
