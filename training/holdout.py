"""Write the labelled holdout the registry validates decision versions on (``make holdout``).

The holdout is the training run's test split (``training.data.stratified_split``: fixed seed, never
fitted on), written as CSV in the application schema with the label, without the applicant's name
and id (the Lambda package carries no personal data it does not need). The service reads it in plain
Python (``chalicelib.engine.schema.parse_csv_row``); a unit test keeps the committed file equal to
this render.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from training.data import TRAINING_CSV, stratified_split
from training.labelled_csv import LABEL

HOLDOUT_CSV = Path(__file__).resolve().parent.parent / "chalicelib" / "engine" / "holdout_v1.csv"
DROPPED = ("applicant_name", "applicant_id")


def render(source: Path = TRAINING_CSV) -> str:
    import numpy as np

    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(row[LABEL]) for row in rows], dtype=int)
    test = stratified_split(labels).test
    columns = [name for name in rows[0] if name not in DROPPED]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for index in test:
        writer.writerow(rows[int(index)])
    return out.getvalue()


def main() -> None:
    HOLDOUT_CSV.write_text(render(), encoding="utf-8")
    print(f"wrote {HOLDOUT_CSV}")


if __name__ == "__main__":
    main()
