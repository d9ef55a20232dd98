"""The decisions of the packaged decision version on the 5,000 shipped rows, as one digest per row.

``golden_decisions_v1.txt`` was rendered from the engine before the policy became a document (the
numbers compiled in), and the engine with policy version 1 rendered the same file byte for byte: the
whole decision of every row (outcome, probabilities, reasons, counteroffer, suggestions, notice,
policy checks), not a summary. It was regenerated once since, on purpose: a band rule above its band
no longer reads "passed" (2,484 rows, FOIR over 60%: only the POL-FOIR-REVIEW check's ``passed`` and
``message`` changed; nothing else in any row), and once more when every decision gained
``risk_flags`` (issue 21: ``[]`` on every shipped row, whose applications carry no identity or
session values and fire no one-application fraud rule; nothing else changed). A digest per row keeps the file
small (a full dump is tens of megabytes) and still names the rows that differ.

Regenerate (only when a decision is meant to change, and say which rows and why in the commit):
``.venv/bin/python -m tests.unit.engine.golden_decisions``
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib.engine import decide, packaged_version
from chalicelib.engine.schema import parse_csv_row

GOLDEN_PATH = Path(__file__).with_name("golden_decisions_v1.txt")
SHIPPED_ROWS = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
DECISION_DATE = dt.date(2026, 12, 1)  # the notice's date: fixed, so a render is reproducible
DIGEST_CHARS = 16  # 64 bits per row: a collision between a changed and an unchanged decision is negligible


def decision_digest(decision: Mapping[str, Any]) -> str:
    canonical = json.dumps(decision, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def render() -> str:
    """One line per shipped row, in file order: ``<row> <digest of its decision>``."""
    with SHIPPED_ROWS.open(newline="", encoding="utf-8") as handle:
        applications = [parse_csv_row(row) for row in csv.DictReader(handle)]
    model, policy = packaged_version()
    lines = [
        f"{row} {decision_digest(decide(application, model, policy, decided_on=DECISION_DATE))}"
        for row, application in enumerate(applications)
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    GOLDEN_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {GOLDEN_PATH}")
