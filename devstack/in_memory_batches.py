"""The in-memory twin of the batches' DAL (``chalicelib.dal.batches``): store, objects, queue, events.

Same semantics as the DynamoDB/S3/SQS implementations (conditional transitions; a chunk counted only
if its index is in neither set; ranged reads; ten messages per send), so the batch service can be
tested without an emulator. Local-only: never in the Lambda package. The "presigned" URLs are
``memory://`` addresses: nothing can fetch them.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from chalicelib import resources
from chalicelib.dal import DependencyCheck
from chalicelib.dal.batches import BatchRecord, BatchStatus, UploadedPart, UploadRefused
from chalicelib.dal.versions import VersionStore
from chalicelib.records import PageKey
from chalicelib.service.batches import Batches, BatchSettings


class InMemoryBatchStore:
    def __init__(self) -> None:
        self.items: dict[str, BatchRecord] = {}
        self._lock = threading.Lock()

    def create(self, record: BatchRecord) -> None:
        with self._lock:
            if record["batch_id"] in self.items:
                raise ValueError("batch exists")
            self.items[record["batch_id"]] = copy.deepcopy(record)

    def get(self, batch_id: str) -> BatchRecord | None:
        record = self.items.get(batch_id)
        return None if record is None else copy.deepcopy(record)

    def owned(
        self, owner: str, limit: int, after: PageKey | None
    ) -> tuple[list[BatchRecord], PageKey | None]:
        mine = sorted(
            (record for record in self.items.values() if record["owner"] == owner),
            key=lambda record: (record["created_at"], record["batch_id"]),
            reverse=True,
        )
        if after is not None:
            boundary = (after["created_at"], after["batch_id"])
            mine = [record for record in mine if (record["created_at"], record["batch_id"]) < boundary]
        page = mine[:limit]
        last = page[-1] if len(mine) > limit else None
        page_key = (
            None
            if last is None
            else {"batch_id": last["batch_id"], "owner": owner, "created_at": last["created_at"]}
        )
        return copy.deepcopy(page), page_key

    def _transition(self, batch_id: str, allowed: tuple[BatchStatus, ...], **changes: Any) -> bool:
        with self._lock:
            record = self.items.get(batch_id)
            if record is None or record["status"] not in allowed:
                return False
            record.update(changes)  # type: ignore[typeddict-item]
            return True

    def claim_start(
        self, batch_id: str, started_at: str, input_bytes: int, columns: list[str] | None
    ) -> bool:
        changes: dict[str, Any] = {"status": "RUNNING", "started_at": started_at, "input_bytes": input_bytes}
        if columns is not None:
            changes["columns"] = list(columns)
        return self._transition(batch_id, ("PENDING",), **changes)

    def fail(self, batch_id: str, error: str, at: str) -> bool:
        return self._transition(
            batch_id, ("PENDING", "RUNNING"), status="FAILED", error=error, completed_at=at
        )

    def set_plan(self, batch_id: str, chunks_total: int, rows_total: int) -> bool:
        with self._lock:
            record = self.items.get(batch_id)
            if record is None or "chunks_total" in record:
                return False
            record["chunks_total"], record["rows_total"] = chunks_total, rows_total
            return True

    def _count(
        self, batch_id: str, index: int, done: bool, changes: Mapping[str, int], error: str
    ) -> BatchRecord | None:
        with self._lock:
            record = self.items.get(batch_id)
            if record is None or index in record["chunks_done"] or index in record["chunks_failed"]:
                return None
            target = record["chunks_done"] if done else record["chunks_failed"]
            target.append(index)
            target.sort()
            for name, value in changes.items():
                record[name] += value  # type: ignore[literal-required]
            if error:
                record["errors"].append(error)
            return copy.deepcopy(record)

    def record_chunk(
        self, batch_id: str, index: int, rows_read: int, rows_scored: int, rows_invalid: int
    ) -> BatchRecord | None:
        changes = {"rows_read": rows_read, "rows_scored": rows_scored, "rows_invalid": rows_invalid}
        return self._count(batch_id, index, True, changes, "")

    def record_failed_chunk(self, batch_id: str, index: int, error: str) -> BatchRecord | None:
        return self._count(batch_id, index, False, {}, error)

    def complete(self, batch_id: str, status: BatchStatus, completed_at: str) -> bool:
        return self._transition(batch_id, ("RUNNING",), status=status, completed_at=completed_at)

    def check(self) -> list[DependencyCheck]:
        return [DependencyCheck("dynamodb:in-memory-batches", True, 0.0)]


class InMemoryBatchObjects:
    BLOCK_BYTES = 4096

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []
        self.uploads: dict[str, tuple[str, dict[int, bytes]]] = {}  # upload id -> (key, parts)
        self.aborted: list[str] = []

    def upload_url(self, key: str, expires_in: int) -> str:
        return f"memory://batches/{key}?put&expires={expires_in}"

    def download_url(self, key: str, expires_in: int) -> str:
        return f"memory://batches/{key}?get&expires={expires_in}"

    def size(self, key: str) -> int | None:
        body = self.objects.get(key)
        return None if body is None else len(body)

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        return self.objects[key][start:end]

    def stream(self, key: str) -> Iterator[bytes]:
        body = self.objects[key]
        for start in range(0, len(body), self.BLOCK_BYTES):
            yield body[start : start + self.BLOCK_BYTES]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        del content_type
        self.objects[key] = bytes(body)
        self.puts.append(key)

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def start_upload(self, key: str) -> str:
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = (key, {})
        return upload_id

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int) -> str:
        return f"memory://batches/{key}?uploadId={upload_id}&partNumber={part_number}&expires={expires_in}"

    def upload_part(self, upload_id: str, part_number: int, body: bytes) -> str:
        """What a client's PUT to a part URL does here: the part's ETag (quoted MD5, as S3's)."""
        self.uploads[upload_id][1][part_number] = bytes(body)
        return self._etag(body)

    def uploaded_parts(self, key: str, upload_id: str) -> dict[int, UploadedPart] | None:
        upload = self.uploads.get(upload_id)
        if upload is None or upload[0] != key:
            return None
        return {
            number: {"part_number": number, "etag": self._etag(body), "size": len(body)}
            for number, body in sorted(upload[1].items())
        }

    @staticmethod
    def _etag(body: bytes) -> str:
        return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> bool:
        upload = self.uploads.get(upload_id)
        if upload is None or upload[0] != key:
            return False
        uploaded = upload[1]
        numbers = [part["part_number"] for part in parts]
        if numbers != sorted(set(numbers)):
            raise UploadRefused("InvalidPartOrder")
        for part in parts:
            body = uploaded.get(part["part_number"])
            if body is None or self._etag(body).strip('"') != part["etag"].strip('"'):
                raise UploadRefused("InvalidPart")
        if any(len(uploaded[number]) < resources.S3_MIN_PART_BYTES for number in numbers[:-1]):
            raise UploadRefused("EntityTooSmall")
        self.put(key, b"".join(uploaded[number] for number in numbers), "application/octet-stream")
        del self.uploads[upload_id]
        return True

    def abort_upload(self, key: str, upload_id: str) -> None:
        if upload_id in self.uploads:
            del self.uploads[upload_id]
            self.aborted.append(upload_id)


class InMemoryChunkQueue:
    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self.sends = 0  # SendMessageBatch calls

    def send_all(self, messages: list[dict[str, object]]) -> None:
        for start in range(0, len(messages), 10):
            self.sends += 1
            self.messages.extend(copy.deepcopy(messages[start : start + 10]))

    def check(self) -> list[DependencyCheck]:
        return [DependencyCheck("sqs:in-memory-batch-chunks", True, 0.0)]

    def take(self) -> list[dict[str, object]]:
        taken, self.messages = self.messages, []
        return taken


class InMemoryBatchEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, object]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None:
        self.published.append((detail_type, dict(detail)))


def in_memory_batches(versions: VersionStore, settings: BatchSettings | None = None) -> Batches:
    return Batches(
        settings or BatchSettings("local", "batch-chunks", "batch-chunks-dlq"),
        InMemoryBatchStore(),
        InMemoryBatchObjects(),
        InMemoryChunkQueue(),
        InMemoryBatchEvents(),
        versions,
    )
