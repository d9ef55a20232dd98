"""Loan outcomes (issue 20): ``POST /v1/decisions/{id}/outcome``.

A lender reports how a decided loan performs: a status on a day (``as_of``). Each is kept (the
decision's history); the decision on record shows the latest by ``as_of``, so an outcome that
arrives late, out of order, never hides a later one; the same outcome again is a replay (200, no
change). Only the decision's own client may report on it: another client's decision is answered
exactly as an unknown one (404).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict

from chalicelib import resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.outcomes import OutcomeStore
from chalicelib.errors import ServiceError, dependency_unavailable, not_found, validation_failed
from chalicelib.observability import count
from chalicelib.records import LOAN_STATUSES, LoanOutcome, OutcomeBatch, OutcomeBatchItem, OutcomeRecorded
from chalicelib.service import clock, listing
from chalicelib.service.dependencies import Dependencies

if TYPE_CHECKING:
    from chalicelib.engine.batch import Format

FIELDS = ("status", "as_of")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _date(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _shape_problems(
    payload: dict[str, Any], prefix: str, fields: tuple[str, ...], today: str | None
) -> list[dict[str, str]]:
    """What is wrong with an outcome's fields (``today``: also judge an ``as_of`` in the future)."""
    problems: list[dict[str, str]] = []
    if payload.get("status") not in LOAN_STATUSES:
        problems.append(
            {"field": f"{prefix}status", "problem": "is required: one of " + ", ".join(LOAN_STATUSES)}
        )
    day = _date(payload.get("as_of"))
    if day is None:
        problems.append({"field": f"{prefix}as_of", "problem": "is required: a date, YYYY-MM-DD"})
    elif today is not None and day.isoformat() > today:
        problems.append({"field": f"{prefix}as_of", "problem": f"is in the future (today is {today} UTC)"})
    problems += [
        {"field": f"{prefix}{name}", "problem": "is not a known field"}
        for name in payload
        if name not in fields
    ]
    return problems


def validated_outcome(payload: Any, today: str) -> LoanOutcome:
    """The body as an outcome; ServiceError 400 naming every field at fault. ``today``: the UTC date
    (an ``as_of`` after it has not happened yet)."""
    if not isinstance(payload, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    problems = _shape_problems(payload, "", FIELDS, today)
    if problems:
        raise validation_failed(problems)
    status = payload["status"]
    return {"status": LOAN_STATUSES[LOAN_STATUSES.index(status)], "as_of": str(payload["as_of"])}


def _store(dependencies: Dependencies) -> OutcomeStore:
    if dependencies.outcomes is None:
        raise RuntimeError("these dependencies have no outcome store")
    return dependencies.outcomes


def record_outcome(
    decision_id: str, payload: Any, dependencies: Dependencies, client_id: str
) -> tuple[OutcomeRecorded, bool]:
    """Record the outcome; returns the answer and whether it was new (False: a replay)."""
    outcome = validated_outcome(payload, clock.now_iso()[:10])
    if not listing.is_uuid(decision_id):
        raise not_found("decision")
    try:
        record = dependencies.store.get_decision(decision_id)
        if record is None or not record["client_id"] or record["client_id"] != client_id:
            raise not_found("decision")
        decided_on = record["created_at"][:10]
        if outcome["as_of"] < decided_on:
            raise validation_failed(
                [{"field": "as_of", "problem": f"is before the decision was made ({decided_on})"}]
            )
        recorded = _store(dependencies).record_outcome(decision_id, outcome)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if recorded.latest is None:  # deleted (retention) between the read and the write
        raise not_found("decision")
    if recorded.created:
        count("LoanOutcomesRecorded")
    body: OutcomeRecorded = {
        "decision_id": decision_id,
        "status": outcome["status"],
        "as_of": outcome["as_of"],
        "latest": recorded.latest,
    }
    return body, recorded.created


# --------------------------------------------------------------------------------------------
# Many at once: POST /v1/outcomes
# --------------------------------------------------------------------------------------------
BATCH_ITEM_FIELDS = ("decision_id", *FIELDS)


def item_problems(item: dict[str, Any], prefix: str, today: str | None) -> list[dict[str, str]]:
    """What is wrong with one outcome of many (an item of ``POST /v1/outcomes``, a row of an
    outcomes batch file): its decision id and its outcome's fields."""
    problems: list[dict[str, str]] = []
    if not isinstance(item.get("decision_id"), str):
        problems.append({"field": f"{prefix}decision_id", "problem": "is required: a decision id"})
    return problems + _shape_problems(item, prefix, BATCH_ITEM_FIELDS, today)


def _validated_batch(payload: Any) -> list[dict[str, Any]]:
    """The batch's outcomes; ServiceError 400 naming every field at fault when the request is not
    what the document says (then nothing is recorded). What only the decision or the date can tell
    (unknown decision, ``as_of`` in the future or before the decision) is judged per outcome."""
    limit = resources.MAX_OUTCOMES_PER_BATCH
    if not isinstance(payload, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    problems = [
        {"field": str(name), "problem": "is not a known field"} for name in payload if name != "outcomes"
    ]
    items = payload.get("outcomes")
    if not isinstance(items, list) or not 1 <= len(items) <= limit:
        problems.insert(0, {"field": "outcomes", "problem": f"is required: a list of 1 to {limit} outcomes"})
        raise validation_failed(problems)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append({"field": f"outcomes[{index}]", "problem": "must be a JSON object"})
            continue
        problems += item_problems(item, f"outcomes[{index}].", None)
    if problems:
        raise validation_failed(problems)
    return items


def record_outcomes(payload: Any, dependencies: Dependencies, client_id: str) -> OutcomeBatch:
    """Each outcome as ``POST /v1/decisions/{id}/outcome`` would record it, in order. An outage
    stops the batch with 503: the outcomes recorded before it stay, and sending the same batch
    again is safe (each is a replay or recorded now)."""
    results: list[OutcomeBatchItem] = []
    for index, item in enumerate(_validated_batch(payload)):
        decision_id = str(item["decision_id"])
        result: OutcomeBatchItem = {"index": index, "decision_id": decision_id, "status_code": 0}
        try:
            body, created = record_outcome(
                decision_id, {"status": item["status"], "as_of": item["as_of"]}, dependencies, client_id
            )
        except ServiceError as error:
            if error.status not in (400, 404):
                raise
            result["status_code"] = error.status
            result["error"] = {"code": error.code, "message": error.message, "details": error.details}
        else:
            result["status_code"] = 201 if created else 200
            result["latest"] = body["latest"]
        results.append(result)
    codes = [result["status_code"] for result in results]
    return {
        "results": results,
        "created": codes.count(201),
        "replayed": codes.count(200),
        "rejected": sum(1 for code in codes if code >= 400),
    }


# --------------------------------------------------------------------------------------------
# Many at once through a batch file: POST /v1/batches with "kind": "outcomes"
# (chalicelib.service.batches runs the upload, the chunks and the completion; this is what an
# outcomes chunk does and what its summary says).
# --------------------------------------------------------------------------------------------
FILE_COLUMNS = BATCH_ITEM_FIELDS  # a CSV's header: decision_id,status,as_of (any order)
RowResult = Literal["recorded", "replayed", "superseded", "not_found", "invalid"]
ROW_RESULTS: tuple[RowResult, ...] = ("recorded", "replayed", "superseded", "not_found", "invalid")
INVALID_ROWS_LISTED = 100  # as a decision batch lists its invalid rows


def check_file_columns(columns: list[str] | None) -> None:
    """An outcomes CSV has exactly the item's columns: another column is refused at the start
    (BadFile), rather than making every row invalid."""
    from chalicelib.engine.batch import BadFile

    others = [name for name in columns or () if name not in FILE_COLUMNS]
    if others:
        raise BadFile(
            "the CSV header has columns an outcomes file does not: "
            + ", ".join(others)
            + " (its columns: "
            + ", ".join(FILE_COLUMNS)
            + ")"
        )


class OutcomeChunk(NamedTuple):
    results: bytes  # gzip JSON Lines, one line per non-blank row: its row, line and result
    aggregates: dict[str, object]  # mergeable by engine.batch.merge_aggregates
    rows_read: int
    rows_applied: int  # recorded, replayed or superseded
    rows_refused: int  # not_found or invalid


def _row_result(
    fields: dict[str, Any], dependencies: Dependencies, client_id: str, today: str
) -> tuple[RowResult, dict[str, Any]]:
    """One row recorded exactly as ``POST /v1/outcomes`` records an item, for the batch's owner: a
    foreign or unknown decision is ``not_found`` (never touched). An outage raises (the chunk is
    delivered again; recording is idempotent, so the rows recorded before it are replays then)."""
    problems = item_problems(fields, "", today)
    if problems:
        return "invalid", {"errors": problems}
    outcome = {"status": fields["status"], "as_of": fields["as_of"]}
    try:
        body, created = record_outcome(str(fields["decision_id"]), outcome, dependencies, client_id)
    except ServiceError as error:
        if error.status == 404:
            return "not_found", {}
        if error.status == 400:
            return "invalid", {"errors": error.details}
        raise
    latest = body["latest"]
    if not created:
        return "replayed", {"latest": latest}
    return ("recorded" if latest == outcome else "superseded"), {"latest": latest}


def record_outcome_rows(
    data: bytes,
    fmt: Format,
    columns: list[str] | None,
    first_row: int,
    dependencies: Dependencies,
    client_id: str,
) -> OutcomeChunk:
    """Record every row of one chunk of an outcomes file (``data``: exactly its bytes)."""
    from chalicelib.engine.batch import plain_records

    today = clock.now_iso()[:10]
    counts: dict[str, int] = {"read": 0, **dict.fromkeys(ROW_RESULTS, 0)}
    invalid: list[dict[str, Any]] = []
    lines: list[str] = []
    for record in plain_records(data, fmt, columns, first_row):
        counts["read"] += 1
        line: dict[str, Any] = {"row": record.row, "line": record.line}
        if record.fields is None:
            result: RowResult = "invalid"
            detail: dict[str, Any] = {"errors": record.errors}
        else:
            decision_id = record.fields.get("decision_id")
            if isinstance(decision_id, str):
                line["decision_id"] = decision_id
            result, detail = _row_result(record.fields, dependencies, client_id, today)
        counts[result] += 1
        if result == "invalid" and len(invalid) < INVALID_ROWS_LISTED:
            invalid.append({"row": record.row, "line": record.line, "errors": detail["errors"]})
        lines.append(json.dumps({**line, "result": result, **detail}, separators=(",", ":")))
    text = "".join(line + "\n" for line in lines)
    applied = counts["recorded"] + counts["replayed"] + counts["superseded"]
    return OutcomeChunk(
        gzip.compress(text.encode(), mtime=0),
        {"kind": "outcomes", "rows": counts, "invalid_rows": invalid},
        counts["read"],
        applied,
        counts["read"] - applied,
    )


class OutcomeRowCounts(TypedDict):
    read: int
    recorded: int  # new, and now the decision's latest outcome
    replayed: int  # the same outcome was recorded before: nothing changed
    superseded: int  # new, kept in the history; a later as_of stays the latest
    not_found: int  # no decision of this client has this id (an unknown or another client's)
    invalid: int  # the row is not an outcome (listed in invalid_rows, the first 100)


class OutcomeBatchSummary(TypedDict):
    kind: Literal["outcomes"]
    rows: OutcomeRowCounts
    invalid_rows: list[dict[str, Any]]  # the first INVALID_ROWS_LISTED by row: row, line, errors
    invalid_rows_not_listed: int


def summarise_batch(merged: dict[str, Any]) -> OutcomeBatchSummary:
    """The summary of an outcomes batch from its chunks' merged aggregates."""
    counts = merged.get("rows") or {}
    rows: OutcomeRowCounts = {
        "read": int(counts.get("read", 0)),
        "recorded": int(counts.get("recorded", 0)),
        "replayed": int(counts.get("replayed", 0)),
        "superseded": int(counts.get("superseded", 0)),
        "not_found": int(counts.get("not_found", 0)),
        "invalid": int(counts.get("invalid", 0)),
    }
    listed = list(merged.get("invalid_rows") or [])
    return {
        "kind": "outcomes",
        "rows": rows,
        "invalid_rows": listed,
        "invalid_rows_not_listed": rows["invalid"] - len(listed),
    }
