"""The registry's in-memory twin (``chalicelib.dal.versions.VersionStore``) for unit tests and
benchmarks: the same conditional semantics as DynamoDB + S3, in dicts, under one lock."""

from __future__ import annotations

import copy
import threading

from chalicelib.dal import DependencyCheck
from chalicelib.dal.versions import (
    Routing,
    RoutingChange,
    VersionContent,
    VersionRecord,
    empty_routing,
    version_content,
)


class InMemoryVersionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routing: Routing | None = None
        self._versions: dict[str, VersionRecord] = {}
        self._changes: dict[str, RoutingChange] = {}
        self._blobs: dict[str, bytes] = {}
        self._last_number = 1  # v1 is the packaged version
        self.routing_reads = 0  # how often the routing document was read (cache tests)

    def get_routing(self) -> Routing:
        with self._lock:
            self.routing_reads += 1
            return copy.deepcopy(self._routing) if self._routing is not None else empty_routing()

    def put_routing(self, routing: Routing, expected_revision: int) -> bool:
        if routing["revision"] != expected_revision + 1:
            raise ValueError("the new routing's revision must follow the expected one")
        with self._lock:
            stored = self._routing["revision"] if self._routing is not None else 0
            if stored != expected_revision:
                return False
            self._routing = copy.deepcopy(routing)
            return True

    def get_version(self, version_id: str) -> VersionRecord | None:
        with self._lock:
            record = self._versions.get(version_id)
            return copy.deepcopy(record) if record is not None else None

    def get_content(self, version_id: str) -> VersionContent | None:
        record = self.get_version(version_id)
        return None if record is None else version_content(record)

    def list_versions(self) -> list[VersionRecord]:
        with self._lock:
            records = [copy.deepcopy(record) for record in self._versions.values()]
        return sorted(records, key=lambda record: int(record["version_id"].lstrip("v")))

    def next_version_id(self) -> str:
        with self._lock:
            self._last_number += 1
            return f"v{self._last_number}"

    def put_version(self, record: VersionRecord) -> bool:
        with self._lock:
            if record["version_id"] in self._versions:
                return False
            self._versions[record["version_id"]] = copy.deepcopy(record)
            return True

    def put_blob(self, sha256: str, body: bytes) -> None:
        with self._lock:
            self._blobs[sha256] = bytes(body)

    def get_blob(self, sha256: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(sha256)

    def put_change(self, change: RoutingChange) -> None:
        with self._lock:
            self._changes[change["change_id"]] = copy.deepcopy(change)

    def get_change(self, change_id: str) -> RoutingChange | None:
        with self._lock:
            change = self._changes.get(change_id)
            return copy.deepcopy(change) if change is not None else None

    def proposed_changes(self) -> list[RoutingChange]:
        with self._lock:
            proposed = [copy.deepcopy(c) for c in self._changes.values() if c["state"] == "proposed"]
        return sorted(proposed, key=lambda change: change["proposed_at"])

    def mark_change(self, change: RoutingChange) -> bool:
        with self._lock:
            stored = self._changes.get(change["change_id"])
            if stored is None or stored["state"] != "proposed":
                return False
            self._changes[change["change_id"]] = copy.deepcopy(change)
            return True

    def check(self) -> list[DependencyCheck]:
        return [DependencyCheck("dynamodb:in-memory-decision-versions", True, 0.0)]
