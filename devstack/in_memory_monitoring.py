"""The monitoring reports' in-memory twin (``chalicelib.dal.monitoring_reports.ReportStore``) for
unit tests and benchmarks: report bodies and index items in dicts, under one lock."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from chalicelib.dal import DependencyCheck
from chalicelib.dal.monitoring_reports import MonitoringStores, PartQueue, ReportSummary, RunRecord, RunStatus


class InMemoryReportStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[str, bytes] = {}
        self._index: dict[str, ReportSummary] = {}
        self._runs: dict[str, RunRecord] = {}
        self._parts: dict[tuple[str, str], bytes] = {}

    def put_report(self, summary: ReportSummary, body: bytes) -> None:
        with self._lock:
            self._bodies[summary["report_id"]] = bytes(body)
            self._index[summary["report_id"]] = copy.deepcopy(summary)

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        with self._lock:
            body = self._bodies.get(report_id)
        if body is None:
            return None
        report: dict[str, Any] = json.loads(body)
        return report

    def list_reports(self, low_id: str, high_id: str, version: str | None, limit: int) -> list[ReportSummary]:
        with self._lock:
            found = [
                copy.deepcopy(summary)
                for report_id, summary in self._index.items()
                if low_id <= report_id <= high_id and (version is None or version in summary["versions"])
            ]
        return sorted(found, key=lambda summary: summary["report_id"], reverse=True)[:limit]

    def check(self) -> list[DependencyCheck]:
        return [DependencyCheck("dynamodb:in-memory-monitoring-reports", True, 0.0)]

    def put_run(self, run: RunRecord) -> None:
        with self._lock:
            self._runs[run["report_id"]] = copy.deepcopy(run)

    def get_run(self, report_id: str) -> RunRecord | None:
        with self._lock:
            return copy.deepcopy(self._runs.get(report_id))

    def put_part(self, report_id: str, part_id: str, body: bytes) -> None:
        with self._lock:
            self._parts[(report_id, part_id)] = bytes(body)

    def get_part(self, report_id: str, part_id: str) -> bytes | None:
        with self._lock:
            return self._parts.get((report_id, part_id))

    def record_part(self, report_id: str, part_id: str) -> RunRecord | None:
        with self._lock:
            run = self._runs.get(report_id)
            if run is None or run["status"] != "RUNNING":
                return None
            run["parts_done"] = sorted({*run["parts_done"], part_id})
            return copy.deepcopy(run)

    def finish_run(self, report_id: str, status: RunStatus, error: str | None) -> bool:
        with self._lock:
            run = self._runs.get(report_id)
            if run is None or run["status"] != "RUNNING":
                return False
            run["status"] = status
            run["error"] = error
            return True


class InMemoryAlerts:
    """The ``monitoring.alert`` events published, in order."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish_alerts(self, details: list[dict[str, Any]]) -> int:
        self.published += copy.deepcopy(details)
        return 0


def in_memory_monitoring(parts: PartQueue | None = None) -> MonitoringStores:
    """``parts``: a queue (``devstack.in_memory_batches.InMemoryChunkQueue``) to fan runs out on."""
    return MonitoringStores(InMemoryReportStore(), InMemoryAlerts(), parts)
