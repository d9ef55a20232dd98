"""Monitoring reports on DynamoDB + S3 (moto in-process), and the run over the decisions' own read
path: decisions made through the service, read back by ``iter_monitored`` on the in-memory twin and
on moto, then reported."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.config import queue_name
from chalicelib.dal.monitoring_reports import ReportSummary, report_id_at
from chalicelib.service import decisions, monitoring
from chalicelib.service.dependencies import Dependencies
from tests.support.samples import application_row


def summary(report_id: str, versions: list[str]) -> ReportSummary:
    return {
        "report_id": report_id,
        "created_at": "2026-12-07T02:00:00.000Z",
        "window": {"from": "2026-12-06T02:00:00.000Z", "to": "2026-12-07T02:00:00.000Z", "days": 1},
        "trigger": "schedule",
        "requested_by": None,
        "versions": versions,
        "clients": 1,
        "decisions": 3,
        "alerts": 0,
        "alert_codes": [],
    }


def test_reports_round_trip_through_dynamodb_and_s3(aws: Any) -> None:
    stores = aws.monitoring
    assert stores is not None
    ids = [report_id_at(f"2026-12-0{day}T02:00:00.000Z", f"0000000{day}") for day in (5, 6, 7)]
    for report_id, versions in zip(ids, (["v1"], ["v1", "v2"], []), strict=True):
        stores.reports.put_report(summary(report_id, versions), b'{"report_id": "%s"}' % report_id.encode())
    assert stores.reports.get_report(ids[1]) == {"report_id": ids[1]}
    assert stores.reports.get_report(report_id_at("2026-12-08T00:00:00.000Z", "00000000")) is None
    everything = stores.reports.list_reports("mr-", "mr-~", None, 10)
    assert [s["report_id"] for s in everything] == ids[::-1]
    assert everything[0]["versions"] == []
    assert [s["report_id"] for s in stores.reports.list_reports("mr-", "mr-~", "v2", 10)] == [ids[1]]
    assert [s["report_id"] for s in stores.reports.list_reports("mr-", "mr-~", "v1", 1)] == [ids[1]]
    assert [s["report_id"] for s in stores.reports.list_reports("mr-", "mr-~", None, 2)] == ids[:0:-1]
    assert [s["report_id"] for s in stores.reports.list_reports(ids[0], ids[0] + "~", None, 10)] == [ids[0]]
    # The list reads the table only: a Query, never a Scan.
    assert all(check.ok for check in stores.reports.check())


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest) -> Dependencies:
    chosen: Dependencies = request.getfixturevalue(request.param)
    return chosen


def test_a_run_over_decisions_made_through_the_service(deps: Dependencies) -> None:
    made = []
    for i in range(12):
        client = "client-a" if i % 3 else "client-b"
        made.append((client, decisions.make_decision(application_row(i), deps, client)))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    report = monitoring.run(deps, window_days=1, now=now)
    assert report["decisions"] == len(made)
    by_client = {s["client_id"]: s for s in report["sections"]}
    assert set(by_client) == {monitoring.ALL_CLIENTS, "client-a", "client-b"}
    for client in ("client-a", "client-b"):
        mine = [answer for who, answer in made if who == client]
        assert by_client[client]["decisions"] == len(mine)
        outcomes = {
            o: sum(1 for a in mine if a["outcome"] == o) for o in ("approved", "manual_review", "declined")
        }
        assert {o: by_client[client]["outcomes"].get(o, 0) for o in outcomes} == outcomes
    assert deps.monitoring is not None
    assert deps.monitoring.reports.get_report(report["report_id"]) is not None
    # A window that ends before the decisions were made has none of them.
    earlier = monitoring.run(deps, window_days=1, now=now - dt.timedelta(days=2))
    assert earlier["decisions"] == 0 and earlier["sections"] == []


# -- fanned-out runs (issue 20, monfan): the run record and the parts' counts ---------------------
def take_parts(deps: Dependencies) -> list[dict[str, Any]]:
    """The parts' messages sent so far (the in-memory queue, or moto's SQS queue)."""
    from devstack.in_memory_batches import InMemoryChunkQueue

    configured = monitoring.stores(deps)
    if isinstance(configured.parts, InMemoryChunkQueue):
        return [dict(message) for message in configured.parts.take()]
    sqs = deps.aws_clients["sqs"]  # type: ignore[attr-defined]
    url = sqs.get_queue_url(QueueName=queue_name(resources.MONITORING_PARTS_QUEUE))["QueueUrl"]
    taken: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not received:
            return taken
        for message in received:
            taken.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_the_run_record_counts_each_part_once_and_finishes_once(aws: Any) -> None:
    reports = aws.monitoring.reports
    report_id = report_id_at("2026-12-07T02:00:00.000Z", "0000abcd")
    record = {
        **summary(report_id, []),
        "status": "RUNNING",
        "parts_total": 2,
        "parts_done": [],
        "error": None,
    }
    for key in ("versions", "clients", "decisions", "alerts", "alert_codes"):
        record.pop(key)
    reports.put_run(record)
    assert reports.get_run(report_id) == record
    assert reports.record_part(report_id, "2026-12-06#1")["parts_done"] == ["2026-12-06#1"]
    assert reports.record_part(report_id, "2026-12-06#1")["parts_done"] == ["2026-12-06#1"]
    assert reports.record_part(report_id, "2026-12-06#0")["parts_done"] == ["2026-12-06#0", "2026-12-06#1"]
    reports.put_part(report_id, "2026-12-06#0", b'{"n": 1}')
    reports.put_part(report_id, "2026-12-06#0", b'{"n": 2}')  # a retried part overwrites its own file
    assert reports.get_part(report_id, "2026-12-06#0") == b'{"n": 2}'
    assert reports.get_part(report_id, "2026-12-06#3") is None
    assert reports.finish_run(report_id, "FAILED", "partition 2026-12-06#3 failed") is True
    assert reports.finish_run(report_id, "COMPLETED", None) is False
    assert reports.record_part(report_id, "2026-12-06#2") is None  # a finished run counts nothing
    finished = reports.get_run(report_id)
    assert (finished["status"], finished["error"]) == ("FAILED", "partition 2026-12-06#3 failed")
    assert reports.get_run(report_id_at("2026-12-07T02:00:00.000Z", "00000000")) is None


def test_a_fanned_out_run_over_decisions_made_through_the_service(deps: Dependencies) -> None:
    for i in range(12):
        decisions.make_decision(application_row(i), deps, "client-a" if i % 3 else "client-b")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    one_pass = monitoring.run(deps, window_days=1, now=now)
    started = monitoring.start_fanout(deps, window_days=1, now=now)
    messages = take_parts(deps)
    assert len(messages) == started["parts_total"] == 8
    for message in messages:
        monitoring.handle_part(deps, message)
    report = monitoring.get_report(deps, started["report_id"])
    assert report["decisions"] == one_pass["decisions"] == 12  # type: ignore[typeddict-item]
    assert report["sections"] == one_pass["sections"]  # type: ignore[typeddict-item]
