"""engine.batch.plain_records: an outcomes chunk's lines as plain records (issue 20), numbered as a
decision batch numbers its rows; and check_file_start with another kind's required columns."""

from __future__ import annotations

import pytest

from chalicelib.engine.batch import BadFile, check_file_start, plain_records

COLUMNS = ["decision_id", "status", "as_of"]


def test_csv_lines_become_records_by_the_headers_names_with_their_row_and_line() -> None:
    data = b'd1,current,2026-01-02\n\n"d,2", paid_off ,2026-01-03\r\nonly,two\n\xff\xfe,x,y\n'

    records = list(plain_records(data, "csv", COLUMNS, first_row=11))

    assert [(r.row, r.line) for r in records] == [(11, 12), (13, 14), (14, 15), (15, 16)]  # blank: 12
    assert records[0].fields == {"decision_id": "d1", "status": "current", "as_of": "2026-01-02"}
    assert records[1].fields == {"decision_id": "d,2", "status": "paid_off", "as_of": "2026-01-03"}
    assert records[2].fields is None
    assert records[2].errors == [{"field": "(row)", "problem": "has 2 fields where the header has 3"}]
    assert records[3].fields is None
    assert records[3].errors == [{"field": "(row)", "problem": "is not UTF-8 text"}]


def test_json_lines_keep_their_values_and_refuse_what_is_not_an_object() -> None:
    data = b'{"decision_id": "d1", "as_of": 5}\n[1, 2]\nnot json\n'

    records = list(plain_records(data, "jsonl", None, first_row=1))

    assert [(r.row, r.line) for r in records] == [(1, 1), (2, 2), (3, 3)]
    assert records[0].fields == {"decision_id": "d1", "as_of": 5}
    assert [r.errors[0]["problem"] for r in records[1:]] == ["must be a JSON object", "is not valid JSON"]


def test_the_start_of_a_file_is_checked_for_the_required_columns_given() -> None:
    assert check_file_start(b"as_of,decision_id,status\n", "csv", COLUMNS) == [
        "as_of",
        "decision_id",
        "status",
    ]
    with pytest.raises(BadFile, match="lacks required columns: status"):
        check_file_start(b"decision_id,as_of\n", "csv", COLUMNS)
