"""Batch scoring (backtests and portfolio runs), pure: bytes of a file in, results and mergeable
aggregates out. No AWS, no I/O: the workers read and write the bytes.

The flow a batch runs (the infrastructure drives it):

1. :func:`check_file_start` on the file's first bytes fails a bad file fast (binary, not UTF-8, CSV
   without the required columns, JSON Lines whose first line is not an object).
2. :func:`plan_chunks` cuts the file into chunks of whole lines in one pass over its bytes.
3. :func:`score_chunk` scores one chunk's bytes with every decision version in one pass: a gzip JSON
   Lines part (one line per input row, in order) and small aggregates.
4. :func:`merge_aggregates` adds the parts' aggregates (associative and commutative: any grouping, any
   order), :func:`summarise` turns the total into the summary a credit committee reads.

File format. One record per line: CSV with a header row (the shipped data's columns; quoted fields
are supported, a newline inside a quoted field is not) or JSON Lines (one application object per
line). Optional columns or keys: ``external_id`` (the caller's row reference, echoed in the results),
and a label, ``loan_approved`` (1 = repaid / approved in the lender's history, as in the shipped
data) or ``defaulted`` (1 = bad); ``loan_approved`` wins when both are given. Rows are numbered from 1
in file order (the CSV header is not a row); blank lines keep their number but are skipped, neither
read nor scored. An invalid row (a field problem, a bad label, a CSV row with the wrong number of
fields, a line that is not a JSON object or not UTF-8) is counted and listed with its line number
and problems; it never fails the chunk. Other CSV columns are ignored (as ``make evaluate`` does); a
JSON Lines record is checked like an API payload, so an unknown key makes its row invalid.

Speed. A batch is not a loop of synchronous decisions: :func:`decide_row` gives exactly
``decide()``'s outcome, decided_by, probability, band and reason codes, but skips what a batch does
not read (favourable factors, the policy checks' messages, suggestions and the notice), computes the
model features once per row for every version and the score once per distinct model, and computes the
counteroffer only when the batch asks for it (``ChunkOptions.counteroffers``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypedDict, cast

from chalicelib.engine.artifact import Model
from chalicelib.engine.counteroffer import (
    find_counteroffer,
    largest_approvable_loan,
    shortest_approvable_tenure,
)
from chalicelib.engine.decision import PROBABILITY_DIGITS, DecisionLogic
from chalicelib.engine.explain import MAX_REASONS, factor_of
from chalicelib.engine.features import affordability_ratios, model_features
from chalicelib.engine.fraud import application_flags, fraud_reasons, refers, sorted_flags
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.outcome import assess_with
from chalicelib.engine.policy import DECLINING, REFER, WARNING
from chalicelib.engine.schema import (
    APPLICATION_FIELDS,
    FieldSpec,
    ValidationFailed,
    parse_csv_row,
    validate_application,
    validate_fields,
)
from chalicelib.engine.types import (
    APPROVED,
    DECLINED,
    MANUAL_REVIEW,
    Application,
    DecidedBy,
    Outcome,
    RiskBand,
)
from chalicelib.engine.validation import OUTCOMES, GroupRate, age_band, group_rates

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

HEAD_BYTES = 64 * 1024  # what check_file_start reads at most
EXTERNAL_ID = "external_id"
EXTERNAL_ID_MAX_LENGTH = 128
GOOD_LABEL = "loan_approved"  # 1 = repaid / approved (the shipped data's label)
BAD_LABEL = "defaulted"  # 1 = bad
EXTRA_COLUMNS = (EXTERNAL_ID, GOOD_LABEL, BAD_LABEL)
REQUIRED_COLUMNS = tuple(name for name, spec in APPLICATION_FIELDS.items() if spec.required)
INVALID_ROWS_LISTED = 100  # invalid rows listed with their problems; the rest are counted
TOP_REASON_CODES = 10
# FOIR of approvals: fixed bins [0, 0.1), [0.1, 0.2), ... [0.6, inf): the policy caps FOIR near 0.5-0.6.
FOIR_EDGES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
PROBABILITY_UNITS = 10**PROBABILITY_DIGITS  # histogram keys: probabilities in millionths
GZIP_LEVEL = 6


class BadFile(ValueError):
    """A file a batch cannot read at all; ``reason`` says what is wrong, in a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChunkSpec(NamedTuple):
    # 0-based; the contract's name shadows tuple.index (never called on a ChunkSpec)
    index: int  # type: ignore[assignment]
    start_byte: int
    end_byte: int  # exclusive; a chunk is whole lines
    first_row: int  # 1-based number of the chunk's first row (its first line after any header)
    rows: int  # lines in the chunk (blank lines included: they keep their number, and are skipped)


class ChunkOptions(NamedTuple):
    counteroffers: bool = False  # compute counteroffer amounts (off for backtests: it costs searches)


class ChunkResult(NamedTuple):
    results: bytes  # gzip JSON Lines, one line per non-blank input row, in order
    aggregates: dict[str, object]  # mergeable (merge_aggregates), JSON-serialisable, small
    rows_read: int
    rows_scored: int
    rows_invalid: int


# -- the start of a file ---------------------------------------------------------------------------
def _first_line(text: str, head_length: int) -> str:
    end = text.find("\n")
    if end < 0:
        if head_length >= HEAD_BYTES:
            raise BadFile(
                f"line 1 is longer than {HEAD_BYTES} bytes: not a CSV header or a JSON Lines record"
            )
        return text
    return text[:end]


def check_file_start(
    head: bytes, fmt: Format, required: Sequence[str] = REQUIRED_COLUMNS
) -> list[str] | None:
    """Fail fast on a file a batch cannot read: ``head`` is the file's first bytes (at most
    ``HEAD_BYTES``, possibly cutting a line or a character). Returns the CSV's column names (None for
    JSON Lines); raises :class:`BadFile` naming what is wrong. ``required``: the CSV's columns
    (an application's required fields; an outcomes file's are its own)."""
    if fmt not in FORMATS:
        raise BadFile(f"unknown format {fmt!r}: csv or jsonl")
    if not head.strip():
        raise BadFile("the file is empty")
    if b"\x00" in head:
        raise BadFile("the file is binary (it contains NUL bytes), not CSV or JSON Lines text")
    try:  # incremental: a multi-byte character cut at the end of the head is not an error
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise BadFile(f"the file is not UTF-8 text (byte {error.start} of the file)") from None
    if fmt == "csv":
        columns = next(csv.reader([_first_line(text, len(head)).rstrip("\r")]), [])
        columns = [name.strip() for name in columns]
        missing = [name for name in required if name not in columns]
        if missing:
            raise BadFile("the CSV header lacks required columns: " + ", ".join(missing))
        duplicated = sorted({name for name in columns if columns.count(name) > 1})
        if duplicated:
            raise BadFile("the CSV header repeats columns: " + ", ".join(duplicated))
        return columns
    lines = text.split("\n")
    number, line = next(((n, line) for n, line in enumerate(lines, start=1) if line.strip()), (1, ""))
    if number == len(lines) and len(head) >= HEAD_BYTES:
        raise BadFile(f"line {number} is longer than {HEAD_BYTES} bytes: not a JSON Lines record")
    try:
        record = json.loads(line)
    except ValueError:
        raise BadFile(f"line {number} is not JSON: not a JSON Lines file") from None
    if not isinstance(record, dict):
        raise BadFile(f"line {number} is not a JSON object: a JSON Lines file of applications is needed")
    return None


# -- the chunk plan ---------------------------------------------------------------------------------
def _nth_newline(block: bytes, start: int, n: int, newlines: int) -> int:
    """Index of the ``n``-th newline at or after ``start`` (``newlines`` >= n of them follow it): a
    guess from the average line length, corrected by counting (C speed), then a few finds."""
    guess = min(len(block), start + (len(block) - start) * n // newlines)
    before_guess = block.count(b"\n", start, guess)
    if before_guess >= n:  # the n-th is before the guess: step back over the ones after it
        position = guess
        for _ in range(before_guess - n + 1):
            position = block.rfind(b"\n", start, position)
        return position
    position = guess - 1
    for _ in range(n - before_guess):
        position = block.find(b"\n", position + 1)
    return position


def plan_chunks(stream: Iterable[bytes], rows_per_chunk: int, *, has_header: bool) -> list[ChunkSpec]:
    """Cut a file into chunks of ``rows_per_chunk`` lines (the last may be shorter) in one pass over
    its bytes, read in blocks of any size. With ``has_header`` the first line is not in any chunk. A
    last line without a newline is a line; a file of nothing but a header has no chunks."""
    if rows_per_chunk < 1:
        raise ValueError("rows_per_chunk must be at least 1")
    chunks: list[ChunkSpec] = []
    offset = 0  # bytes seen before the current block
    in_header = has_header
    chunk_start = 0  # byte where the current chunk starts (valid when not in_header)
    lines_in_chunk = 0
    next_row = 1
    pending = False  # bytes after the last newline (a line not yet ended)
    for block in stream:
        if not block:
            continue
        position = 0
        if in_header:
            end = block.find(b"\n")
            if end < 0:
                offset += len(block)
                continue
            in_header, position = False, end + 1
            chunk_start = offset + position
        length = len(block)
        newlines = block.count(b"\n", position)  # after ``position``: counted once per block
        while position < length:
            wanted = rows_per_chunk - lines_in_chunk
            if newlines < wanted:  # the chunk does not end in this block
                lines_in_chunk += newlines
                pending = block.rfind(b"\n") < length - 1
                position = length
                break
            end = _nth_newline(block, position, wanted, newlines)
            chunks.append(ChunkSpec(len(chunks), chunk_start, offset + end + 1, next_row, rows_per_chunk))
            next_row += rows_per_chunk
            chunk_start, lines_in_chunk, position = offset + end + 1, 0, end + 1
            newlines -= wanted
            pending = False
        offset += length
    if in_header:
        return chunks
    if pending:
        lines_in_chunk += 1
    if lines_in_chunk:
        chunks.append(ChunkSpec(len(chunks), chunk_start, offset, next_row, lines_in_chunk))
    return chunks


# -- deciding one row for a batch --------------------------------------------------------------------
class RowDecision(NamedTuple):
    outcome: Outcome
    decided_by: DecidedBy
    probability: float  # the final view, as decide(): 0.0 when a declining rule breached
    band: RiskBand  # band of ``probability``
    model_probability: float
    reason_codes: list[str]
    counteroffer_amount: int | None
    foir: float


def _model_reason_codes(model: Model, features: Mapping[str, Any], limit: int, skip: set[str]) -> list[str]:
    """``explain.model_reasons``'s codes: the factors that lost the most points (ties: feature order)."""
    lost: list[tuple[int, str]] = []
    for feature in model.numeric:
        points = feature.points[bisect_right(feature.edges, features[feature.name])]
        if feature.best_points > points and feature.name not in skip:
            lost.append((points - feature.best_points, feature.name))
    for category in model.categorical:
        points = category.points[features[category.name]]
        if category.best_points > points and category.name not in skip:
            lost.append((points - category.best_points, category.name))
    lost.sort(key=lambda item: item[0])  # stable: feature order breaks ties
    return [f"RSN-{factor_of(name).code}" for _, name in lost[:limit]]


def _score(model: Model, features: Mapping[str, Any]) -> float:
    total = model.base_points
    for feature in model.numeric:
        total += feature.points[bisect_right(feature.edges, features[feature.name])]
    for category in model.categorical:
        total += category.points[features[category.name]]
    return model.probability(total)


def decide_row(
    application: Application,
    model: Model,
    policy: Policy,
    *,
    ratios: Mapping[str, float] | None = None,
    features: Mapping[str, Any] | None = None,
    model_probability: float | None = None,
    counteroffer: bool = False,
) -> RowDecision:
    """``decide(application, model, policy)``'s outcome, decided_by, probability, band, reason codes
    and counteroffer amount, without what a batch does not read. ``ratios``, ``features`` and
    ``model_probability`` may pass in what the caller already computed for this application
    (``features`` of those ``ratios``; ``model_probability`` of ``model`` on those features)."""
    if ratios is None:
        ratios = affordability_ratios(application)
    if features is None:
        features = model_features(application, ratios)
    if model_probability is None:
        model_probability = _score(model, features)
    assessment = assess_with(model, policy, application, dict(ratios), model_probability)
    outcome, decided_by = assessment.outcome, assessment.decided_by
    codes: list[str] = []
    amount: int | None = None
    if outcome != APPROVED:  # explain.principal_reasons, by code
        breached = assessment.breached
        blocking = [rule for rule in breached if rule.severity in DECLINING]
        policy_rules = blocking + [rule for rule in breached if rule.severity == REFER]
        warnings = [rule for rule in breached if rule.severity == WARNING]
        if not blocking and "policy" in decided_by and len(warnings) >= policy.warnings_for_review:
            policy_rules += warnings
        policy_rules = policy_rules[:MAX_REASONS]
        codes = [rule.id for rule in policy_rules]
        if "model" in decided_by:
            skip = {rule.factor for rule in policy_rules}
            codes += _model_reason_codes(model, features, MAX_REASONS - len(codes), skip)
        if counteroffer:
            loan = largest_approvable_loan(model, policy, application)
            tenure = shortest_approvable_tenure(model, policy, application) if loan is None else None
            offer = find_counteroffer(model, policy, application, loan, tenure)
            amount = None if offer is None else offer["loan_amount"]
    flags = sorted_flags(application_flags(application, policy.fraud))
    if refers(flags) and outcome != DECLINED:
        if outcome == APPROVED:
            outcome, decided_by = MANUAL_REVIEW, "policy"
        codes = ([str(reason["code"]) for reason in fraud_reasons(flags)] + codes)[:MAX_REASONS]
    probability = round(assessment.probability, PROBABILITY_DIGITS)
    return RowDecision(
        outcome=outcome,
        decided_by=decided_by,
        probability=probability,
        band=model.risk_band(probability),
        model_probability=round(model_probability, PROBABILITY_DIGITS),
        reason_codes=codes,
        counteroffer_amount=amount,
        foir=round(assessment.ratios["foir"], 4),
    )


# -- reading rows -----------------------------------------------------------------------------------
class ParsedRow(NamedTuple):
    application: Application | None  # None: invalid
    external_id: str | None
    label: int | None  # 1 = good (repaid / approved), 0 = bad; None: no label
    errors: list[dict[str, str]]


def _label_of(value: object, name: str) -> tuple[int | None, str | None]:
    """A 0/1 label (JSON 0/1/true/false, or the text "0"/"1"/"true"/"false"); empty or null: none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    text = str(value).strip().lower()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in ("1", "true"):
        return 1 if name == GOOD_LABEL else 0, None
    if text in ("0", "false"):
        return 0 if name == GOOD_LABEL else 1, None
    return None, "must be 0 or 1"


def _extras(record: Mapping[str, object]) -> tuple[str | None, int | None, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    external: str | None = None
    raw_id = record.get(EXTERNAL_ID)
    if raw_id is not None and raw_id != "":
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            errors.append({"field": EXTERNAL_ID, "problem": "must be a string or an integer"})
        elif len(str(raw_id)) > EXTERNAL_ID_MAX_LENGTH:
            errors.append(
                {"field": EXTERNAL_ID, "problem": f"must be at most {EXTERNAL_ID_MAX_LENGTH} characters"}
            )
        else:
            external = str(raw_id)
    label: int | None = None
    for name in (GOOD_LABEL, BAD_LABEL):
        if name in record:
            value, problem = _label_of(record[name], name)
            if problem is not None:
                errors.append({"field": name, "problem": problem})
            elif value is not None and label is None:
                label = value
    return external, label, errors


def _csv_fields(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line]), [])


_REFUSED = object()  # a value the schema refuses
CHECKED_VALUES_KEPT = 50_000  # distinct (field, text) checks remembered per chunk


class CsvLayout:
    """Where a CSV file's columns are, and the fast reading of its rows: a row whose every value
    converts and checks plainly (integers in range, booleans, categories) is taken as it is; any other
    row goes through ``schema.parse_csv_row``, which names every problem. The fast reading accepts
    nothing ``parse_csv_row`` refuses and gives the same application (tests/unit/engine/test_batch.py)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        position = {name: index for index, name in enumerate(self.columns)}
        self.fast = all(name in position for name in REQUIRED_COLUMNS)
        self.plain: list[tuple[str, int, str, bool, int, int, frozenset[object]]] = []
        self.other: dict[str, FieldSpec] = {}  # names, patterns, IP addresses: checked by the schema
        self.other_positions: list[tuple[str, int]] = []
        for name, spec in APPLICATION_FIELDS.items():
            if name not in position:
                continue
            if spec.kind in ("integer", "boolean", "category"):
                low = spec.minimum if spec.minimum is not None else -(2**63)
                high = spec.maximum if spec.maximum is not None else 2**63
                self.plain.append(
                    (name, position[name], spec.kind, spec.required, low, high, frozenset(spec.choices))
                )
            else:
                self.other[name] = spec
                self.other_positions.append((name, position[name]))
        self.extras = [(name, position[name]) for name in EXTRA_COLUMNS if name in position]
        self.checked: dict[tuple[str, str], object] = {}  # (field, text) -> its checked value or _REFUSED

    def fast_application(self, values: Sequence[str]) -> Application | None:
        """The validated application, or None when the row needs the schema's full check."""
        if not self.fast:
            return None
        application: dict[str, Any] = {}
        for name, index, kind, required, low, high, choices in self.plain:
            raw = values[index]
            if raw == "":
                if required:
                    return None
                continue
            if kind == "integer":
                try:
                    number = int(raw)
                except ValueError:
                    return None
                if (choices and number not in choices) or number < low or number > high:
                    return None
                application[name] = number
            elif kind == "boolean":
                lowered = raw.strip().lower()
                if lowered not in ("true", "false"):
                    return None
                application[name] = lowered == "true"
            elif raw in choices:
                application[name] = raw
            else:
                return None
        for name, index in self.other_positions:
            raw = values[index]
            if raw == "":
                continue
            checked = self.checked.get((name, raw))
            if checked is None:  # checked once per distinct value (cities, names repeat)
                try:
                    checked = validate_fields({name: raw}, {name: self.other[name]})[name]
                except ValidationFailed:
                    checked = _REFUSED
                if len(self.checked) < CHECKED_VALUES_KEPT:
                    self.checked[(name, raw)] = checked
            if checked is _REFUSED:
                return None
            application[name] = checked
        # Every field checked as validate_application checks it (a test holds the two equal).
        return cast(Application, application)


def _parse_csv_line(line: str, layout: CsvLayout) -> ParsedRow:
    columns = layout.columns
    try:
        values = _csv_fields(line)
    except csv.Error as error:
        return ParsedRow(None, None, None, [{"field": "(row)", "problem": f"is not a CSV record ({error})"}])
    if len(values) != len(columns):
        problem = f"has {len(values)} fields where the header has {len(columns)}"
        return ParsedRow(None, None, None, [{"field": "(row)", "problem": problem}])
    if layout.extras:
        external, label, errors = _extras({name: values[index] for name, index in layout.extras})
    else:
        external, label, errors = None, None, []
    if not errors:
        application = layout.fast_application(values)
        if application is not None:
            return ParsedRow(application, external, label, [])
    try:
        application = parse_csv_row(dict(zip(columns, values, strict=True)))
    except ValidationFailed as failure:
        return ParsedRow(None, external, label, failure.errors + errors)
    if errors:
        return ParsedRow(None, external, label, errors)
    return ParsedRow(application, external, label, [])


def _parse_json_line(line: str) -> ParsedRow:
    try:
        record = json.loads(line.lstrip("\ufeff"))  # a byte-order mark may open the file
    except ValueError:
        return ParsedRow(None, None, None, [{"field": "(row)", "problem": "is not valid JSON"}])
    if not isinstance(record, dict):
        return ParsedRow(None, None, None, [{"field": "(row)", "problem": "must be a JSON object"}])
    external, label, errors = _extras(record)
    payload = {key: value for key, value in record.items() if key not in EXTRA_COLUMNS}
    try:
        application = validate_application(payload)
    except ValidationFailed as failure:
        return ParsedRow(None, external, label, failure.errors + errors)
    if errors:
        return ParsedRow(None, external, label, errors)
    return ParsedRow(application, external, label, [])


def _lines(data: bytes) -> list[str | None]:
    """The chunk's lines as text (None: a line that is not UTF-8), without the final newline."""
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    try:
        return list(data.decode("utf-8").split("\n")[: len(raw)])
    except UnicodeDecodeError:
        decoded: list[str | None] = []
        for line in raw:
            try:
                decoded.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        return decoded


def _parse_line(line: str | None, fmt: Format, layout: CsvLayout) -> ParsedRow:
    """One line of a file (None: not UTF-8), read as a batch reads it."""
    if line is None:
        return ParsedRow(None, None, None, [{"field": "(row)", "problem": "is not UTF-8 text"}])
    if fmt == "csv":
        return _parse_csv_line(line.rstrip("\r"), layout)
    return _parse_json_line(line)


def parse_file(data: bytes, fmt: Format) -> Iterator[tuple[int, ParsedRow]]:
    """A whole (small) file's rows as a batch reads them: each non-blank line's file line number
    (1-based; a CSV's header is line 1) and its :class:`ParsedRow`. The file's start is checked
    first (:func:`check_file_start`, raising :class:`BadFile`). The uploaded holdout of a version's
    registration reads its file through this, so it reads rows exactly as a backtest of it would."""
    columns = check_file_start(data[:HEAD_BYTES], fmt)
    header_lines = 0
    if fmt == "csv":
        end = data.find(b"\n")
        data, header_lines = (b"" if end < 0 else data[end + 1 :]), 1
    layout = CsvLayout(columns or ())
    for offset, line in enumerate(_lines(data)):
        if line is not None and not line.strip():
            continue
        yield offset + 1 + header_lines, _parse_line(line, fmt, layout)


# -- plain records (an outcomes batch: issue 20) ---------------------------------------------------
class PlainRecord(NamedTuple):
    row: int  # 1-based row number (the CSV header is not a row)
    line: int  # line number in the file (the CSV header is line 1)
    fields: dict[str, Any] | None  # None: the line is not a record (``errors`` say why)
    errors: list[dict[str, str]]


def plain_records(
    data: bytes, fmt: Format, columns: Sequence[str] | None, first_row: int
) -> Iterator[PlainRecord]:
    """One chunk's non-blank lines as plain records, each line's fields by name (CSV: the header's
    names, values as text; JSON Lines: the object), for a batch whose rows are not applications.
    What the fields mean is the caller's to check."""
    header_lines = 1 if fmt == "csv" else 0
    names = list(columns or ())
    for offset, line in enumerate(_lines(data)):
        row = first_row + offset
        if line is not None and not line.strip():
            continue
        number = row + header_lines
        if line is None:
            yield PlainRecord(row, number, None, [{"field": "(row)", "problem": "is not UTF-8 text"}])
        elif fmt == "csv":
            try:
                values = _csv_fields(line.rstrip("\r"))
            except csv.Error as error:
                problem = f"is not a CSV record ({error})"
                yield PlainRecord(row, number, None, [{"field": "(row)", "problem": problem}])
                continue
            if len(values) != len(names):
                problem = f"has {len(values)} fields where the header has {len(names)}"
                yield PlainRecord(row, number, None, [{"field": "(row)", "problem": problem}])
                continue
            yield PlainRecord(row, number, {n: v.strip() for n, v in zip(names, values, strict=True)}, [])
        else:
            try:
                record = json.loads(line.lstrip("\ufeff"))
            except ValueError:
                yield PlainRecord(row, number, None, [{"field": "(row)", "problem": "is not valid JSON"}])
                continue
            if not isinstance(record, dict):
                yield PlainRecord(row, number, None, [{"field": "(row)", "problem": "must be a JSON object"}])
                continue
            yield PlainRecord(row, number, record, [])


# -- aggregates -------------------------------------------------------------------------------------
def _new_version_aggregate() -> dict[str, Any]:
    return {
        "outcomes": dict.fromkeys(OUTCOMES, 0),
        "decided_by": {},
        "probability_sum": 0,  # model probabilities in millionths, summed (exact: integers)
        "approved_probability_sum": 0,  # the same over approvals
        "labelled": {},  # model probability (millionths) -> [bad, good]
        "approved_labels": [0, 0],  # approvals with a label: [bad, good]
        "foir_of_approvals": [0] * (len(FOIR_EDGES) + 1),
        "reason_codes": {},
        "gender": {},  # group -> [rows, approved]
        "age_band": {},
    }


def _add(counter: dict[str, Any], key: str, amount: int = 1) -> None:
    counter[key] = counter.get(key, 0) + amount


class _Fact(NamedTuple):
    """What one row adds to one version's aggregates (counted in bulk at the end of a chunk)."""

    outcome: str
    decided_by: str
    probability_key: int  # the model probability in millionths
    foir_bin: int  # approvals: the FOIR bin; -1 otherwise
    label: int  # 1 good, 0 bad, -1 none
    gender: str
    age_band: str


def _fact(decision: RowDecision, label: int | None, gender: str, band: str) -> _Fact:
    approved = decision.outcome == APPROVED
    return _Fact(
        decision.outcome,
        decision.decided_by,
        round(decision.model_probability * PROBABILITY_UNITS),
        bisect_right(FOIR_EDGES, decision.foir) if approved else -1,
        -1 if label is None else label,
        gender,
        band,
    )


def _tally(aggregate: dict[str, Any], facts: Iterable[_Fact], reason_codes: Iterable[str]) -> None:
    """Add counted facts and reason codes to one version's aggregate."""
    for fact, n in Counter(facts).items():
        approved = fact.outcome == APPROVED
        key = str(fact.probability_key)
        _add(aggregate["outcomes"], fact.outcome, n)
        _add(aggregate["decided_by"], fact.decided_by, n)
        aggregate["probability_sum"] += fact.probability_key * n
        if approved:
            aggregate["approved_probability_sum"] += fact.probability_key * n
            aggregate["foir_of_approvals"][fact.foir_bin] += n
        if fact.label >= 0:
            aggregate["labelled"].setdefault(key, [0, 0])[fact.label] += n
            if approved:
                aggregate["approved_labels"][fact.label] += n
        for attribute, group in (("gender", fact.gender), ("age_band", fact.age_band)):
            tally = aggregate[attribute].setdefault(group, [0, 0])
            tally[0] += n
            tally[1] += n * approved
    for code, n in Counter(reason_codes).items():
        _add(aggregate["reason_codes"], code, n)


def _swap_key(before: str, after: str) -> str:
    return f"{before}>{after}"


def score_chunk(
    data: bytes,
    fmt: Format,
    columns: Sequence[str] | None,
    first_row: int,
    versions: Sequence[tuple[str, DecisionLogic]],
    options: ChunkOptions,
) -> ChunkResult:
    """Score every row of one chunk (``data``: exactly its bytes, whole lines) with every version in
    one pass. Row numbers start at ``first_row``; CSV needs ``columns`` (check_file_start's)."""
    if not versions:
        raise ValueError("at least one decision version is needed")
    if fmt == "csv" and not columns:
        raise ValueError("a CSV chunk needs the header's column names")
    header_lines = 1 if fmt == "csv" else 0
    layout = CsvLayout(columns or ())
    ids = [version_id for version_id, _ in versions]
    per_version = {version_id: _new_version_aggregate() for version_id in ids}
    baseline = ids[0]
    facts: list[list[_Fact]] = [[] for _ in ids]
    codes: list[list[str]] = [[] for _ in ids]
    transitions: list[list[tuple[str, str]]] = [[] for _ in ids]
    invalid: list[dict[str, Any]] = []
    rows_read = rows_scored = rows_labelled = 0
    out: list[str] = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    models: list[Model] = []  # distinct models (by identity): each scores a row once
    model_slot = []
    for _, logic in versions:
        slot = next((i for i, known in enumerate(models) if known is logic.model), None)
        if slot is None:
            models.append(logic.model)
            slot = len(models) - 1
        model_slot.append(slot)
    for offset, line in enumerate(_lines(data)):
        row = first_row + offset
        if line is not None and not line.strip():
            continue  # a blank line: skipped, its number kept
        rows_read += 1
        parsed = _parse_line(line, fmt, layout)
        application = parsed.application
        if application is None:
            if len(invalid) < INVALID_ROWS_LISTED:
                invalid.append({"row": row, "line": row + header_lines, "errors": parsed.errors})
            out.append(
                dumps(
                    {
                        "row": row,
                        "external_id": parsed.external_id,
                        "valid": False,
                        "errors": parsed.errors,
                        "versions": {},
                    }
                )
            )
            continue
        rows_scored += 1
        rows_labelled += parsed.label is not None
        ratios = affordability_ratios(application)
        features = model_features(application, ratios)
        probabilities = [_score(model, features) for model in models]
        gender = str(application.get("gender", "unknown"))
        band = age_band(int(application["age"]))
        decided: dict[str, dict[str, object]] = {}
        first_outcome = ""
        for index, (version_id, logic) in enumerate(versions):
            decision = decide_row(
                application,
                logic.model,
                logic.policy,
                ratios=ratios,
                features=features,
                model_probability=probabilities[model_slot[index]],
                counteroffer=options.counteroffers,
            )
            facts[index].append(_fact(decision, parsed.label, gender, band))
            codes[index].extend(decision.reason_codes)
            if index == 0:
                first_outcome = decision.outcome
            else:
                transitions[index].append((first_outcome, decision.outcome))
            decided[version_id] = {
                "outcome": decision.outcome,
                "decided_by": decision.decided_by,
                "probability": decision.probability,
                "band": decision.band,
                "reason_codes": decision.reason_codes,
                "counteroffer_amount": decision.counteroffer_amount,
            }
        out.append(dumps({"row": row, "external_id": parsed.external_id, "valid": True, "versions": decided}))
    rows_invalid = rows_read - rows_scored
    swaps: dict[str, dict[str, int]] = {}
    for index, version_id in enumerate(ids):
        _tally(per_version[version_id], facts[index], codes[index])
        if index:
            counted = Counter(transitions[index])
            swaps[version_id] = {_swap_key(*pair): n for pair, n in sorted(counted.items())}
    aggregates: dict[str, object] = {
        "baseline": baseline,
        "rows": {
            "read": rows_read,
            "scored": rows_scored,
            "invalid": rows_invalid,
            "labelled": rows_labelled,
        },
        "invalid_rows": invalid,
        "versions": per_version,
        "swaps": swaps,
    }
    text = "".join(line + "\n" for line in out)
    results = gzip.compress(text.encode("utf-8"), compresslevel=GZIP_LEVEL, mtime=0)
    return ChunkResult(results, aggregates, rows_read, rows_scored, rows_invalid)


def _copy(value: object) -> object:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _add_counts(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """A flat counter: key -> count, or key -> list of counts (e.g. ``[bad, good]``)."""
    for key, value in source.items():
        mine = target.get(key)
        if mine is None:
            target[key] = list(value) if isinstance(value, list) else value
        elif isinstance(value, list):
            if len(mine) != len(value):
                raise ValueError(f"aggregates: lists of counts of different lengths at {key}")
            target[key] = [a + b for a, b in zip(mine, value, strict=True)]
        else:
            target[key] = mine + value


def _add_into(target: dict[str, object], source: Mapping[str, object], path: str) -> None:
    """Add ``source``'s counts into ``target`` in place (``source`` is left as it was)."""
    for key, value in source.items():
        if key not in target:
            target[key] = _copy(value)
            continue
        current = target[key]
        if type(current) is int and type(value) is int:  # counts (never booleans)
            target[key] = current + value
        elif isinstance(current, dict) and isinstance(value, dict):
            sample = next(iter(value.values()), 0)
            if type(sample) is int or isinstance(sample, list):  # a counter: the hot path
                try:
                    _add_counts(current, value)
                except TypeError:
                    raise ValueError(f"aggregates: not counts at {path}/{key}") from None
            else:
                _add_into(current, value, f"{path}/{key}")
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
            target[key] = [a + b for a, b in zip(current, value, strict=True)]
        elif not (isinstance(current, str) and current == value):
            raise ValueError(f"aggregates: cannot merge {current!r} with {value!r} at {path}/{key}")


def _first_invalid_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [dict(row) for row in sorted(rows, key=lambda row: int(row["row"]))[:INVALID_ROWS_LISTED]]


def merge_aggregates(parts: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """Add the parts' aggregates (counts add; the invalid rows listed are the first
    ``INVALID_ROWS_LISTED`` by row number): associative and commutative. The parts are left as
    they were."""
    merged: dict[str, object] = {}
    invalid: list[Mapping[str, Any]] = []
    for part in parts:
        invalid = _first_invalid_rows(
            [*invalid, *cast(list[Mapping[str, Any]], part.get("invalid_rows", []))]
        )
        _add_into(merged, {key: value for key, value in part.items() if key != "invalid_rows"}, "")
        merged["invalid_rows"] = invalid
    return merged


# -- the summary ------------------------------------------------------------------------------------
class FieldProblem(TypedDict):
    field: str
    problem: str


class InvalidRow(TypedDict):
    row: int
    line: int  # line number in the file (the CSV header is line 1)
    errors: list[FieldProblem]


class RowCounts(TypedDict):
    read: int
    scored: int
    invalid: int
    labelled: int


class FoirBin(TypedDict):
    bin: str  # "0.1-0.2"; the last "0.6+"
    count: int


class ReasonCount(TypedDict):
    code: str
    count: int


class LabelFigures(TypedDict):
    """Where labels exist: the model's discrimination and calibration on the labelled rows (the model
    probability of repayment), and the bad rate among the labelled approvals."""

    rows: int
    auc: float | None  # None when one label is missing
    ks: float | None
    brier: float
    bad_rate_of_approvals: float | None  # None without labelled approvals


class VersionSummary(TypedDict):
    version_id: str
    outcomes: dict[str, int]
    decided_by: dict[str, int]
    approval_rate: float | None
    mean_probability: float | None  # the model's probability of repayment, over scored rows
    expected_bad_rate_of_approvals: float | None  # mean of 1 - probability over approvals
    foir_of_approvals: list[FoirBin]
    top_reason_codes: list[ReasonCount]
    four_fifths: dict[str, list[GroupRate]]  # "gender" | "age_band"
    labels: LabelFigures | None


class SwapSet(TypedDict):
    """How ``version_id``'s outcomes differ from ``against``'s (the first version's) on the same rows."""

    version_id: str
    against: str
    approve_to_decline: int
    decline_to_approve: int
    to_review: int  # approved or declined by the first, manual review by this one
    from_review: int  # manual review by the first, approved or declined by this one
    unchanged: int
    matrix: dict[str, dict[str, int]]  # the first's outcome -> this one's -> rows


class BatchSummary(TypedDict):
    rows: RowCounts
    invalid_rows: list[InvalidRow]  # the first INVALID_ROWS_LISTED by row number
    invalid_rows_not_listed: int
    versions: list[VersionSummary]
    swaps: list[SwapSet]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def label_figures(
    labelled: Mapping[str, Sequence[int]], approved_labels: Sequence[int]
) -> LabelFigures | None:
    """AUC, KS and Brier from counts of (bad, good) per probability: equal to the row-by-row
    metrics on the same probabilities (ties count half in the AUC)."""
    cells = sorted((int(key), int(bad), int(good)) for key, (bad, good) in labelled.items())
    negatives = sum(bad for _, bad, _ in cells)
    positives = sum(good for _, _, good in cells)
    rows = positives + negatives
    if not rows:
        return None
    auc_sum = 0.0
    ks = 0.0
    seen_bad = seen_good = 0
    squared = 0.0
    for key, bad, good in cells:
        probability = key / PROBABILITY_UNITS
        auc_sum += good * (seen_bad + bad / 2)
        seen_bad += bad
        seen_good += good
        if positives and negatives:
            ks = max(ks, abs(seen_good / positives - seen_bad / negatives))
        squared += bad * probability**2 + good * (1 - probability) ** 2
    both = bool(positives and negatives)
    approvals = approved_labels[0] + approved_labels[1]
    return {
        "rows": rows,
        "auc": round(auc_sum / (positives * negatives), 6) if both else None,
        "ks": round(ks, 6) if both else None,
        "brier": round(squared / rows, 6),
        "bad_rate_of_approvals": _rate(approved_labels[0], approvals),
    }


def _foir_bins(counts: Sequence[int]) -> list[FoirBin]:
    lows = (0.0, *FOIR_EDGES)
    names = [f"{low:.1f}-{high:.1f}" for low, high in zip(lows, FOIR_EDGES, strict=False)]
    names.append(f"{FOIR_EDGES[-1]:.1f}+")
    return [{"bin": name, "count": int(n)} for name, n in zip(names, counts, strict=True)]


def _version_summary(version_id: str, aggregate: Mapping[str, Any]) -> VersionSummary:
    outcomes: dict[str, int] = {outcome: int(aggregate["outcomes"].get(outcome, 0)) for outcome in OUTCOMES}
    rows = sum(outcomes.values())
    approvals = outcomes[APPROVED]
    probability_sum = int(aggregate["probability_sum"])
    approved_sum = int(aggregate["approved_probability_sum"])
    reasons = sorted(aggregate["reason_codes"].items(), key=lambda item: (-item[1], item[0]))
    return {
        "version_id": version_id,
        "outcomes": outcomes,
        "decided_by": dict(sorted(aggregate["decided_by"].items())),
        "approval_rate": _rate(outcomes[APPROVED], rows),
        "mean_probability": round(probability_sum / PROBABILITY_UNITS / rows, 6) if rows else None,
        "expected_bad_rate_of_approvals": (
            round((approvals * PROBABILITY_UNITS - approved_sum) / PROBABILITY_UNITS / approvals, 6)
            if approvals
            else None
        ),
        "foir_of_approvals": _foir_bins(aggregate["foir_of_approvals"]),
        "top_reason_codes": [{"code": code, "count": n} for code, n in reasons[:TOP_REASON_CODES]],
        "four_fifths": {
            "gender": group_rates({group: (n, a) for group, (n, a) in aggregate["gender"].items()}),
            "age_band": group_rates({group: (n, a) for group, (n, a) in aggregate["age_band"].items()}),
        },
        "labels": label_figures(aggregate["labelled"], aggregate["approved_labels"]),
    }


def _swap_set(version_id: str, against: str, counts: Mapping[str, int]) -> SwapSet:
    matrix: dict[str, dict[str, int]] = {
        before: {after: int(counts.get(_swap_key(before, after), 0)) for after in OUTCOMES}
        for before in OUTCOMES
    }
    decided: tuple[str, ...] = (APPROVED, DECLINED)
    return {
        "version_id": version_id,
        "against": against,
        "approve_to_decline": matrix[APPROVED][DECLINED],
        "decline_to_approve": matrix[DECLINED][APPROVED],
        "to_review": sum(matrix[before][MANUAL_REVIEW] for before in decided),
        "from_review": sum(matrix[MANUAL_REVIEW][after] for after in decided),
        "unchanged": sum(matrix[outcome][outcome] for outcome in OUTCOMES),
        "matrix": matrix,
    }


def summarise(merged: Mapping[str, object], version_ids: Sequence[str]) -> BatchSummary:
    """The summary of a batch from its merged aggregates; ``version_ids`` in the batch's order (the
    swap sets compare each with the first)."""
    rows = cast(Mapping[str, int], merged.get("rows", {}))
    counts: RowCounts = {
        "read": int(rows.get("read", 0)),
        "scored": int(rows.get("scored", 0)),
        "invalid": int(rows.get("invalid", 0)),
        "labelled": int(rows.get("labelled", 0)),
    }
    invalid = cast(list[InvalidRow], merged.get("invalid_rows", []))[:INVALID_ROWS_LISTED]
    per_version = cast(Mapping[str, Mapping[str, Any]], merged.get("versions", {}))
    swaps = cast(Mapping[str, Mapping[str, int]], merged.get("swaps", {}))
    baseline = merged.get("baseline")
    if version_ids and baseline is not None and baseline != version_ids[0]:
        raise ValueError(f"the chunks compared with {baseline!r}, not with {version_ids[0]!r}")
    return {
        "rows": counts,
        "invalid_rows": invalid,
        "invalid_rows_not_listed": counts["invalid"] - len(invalid),
        "versions": [
            _version_summary(version_id, per_version.get(version_id) or _new_version_aggregate())
            for version_id in version_ids
        ],
        "swaps": [
            _swap_set(version_id, version_ids[0], swaps.get(version_id, {})) for version_id in version_ids[1:]
        ],
    }
