"""``make backtest`` (devstack/backtest.py) against a local stack of this module's own: the command
signs in the demo model-risk user, uploads the file, starts the backtest, follows its progress and
prints the summary tables; ``--json`` prints the final answer. Real processes only: the command runs
as ``python -m devstack.backtest`` the way the Makefile runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.engine import batch
from devstack.stack import DevStack

ROOT = Path(__file__).resolve().parents[2]
ROWS = 250


@pytest.fixture(scope="module")
def stack(start_stack: Callable[..., DevStack]) -> DevStack:
    started = start_stack("backtest-cli", workers=1, batch_env={"BATCH_ROWS_PER_CHUNK": "100"})
    if started.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff sign-in")
    return started


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = (ROOT / "data" / "loan_applications.csv").read_text(encoding="utf-8").splitlines()[: ROWS + 1]
    path = tmp_path_factory.mktemp("backtest") / "book.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def backtest(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack.backtest",
            *args,
            "--api",
            stack.api_url,
            "--endpoint",
            stack.endpoint_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},  # rich's tables fit on one line each
    )


def test_a_backtest_runs_to_completion_and_prints_its_summary_tables(stack: DevStack, book: Path) -> None:
    done = backtest(stack, str(book), "--versions", "v1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Per version" in done.stdout and "approval rate" in done.stdout
    lines = done.stdout.splitlines()
    heading = next(i for i, line in enumerate(lines) if all(w in line for w in ("read", "scored", "invalid")))
    cells = [int(cell.replace(",", "")) for cell in re.findall(r"\d[\d,]*", lines[heading + 2])]
    assert cells == [ROWS, ROWS, 0, ROWS]  # read, scored, invalid, labelled


def test_json_output_is_the_final_answer_with_the_engines_summary(stack: DevStack, book: Path) -> None:
    done = backtest(stack, str(book), "--json")
    assert done.returncode == 0, done.stderr
    final = json.loads(done.stdout)
    assert final["status"] == "COMPLETED"
    assert final["chunks"]["done"] == final["chunks"]["total"] == (ROWS + 99) // 100
    summary = final["summary"]
    assert summary["rows"]["scored"] == ROWS
    assert set(summary) >= set(batch.BatchSummary.__annotations__)


def test_an_unknown_version_is_refused_with_the_apis_reason(stack: DevStack, book: Path) -> None:
    done = backtest(stack, str(book), "--versions", "v1,no-such-version")
    assert done.returncode == 1
    assert "400" in done.stdout and "no-such-version" in done.stdout


def test_a_file_of_unknown_format_is_refused_before_any_call(stack: DevStack, tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK")
    done = backtest(stack, str(path))
    assert done.returncode == 2
    assert "--format" in done.stdout
