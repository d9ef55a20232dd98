"""Batches and backtests (issue 19): score a file of applications with decision versions on Lambda.

The path of a batch (design, chosen here):

1. ``create`` (``POST /v1/batches`` for a client, ``/v1/backtests`` for staff): a PENDING item in
   the batches table owned by the client's id (or ``"staff"``), and a presigned PUT of
   ``batches/<id>/input`` in the batches bucket (one PUT stores at most 5 GB). A file whose declared
   ``size_bytes`` is over ``BATCH_MULTIPART_ABOVE_BYTES`` gets a multipart upload instead: S3's
   upload id and one presigned UploadPart URL per part (``part_size`` bytes each but the last).
2. ``start``: checks what can be checked in the API's time budget and answers at once: a multipart
   upload is completed with the parts' ETags the client sends (a part missing, or an ETag that is
   not its part's: 400 naming ``parts``), the upload exists (409 otherwise), its size is within
   ``BATCH_MAX_BYTES`` (413, and the batch FAILED naming the limit; a multipart upload is aborted
   when its batch fails, and an unfinished one by the bucket's lifecycle rule), its first 64 KiB
   are a file of the declared format with the required columns (``engine.batch.check_file_start``;
   422 and FAILED with the reason); then PENDING -> RUNNING
   (conditional: starting twice is a 409) and ONE "plan" message on the chunk queue.
3. The scorer function (``app.score_batch_chunks``) takes the plan message, streams the object once
   through ``engine.batch.plan_chunks`` (line-aligned byte ranges of ``BATCH_ROWS_PER_CHUNK`` rows),
   records ``chunks_total`` once (conditional) and sends one message per chunk (SendMessageBatch,
   ten per call). Planning runs in the scorer, not the API: a file of millions of rows takes longer
   to read than an API request may last. Until then ``chunks.total`` is null.
4. A chunk message: a ranged GET of exactly the chunk's bytes, ``engine.batch.score_chunk`` with
   every version's logic (``routing.version_logic``), PUT of ``parts/<index>.jsonl.gz`` and
   ``aggregates/<index>.json`` (keys from the index: a retried chunk overwrites its own part), then
   the atomic count (``BatchStore.record_chunk``: the index joins the done set and its rows are
   added only if it was in neither set).
5. Whoever finds every chunk done or failed while the batch is RUNNING merges the aggregates,
   writes ``summary.json`` (``engine.batch.summarise``; the same bytes whoever writes them) and
   moves the batch to COMPLETED / COMPLETED_WITH_ERRORS with a conditional update: the one caller
   that wins it publishes ``batch.completed`` (ids and counts only, no personal data).
6. A chunk that failed ``max_receive_count`` times reaches the dead-letter queue; its handler
   (``app.settle_failed_batch_chunks``) records it as failed with its row range, so the batch ends
   COMPLETED_WITH_ERRORS naming the ranges instead of waiting forever.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from chalicelib import config, resources
from chalicelib.config import Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.batches import (
    BatchEvents,
    BatchFormat,
    BatchKind,
    BatchObjects,
    BatchRecord,
    BatchStatus,
    BatchStore,
    ChunkQueue,
    UploadedPart,
    UploadRefused,
    aggregates_key,
    input_key,
    part_key,
    summary_key,
)
from chalicelib.dal.versions import PACKAGED_VERSION_ID, VersionStore
from chalicelib.errors import ErrorDetail, ServiceError, dependency_unavailable, not_found, validation_failed
from chalicelib.observability import count, logger
from chalicelib.records import BatchCreated, BatchList, BatchStarted, BatchView
from chalicelib.service import cursors
from chalicelib.service.clock import now_epoch, now_iso
from chalicelib.service.listing import Problems, is_uuid, page_size
from chalicelib.service.request_body import json_object, unknown_fields

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_sqs.client import SQSClient

    from chalicelib.service.dependencies import Dependencies
    from chalicelib.service.webhooks import Webhooks

FORMATS: tuple[BatchFormat, ...] = ("csv", "jsonl")
BODY_FIELDS = ("format", "versions", "counteroffers", "size_bytes")
# A client's batch is a file of applications to score ("decisions") or of loan outcomes to record
# ("outcomes", issue 20); a staff backtest is decisions only (outcomes are a client's).
KINDS: tuple[BatchKind, ...] = ("decisions", "outcomes")
CLIENT_BODY_FIELDS = (*BODY_FIELDS, "kind")
DECISION_ONLY_FIELDS = ("versions", "counteroffers")
START_FIELDS = ("parts",)
ETAG_MAX_LENGTH = 128
CONTENT_TYPES = {"json": "application/json", "part": "application/x-ndjson"}
# A 0-byte upload. Seen locally when a client PUTs with Content-Type application/x-www-form-urlencoded
# (curl --data-binary's default): the moto server takes the body for a form and stores nothing.
EMPTY_FILE = "the file is empty (0 bytes were uploaded)"


# ---------------------------------------------------------------------------- configuration
class BatchSettings:
    def __init__(
        self,
        stage: str,
        queue_name: str,
        dlq_name: str,
        rows_per_chunk: int = resources.BATCH_ROWS_PER_CHUNK,
        max_bytes: int = resources.BATCH_MAX_BYTES,
        multipart_above_bytes: int = resources.BATCH_MULTIPART_ABOVE_BYTES,
        part_bytes: int = resources.BATCH_PART_BYTES,
    ) -> None:
        self.stage = stage
        self.queue_name = queue_name
        self.dlq_name = dlq_name
        self.rows_per_chunk = rows_per_chunk
        self.max_bytes = max_bytes
        self.multipart_above_bytes = multipart_above_bytes
        self.part_bytes = part_bytes

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BatchSettings:
        env = os.environ if environ is None else environ
        queue = resources.BATCH_CHUNKS_QUEUE
        return cls(
            stage=env.get("STAGE", "dev"),
            queue_name=config.queue_name(queue, environ=env),
            dlq_name=config.queue_name(queue, dead_letters=True, environ=env),
            rows_per_chunk=int(env.get(resources.BATCH_ROWS_PER_CHUNK_ENV) or resources.BATCH_ROWS_PER_CHUNK),
            max_bytes=int(env.get(resources.BATCH_MAX_BYTES_ENV) or resources.BATCH_MAX_BYTES),
            multipart_above_bytes=int(
                env.get(resources.BATCH_MULTIPART_ABOVE_BYTES_ENV) or resources.BATCH_MULTIPART_ABOVE_BYTES
            ),
            part_bytes=int(env.get(resources.BATCH_PART_BYTES_ENV) or resources.BATCH_PART_BYTES),
        )


class Batches:
    """What the batch service runs on."""

    def __init__(
        self,
        settings: BatchSettings,
        store: BatchStore,
        objects: BatchObjects,
        queue: ChunkQueue,
        events: BatchEvents,
        versions: VersionStore,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.objects = objects
        self.queue = queue
        self.events = events
        self.versions = versions
        self.webhooks = webhooks
        # The decisions and their outcome store, for an outcomes batch's chunks (issue 20);
        # None: an outcomes chunk fails (and is retried, then dead-lettered).
        self.loans: Dependencies | None = None

    def check(self) -> list[DependencyCheck]:
        """Readiness probes of the batches table and the chunk queue."""
        return self.store.check() + self.queue.check()

    @classmethod
    def from_environment(
        cls,
        settings: Settings,
        dynamodb: DynamoDBClient,
        sqs: SQSClient,
        events: EventBridgeClient,
        versions: VersionStore,
        webhooks: Webhooks | None = None,
    ) -> Batches:
        from chalicelib.dal.batches_aws import (
            DynamoDBBatchStore,
            EventBridgeBatchEvents,
            S3BatchObjects,
            SQSChunkQueue,
        )

        batch_settings = BatchSettings.from_environment()
        return cls(
            batch_settings,
            DynamoDBBatchStore(dynamodb, config.physical_name(resources.BATCHES_TABLE)),
            S3BatchObjects(config.physical_name(resources.BATCHES_BUCKET), settings.region),
            SQSChunkQueue(sqs, batch_settings.queue_name),
            EventBridgeBatchEvents(events, settings.decision_events_bus),
            versions,
            webhooks,
        )


def _unavailable(error: DependencyUnavailable) -> ServiceError:
    return dependency_unavailable(error.dependency)


# ---------------------------------------------------------------------------- create
def _known(batches: Batches, version_id: str) -> bool:
    # The packaged version is never stored: the registry's champion until another is promoted.
    return version_id == PACKAGED_VERSION_ID or batches.versions.get_version(version_id) is not None


def part_size(size_bytes: int, preferred: int) -> int:
    """The part size of a multipart upload of ``size_bytes``: ``preferred`` (at least S3's least
    part), raised to whole MiB so that the file has at most ``BATCH_MAX_PARTS`` parts."""
    mib = 1024**2
    least = -(-size_bytes // resources.BATCH_MAX_PARTS)
    chosen = max(preferred, resources.S3_MIN_PART_BYTES, least)
    return -(-chosen // mib) * mib


def _checked_size(payload: dict[str, Any], details: list[ErrorDetail]) -> int | None:
    size = payload.get("size_bytes")
    if size is None and "size_bytes" not in payload:
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        details.append(
            {"field": "size_bytes", "problem": "the file's size: a whole number of bytes, at least 1"}
        )
        return None
    return size


def _checked_kind(payload: dict[str, Any], owner: str, details: list[ErrorDetail]) -> BatchKind:
    """The batch's kind (a client's: ``kind`` in the body, decisions by default); an outcomes batch
    takes no decision options."""
    kind = payload.get("kind", "decisions")
    if owner == resources.STAFF_BATCH_OWNER or kind == "decisions":
        return "decisions"
    if kind != "outcomes":
        details.append({"field": "kind", "problem": f"one of {', '.join(KINDS)}"})
        return "decisions"
    details += [
        {"field": name, "problem": "not for an outcomes batch (its rows name their decisions)"}
        for name in DECISION_ONLY_FIELDS
        if name in payload
    ]
    return "outcomes"


def _checked_body(
    batches: Batches, payload: Any, owner: str
) -> tuple[BatchKind, BatchFormat, list[str], bool, int | None]:
    payload = json_object(payload)
    staff = owner == resources.STAFF_BATCH_OWNER
    details = unknown_fields(payload, BODY_FIELDS if staff else CLIENT_BODY_FIELDS)
    kind = _checked_kind(payload, owner, details)
    fmt = payload.get("format")
    if fmt not in FORMATS:
        details.append({"field": "format", "problem": f"required: one of {', '.join(FORMATS)}"})
    counteroffers = payload.get("counteroffers", False)
    if not isinstance(counteroffers, bool):
        details.append({"field": "counteroffers", "problem": "true or false"})
    size = _checked_size(payload, details)
    versions = payload.get("versions")
    chosen: list[str] = []
    if kind == "decisions" and (versions is not None or "versions" in payload):
        if (
            not isinstance(versions, list)
            or not versions
            or len(versions) > resources.BATCH_MAX_VERSIONS
            or not all(isinstance(version, str) and 0 < len(version) <= 64 for version in versions)
        ):
            details.append(
                {
                    "field": "versions",
                    "problem": f"a list of 1-{resources.BATCH_MAX_VERSIONS} decision version ids",
                }
            )
        elif len(set(versions)) != len(versions):
            details.append({"field": "versions", "problem": "each version once"})
        else:
            try:
                unknown = [version for version in versions if not _known(batches, version)]
            except DependencyUnavailable as error:
                raise _unavailable(error) from None
            if unknown:
                problem = f"unknown decision version(s): {', '.join(unknown)}"
                details.append({"field": "versions", "problem": problem})
            chosen = list(versions)
    if details:
        raise validation_failed(details)
    limit = batches.settings.max_bytes
    if size is not None and size > limit:
        reason = f"the file is {size} bytes, over the limit of {limit} bytes"
        raise ServiceError(413, "file_too_large", reason, [{"field": "size_bytes", "problem": reason}])
    if kind == "outcomes":
        return kind, cast("BatchFormat", fmt), [], False, size
    if not chosen:
        from chalicelib.service.routing import current_routing

        try:
            chosen = [current_routing(batches.versions)["champion"]]
        except DependencyUnavailable as error:
            raise _unavailable(error) from None
    return kind, cast("BatchFormat", fmt), chosen, bool(counteroffers), size


def _iso_at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create(batches: Batches, owner: str, payload: Any) -> BatchCreated:
    kind, fmt, versions, counteroffers, size = _checked_body(batches, payload, owner)
    multipart = size is not None and size > batches.settings.multipart_above_bytes
    batch_id = str(uuid.uuid4())
    record: BatchRecord = {
        "batch_id": batch_id,
        "owner": owner,
        "status": "PENDING",
        "kind": kind,
        "format": fmt,
        "versions": versions,
        "counteroffers": counteroffers,
        "created_at": now_iso(),
        "expires_at": now_epoch() + resources.BATCH_RESULT_RETENTION_DAYS * 86_400,
        "chunks_done": [],
        "chunks_failed": [],
        "rows_read": 0,
        "rows_scored": 0,
        "rows_invalid": 0,
        "errors": [],
    }
    key, seconds = input_key(batch_id), resources.BATCH_UPLOAD_URL_SECONDS
    created: BatchCreated = {
        "batch_id": batch_id,
        "status": "PENDING",
        "kind": kind,
        "format": fmt,
        "versions": versions,
        "counteroffers": counteroffers,
        "upload_method": "PUT",
        "max_bytes": batches.settings.max_bytes,
        "upload_expires_at": _iso_at(now_epoch() + seconds),
    }
    try:
        if multipart and size is not None:
            part_bytes = part_size(size, batches.settings.part_bytes)
            parts = -(-size // part_bytes)
            upload_id = batches.objects.start_upload(key)
            record["upload_id"] = upload_id
            record["upload_parts"] = parts
            record["upload_part_bytes"] = part_bytes
            batches.store.create(record)
            created["upload"] = {
                "upload_id": upload_id,
                "part_size": part_bytes,
                "parts": [
                    {"part_number": number, "url": batches.objects.part_url(key, upload_id, number, seconds)}
                    for number in range(1, parts + 1)
                ],
            }
        else:
            batches.store.create(record)
            created["upload_url"] = batches.objects.upload_url(key, seconds)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    logger.info("batch created", extra={"batch_id": batch_id, "versions": versions, "multipart": multipart})
    return created


def _own(batches: Batches, owner: str, batch_id: str) -> BatchRecord:
    """The owner's batch; another owner's, or none, is the same 404."""
    if not is_uuid(batch_id):
        raise not_found("batch")
    try:
        record = batches.store.get(batch_id)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    if record is None or record["owner"] != owner:
        raise not_found("batch")
    return record


# ---------------------------------------------------------------------------- start
# Why S3 refused to complete a multipart upload, said to the client (field "parts").
UPLOAD_PROBLEMS = {
    "InvalidPart": "a part was not uploaded, or its etag is not the ETag header S3 answered to its PUT",
    "InvalidPartOrder": "the parts in ascending part_number order",
    "EntityTooSmall": f"every part but the last at least {resources.S3_MIN_PART_BYTES} bytes (part_size)",
    "MalformedXML": "a list of {part_number, etag}",
}


def _checked_parts(record: BatchRecord, payload: Any) -> list[UploadedPart]:
    """The start's body of a multipart batch: every part's ETag, each part once (400 naming each
    offending field otherwise)."""
    expected = record.get("upload_parts", 0)
    payload = json_object({} if payload is None else payload)
    details = unknown_fields(payload, START_FIELDS)
    parts = payload.get("parts")
    chosen: list[UploadedPart] = []
    if not isinstance(parts, list) or not parts:
        problem = (
            f'required: the ETag of each of the {expected} parts, [{{"part_number": 1, "etag": ...}}, ...]'
        )
        details.append({"field": "parts", "problem": problem})
        parts = []
    for position, part in enumerate(parts):
        field = f"parts[{position}]"
        if not isinstance(part, dict):
            details.append({"field": field, "problem": "an object {part_number, etag}"})
            continue
        details += [
            {"field": f"{field}.{name}", "problem": "not a field of a part"}
            for name in sorted(set(part) - {"part_number", "etag"})
        ]
        number, etag = part.get("part_number"), part.get("etag")
        good = True
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= expected:
            details.append({"field": f"{field}.part_number", "problem": f"a whole number 1-{expected}"})
            good = False
        if not isinstance(etag, str) or not 0 < len(etag) <= ETAG_MAX_LENGTH:
            details.append(
                {"field": f"{field}.etag", "problem": "the ETag header S3 answered to the part's PUT"}
            )
            good = False
        if good:
            # S3 answers the ETag quoted; a client may send it with or without the quotes.
            chosen.append(
                {"part_number": cast("int", number), "etag": f'"{cast("str", etag).strip(chr(34))}"'}
            )
    numbers = [part["part_number"] for part in chosen]
    if not details:
        if len(set(numbers)) != len(numbers):
            details.append({"field": "parts", "problem": "each part once"})
        missing = sorted(set(range(1, expected + 1)) - set(numbers))
        if missing:
            listed = ", ".join(str(number) for number in missing[:20]) + (
                ", ..." if len(missing) > 20 else ""
            )
            details.append(
                {"field": "parts", "problem": f"part(s) {listed} missing: the file has {expected} parts"}
            )
    if details:
        fields = ", ".join(dict.fromkeys(detail["field"] for detail in details))
        raise ServiceError(400, "validation_failed", f"invalid field(s): {fields}", details)
    return sorted(chosen, key=lambda part: part["part_number"])


def _complete_upload(batches: Batches, record: BatchRecord, payload: Any) -> None:
    """A multipart batch's upload completed with the client's parts (nothing for a single PUT's):
    the parts S3 holds are listed first, so that a part not uploaded or an ETag that is not its
    part's is a 400 naming that field, nothing uploaded a 409 as for a single PUT, and a file over
    the limit is refused (the batch FAILED, the upload aborted) before S3 joins its parts."""
    upload_id = record.get("upload_id")
    if upload_id is None:
        return
    parts = _checked_parts(record, payload)
    key = input_key(record["batch_id"])
    uploaded = batches.objects.uploaded_parts(key, upload_id)
    if uploaded is None:
        return  # completed by an earlier start that went no further (or aborted): the file decides
    if not uploaded:
        raise ServiceError(409, "no_upload", "no part uploaded yet: PUT each part to its URL first")
    details: list[ErrorDetail] = []
    for position, part in enumerate(parts):
        held = uploaded.get(part["part_number"])
        if held is None:
            problem = f"part {part['part_number']} was not uploaded: PUT it to its URL first"
            details.append({"field": f"parts[{position}].part_number", "problem": problem})
        elif held["etag"].strip('"') != part["etag"].strip('"'):
            problem = f"not the ETag S3 answered to part {part['part_number']}'s PUT"
            details.append({"field": f"parts[{position}].etag", "problem": problem})
    if details:
        fields = ", ".join(detail["field"] for detail in details)
        raise ServiceError(400, "validation_failed", f"invalid field(s): {fields}", details)
    size, limit = sum(part.get("size", 0) for part in uploaded.values()), batches.settings.max_bytes
    if size > limit:
        reason = f"the file is {size} bytes, over the limit of {limit} bytes"
        _fail(batches, record, reason)
        raise ServiceError(413, "file_too_large", reason, [{"field": "file", "problem": reason}])
    try:
        batches.objects.complete_upload(key, upload_id, parts)
    except UploadRefused as refused:
        problem = UPLOAD_PROBLEMS.get(refused.code, refused.code)
        message = f"the upload could not be completed: {problem}"
        raise ServiceError(
            400, "upload_incomplete", message, [{"field": "parts", "problem": problem}]
        ) from None


def _fail(batches: Batches, record: BatchRecord, reason: str) -> None:
    """FAILED with ``reason``; an unfinished multipart upload is aborted (its parts deleted) at once
    rather than left to the bucket's lifecycle rule (AbortIncompleteMultipartUpload after a day)."""
    batches.store.fail(record["batch_id"], reason, now_iso())
    upload_id = record.get("upload_id")
    if upload_id is not None:
        try:
            batches.objects.abort_upload(input_key(record["batch_id"]), upload_id)
        except DependencyUnavailable as error:
            logger.warning("multipart upload not aborted", extra={"cause": error.cause})


def _checked_file_start(record: BatchRecord, head: bytes) -> list[str] | None:
    """The file's start checked for the batch's kind (BadFile naming what is wrong)."""
    from chalicelib.engine import batch as engine_batch

    if record.get("kind") != "outcomes":
        return engine_batch.check_file_start(head, record["format"])
    from chalicelib.service import outcomes

    columns = engine_batch.check_file_start(head, record["format"], outcomes.FILE_COLUMNS)
    outcomes.check_file_columns(columns)
    return columns


def start(batches: Batches, owner: str, batch_id: str, payload: Any = None) -> BatchStarted:
    from chalicelib.engine import batch as engine_batch

    record = _own(batches, owner, batch_id)
    if record["status"] != "PENDING":
        raise ServiceError(409, "already_started", f"the batch is {record['status']}: it can be started once")
    key = input_key(batch_id)
    try:
        _complete_upload(batches, record, payload)
        size = batches.objects.size(key)
        if size is None:
            raise ServiceError(409, "no_upload", "no file uploaded yet: PUT it to the upload_url first")
        limit = batches.settings.max_bytes
        if size > limit:
            reason = f"the file is {size} bytes, over the limit of {limit} bytes"
            _fail(batches, record, reason)
            raise ServiceError(413, "file_too_large", reason, [{"field": "file", "problem": reason}])
        try:
            if size == 0:  # nothing to read (S3 refuses any range of an empty object)
                raise engine_batch.BadFile(EMPTY_FILE)
            head = batches.objects.read(key, 0, resources.BATCH_HEAD_BYTES)
            columns = _checked_file_start(record, head)
        except engine_batch.BadFile as bad:
            _fail(batches, record, bad.reason)
            problems: list[ErrorDetail] = [{"field": "file", "problem": bad.reason}]
            raise ServiceError(422, "bad_file", bad.reason, problems) from None
        if not batches.store.claim_start(batch_id, now_iso(), size, columns):
            raise ServiceError(409, "already_started", "the batch was started already")
        try:
            batches.queue.send_all([{"kind": "plan", "batch_id": batch_id}])
        except DependencyUnavailable:
            _fail(batches, record, "the batch could not be queued; create it again")
            raise
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    logger.info("batch started", extra={"batch_id": batch_id, "bytes": size})
    return {"batch_id": batch_id, "status": "RUNNING", "chunks_total": None}


# ---------------------------------------------------------------------------- progress
def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _view(record: BatchRecord, *, now: float) -> BatchView:
    view: BatchView = {
        "batch_id": record["batch_id"],
        "status": record["status"],
        "kind": record.get("kind", "decisions"),
        "format": record["format"],
        "versions": record["versions"],
        "counteroffers": record["counteroffers"],
        "created_at": record["created_at"],
        "chunks": {
            "done": len(record["chunks_done"]),
            "failed": len(record["chunks_failed"]),
            "total": record.get("chunks_total"),
        },
        "rows": {
            "read": record["rows_read"],
            "scored": record["rows_scored"],
            "invalid": record["rows_invalid"],
            "total": record.get("rows_total"),
        },
        "rows_per_second": None,
        "eta_seconds": None,
        "errors": record["errors"],
    }
    for name in ("started_at", "completed_at", "error"):
        if name in record:
            view[name] = record[name]
    if "started_at" in record:
        until = _epoch(record["completed_at"]) if "completed_at" in record else now
        elapsed = max(until - _epoch(record["started_at"]), 1e-3)
        rate = record["rows_read"] / elapsed
        view["rows_per_second"] = round(rate, 1)
        total = record.get("rows_total")
        if record["status"] == "RUNNING" and total is not None and rate > 0:
            view["eta_seconds"] = round(max(total - record["rows_read"], 0) / rate, 1)
    return view


def _parts_from(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isascii() or not value.isdigit() or int(value) > resources.BATCH_RESULT_PARTS_FROM_MAX:
        problem = f"an integer from 0 to {resources.BATCH_RESULT_PARTS_FROM_MAX} in ASCII digits"
        raise ServiceError(
            400,
            "invalid_parameter",
            "invalid query parameter(s): parts_from",
            [{"field": "parts_from", "problem": problem}],
        )
    return int(value)


def get(batches: Batches, owner: str, batch_id: str, parts_from: str | None = None) -> BatchView:
    first = _parts_from(parts_from)
    record = _own(batches, owner, batch_id)
    view = _view(record, now=now_epoch())
    if record["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
        seconds = resources.BATCH_RESULT_URL_SECONDS
        try:
            summary = batches.objects.get(summary_key(batch_id))
            if summary is not None:
                view["summary"] = json.loads(summary)
            failed = set(record["chunks_failed"])
            written = [index for index in range(record.get("chunks_total", 0)) if index not in failed]
            page = written[first : first + resources.BATCH_RESULT_PARTS_PER_VIEW]
            following = first + len(page)
            view["results"] = {
                "summary_url": batches.objects.download_url(summary_key(batch_id), seconds),
                "parts": [batches.objects.download_url(part_key(batch_id, index), seconds) for index in page],
                "expires_at": _iso_at(now_epoch() + seconds),
                "parts_total": len(written),
                "parts_from": first,
                "next_parts_from": following if following < len(written) else None,
            }
        except DependencyUnavailable as error:
            raise _unavailable(error) from None
    return view


def list_batches(batches: Batches, owner: str, limit: str | None, cursor: str | None) -> BatchList:
    problems = Problems()
    size = page_size(limit, problems)
    problems.raise_if_any()
    query: dict[str, str | None] = {"list": "batches"}
    after = cursors.decode(cursor, owner, query)
    try:
        records, page_key = batches.store.owned(owner, size, after)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    now = now_epoch()
    return {
        "items": [_view(record, now=now) for record in records],
        "next_cursor": cursors.encode(page_key, owner, query),
    }


# ---------------------------------------------------------------------------- the scorer
def _plan(batches: Batches, record: BatchRecord) -> None:
    from chalicelib.engine import batch as engine_batch

    batch_id = record["batch_id"]
    planned = engine_batch.plan_chunks(
        batches.objects.stream(input_key(batch_id)),
        batches.settings.rows_per_chunk,
        has_header=record["format"] == "csv",
    )
    batches.store.set_plan(batch_id, len(planned), sum(chunk.rows for chunk in planned))
    messages: list[dict[str, object]] = [
        {
            "kind": "chunk",
            "batch_id": batch_id,
            "index": chunk.index,
            "start_byte": chunk.start_byte,
            "end_byte": chunk.end_byte,
            "first_row": chunk.first_row,
            "rows": chunk.rows,
        }
        for chunk in planned
    ]
    batches.queue.send_all(messages)
    logger.info("batch planned", extra={"batch_id": batch_id, "chunks": len(planned)})
    if not planned:
        fresh = batches.store.get(batch_id)
        if fresh is not None:
            _complete_if_done(batches, fresh)


def _score(batches: Batches, record: BatchRecord, message: Mapping[str, Any]) -> None:
    from chalicelib.engine import batch as engine_batch
    from chalicelib.service.routing import version_logic

    batch_id, index = record["batch_id"], int(message["index"])
    if index in record["chunks_done"] or index in record["chunks_failed"]:
        _complete_if_done(batches, record)  # counted before: perhaps its completion was not
        return
    if record.get("kind") == "outcomes":
        _record_outcomes(batches, record, message)
        return
    data = batches.objects.read(input_key(batch_id), int(message["start_byte"]), int(message["end_byte"]))
    logics = [(version, version_logic(version, batches.versions)) for version in record["versions"]]
    result = engine_batch.score_chunk(
        data,
        record["format"],
        record.get("columns"),
        int(message["first_row"]),
        logics,
        engine_batch.ChunkOptions(counteroffers=record["counteroffers"]),
    )
    counts = (result.rows_read, result.rows_scored, result.rows_invalid)
    _finish_chunk(batches, batch_id, index, result.results, result.aggregates, counts)


def _finish_chunk(
    batches: Batches,
    batch_id: str,
    index: int,
    results: bytes,
    aggregates: object,
    counts: tuple[int, int, int],
) -> None:
    """A chunk's part and aggregates written under its index (a retry overwrites them), then the
    chunk counted once (read, done, invalid rows); the count that completes the batch summarises it."""
    batches.objects.put(part_key(batch_id, index), results, CONTENT_TYPES["part"])
    encoded = json.dumps(aggregates, separators=(",", ":")).encode()
    batches.objects.put(aggregates_key(batch_id, index), encoded, CONTENT_TYPES["json"])
    updated = batches.store.record_chunk(batch_id, index, *counts)
    if updated is None:
        count("BatchChunkCountedBefore")
        updated = batches.store.get(batch_id)
    if updated is not None:
        _complete_if_done(batches, updated)


def _record_outcomes(batches: Batches, record: BatchRecord, message: Mapping[str, Any]) -> None:
    """An outcomes chunk (issue 20): each row recorded for the batch's owner, then written and
    counted as a decision chunk is (its part and aggregates by index; counted once)."""
    from chalicelib.service import outcomes

    if batches.loans is None:
        raise RuntimeError("these batch dependencies record no outcomes")
    batch_id, index = record["batch_id"], int(message["index"])
    data = batches.objects.read(input_key(batch_id), int(message["start_byte"]), int(message["end_byte"]))
    result = outcomes.record_outcome_rows(
        data,
        record["format"],
        record.get("columns"),
        int(message["first_row"]),
        batches.loans,
        record["owner"],
    )
    counts = (result.rows_read, result.rows_applied, result.rows_refused)
    _finish_chunk(batches, batch_id, index, result.results, result.aggregates, counts)


def _summary(record: BatchRecord, merged: dict[str, object]) -> Mapping[str, object]:
    from chalicelib.engine import batch as engine_batch

    if record.get("kind") == "outcomes":
        from chalicelib.service import outcomes

        return outcomes.summarise_batch(merged)
    return engine_batch.summarise(merged, record["versions"])


def read_aggregates(
    objects: BatchObjects,
    batch_id: str,
    indexes: list[int],
    readers: int = resources.BATCH_COMPLETION_READERS,
) -> list[Any]:
    """Every chunk's aggregates in the order of ``indexes`` (so that the merge, and the summary, is
    the same whoever completes), read by up to ``readers`` threads: at 1,000 chunks, 1,000 GETs one
    after another are most of a completion's time."""
    from concurrent.futures import ThreadPoolExecutor

    def read(index: int) -> Any:
        body = objects.get(aggregates_key(batch_id, index))
        if body is None:
            raise DependencyUnavailable("s3", f"aggregates of chunk {index} missing")
        return json.loads(body)

    if not indexes:
        return []
    # The first in this thread: it makes the S3 client if this process has not yet (creating one is
    # not thread-safe; using it is).
    first = read(indexes[0])
    if len(indexes) == 1 or readers <= 1:
        return [first, *(read(index) for index in indexes[1:])]
    with ThreadPoolExecutor(max_workers=min(readers, len(indexes) - 1)) as pool:
        return [first, *pool.map(read, indexes[1:])]  # map keeps the order; the first error is raised


def _complete_if_done(batches: Batches, record: BatchRecord) -> None:
    """Complete the batch if every chunk is done or failed; idempotent (see the module's step 5)."""
    from chalicelib.engine import batch as engine_batch

    total = record.get("chunks_total")
    if record["status"] != "RUNNING" or total is None:
        return
    if len(record["chunks_done"]) + len(record["chunks_failed"]) < total:
        return
    batch_id = record["batch_id"]
    parts = read_aggregates(batches.objects, batch_id, record["chunks_done"])
    try:
        summary = _summary(record, engine_batch.merge_aggregates(parts))
    except Exception as error:  # a summary that cannot be computed must not leave the batch RUNNING
        count("BatchSummaryFailed")
        logger.exception("batch summary failed", extra={"batch_id": batch_id})
        reason = f"the summary could not be computed ({type(error).__name__}); the result parts are kept"
        batches.store.fail(batch_id, reason, now_iso())
        return
    batches.objects.put(
        summary_key(batch_id),
        json.dumps(summary, separators=(",", ":"), sort_keys=True).encode(),
        CONTENT_TYPES["json"],
    )
    status: BatchStatus = "COMPLETED_WITH_ERRORS" if record["chunks_failed"] else "COMPLETED"
    completed_at = now_iso()
    if batches.store.complete(batch_id, status, completed_at):
        logger.info("batch completed", extra={"batch_id": batch_id, "status": status})
        _announce(batches, record, status, completed_at)


def _announce(batches: Batches, record: BatchRecord, status: BatchStatus, completed_at: str) -> None:
    """``batch.completed``: ids, status and counts; no personal data. Best effort, like decisions'."""
    detail: dict[str, object] = {
        "batch_id": record["batch_id"],
        "status": status,
        "versions": record["versions"],
        "chunks_total": record.get("chunks_total", 0),
        "chunks_failed": len(record["chunks_failed"]),
        "rows_read": record["rows_read"],
        "rows_scored": record["rows_scored"],
        "rows_invalid": record["rows_invalid"],
        "completed_at": completed_at,
    }
    staff = record["owner"] == resources.STAFF_BATCH_OWNER
    try:
        batches.events.publish(resources.BATCH_COMPLETED, {**detail, "owner": "staff" if staff else "client"})
    except DependencyUnavailable as error:
        count("BatchEventsNotPublished")
        logger.warning("batch.completed not published", extra={"cause": error.cause})
    if batches.webhooks is not None and not staff:
        message: dict[str, object] = {
            "kind": "event",
            "client_id": record["owner"],
            "types": [resources.BATCH_COMPLETED],
            "detail": detail,
        }
        try:
            batches.webhooks.queue.send(message)
        except DependencyUnavailable as error:
            count("WebhookEventsNotQueued")
            logger.warning("batch.completed not queued for webhooks", extra={"cause": error.cause})


def handle_message(batches: Batches, message: Mapping[str, Any]) -> None:
    """One chunk-queue message ("plan" or "chunk"). Raises to have it delivered again."""
    record = batches.store.get(str(message["batch_id"]))
    if record is None or record["status"] != "RUNNING":
        return  # gone (expired), failed, or complete: nothing left to do
    if message.get("kind") == "plan":
        _plan(batches, record)
    elif message.get("kind") == "chunk":
        _score(batches, record, message)
    else:
        logger.warning("unknown batch message dropped", extra={"kind": str(message.get("kind"))})


def handle_batch(batches: Batches, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """An SQS batch of the chunk queue; the messages to retry (ReportBatchItemFailures). A chunk
    that raises anything is retried: after ``max_receive_count`` receives it is in the DLQ."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            handle_message(batches, json.loads(record["body"]))
        except Exception as error:  # every failure is a retry, then the DLQ
            count("BatchChunkFailed")
            logger.warning(
                "batch message failed; retried",
                extra={"problem": type(error).__name__, "detail": str(error)[:300]},
            )
            failures.append({"itemIdentifier": str(record["messageId"])})
    return {"batchItemFailures": failures}


def _rows(message: Mapping[str, Any]) -> str:
    first, rows = int(message["first_row"]), int(message["rows"])
    return f"rows {first}-{first + rows - 1}"


def settle_dead_letter(batches: Batches, message: Mapping[str, Any]) -> None:
    """A message that kept failing: a chunk is recorded failed with its row range (the batch then
    completes WITH_ERRORS); a plan that kept failing fails the batch."""
    batch_id = str(message["batch_id"])
    tries = resources.BATCH_CHUNKS_QUEUE.max_receive_count
    if message.get("kind") == "plan":
        reason = f"the file could not be read and cut into chunks ({tries} tries)"
        batches.store.fail(batch_id, reason, now_iso())
        return
    index = int(message["index"])
    error = f"chunk {index} ({_rows(message)}) failed {tries} times: not scored"
    updated = batches.store.record_failed_chunk(batch_id, index, error)
    if updated is None:
        updated = batches.store.get(batch_id)
    if updated is not None:
        _complete_if_done(batches, updated)


def handle_dead_letters(batches: Batches, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            settle_dead_letter(batches, json.loads(record["body"]))
        except DependencyUnavailable as error:
            logger.warning("dead chunk not settled; retried", extra={"cause": error.cause})
            failures.append({"itemIdentifier": str(record["messageId"])})
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed dead chunk message dropped")
    return {"batchItemFailures": failures}
