"""A monitoring run fanned out over its window's (day, shard) partitions (chalicelib.service.monitoring:
start_fanout, handle_part, the dead-letter settlement): the same report as one pass over the same
decisions, whatever order the parts arrive in and however often; a part that keeps failing fails the
run. In-memory stores and queue; the parts' messages are delivered here as SQS would."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.outcomes import day_partition, day_partitions
from chalicelib.engine import monitoring as figures
from chalicelib.engine.monitoring import MonitoredDecision
from chalicelib.errors import ServiceError
from chalicelib.service import monitoring
from chalicelib.service.dependencies import Dependencies
from devstack.in_memory_batches import InMemoryChunkQueue
from devstack.in_memory_monitoring import InMemoryAlerts, in_memory_monitoring
from tests.unit.service.test_monitoring_run import NOW, REFERENCE, decisions


class PartitionedSource:
    """The rows as the monitoring index answers them: by window, or one (day, shard) partition."""

    def __init__(self, rows: list[MonitoredDecision]) -> None:
        self.rows = rows
        self.partitions_read: list[str] = []

    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        return iter([d for d in self.rows if start <= d.created_at < end])

    def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
        self.partitions_read.append(partition)
        return iter(
            [
                d
                for d in self.rows
                if start <= d.created_at < end and day_partition(d.decision_id, d.created_at) == partition
            ]
        )


@pytest.fixture
def deps(memory: Dependencies, monkeypatch: pytest.MonkeyPatch) -> Dependencies:
    monkeypatch.setattr(figures, "reference_of", lambda model: REFERENCE, raising=False)
    memory.monitoring = in_memory_monitoring(InMemoryChunkQueue())
    return memory


def queue_of(deps: Dependencies) -> InMemoryChunkQueue:
    configured = monitoring.stores(deps)
    assert isinstance(configured.parts, InMemoryChunkQueue)
    return configured.parts


def alerts_of(deps: Dependencies) -> InMemoryAlerts:
    published = monitoring.stores(deps).alerts
    assert isinstance(published, InMemoryAlerts)
    return published


def without_id(report: Any) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "report_id"}


def spread_over_days(rows: list[MonitoredDecision], days: int, seed: int = 3) -> list[MonitoredDecision]:
    rng = random.Random(seed)
    stamp = monitoring.stamp
    return [
        d._replace(created_at=stamp(NOW - dt.timedelta(minutes=1 + rng.randrange(days * 24 * 60 - 2))))
        for d in rows
    ]


def test_a_run_of_many_parts_gives_the_one_pass_report(deps: Dependencies) -> None:
    rows = spread_over_days(decisions(1500), days=7)
    source = PartitionedSource(rows)
    one_pass = monitoring.run(deps, window_days=7, now=NOW, source=source)
    alerts_before = len(alerts_of(deps).published)

    started = monitoring.start_fanout(deps, window_days=7, now=NOW, trigger="staff", requested_by="mr1")
    messages = queue_of(deps).take()
    window = started["window"]
    assert started["parts_total"] == len(messages) == len(day_partitions(window["from"], window["to"])) == 32
    assert sorted(m["part"] for m in messages) == sorted(day_partitions(window["from"], window["to"]))
    random.Random(5).shuffle(messages)
    for message in messages[:-1]:
        monitoring.handle_part(deps, message, source)
        running = monitoring.get_report(deps, started["report_id"])
        assert running["status"] == "running"  # type: ignore[typeddict-item]
    monitoring.handle_part(deps, messages[-1], source)

    report = monitoring.get_report(deps, started["report_id"])
    assert report["report_id"] == started["report_id"]
    assert without_id(report) == {**without_id(one_pass), "trigger": "staff", "requested_by": "mr1"}
    assert sorted(source.partitions_read) == sorted(m["part"] for m in messages)  # Queries per partition only
    assert report["alerts"] and len(alerts_of(deps).published) - alerts_before == len(report["alerts"])  # type: ignore[typeddict-item]
    listed = monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit=None)
    assert started["report_id"] in [summary["report_id"] for summary in listed["reports"]]


def test_a_part_delivered_twice_counts_once(deps: Dependencies) -> None:
    rows = decisions(600)
    source = PartitionedSource(rows)
    one_pass = monitoring.run(deps, window_days=1, now=NOW, source=source)
    published_before = len(alerts_of(deps).published)
    started = monitoring.start_fanout(deps, window_days=1, now=NOW)
    messages = queue_of(deps).take()
    first = messages[0]
    monitoring.handle_part(deps, first, source)
    monitoring.handle_part(deps, first, source)  # SQS delivers at least once
    run = monitoring.get_report(deps, started["report_id"])
    assert run["parts"] == {"done": 1, "total": len(messages)}  # type: ignore[typeddict-item]
    for message in messages[1:]:
        monitoring.handle_part(deps, message, source)
    for message in messages:  # late duplicates after the report: nothing counted, nothing published again
        monitoring.handle_part(deps, message, source)
    report = monitoring.get_report(deps, started["report_id"])
    assert report["decisions"] == one_pass["decisions"] == len(rows)  # type: ignore[typeddict-item]
    assert report["sections"] == one_pass["sections"]  # type: ignore[typeddict-item]
    assert len(alerts_of(deps).published) - published_before == len(one_pass["alerts"])


def test_a_part_that_keeps_failing_fails_the_run_naming_its_partition(deps: Dependencies) -> None:
    source = PartitionedSource(decisions(200))
    started = monitoring.start_fanout(deps, window_days=1, now=NOW)
    messages = queue_of(deps).take()
    dead = messages[1]
    event = {"Records": [{"messageId": "m-1", "body": json.dumps(dead)}]}
    assert monitoring.handle_dead_parts(deps, event) == {"batchItemFailures": []}
    for message in messages:
        if message is not dead:
            monitoring.handle_part(deps, message, source)
    failed = monitoring.get_report(deps, started["report_id"])
    assert failed["status"] == "failed"  # type: ignore[typeddict-item]
    assert str(dead["part"]) in str(failed["error"])  # type: ignore[typeddict-item]
    assert "sections" not in failed
    listed = monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit=None)
    assert started["report_id"] not in [summary["report_id"] for summary in listed["reports"]]


def test_a_failing_part_is_handed_back_to_sqs_for_a_retry(deps: Dependencies) -> None:
    monitoring.start_fanout(deps, window_days=1, now=NOW)
    message = queue_of(deps).take()[0]

    class Down:
        def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
            raise DependencyUnavailable("dynamodb", "ProvisionedThroughputExceededException")

    deps.outcomes = Down()  # type: ignore[assignment]
    event = {"Records": [{"messageId": "m-7", "body": json.dumps(message)}]}
    assert monitoring.handle_parts(deps, event) == {"batchItemFailures": [{"itemIdentifier": "m-7"}]}


def test_the_staff_run_answers_the_run_at_once(deps: Dependencies) -> None:
    started = monitoring.start_run(deps, {"window_days": 7}, "modelrisk1", now=NOW)
    assert started["status"] == "running" and started["error"] is None
    assert started["parts"] == {"done": 0, "total": 4 * 8}  # 7 days not aligned on midnight: 8 days
    assert started["trigger"] == "staff" and started["requested_by"] == "modelrisk1"
    assert len(queue_of(deps).take()) == 32
    assert monitoring.get_report(deps, started["report_id"]) == started


def test_a_run_whose_parts_cannot_be_queued_is_503_and_marked_failed(deps: Dependencies) -> None:
    class Refusing(InMemoryChunkQueue):
        def send_all(self, messages: list[dict[str, object]]) -> None:
            raise DependencyUnavailable("sqs", "ServiceUnavailable")

    configured = monitoring.stores(deps)
    deps.monitoring = configured._replace(parts=Refusing())
    with pytest.raises(ServiceError) as refused:
        monitoring.start_run(deps, {"window_days": 1}, "modelrisk1", now=NOW)
    assert refused.value.status == 503
    runs = [r for r in configured.reports._runs.values()]  # type: ignore[attr-defined]
    assert [run["status"] for run in runs] == ["FAILED"]


def test_the_schedule_starts_a_fanned_out_run(deps: Dependencies) -> None:
    started = monitoring.scheduled_run(deps, now=NOW)
    assert started["status"] == "running" and started["trigger"] == "schedule"
    assert started["parts"]["total"] == len(queue_of(deps).take()) == 8
