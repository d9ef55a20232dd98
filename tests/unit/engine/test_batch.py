"""Batch scoring (engine/batch.py): the file checks, the chunk plan over any block sizes, chunks of CSV
and JSON Lines with invalid rows, merges in any grouping, and the summary's figures against the
engine's own (decide(), training.metrics as `make evaluate` computes them, engine/validation.py)."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import itertools
import json
from collections import Counter
from typing import Any

import pytest
from engine_test_support import (
    MODEL,
    POLICY,
    PROPERTIES,
    TRAINING_CSV,
    policy_with,
    training_rows,
    valid_applications,
)
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.engine import DecisionLogic, batch, decide
from chalicelib.engine.batch import (
    HEAD_BYTES,
    INVALID_ROWS_LISTED,
    REQUIRED_COLUMNS,
    BadFile,
    ChunkOptions,
    ChunkResult,
    ChunkSpec,
    CsvLayout,
    ParsedRow,
    RowDecision,
    _parse_csv_line,
    check_file_start,
    decide_row,
    merge_aggregates,
    plan_chunks,
    score_chunk,
    summarise,
)
from chalicelib.engine.schema import ValidationFailed, parse_csv_row
from chalicelib.engine.scorecard import probability_of
from chalicelib.engine.validation import HOLDOUT_PATH, figures, packaged_holdout
from training import metrics
from training.labelled_csv import read_labelled_csv

PACKAGED = ("v1", DecisionLogic(MODEL, POLICY))
# A variant a lender might backtest: approve from 0.55 instead of 0.65 (and review from 0.40).
VARIANT = (
    "v1-approve-055",
    DecisionLogic(MODEL, policy_with({"/bands/approve": 0.55, "/bands/review": 0.40})),
)
VERSIONS = (PACKAGED, VARIANT)
SHIPPED = TRAINING_CSV.read_bytes()
HEADER, _, BODY = SHIPPED.partition(b"\n")
COLUMNS = HEADER.decode().split(",")


def result_lines(result: ChunkResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(result.results).decode().splitlines()]


def score_file(
    data: bytes, fmt: str, rows_per_chunk: int, versions: Any = VERSIONS, **options: Any
) -> list[ChunkResult]:
    columns = check_file_start(data[:HEAD_BYTES], fmt)  # type: ignore[arg-type]
    plan = plan_chunks([data], rows_per_chunk, has_header=fmt == "csv")
    return [
        score_chunk(
            data[chunk.start_byte : chunk.end_byte],
            fmt,  # type: ignore[arg-type]
            columns,
            chunk.first_row,
            versions,
            ChunkOptions(**options),
        )
        for chunk in plan
    ]


@functools.cache
def shipped_scored() -> tuple[ChunkResult, ...]:
    """The shipped 5,000 rows, both versions, chunks of 700 rows (the last shorter)."""
    return tuple(score_file(SHIPPED, "csv", 700))


# -- check_file_start ------------------------------------------------------------------------------
def test_a_csv_with_the_shipped_columns_gives_its_column_names() -> None:
    assert check_file_start(SHIPPED[:HEAD_BYTES], "csv") == COLUMNS
    assert check_file_start(b"\xef\xbb\xbf" + SHIPPED[:1000], "csv") == COLUMNS  # a byte-order mark


def test_a_csv_lacking_required_columns_fails_naming_them() -> None:
    header = ",".join(c for c in COLUMNS if c not in ("cibil_score", "loan_amount")).encode()
    with pytest.raises(BadFile) as failure:
        check_file_start(header + b"\n1,2,3\n", "csv")
    assert failure.value.reason == "the CSV header lacks required columns: cibil_score, loan_amount"
    with pytest.raises(BadFile) as failure:
        check_file_start(b'{"age": 30}\n', "csv")  # JSON Lines sent as CSV
    assert "lacks required columns: age, education" in failure.value.reason
    assert len(REQUIRED_COLUMNS) == 19


@pytest.mark.parametrize(
    ("head", "fmt", "reason"),
    [
        (
            b"PK\x03\x04\x00\x00binary",
            "csv",
            "the file is binary (it contains NUL bytes), not CSV or JSON Lines text",
        ),
        (b"age,gender\n30,M\xe4nnlich\n", "csv", "the file is not UTF-8 text (byte 15 of the file)"),
        (b"  \n", "jsonl", "the file is empty"),
        (
            b"[1, 2]\n{}\n",
            "jsonl",
            "line 1 is not a JSON object: a JSON Lines file of applications is needed",
        ),
        (b"\n\nage=30\n", "jsonl", "line 3 is not JSON: not a JSON Lines file"),
        (b"x" * HEAD_BYTES, "jsonl", f"line 1 is longer than {HEAD_BYTES} bytes: not a JSON Lines record"),
        (
            b"x" * HEAD_BYTES,
            "csv",
            f"line 1 is longer than {HEAD_BYTES} bytes: not a CSV header or a JSON Lines record",
        ),
        (b"{}", "xml", "unknown format 'xml': csv or jsonl"),
    ],
)
def test_a_bad_file_fails_fast_with_its_reason(head: bytes, fmt: Any, reason: str) -> None:
    with pytest.raises(BadFile) as failure:
        check_file_start(head, fmt)
    assert failure.value.reason == reason


def test_a_head_that_cuts_a_character_or_a_line_is_not_an_error() -> None:
    head = (HEADER.decode() + "\n" + '{"city": "Bogotá"}').encode()
    assert check_file_start(head[:-3], "csv") == COLUMNS  # "á" cut in two
    assert check_file_start(b'\n{"age": 30}\n{"age": 3', "jsonl") is None


# -- plan_chunks -----------------------------------------------------------------------------------
def reference_plan(data: bytes, rows_per_chunk: int, has_header: bool) -> list[ChunkSpec]:
    """The plan computed the plain way: split the whole file into lines, group them."""
    start = data.index(b"\n") + 1 if has_header and b"\n" in data else 0
    if has_header and b"\n" not in data:
        return []
    lines = data[start:].split(b"\n")
    ends_with_newline = lines[-1] == b""
    if ends_with_newline:
        lines.pop()
    plan: list[ChunkSpec] = []
    for first in range(0, len(lines), rows_per_chunk):
        group = lines[first : first + rows_per_chunk]
        end = start + sum(len(line) + 1 for line in group)
        if first + rows_per_chunk >= len(lines) and not ends_with_newline:
            end -= 1  # the last line has no newline
        plan.append(ChunkSpec(len(plan), start, end, first + 1, len(group)))
        start = end
    return plan


file_lines = st.lists(
    st.sampled_from([b"a,b,c", b"", b"  ", b'"x\r', b"\xc3\xa1" * 3, b"12345678"]), max_size=40
)


@PROPERTIES
@given(
    lines=file_lines,
    trailing_newline=st.booleans(),
    has_header=st.booleans(),
    rows_per_chunk=st.integers(1, 9),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_the_plan_is_the_same_whatever_blocks_the_file_arrives_in(
    lines: list[bytes], trailing_newline: bool, has_header: bool, rows_per_chunk: int, cuts: list[int]
) -> None:
    data = b"\n".join(([b"h1,h2"] if has_header else []) + lines) + (b"\n" if trailing_newline else b"")
    points = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    blocks = [data[a:b] for a, b in itertools.pairwise(points)]
    plan = plan_chunks(iter(blocks), rows_per_chunk, has_header=has_header)
    assert plan == plan_chunks([data], rows_per_chunk, has_header=has_header)
    assert plan == reference_plan(data, rows_per_chunk, has_header) if data else plan == []
    for chunk, after in itertools.pairwise(plan):
        assert chunk.end_byte == after.start_byte and data[chunk.end_byte - 1 : chunk.end_byte] == b"\n"


def test_the_shipped_file_plans_into_whole_rows() -> None:
    plan = plan_chunks([SHIPPED[i : i + 4096] for i in range(0, len(SHIPPED), 4096)], 700, has_header=True)
    assert [(c.first_row, c.rows) for c in plan] == [(1 + 700 * i, 700) for i in range(7)] + [(4901, 100)]
    assert plan[0].start_byte == len(HEADER) + 1 and plan[-1].end_byte == len(SHIPPED)
    assert b"".join(SHIPPED[c.start_byte : c.end_byte] for c in plan) == BODY
    assert plan_chunks([HEADER + b"\n"], 10, has_header=True) == []
    with pytest.raises(ValueError, match="at least 1"):
        plan_chunks([SHIPPED], 0, has_header=True)


# -- score_chunk ------------------------------------------------------------------------------------
def test_a_csv_chunk_scores_valid_rows_as_decide_does_and_lists_invalid_ones() -> None:
    rows = BODY.split(b"\n")[:6]
    fields = rows[1].split(b",")
    fields[COLUMNS.index("cibil_score")] = b"abc"
    fields[COLUMNS.index("age")] = b"12"
    rows[1] = b",".join(fields)
    rows[3] = b"1,2,3"
    rows.insert(4, b"")  # a blank line: keeps its number, not read
    data = b"\n".join(rows) + b"\n"
    result = score_chunk(data, "csv", COLUMNS, 11, VERSIONS, ChunkOptions())
    assert (result.rows_read, result.rows_scored, result.rows_invalid) == (6, 4, 2)
    lines = result_lines(result)
    assert [line["row"] for line in lines] == [11, 12, 13, 14, 16, 17]
    assert [line["valid"] for line in lines] == [True, False, True, False, True, True]
    assert lines[1]["errors"] == [
        {"field": "age", "problem": "must be an integer from 18 to 100"},
        {"field": "cibil_score", "problem": "must be an integer from 300 to 900"},
    ]
    assert lines[3]["errors"] == [
        {"field": "(row)", "problem": f"has 3 fields where the header has {len(COLUMNS)}"}
    ]
    assert result.aggregates["invalid_rows"] == [
        {"row": 12, "line": 13, "errors": lines[1]["errors"]},
        {"row": 14, "line": 15, "errors": lines[3]["errors"]},
    ]
    applications = [application for application, _ in training_rows()]
    for line, application in zip(
        [lines[0], lines[2], lines[4], lines[5]], [applications[i] for i in (0, 2, 4, 5)], strict=True
    ):
        for version_id, logic in VERSIONS:
            decision = decide(application, logic.model, logic.policy)
            assert line["versions"][version_id] == {
                "outcome": decision["outcome"],
                "decided_by": decision["decided_by"],
                "probability": decision["probability"],
                "band": decision["risk_band"],
                "reason_codes": [reason["code"] for reason in decision["reasons"]],
                "counteroffer_amount": None,
            }


def test_a_json_lines_chunk_with_ids_labels_and_broken_lines() -> None:
    applications = [application for application, _ in training_rows()[:3]]
    lines = [
        json.dumps({**applications[0], "external_id": "loan-1", "defaulted": 1}).encode(),
        b"[1, 2]",
        json.dumps({**applications[1], "age": "forty", "cibil": 700, "external_id": "loan-2"}).encode(),
        b"\xff\xfe not utf-8",
        b"{not json",
        json.dumps({**applications[2], "external_id": 77, "loan_approved": "yes"}).encode(),
        json.dumps({**applications[2], "external_id": 78, "loan_approved": True}).encode(),
    ]
    result = score_chunk(b"\n".join(lines), "jsonl", None, 1, [PACKAGED], ChunkOptions())
    out = result_lines(result)
    assert (result.rows_read, result.rows_scored, result.rows_invalid) == (7, 2, 5)
    assert [(line["row"], line["external_id"], line["valid"]) for line in out] == [
        (1, "loan-1", True),
        (2, None, False),
        (3, "loan-2", False),
        (4, None, False),
        (5, None, False),
        (6, "77", False),
        (7, "78", True),
    ]
    assert [line.get("errors") for line in out[1:6]] == [
        [{"field": "(row)", "problem": "must be a JSON object"}],
        [
            {"field": "age", "problem": "must be an integer from 18 to 100"},
            {"field": "cibil", "problem": "is not a known field"},
        ],
        [{"field": "(row)", "problem": "is not UTF-8 text"}],
        [{"field": "(row)", "problem": "is not valid JSON"}],
        [{"field": "loan_approved", "problem": "must be 0 or 1"}],
    ]
    assert [row["line"] for row in result.aggregates["invalid_rows"]] == [2, 3, 4, 5, 6]  # type: ignore[attr-defined]
    summary = summarise(merge_aggregates([result.aggregates]), ["v1"])
    labels = summary["versions"][0]["labels"]
    assert labels is not None and labels["rows"] == 2  # "defaulted": 1 is a bad label, True a good one
    assert decide(applications[0], MODEL, POLICY)["outcome"] == out[0]["versions"]["v1"]["outcome"]


def test_counteroffers_only_when_the_batch_asks() -> None:
    rows = [application for application, _ in training_rows()[:200]]
    data = b"".join(json.dumps(application).encode() + b"\n" for application in rows)
    plain = result_lines(score_chunk(data, "jsonl", None, 1, [PACKAGED], ChunkOptions()))
    offers = result_lines(score_chunk(data, "jsonl", None, 1, [PACKAGED], ChunkOptions(counteroffers=True)))
    expected = [decide(application, MODEL, POLICY)["counteroffer"] for application in rows]
    assert [line["versions"]["v1"]["counteroffer_amount"] for line in plain] == [None] * len(rows)
    assert [line["versions"]["v1"]["counteroffer_amount"] for line in offers] == [
        None if offer is None else offer["loan_amount"] for offer in expected
    ]
    assert any(offer is not None for offer in expected)


def test_every_shipped_row_decides_in_the_batch_as_decide_does() -> None:
    lines = [line for result in shipped_scored() for line in result_lines(result)]
    assert len(lines) == 5000 and all(line["valid"] for line in lines)
    for line, (application, _) in zip(lines, training_rows(), strict=True):
        for version_id, logic in VERSIONS:
            decision = decide(application, logic.model, logic.policy)
            got = line["versions"][version_id]
            assert (got["outcome"], got["decided_by"], got["probability"], got["band"]) == (
                decision["outcome"],
                decision["decided_by"],
                decision["probability"],
                decision["risk_band"],
            )
            assert got["reason_codes"] == [reason["code"] for reason in decision["reasons"]]


# -- merging and the summary ------------------------------------------------------------------------
@functools.cache
def small_parts() -> tuple[dict[str, object], ...]:
    """600 shipped rows with a few broken ones, in 12 chunks of 50."""
    lines = BODY.split(b"\n")[:600]
    for index in (3, 70, 71, 333, 599):
        lines[index] = b"broken," + lines[index]
    data = HEADER + b"\n" + b"\n".join(lines) + b"\n"
    return tuple(result.aggregates for result in score_file(data, "csv", 50))


def merged_in_groups(parts: list[dict[str, object]], sizes: list[int]) -> dict[str, object]:
    """Merge ``parts`` in groups of ``sizes`` (cycled), then the groups' results, until one is left."""
    level = parts
    while len(level) > 1:
        grouped, position, turn = [], 0, 0
        while position < len(level):
            size = max(2, sizes[turn % len(sizes)]) if sizes else 2
            grouped.append(merge_aggregates(level[position : position + size]))
            position, turn = position + size, turn + 1
        level = grouped
    return level[0]


@PROPERTIES
@given(order=st.permutations(range(12)), sizes=st.lists(st.integers(2, 5), max_size=6))
def test_merging_parts_in_any_order_and_grouping_gives_the_same_summary(
    order: list[int], sizes: list[int]
) -> None:
    parts = small_parts()
    snapshot = json.dumps(parts, sort_keys=True)
    expected = summarise(merge_aggregates(parts), ["v1", "v1-approve-055"])
    got = summarise(merged_in_groups([parts[i] for i in order], sizes), ["v1", "v1-approve-055"])
    assert got == expected
    assert json.dumps(parts, sort_keys=True) == snapshot  # the parts are left as they were
    assert expected["rows"] == {"read": 600, "scored": 595, "invalid": 5, "labelled": 595}
    assert [row["row"] for row in expected["invalid_rows"]] == [4, 71, 72, 334, 600]


def test_invalid_rows_listed_are_capped_and_the_rest_counted() -> None:
    data = b"".join(b"[%d]\n" % i for i in range(INVALID_ROWS_LISTED + 30))
    parts = [
        score_chunk(data[: len(data) // 2], "jsonl", None, 1, [PACKAGED], ChunkOptions()).aggregates,
    ]
    cut = data[: len(data) // 2].count(b"\n")
    parts.append(
        score_chunk(data[len(data) // 2 :], "jsonl", None, cut + 1, [PACKAGED], ChunkOptions()).aggregates
    )
    summary = summarise(merge_aggregates(reversed(parts)), ["v1"])
    assert summary["rows"]["invalid"] == INVALID_ROWS_LISTED + 30
    assert [row["row"] for row in summary["invalid_rows"]] == list(range(1, INVALID_ROWS_LISTED + 1))
    assert summary["invalid_rows_not_listed"] == 30


def test_the_swap_set_and_outcomes_equal_a_direct_count() -> None:
    summary = summarise(merge_aggregates(r.aggregates for r in shipped_scored()), ["v1", "v1-approve-055"])
    transitions: Counter[tuple[str, str]] = Counter()
    outcomes: dict[str, Counter[str]] = {"v1": Counter(), "v1-approve-055": Counter()}
    for application, _ in training_rows():
        before = decide(application, MODEL, POLICY)["outcome"]
        after = decide(application, VARIANT[1].model, VARIANT[1].policy)["outcome"]
        transitions[before, after] += 1
        outcomes["v1"][before] += 1
        outcomes["v1-approve-055"][after] += 1
    (swap,) = summary["swaps"]
    assert (swap["version_id"], swap["against"]) == ("v1-approve-055", "v1")
    assert swap["approve_to_decline"] == transitions["approved", "declined"]
    assert swap["decline_to_approve"] == transitions["declined", "approved"]
    assert (
        swap["to_review"]
        == transitions["approved", "manual_review"] + transitions["declined", "manual_review"]
    )
    assert (
        swap["from_review"]
        == transitions["manual_review", "approved"] + transitions["manual_review", "declined"]
    )
    assert swap["unchanged"] == sum(n for (a, b), n in transitions.items() if a == b)
    assert swap["from_review"] + swap["decline_to_approve"] > 0  # the lower threshold does approve more
    for version in summary["versions"]:
        assert version["outcomes"] == {
            o: outcomes[version["version_id"]][o] for o in ("approved", "manual_review", "declined")
        }


def test_the_summary_metrics_equal_make_evaluates_on_the_shipped_file() -> None:
    summary = summarise(merge_aggregates(r.aggregates for r in shipped_scored()), ["v1", "v1-approve-055"])
    data = read_labelled_csv(TRAINING_CSV)
    probabilities = [probability_of(MODEL, application) for application in data.applications]
    for version in summary["versions"]:
        labels = version["labels"]
        assert labels is not None and labels["rows"] == len(data.labels) == 5000
        assert round(labels["auc"] or 0, 4) == round(metrics.roc_auc(data.labels, probabilities), 4)
        assert round(labels["ks"] or 0, 4) == round(metrics.ks_statistic(data.labels, probabilities), 4)
        assert round(labels["brier"], 4) == round(metrics.brier(data.labels, probabilities), 4)
        assert version["mean_probability"] == pytest.approx(sum(probabilities) / 5000, abs=1e-6)
    approvals = [
        (p, y)
        for application, y, p in zip(data.applications, data.labels, probabilities, strict=True)
        if decide(application, MODEL, POLICY)["outcome"] == "approved"
    ]
    first = summary["versions"][0]
    assert first["expected_bad_rate_of_approvals"] == pytest.approx(
        sum(1 - p for p, _ in approvals) / len(approvals), abs=1e-6
    )
    labels = first["labels"]
    assert labels is not None
    assert labels["bad_rate_of_approvals"] == round(sum(1 - y for _, y in approvals) / len(approvals), 4)
    assert sum(b["count"] for b in first["foir_of_approvals"]) == len(approvals)


def test_four_fifths_outcomes_and_metrics_equal_the_validation_reports_on_the_holdout() -> None:
    data = HOLDOUT_PATH.read_bytes()
    summary = summarise(
        merge_aggregates(r.aggregates for r in score_file(data, "csv", 300)), ["v1", "v1-approve-055"]
    )
    holdout = packaged_holdout()
    for version, (_, logic) in zip(summary["versions"], VERSIONS, strict=True):
        report = figures(holdout, logic.model, logic.policy, ceiling_foir=0.6)
        assert version["four_fifths"] == report["four_fifths"]
        assert version["outcomes"] == report["outcomes"]
        assert version["approval_rate"] == report["approval_rate"]
        labels = version["labels"]
        assert labels is not None
        assert [round(labels[k] or 0, 4) for k in ("auc", "ks", "brier")] == [
            round(report["model"][k], 4) for k in ("auc", "ks", "brier")
        ]


def test_summarise_refuses_a_baseline_other_than_the_first_version() -> None:
    merged = merge_aggregates(small_parts())
    with pytest.raises(ValueError, match="compared with 'v1'"):
        summarise(merged, ["v1-approve-055", "v1"])


def test_results_and_aggregates_are_json_and_carry_no_personal_data() -> None:
    (result,) = score_file(HEADER + b"\n" + b"\n".join(BODY.split(b"\n")[:50]) + b"\n", "csv", 100)
    text = gzip.decompress(result.results).decode() + json.dumps(result.aggregates)
    applications = [application for application, _ in training_rows()[:50]]
    for application in applications:
        assert application["applicant_name"] not in text and application["applicant_id"] not in text


def test_a_file_of_two_formats_gives_the_same_summary() -> None:
    rows = training_rows()[:300]
    jsonl = b"".join(json.dumps({**a, "loan_approved": y}).encode() + b"\n" for a, y in rows)
    csv_data = HEADER + b"\n" + b"\n".join(BODY.split(b"\n")[:300]) + b"\n"
    from_jsonl = summarise(
        merge_aggregates(r.aggregates for r in score_file(jsonl, "jsonl", 64)), ["v1", "v1-approve-055"]
    )
    from_csv = summarise(
        merge_aggregates(r.aggregates for r in score_file(csv_data, "csv", 97)), ["v1", "v1-approve-055"]
    )
    assert from_jsonl == from_csv
    crlf = csv_data.replace(b"\n", b"\r\n")
    parts = [r.aggregates for r in score_file(crlf, "csv", 50)]
    assert summarise(merge_aggregates(parts), ["v1", "v1-approve-055"]) == from_csv


# -- the fast paths equal the engine's own ------------------------------------------------------------
ODD_TEXT = """ |  | 12| 12 |1_000|+40|-5|12.0|abc|TRUE| true |yes|0|1|999999999999|१२|Salaried |salaried
|Graduate|Male|José|Jo3|ABCDE1234F|10.0.0.1|::1"""
ODD_VALUES = st.sampled_from([*ODD_TEXT.replace("\n", "").split("|"), "", "x" * 70])
CSV_COLUMNS = [*COLUMNS, "device_id", "ip_address", "email"]
SHARED_LAYOUT = CsvLayout(CSV_COLUMNS)


@PROPERTIES
@given(
    application=valid_applications(),
    changes=st.dictionaries(st.sampled_from(CSV_COLUMNS), ODD_VALUES, max_size=4),
)
def test_the_fast_csv_reading_gives_exactly_what_parse_csv_row_gives(
    application: dict[str, Any], changes: dict[str, str]
) -> None:
    text = {name: str(value) for name, value in application.items()}
    record = {name: changes.get(name, text.get(name, "")) for name in CSV_COLUMNS}
    record["loan_approved"] = ""  # no label: the row's validity is the schema's alone
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(record.values())
    parsed = _parse_csv_line(buffer.getvalue(), SHARED_LAYOUT)  # shared: its remembered checks too
    try:
        expected: ParsedRow = ParsedRow(parse_csv_row(record), None, None, [])
    except ValidationFailed as failure:
        expected = ParsedRow(None, None, None, failure.errors)
    assert parsed == expected


@PROPERTIES
@given(application=valid_applications(), counteroffer=st.booleans())
def test_decide_row_gives_what_decide_gives(application: dict[str, Any], counteroffer: bool) -> None:
    for logic in (PACKAGED[1], VARIANT[1]):
        decision = decide(application, logic.model, logic.policy)
        row = decide_row(application, logic.model, logic.policy, counteroffer=counteroffer)
        offer = decision["counteroffer"]
        assert row == RowDecision(
            outcome=decision["outcome"],
            decided_by=decision["decided_by"],
            probability=decision["probability"],
            band=decision["risk_band"],
            model_probability=decision["model_probability"],
            reason_codes=[reason["code"] for reason in decision["reasons"]],
            counteroffer_amount=offer["loan_amount"] if counteroffer and offer is not None else None,
            foir=decision["affordability"]["foir"],
        )


def test_a_batch_without_counteroffers_runs_no_counteroffer_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("searched for a counteroffer the batch did not ask for")

    monkeypatch.setattr(batch, "largest_approvable_loan", refuse)
    monkeypatch.setattr(batch, "shortest_approvable_tenure", refuse)
    data = HEADER + b"\n" + b"\n".join(BODY.split(b"\n")[:300]) + b"\n"
    (result,) = score_file(data, "csv", 300)
    outcomes = Counter(line["versions"]["v1"]["outcome"] for line in result_lines(result))
    assert result.rows_scored == 300 and outcomes["declined"] > 0
    with pytest.raises(AssertionError, match="did not ask for"):
        score_file(data, "csv", 300, counteroffers=True)


def test_merging_aggregates_of_different_batches_is_refused() -> None:
    part = small_parts()[0]
    other = {**part, "baseline": "v2"}
    with pytest.raises(ValueError, match="cannot merge 'v1' with 'v2' at /baseline"):
        merge_aggregates([part, other])
    assert merge_aggregates([]) == {}
