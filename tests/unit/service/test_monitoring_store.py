"""Monitoring reports on DynamoDB + S3 (moto in-process), and the run over the decisions' own read
path: decisions made through the service, read back by ``iter_monitored`` on the in-memory twin and
on moto, then reported."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

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
