"""Batches and backtests (issue 19): what the batch service stores and where, as small interfaces.

* ``BatchStore``: one item per batch in the batches table (``resources.BATCHES_TABLE``). Progress
  is counted atomically on that item: the chunks done and failed are number SETS, and a chunk's row
  counts are added in the same conditional update that adds its index to the set (condition: the
  index is in neither set), so a redelivered chunk never counts twice.
* ``BatchObjects``: the batch's objects in the batches bucket (``resources.BATCHES_BUCKET``) under
  ``batches/<batch id>/``: the input, one result part and one aggregates document per chunk (keys
  derived from the chunk's index: a retried chunk overwrites its own), the summary.
* ``ChunkQueue``: the chunk messages (``resources.BATCH_CHUNKS_QUEUE``), sent ten per call.
* ``BatchEvents``: ``batch.completed`` on the decision-events bus.

Implementations: ``chalicelib.dal.batches_aws`` (DynamoDB, S3, SQS, EventBridge) and the in-memory
twin ``devstack.in_memory_batches``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NotRequired, Protocol, TypedDict

from chalicelib.dal import DependencyCheck
from chalicelib.records import BatchFormat as BatchFormat
from chalicelib.records import BatchKind as BatchKind
from chalicelib.records import BatchStatus as BatchStatus
from chalicelib.records import PageKey

BATCH_STATUSES: tuple[BatchStatus, ...] = (
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "COMPLETED_WITH_ERRORS",
    "FAILED",
)
DONE_STATUSES: tuple[BatchStatus, ...] = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED")


class BatchRecord(TypedDict):
    """A batch as stored (no personal data: ids, counts, the file's column names)."""

    batch_id: str
    owner: str  # the client's id, or resources.STAFF_BATCH_OWNER for a staff backtest
    status: BatchStatus
    kind: NotRequired[BatchKind]  # absent: "decisions" (every batch before outcome batches)
    format: BatchFormat
    versions: list[str]
    counteroffers: bool
    created_at: str
    expires_at: int  # epoch seconds (TTL), with the bucket's lifecycle rule
    started_at: NotRequired[str]
    completed_at: NotRequired[str]
    columns: NotRequired[list[str]]  # the CSV's header (none for JSON Lines)
    input_bytes: NotRequired[int]
    chunks_total: NotRequired[int]  # set once, when the file is planned
    rows_total: NotRequired[int]
    chunks_done: list[int]  # sorted
    chunks_failed: list[int]  # sorted
    rows_read: int
    rows_scored: int
    rows_invalid: int
    errors: list[str]  # one line per failed chunk, naming its row range
    error: NotRequired[str]  # why the batch FAILED
    # A multipart upload (a declared size over resources.BATCH_MULTIPART_ABOVE_BYTES): S3's upload id,
    # how many parts were offered and their size; the start completes it with the parts' ETags.
    upload_id: NotRequired[str]
    upload_parts: NotRequired[int]
    upload_part_bytes: NotRequired[int]


def input_key(batch_id: str) -> str:
    return f"batches/{batch_id}/input"


def part_key(batch_id: str, index: int) -> str:
    return f"batches/{batch_id}/parts/{index:06d}.jsonl.gz"


def aggregates_key(batch_id: str, index: int) -> str:
    return f"batches/{batch_id}/aggregates/{index:06d}.json"


def summary_key(batch_id: str) -> str:
    return f"batches/{batch_id}/summary.json"


class UploadedPart(TypedDict):
    part_number: int  # 1-based, as S3 numbers them
    etag: str  # the ETag S3 answered to the part's PUT
    size: NotRequired[int]  # bytes (as S3 lists them)


class UploadRefused(Exception):
    """S3 refused to complete a multipart upload for the client's reason (a part missing, an ETag
    that is not the part's, a part under S3's least size): a 400, not an outage."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class BatchStore(Protocol):
    def create(self, record: BatchRecord) -> None: ...

    def get(self, batch_id: str) -> BatchRecord | None: ...

    def owned(
        self, owner: str, limit: int, after: PageKey | None
    ) -> tuple[list[BatchRecord], PageKey | None]:
        """One owner's batches, newest first (a Query on the owner index)."""
        ...

    def claim_start(
        self, batch_id: str, started_at: str, input_bytes: int, columns: list[str] | None
    ) -> bool:
        """PENDING -> RUNNING; False when the batch was not PENDING (started twice)."""
        ...

    def fail(self, batch_id: str, error: str, at: str) -> bool:
        """PENDING or RUNNING -> FAILED with ``error``; False when it was neither."""
        ...

    def set_plan(self, batch_id: str, chunks_total: int, rows_total: int) -> bool:
        """Record the plan once (False: already planned, e.g. a redelivered plan message)."""
        ...

    def record_chunk(
        self, batch_id: str, index: int, rows_read: int, rows_scored: int, rows_invalid: int
    ) -> BatchRecord | None:
        """Add chunk ``index`` to the done set and its counts to the totals, atomically and only if
        the index is in neither set; the batch after the update, or None when it was counted before."""
        ...

    def record_failed_chunk(self, batch_id: str, index: int, error: str) -> BatchRecord | None:
        """Add chunk ``index`` to the failed set with ``error``, only if in neither set (as above)."""
        ...

    def complete(self, batch_id: str, status: BatchStatus, completed_at: str) -> bool:
        """RUNNING -> ``status``: True for the one caller that completed it."""
        ...

    def check(self) -> list[DependencyCheck]: ...


class BatchObjects(Protocol):
    def upload_url(self, key: str, expires_in: int) -> str:
        """A presigned PUT of ``key``."""
        ...

    def download_url(self, key: str, expires_in: int) -> str:
        """A presigned GET of ``key``."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size (HEAD), None when there is none."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end) of the object (a ranged GET; end None: to the end)."""
        ...

    def stream(self, key: str) -> Iterable[bytes]:
        """The object's body in blocks."""
        ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def start_upload(self, key: str) -> str:
        """CreateMultipartUpload of ``key``: the upload id."""
        ...

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int) -> str:
        """A presigned UploadPart (PUT) of part ``part_number`` (1-based)."""
        ...

    def uploaded_parts(self, key: str, upload_id: str) -> dict[int, UploadedPart] | None:
        """The parts uploaded so far by number (ListParts: at most 1,000, over BATCH_MAX_PARTS), each
        with its ETag; None when there is no such upload (completed before, or aborted)."""
        ...

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> bool:
        """CompleteMultipartUpload with ``parts`` in order: True when completed now, False when there
        is no such upload (completed before, or aborted); raises UploadRefused for a client's fault."""
        ...

    def abort_upload(self, key: str, upload_id: str) -> None:
        """AbortMultipartUpload (its parts are deleted); no such upload is not an error."""
        ...


class ChunkQueue(Protocol):
    def send_all(self, messages: list[dict[str, object]]) -> None:
        """Send every message (SendMessageBatch, ten per call); raises DependencyUnavailable."""
        ...

    def check(self) -> list[DependencyCheck]: ...


class BatchEvents(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None: ...
