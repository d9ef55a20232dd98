"""``make backtest``'s terminal output (devstack/backtest.py): the summary tables from a real summary
of engine.batch (no stack: the HTTP calls are the integration tests' business)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from chalicelib import engine
from chalicelib.engine import batch
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack import backtest

ROOT = Path(__file__).resolve().parents[3]
ROWS = 400


@pytest.fixture(scope="module")
def summary() -> batch.BatchSummary:
    lines = (ROOT / "data" / "loan_applications.csv").read_text(encoding="utf-8").splitlines()[: ROWS + 1]
    lines.append(lines[1].replace(",39,", ",not-an-age,", 1))  # one invalid row
    data = ("\n".join(lines) + "\n").encode()
    columns = batch.check_file_start(data, "csv")
    header_bytes = len(lines[0]) + 1
    document = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    # A stricter variant: FOIR over 45% declined, over 35% to review; it declines some approvals.
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.45
    document["rules"]["POL-FOIR-REVIEW"]["limit"] = 0.35
    packaged = engine.packaged_version()
    versions = [("v1", packaged), ("v2", engine.DecisionLogic(packaged.model, engine.load_policy(document)))]
    part = batch.score_chunk(data[header_bytes:], "csv", columns, 1, versions, batch.ChunkOptions())
    return batch.summarise(batch.merge_aggregates([part.aggregates]), ["v1", "v2"])


def rendered(summary: batch.BatchSummary) -> str:
    console = Console(record=True, width=240, color_system=None)
    for table in backtest.summary_tables(summary):
        console.print(table)
    return console.export_text()


def test_the_tables_show_the_rows_the_versions_and_the_swap_set(summary: batch.BatchSummary) -> None:
    text = rendered(summary)
    assert summary["rows"]["invalid"] == 1 and summary["rows"]["scored"] == ROWS
    assert f"{ROWS:,}" in text
    swap = summary["swaps"][0]
    assert swap["approve_to_decline"] > 0  # the variant is stricter: the table has something to show
    swap_line = next(line for line in text.splitlines() if "approved -> declined" in line)
    assert f"{swap['approve_to_decline']:,}" in swap_line
    for version in summary["versions"]:
        rate = version["approval_rate"]
        assert rate is not None
        assert f"{100 * rate:.1f}%" in text
        labels = version["labels"]
        assert labels is not None and labels["auc"] is not None
        assert f"{labels['auc']:.4f}" in text
    assert "Swap set against v1" in text
    invalid = summary["invalid_rows"][0]
    problem = f"{invalid['errors'][0]['field']}: {invalid['errors'][0]['problem']}"
    assert invalid["line"] == ROWS + 2  # after the header and the valid rows
    assert any(str(invalid["line"]) in line and problem in line for line in text.splitlines())


def test_a_single_version_has_no_swap_table(summary: batch.BatchSummary) -> None:
    single: batch.BatchSummary = {**summary, "versions": summary["versions"][:1], "swaps": []}
    assert "Swap set" not in rendered(single)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("book.csv", "csv"), ("BOOK.CSV", "csv"), ("x.jsonl", "jsonl"), ("x.ndjson", "jsonl")],
)
def test_the_format_comes_from_the_name(name: str, expected: str) -> None:
    assert backtest.file_format(Path(name)) == expected


def test_an_unknown_format_says_to_pass_it() -> None:
    with pytest.raises(ValueError, match="--format"):
        backtest.file_format(Path("book.xlsx"))


def test_versions_split_on_commas_and_none_means_the_champion() -> None:
    assert backtest.version_list(" v1, v3 ,") == ["v1", "v3"]
    assert backtest.version_list("") is None
    assert backtest.version_list(None) is None
