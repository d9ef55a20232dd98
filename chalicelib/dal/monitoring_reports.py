"""Monitoring reports (issue 20): each run's report as JSON in S3, indexed in DynamoDB.

A report is one monitoring run over a window of stored decisions (``chalicelib.service.monitoring``):
a section per client and decision version, and the run's alerts. The whole report (tens of KB with
many clients) lives in S3 (``reports/<report_id>.json``); the index item in DynamoDB carries what
the list shows (window, versions, counts, alert codes). All index items share one partition
(``kind = "report"``) sorted by ``report_id``, which starts with the run's UTC time: a time range is
one Query, never a Scan (one report a day is 365 items a year; a partition holds far more).

Implementations: :mod:`chalicelib.dal.monitoring_reports_aws` (DynamoDB + S3) and the in-memory
twin :mod:`devstack.in_memory_monitoring`.

A run is fanned out (``chalicelib.service.monitoring``): its record (``kind = "run"``, the same
``report_id``) says RUNNING with ``parts_total``; each part (one (day, shard) partition of the
window) writes its counts to ``reports/<report_id>/parts/<day>-<shard>.json`` and joins the record's
``parts_done`` string set (adding a member twice changes nothing: a part delivered twice counts
once). The part that completes the set merges every part and stores the report.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Protocol, TypedDict

from chalicelib.dal import DependencyCheck
from chalicelib.records import ReportSummary as ReportSummary
from chalicelib.records import ReportTrigger as ReportTrigger
from chalicelib.records import ReportWindow as ReportWindow

REPORT_KIND = "report"
RUN_KIND = "run"  # a run's record: status and parts (the list shows reports only)
RunStatus = Literal["RUNNING", "COMPLETED", "FAILED"]
REPORT_ID_PREFIX = "mr-"


def report_id_at(created_at: str, suffix: str) -> str:
    """``mr-20261207T020000Z-<suffix>``: sorts by time, so a time range is a key range."""
    stamp = created_at[:19].replace("-", "").replace(":", "") + "Z"
    return f"{REPORT_ID_PREFIX}{stamp}-{suffix}"


def report_key(report_id: str) -> str:
    """The report's S3 object key."""
    return f"reports/{report_id}.json"


def id_bound(instant: str) -> str:
    """The report-id key bound of a stored-time string (``chalicelib.service.listing.instant``)."""
    digits = "".join(ch for ch in instant if ch.isdigit())
    if len(digits) < 14:  # the open ends of a time range ("0000", "9999-...")
        return REPORT_ID_PREFIX + digits
    return f"{REPORT_ID_PREFIX}{digits[:8]}T{digits[8:14]}Z"


class RunRecord(TypedDict):
    """A fanned-out run: what was asked, and which of its parts are counted."""

    report_id: str
    created_at: str
    window: ReportWindow
    trigger: ReportTrigger
    requested_by: str | None
    status: RunStatus
    parts_total: int
    parts_done: list[str]  # part ids (the partitions "<YYYY-MM-DD>#<shard>"), sorted
    error: str | None  # why a FAILED run failed


def part_key(report_id: str, part_id: str) -> str:
    """A part's counts: deterministic, so a part retried overwrites its own file."""
    return f"reports/{report_id}/parts/{part_id.replace('#', '-')}.json"


class PartQueue(Protocol):
    """The parts' queue (``resources.MONITORING_PARTS_QUEUE``; ``chalicelib.dal.batches.ChunkQueue``)."""

    def send_all(self, messages: list[dict[str, object]]) -> None: ...

    def check(self) -> list[DependencyCheck]: ...


class ReportStore(Protocol):
    """Where monitoring reports are kept."""

    def put_report(self, summary: ReportSummary, body: bytes) -> None:
        """Store the report's JSON (S3), then its index item (DynamoDB): an index item never names a
        report that is not there."""

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        """The report's JSON, or None when no such report."""

    def list_reports(self, low_id: str, high_id: str, version: str | None, limit: int) -> list[ReportSummary]:
        """Index items with ``low_id <= report_id <= high_id`` (``version``: only reports with a
        section for it), newest first, at most ``limit``."""

    def check(self) -> list[DependencyCheck]: ...

    # -- fanned-out runs --------------------------------------------------------------------------
    def put_run(self, run: RunRecord) -> None:
        """Write a new run's record (RUNNING, no part done)."""

    def get_run(self, report_id: str) -> RunRecord | None: ...

    def put_part(self, report_id: str, part_id: str, body: bytes) -> None:
        """Write (or overwrite) a part's counts."""

    def get_part(self, report_id: str, part_id: str) -> bytes | None: ...

    def record_part(self, report_id: str, part_id: str) -> RunRecord | None:
        """Add ``part_id`` to the run's done set, atomically, while the run is RUNNING; the record
        afterwards, or None when the run is not RUNNING (finished, failed or unknown)."""

    def finish_run(self, report_id: str, status: RunStatus, error: str | None) -> bool:
        """RUNNING -> ``status``, conditionally: True for the one caller that moved it."""


class AlertPublisher(Protocol):
    """EventBridge: ``monitoring.alert`` on the decision-events bus."""

    def publish_alerts(self, details: list[dict[str, Any]]) -> int:
        """Publish one event per alert detail; returns how many were not accepted. Raises
        DependencyUnavailable."""


class MonitoringStores(NamedTuple):
    reports: ReportStore
    alerts: AlertPublisher
    parts: PartQueue | None = None  # None: runs are not fanned out here (one pass in-process)
