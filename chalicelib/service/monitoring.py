"""The monitoring run (issue 20): every stored decision of a window, per client and decision version,
turned into one report with its alerts; stored, published and measured.

A run reads the window's decisions once through the decisions' day partitions
(``OutcomeStore.iter_monitored``: Queries, never a Scan) and feeds each to the accumulator of its
(client, version) (``chalicelib.engine.monitoring``: counts only, so memory stays flat however many
decisions the window holds). Each version's figures are compared with its own reference: the
training distribution of its model (``engine.monitoring.reference_of``) and the approval rate of its
validation report on the labelled holdout. Per version, a section over all clients (``client_id``
"*", the accumulators merged) comes beside the per-client ones: drift and fairness of a version are
judged on all its decisions.

The report is stored (S3 JSON, indexed in DynamoDB), every alert is published as a
``monitoring.alert`` event (codes and figures only: no personal data), and the worst figures of the
run become EMF metrics (``resources.MONITORING_METRICS``) that the template's alarms watch.

Fanned out (``start_fanout``: the schedule, ``make monitor`` and the staff route): 1 million
decisions do not fit one 15-minute invocation, so a run is its record (RUNNING, parts total) and one
message per (day, shard) partition of the window on ``resources.MONITORING_PARTS_QUEUE``. Each part
(``handle_part``) counts its partition, writes the counts to S3 under a key of its own (a retried
part overwrites its file) and joins the record's done set (a string set: a part delivered twice
counts once). The part that completes the set merges every part (``Accumulator.merge``: any order,
the same report) and stores the report as the one-pass ``run`` does; the conditional move to
COMPLETED lets one caller only publish the alerts and metrics. A part that keeps failing reaches the
dead-letter queue, whose handler marks the run FAILED naming the partition. ``run`` (one pass in
one process) stays for the benchmark, tests and stacks without the queue.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Protocol

from chalicelib import resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.monitoring_reports import (
    AlertPublisher,
    MonitoringStores,
    ReportSummary,
    ReportTrigger,
    ReportWindow,
    RunRecord,
    id_bound,
    report_id_at,
)
from chalicelib.dal.outcomes import day_partitions
from chalicelib.dal.versions import PACKAGED_VERSION_ID, VersionStore
from chalicelib.engine import monitoring
from chalicelib.engine.monitoring import MonitoredDecision
from chalicelib.engine.validation import packaged_holdout
from chalicelib.errors import ServiceError, dependency_unavailable, not_found
from chalicelib.observability import count as count_metric
from chalicelib.observability import emf_enabled, logger
from chalicelib.records import MonitoringReport, MonitoringRunStatus, ReportList, ReportSection, RunAlert
from chalicelib.service import listing, routing, versions
from chalicelib.service.dependencies import Dependencies

ALL_CLIENTS = "*"  # the client_id of a version's section over every client
THRESHOLDS = monitoring.MonitoringThresholds(*resources.MONITORING_THRESHOLDS)


class MonitoredSource(Protocol):
    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        """Every client's decisions created in [start, end) (ISO 8601 UTC)."""


class PartitionSource(Protocol):
    def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
        """One (day, shard) partition's decisions created in [start, end)."""


class VersionBasis(NamedTuple):
    """What a version's figures are compared with."""

    reference: monitoring.ReferenceDistribution | None  # None: the model carries none
    baseline_approval_rate: float | None


def stores(deps: Dependencies) -> MonitoringStores:
    configured = deps.monitoring
    if configured is None:
        raise RuntimeError("these dependencies have no monitoring stores")
    return configured


def stamp(moment: dt.datetime) -> str:
    """A stored-time string (ISO 8601 UTC, milliseconds, Z), as decisions carry it."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def version_basis(store: VersionStore, version_id: str) -> VersionBasis:
    """The version's reference distribution (its model's training data) and validation approval
    rate; neither for a version the registry does not know (its decisions are still counted, never
    compared)."""
    try:
        logic = routing.version_logic(version_id, store)
    except routing.VersionNotFound:
        logger.warning("monitoring: decisions of an unknown version", extra={"decision_version": version_id})
        return VersionBasis(None, None)
    record = versions.find_version(store, version_id)
    report = record["report"] if record is not None else None
    if report is None and version_id == PACKAGED_VERSION_ID:
        # The packaged version has no stored report: its figures on the packaged holdout (computed
        # once per process, like the registry's champion figures).
        report = versions.compute_report(logic, PACKAGED_VERSION_ID, logic, packaged_holdout())
    baseline = report["candidate"]["approval_rate"] if report is not None else None
    return VersionBasis(monitoring.reference_of(logic.model), baseline)


def _accumulate(
    deps: Dependencies, source: MonitoredSource, start: str, end: str
) -> tuple[int, dict[tuple[str, str], monitoring.Accumulator], dict[str, VersionBasis]]:
    accumulators: dict[tuple[str, str], monitoring.Accumulator] = {}
    bases: dict[str, VersionBasis] = {}
    count = 0
    for decision in source.iter_monitored(start, end):
        key = (decision.client_id, decision.decision_version)
        accumulator = accumulators.get(key)
        if accumulator is None:
            basis = bases.get(decision.decision_version)
            if basis is None:
                basis = bases[decision.decision_version] = version_basis(
                    deps.versions, decision.decision_version
                )
            accumulator = accumulators[key] = monitoring.Accumulator(basis.reference)
        accumulator.add(decision)
        count += 1
    return count, accumulators, bases


def _sections(
    accumulators: dict[tuple[str, str], monitoring.Accumulator], bases: dict[str, VersionBasis]
) -> list[ReportSection]:
    by_version: dict[str, list[tuple[str, monitoring.Accumulator]]] = {}
    for (client_id, version_id), accumulator in accumulators.items():
        by_version.setdefault(version_id, []).append((client_id, accumulator))
    sections: list[ReportSection] = []
    for version_id in sorted(by_version, key=_version_order):
        basis = bases[version_id]
        clients = sorted(by_version[version_id])
        merged = clients[0][1]
        for _, accumulator in clients[1:]:
            merged = merged.merge(accumulator)
        for client_id, accumulator in [(ALL_CLIENTS, merged), *clients]:
            figures = monitoring.report(
                accumulator,
                reference=basis.reference,
                baseline_approval_rate=basis.baseline_approval_rate,
                thresholds=THRESHOLDS,
            )
            sections.append({"client_id": client_id, "decision_version": version_id, **figures})
    return sections


def _version_order(version_id: str) -> tuple[int, str]:
    digits = version_id.lstrip("v")
    return (int(digits), version_id) if digits.isdigit() else (1 << 30, version_id)


def run(
    deps: Dependencies,
    *,
    window_days: int,
    now: dt.datetime,
    trigger: ReportTrigger = "schedule",
    requested_by: str | None = None,
    source: MonitoredSource | None = None,
) -> MonitoringReport:
    """One monitoring run over the ``window_days`` days before ``now``: stored, alerts published,
    metrics emitted. ``source``: where the decisions are read (default: the decisions' monitoring
    read path, ``deps.outcomes``). Raises ``DependencyUnavailable`` when storage cannot be read or
    written."""
    configured = stores(deps)
    if source is None:
        if deps.outcomes is None:
            raise RuntimeError("these dependencies have no monitoring read path")
        source = deps.outcomes
    window = window_before(now, window_days)
    count, accumulators, bases = _accumulate(deps, source, window["from"], window["to"])
    created_at = window["to"]
    report = _assemble(
        report_id_at(created_at, secrets.token_hex(4)),
        created_at,
        window,
        trigger,
        requested_by,
        count,
        accumulators,
        bases,
    )
    configured.reports.put_report(summary_of(report), json.dumps(report, allow_nan=False).encode())
    _announce(configured, report)
    return report


def window_before(now: dt.datetime, window_days: int) -> ReportWindow:
    end = now.astimezone(dt.UTC)
    start = end - dt.timedelta(days=window_days)
    return {"from": stamp(start), "to": stamp(end), "days": window_days}


def _assemble(
    report_id: str,
    created_at: str,
    window: ReportWindow,
    trigger: ReportTrigger,
    requested_by: str | None,
    count: int,
    accumulators: dict[tuple[str, str], monitoring.Accumulator],
    bases: dict[str, VersionBasis],
) -> MonitoringReport:
    sections = _sections(accumulators, bases)
    alerts: list[RunAlert] = [
        {**alert, "client_id": section["client_id"], "decision_version": section["decision_version"]}
        for section in sections
        for alert in section["alerts"]
    ]
    return {
        "report_id": report_id,
        "created_at": created_at,
        "window": window,
        "trigger": trigger,
        "requested_by": requested_by,
        "decisions": count,
        "sections": sections,
        "alerts": alerts,
    }


def _announce(configured: MonitoringStores, report: MonitoringReport) -> None:
    """Once per report: its alerts as events, its figures as metrics, one log line."""
    _publish_alerts(configured.alerts, report)
    emit_metrics(report)
    logger.info(
        "monitoring run",
        extra={
            "report_id": report["report_id"],
            "decisions": report["decisions"],
            "sections": len(report["sections"]),
            "alerts": len(report["alerts"]),
        },
    )


# -- the fan-out -----------------------------------------------------------------------------------
def start_fanout(
    deps: Dependencies,
    *,
    window_days: int,
    now: dt.datetime,
    trigger: ReportTrigger = "schedule",
    requested_by: str | None = None,
) -> RunRecord:
    """A run's record (RUNNING) and one message per (day, shard) partition of its window; returns at
    once (the parts do the work). Raises ``DependencyUnavailable``; a run whose messages could not
    all be sent is marked FAILED (its parts would never all arrive)."""
    configured = stores(deps)
    if configured.parts is None:
        raise RuntimeError("these dependencies have no monitoring parts queue")
    window = window_before(now, window_days)
    created_at = window["to"]
    parts = day_partitions(window["from"], window["to"])
    record: RunRecord = {
        "report_id": report_id_at(created_at, secrets.token_hex(4)),
        "created_at": created_at,
        "window": window,
        "trigger": trigger,
        "requested_by": requested_by,
        "status": "RUNNING",
        "parts_total": len(parts),
        "parts_done": [],
        "error": None,
    }
    configured.reports.put_run(record)
    messages: list[dict[str, object]] = [
        {"report_id": record["report_id"], "part": part, "from": window["from"], "to": window["to"]}
        for part in parts
    ]
    try:
        configured.parts.send_all(messages)
    except DependencyUnavailable:
        configured.reports.finish_run(record["report_id"], "FAILED", "the run's parts could not be queued")
        raise
    logger.info("monitoring run started", extra={"report_id": record["report_id"], "parts": len(parts)})
    return record


def handle_part(
    deps: Dependencies, message: Mapping[str, Any], source: PartitionSource | None = None
) -> None:
    """One part of a run: count its partition, store the counts, count it done; the part that
    completes the run merges and stores the report. Raises to have the message delivered again."""
    configured = stores(deps)
    report_id, part = str(message["report_id"]), str(message["part"])
    start, end = str(message["from"]), str(message["to"])
    run_record = configured.reports.get_run(report_id)
    if run_record is None or run_record["status"] != "RUNNING":
        return  # finished, failed or unknown: nothing left to do
    if part in run_record["parts_done"]:
        _complete_if_done(deps, run_record)  # counted before: perhaps its completion was not
        return
    if source is None:
        if deps.outcomes is None:
            raise RuntimeError("these dependencies have no monitoring read path")
        source = deps.outcomes
    count, accumulators, _ = _accumulate(deps, _OnePartition(source, part), start, end)
    counts = {
        "decisions": count,
        "sections": [
            {"client_id": client_id, "decision_version": version_id, "counts": accumulator.to_json()}
            for (client_id, version_id), accumulator in sorted(accumulators.items())
        ],
    }
    configured.reports.put_part(report_id, part, json.dumps(counts, separators=(",", ":")).encode())
    updated = configured.reports.record_part(report_id, part)
    if updated is not None:
        _complete_if_done(deps, updated)


class _OnePartition:
    """A partition read as a window (``_accumulate`` reads a ``MonitoredSource``)."""

    def __init__(self, source: PartitionSource, partition: str) -> None:
        self._source = source
        self._partition = partition

    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        return self._source.iter_partition(self._partition, start, end)


def _complete_if_done(deps: Dependencies, record: RunRecord) -> None:
    """Every part counted: merge them, store the report; the caller that moves the run to COMPLETED
    (conditional) publishes its alerts and metrics. Idempotent: the report's bytes are the same
    whoever writes them."""
    if record["status"] != "RUNNING" or len(record["parts_done"]) < record["parts_total"]:
        return
    configured = stores(deps)
    report_id = record["report_id"]
    accumulators: dict[tuple[str, str], monitoring.Accumulator] = {}
    bases: dict[str, VersionBasis] = {}
    count = 0
    for part in record["parts_done"]:
        body = configured.reports.get_part(report_id, part)
        if body is None:
            raise DependencyUnavailable("s3", f"the counts of part {part} are missing")
        counts = json.loads(body)
        count += int(counts["decisions"])
        for section in counts["sections"]:
            key = (str(section["client_id"]), str(section["decision_version"]))
            basis = bases.get(key[1])
            if basis is None:
                basis = bases[key[1]] = version_basis(deps.versions, key[1])
            accumulator = monitoring.Accumulator.from_json(section["counts"], basis.reference)
            accumulators[key] = accumulators[key].merge(accumulator) if key in accumulators else accumulator
    report = _assemble(
        report_id,
        record["created_at"],
        record["window"],
        record["trigger"],
        record["requested_by"],
        count,
        accumulators,
        bases,
    )
    configured.reports.put_report(summary_of(report), json.dumps(report, allow_nan=False).encode())
    if configured.reports.finish_run(report_id, "COMPLETED", None):
        _announce(configured, report)


def handle_parts(deps: Dependencies, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """An SQS batch of the parts queue; the messages to retry (ReportBatchItemFailures). A part that
    raises anything is retried: after ``max_receive_count`` receives it is in the DLQ."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            handle_part(deps, json.loads(record["body"]))
        except Exception as error:  # every failure is a retry, then the DLQ
            count_metric("MonitoringPartFailed")
            logger.warning(
                "monitoring part failed; retried",
                extra={"problem": type(error).__name__, "detail": str(error)[:300]},
            )
            failures.append({"itemIdentifier": str(record["messageId"])})
    return {"batchItemFailures": failures}


def settle_failed_part(deps: Dependencies, message: Mapping[str, Any]) -> None:
    """A part that kept failing: the run is FAILED naming its partition (no report that silently
    lacks a partition)."""
    tries = resources.MONITORING_PARTS_QUEUE.max_receive_count
    part = str(message["part"])
    error = f"partition {part} failed {tries} times: the run has no report"
    if stores(deps).reports.finish_run(str(message["report_id"]), "FAILED", error):
        logger.warning("monitoring run failed", extra={"report_id": str(message["report_id"]), "part": part})


def handle_dead_parts(deps: Dependencies, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            settle_failed_part(deps, json.loads(record["body"]))
        except DependencyUnavailable as error:
            logger.warning("dead monitoring part not settled; retried", extra={"cause": error.cause})
            failures.append({"itemIdentifier": str(record["messageId"])})
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed dead monitoring part dropped")
    return {"batchItemFailures": failures}


def run_view(record: RunRecord) -> MonitoringRunStatus:
    return {
        "report_id": record["report_id"],
        "status": "completed"
        if record["status"] == "COMPLETED"
        else "failed"
        if record["status"] == "FAILED"
        else "running",
        "created_at": record["created_at"],
        "window": record["window"],
        "trigger": record["trigger"],
        "requested_by": record["requested_by"],
        "parts": {"done": len(record["parts_done"]), "total": record["parts_total"]},
        "error": record["error"],
    }


def summary_of(report: MonitoringReport) -> ReportSummary:
    sections = report["sections"]
    return {
        "report_id": report["report_id"],
        "created_at": report["created_at"],
        "window": report["window"],
        "trigger": report["trigger"],
        "requested_by": report["requested_by"],
        "versions": sorted({s["decision_version"] for s in sections}, key=_version_order),
        "clients": len({s["client_id"] for s in sections if s["client_id"] != ALL_CLIENTS}),
        "decisions": report["decisions"],
        "alerts": len(report["alerts"]),
        "alert_codes": sorted({alert["code"] for alert in report["alerts"]}),
    }


def _publish_alerts(publisher: AlertPublisher, report: MonitoringReport) -> None:
    """Best effort: the report is stored; a lost event is logged and counted, not a failed run."""
    if not report["alerts"]:
        return
    details = [
        {"report_id": report["report_id"], "window": report["window"], **alert} for alert in report["alerts"]
    ]
    try:
        failed = publisher.publish_alerts(details)
    except DependencyUnavailable as error:
        failed = len(details)
        logger.warning("monitoring alerts not published", extra={"cause": error.cause, "count": failed})
    if failed:
        logger.warning("monitoring alerts refused", extra={"count": failed})


# -- metrics -------------------------------------------------------------------------------------
def run_metrics(report: MonitoringReport) -> dict[str, float]:
    """The run's worst figures among sections with enough decisions to say anything (the same
    minimums as the alerts), by ``resources.MONITORING_METRICS`` key. A figure no section could
    give is left out (no data point: the alarm treats it as missing, never as a breach)."""
    limits = THRESHOLDS
    psi: list[float] = []
    moves: list[float] = []
    overrides: list[float] = []
    impacts: list[float] = []
    for section in report["sections"]:
        score = section["score"]
        if score is not None and score["psi"] is not None and score["n"] >= limits.psi_min_n:
            psi.append(score["psi"])
        change = section["approval"]["change"]
        if change is not None and section["decisions"] >= limits.approval_rate_min_n:
            moves.append(abs(change))
        rate = section["overrides"]["rate"]
        if rate is not None and section["overrides"]["reviews_closed"] >= limits.override_min_reviews:
            overrides.append(rate)
        impacts += [f["disparate_impact"] for f in section["fairness"] if f["disparate_impact"] is not None]
    figures: dict[str, float] = {
        "decisions": float(report["decisions"]),
        "alerts": float(len(report["alerts"])),
        "rejection_rate_spike": float(any(a["code"] == "rejection_rate_spike" for a in report["alerts"])),
    }
    for key, values, worst in (
        ("score_psi", psi, max),
        ("approval_rate_shift", moves, max),
        ("override_rate", overrides, max),
        ("disparate_impact", impacts, min),
    ):
        if values:
            figures[key] = worst(values)
    return figures


def emit_metrics(report: MonitoringReport) -> dict[str, float]:
    """The run's figures as one EMF blob (where EMF is on: ``resources.EMF_METRICS``)."""
    figures = run_metrics(report)
    if emf_enabled():
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        blob = EphemeralMetrics(namespace=resources.METRICS_NAMESPACE, service=resources.SERVICE)
        for key, value in figures.items():
            unit = MetricUnit.Count if key in ("decisions", "alerts") else MetricUnit.NoUnit
            blob.add_metric(name=resources.MONITORING_METRICS[key], unit=unit, value=value)
        blob.flush_metrics()
    return figures


# -- reading reports -----------------------------------------------------------------------------
def _guard(call: Any) -> Any:
    try:
        return call()
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from error


def start_run(
    deps: Dependencies, body: object, requested_by: str, now: dt.datetime | None = None
) -> MonitoringRunStatus:
    """``POST /v1/monitoring/runs``: a run started now over the body's window (202: the parts do the
    work; ``get_report`` says how far it is)."""
    if not isinstance(body, dict) or set(body) - {"window_days"}:
        raise ServiceError(
            400,
            "validation_failed",
            "invalid field(s): window_days",
            [{"field": "window_days", "problem": _WINDOW_PROBLEM}],
        )
    days = body.get("window_days", resources.MONITORING_DEFAULT_WINDOW_DAYS)
    if isinstance(days, bool) or days not in resources.MONITORING_WINDOW_DAYS:
        raise ServiceError(
            400,
            "validation_failed",
            "invalid field(s): window_days",
            [{"field": "window_days", "problem": _WINDOW_PROBLEM}],
        )
    moment = now or dt.datetime.now(dt.UTC)
    try:
        started = start_fanout(
            deps, window_days=int(days), now=moment, trigger="staff", requested_by=requested_by
        )
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from error
    return run_view(started)


_WINDOW_PROBLEM = "one of " + ", ".join(str(days) for days in resources.MONITORING_WINDOW_DAYS) + " (days)"
_VERSION_PROBLEM = "a decision version id (v1, v2, ...)"


def list_reports(
    deps: Dependencies,
    *,
    created_from: str | None,
    created_to: str | None,
    version: str | None,
    limit: str | None,
) -> ReportList:
    problems = listing.Problems()
    low, high = listing.time_range(created_from, created_to, problems)
    size = listing.page_size(limit, problems)
    if version is not None and not _is_version_id(version):
        problems.add("version", _VERSION_PROBLEM)
    problems.raise_if_any()
    if (low, high) == listing.EMPTY_RANGE:
        return {"reports": []}
    configured = stores(deps)
    found = _guard(
        lambda: configured.reports.list_reports(id_bound(low), id_bound(high) + "~", version, size)
    )
    return {"reports": found}


def _is_version_id(text: str) -> bool:
    return len(text) <= 12 and text[:1] == "v" and text[1:].isascii() and text[1:].isdigit()


def get_report(deps: Dependencies, report_id: str) -> MonitoringReport | MonitoringRunStatus:
    """The report; for a run without one yet (or that failed), the run: status and parts."""
    configured = stores(deps)
    if not _is_report_id(report_id):
        raise not_found("report")
    found = _guard(lambda: configured.reports.get_report(report_id))
    if found is not None:
        report: MonitoringReport = found
        return report
    started: RunRecord | None = _guard(lambda: configured.reports.get_run(report_id))
    if started is None:
        raise not_found("report")
    return run_view(started)


def _is_report_id(text: str) -> bool:
    # "mr-20261207T020000Z-0123abcd": anything else cannot exist and is not sent to S3.
    return (
        len(text) == 28
        and text.startswith("mr-")
        and text[3:11].isdigit()
        and text[11] == "T"
        and text[12:18].isdigit()
        and text[18:20] == "Z-"
        and all(ch in "0123456789abcdef" for ch in text[20:])
    )


# -- the schedule ----------------------------------------------------------------------------------
def scheduled_window_days(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    configured = env.get(resources.MONITORING_WINDOW_DAYS_ENV)
    days = (
        int(configured) if configured and configured.isdigit() else resources.MONITORING_DEFAULT_WINDOW_DAYS
    )
    if days not in resources.MONITORING_WINDOW_DAYS:
        raise RuntimeError(
            f"{resources.MONITORING_WINDOW_DAYS_ENV} must be one of {resources.MONITORING_WINDOW_DAYS}"
        )
    return days


def scheduled_run(
    deps: Dependencies, now: dt.datetime | None = None, trigger: ReportTrigger = "schedule"
) -> dict[str, Any]:
    """The scheduled run (Lambda's schedule; locally the devstack timer): the run started (what the
    function returns, logged by Lambda); its parts make the report. Without a parts queue, one pass
    here, and the report's summary."""
    moment = now or dt.datetime.now(dt.UTC)
    if stores(deps).parts is None:
        return dict(summary_of(run(deps, window_days=scheduled_window_days(), now=moment, trigger=trigger)))
    return dict(
        run_view(start_fanout(deps, window_days=scheduled_window_days(), now=moment, trigger=trigger))
    )
