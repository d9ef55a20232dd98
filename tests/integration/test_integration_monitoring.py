"""Monitoring over real HTTP on a local stack of its own (moto server with S3, ``chalice local`` with
the local Cognito authorizer, the monitoring timer, the parts' pollers): two clients' decisions, a
staff run over them answered at once (202) and its report arriving from the fanned-out parts, read
back and listed, the scheduled run's reports appearing on their own, and
every refusal of the issue (a client key, a reviewer, an unknown report, bad from/to, a bad window)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from chalicelib import resources
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration
TIMER_SECONDS = 4.0


@pytest.fixture(scope="module")
def monitor_stack(start_stack: Callable[..., DevStack]) -> DevStack:
    return start_stack(
        "monitoring", workers=0, reconcile_every_seconds=None, monitor_every_seconds=TIMER_SECONDS
    )


@pytest.fixture(scope="module")
def tokens(monitor_stack: DevStack, staff_tokens: Callable[[DevStack], dict[str, str]]) -> dict[str, str]:
    return staff_tokens(monitor_stack)


def call(stack: DevStack, token: str | None, method: str, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": token} if token else stack.api_headers()
    return requests.request(method, f"{stack.api_url}{path}", json=body, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def made(monitor_stack: DevStack) -> dict[str, list[dict[str, Any]]]:
    """Decisions of two clients (the standard and the partner key)."""
    answers: dict[str, list[dict[str, Any]]] = {"standard": [], "partner": []}
    for i, application in enumerate(applications(16, with_personal_data=False)):
        plan = "standard" if i % 2 else "partner"
        response = requests.post(
            f"{monitor_stack.api_url}/v1/decisions",
            json=application,
            headers=monitor_stack.api_headers(plan),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        answers[plan].append(response.json())
    return answers


def test_a_staff_run_reports_every_clients_decisions_and_is_stored(
    monitor_stack: DevStack, tokens: dict[str, str], made: dict[str, list[dict[str, Any]]]
) -> None:
    ran = call(monitor_stack, tokens["modelrisk1"], "POST", "/v1/monitoring/runs", {"window_days": 7})
    assert ran.status_code == 202, ran.text  # answered at once: the parts do the work
    started = ran.json()
    assert started["status"] == "running" and started["trigger"] == "staff"
    # One part per (day, shard) of the window: 7 days not aligned on midnight touch 8 days, 4 shards.
    assert started["parts"] == {"done": 0, "total": 32} and started["error"] is None

    def finished() -> dict[str, Any] | None:
        got = call(
            monitor_stack, tokens["modelrisk1"], "GET", f"/v1/monitoring/reports/{started['report_id']}"
        )
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        assert body.get("status") != "failed", body
        return body if "sections" in body else None

    report = wait_until(finished, timeout=180, what="the staff run's report", interval=0.5)
    assert report["report_id"] == started["report_id"]
    assert report["trigger"] == "staff" and report["window"]["days"] == 7
    assert report["decisions"] == sum(len(answers) for answers in made.values())
    sections = [s for s in report["sections"] if s["client_id"] != "*"]
    assert sorted(s["decisions"] for s in sections) == sorted(len(answers) for answers in made.values())
    overall = next(s for s in report["sections"] if s["client_id"] == "*")
    every = [answer for answers in made.values() for answer in answers]
    for outcome in ("approved", "manual_review", "declined"):
        assert overall["outcomes"].get(outcome, 0) == sum(1 for a in every if a["outcome"] == outcome)

    stored = call(monitor_stack, tokens["manager1"], "GET", f"/v1/monitoring/reports/{report['report_id']}")
    assert stored.status_code == 200 and stored.json() == report
    listed = call(monitor_stack, tokens["modelrisk1"], "GET", "/v1/monitoring/reports?version=v1")
    assert listed.status_code == 200
    summary = next(s for s in listed.json()["reports"] if s["report_id"] == report["report_id"])
    assert (
        summary["versions"] == ["v1"]
        and summary["clients"] == 2
        and summary["decisions"] == report["decisions"]
    )
    later = call(monitor_stack, tokens["modelrisk1"], "GET", "/v1/monitoring/reports?from=2999-01-01")
    assert later.status_code == 200 and later.json() == {"reports": []}


def test_a_part_that_reached_the_dead_letter_queue_fails_its_run(
    monitor_stack: DevStack, tokens: dict[str, str]
) -> None:
    """The parts' DLQ poller runs the same handler Lambda's DLQ mapping would: the run is failed,
    naming the partition. The parts' poller is held for the test so the run cannot complete first."""
    parts_poller, dead_poller = monitor_stack.monitoring_pollers
    parts_poller.stop()
    try:
        ran = call(monitor_stack, tokens["modelrisk1"], "POST", "/v1/monitoring/runs", {"window_days": 1})
        assert ran.status_code == 202, ran.text
        report_id = ran.json()["report_id"]
        sqs = monitor_stack.client("sqs")
        queue = resources.MONITORING_PARTS_QUEUE
        dead_letters = sqs.get_queue_url(QueueName=monitor_stack.resource_name(queue.dlq_suffix))["QueueUrl"]
        part = "2026-12-06#2"
        sqs.send_message(
            QueueUrl=dead_letters, MessageBody=json.dumps({"report_id": report_id, "part": part})
        )

        def failed() -> dict[str, Any] | None:
            got = call(monitor_stack, tokens["manager1"], "GET", f"/v1/monitoring/reports/{report_id}")
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body if body["status"] == "failed" else None

        run = wait_until(failed, timeout=120, what="the run failed by its dead part", interval=0.5)
        assert part in run["error"] and run["parts"]["done"] == 0
        listed = call(monitor_stack, tokens["modelrisk1"], "GET", "/v1/monitoring/reports?limit=100")
        assert report_id not in [s["report_id"] for s in listed.json()["reports"]]  # completed ones only
    finally:
        dead_poller.stop()
        monitor_stack.monitoring_pollers = []
        monitor_stack.start_monitoring_pollers()


def test_the_timer_runs_the_scheduled_function(monitor_stack: DevStack, tokens: dict[str, str]) -> None:
    def scheduled() -> list[dict[str, Any]]:
        reports = call(monitor_stack, tokens["modelrisk1"], "GET", "/v1/monitoring/reports?limit=100")
        assert reports.status_code == 200, reports.text
        return [s for s in reports.json()["reports"] if s["trigger"] == "schedule"]

    found = wait_until(scheduled, timeout=120, what="a scheduled monitoring report", interval=1)
    assert found[0]["window"]["days"] == 1 and found[0]["requested_by"] is None
    assert monitor_stack.monitor is not None
    monitor_stack.monitor.stop()  # one is enough: the rest of the module reads a quiet table


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/monitoring/runs", {"window_days": 1}),
        ("GET", "/v1/monitoring/reports", None),
        ("GET", "/v1/monitoring/reports/mr-20261207T020000Z-00000000", None),
    ],
)
def test_a_client_key_or_a_reviewer_is_refused(
    monitor_stack: DevStack, tokens: dict[str, str], method: str, path: str, body: Any
) -> None:
    assert call(monitor_stack, None, method, path, body).status_code in (401, 403)
    assert call(monitor_stack, tokens["reviewer1"], method, path, body).status_code == 403


def test_bad_input_is_a_4xx_naming_the_field(monitor_stack: DevStack, tokens: dict[str, str]) -> None:
    token = tokens["modelrisk1"]
    unknown = call(monitor_stack, token, "GET", "/v1/monitoring/reports/mr-20261207T020000Z-00000000")
    assert unknown.status_code == 404
    assert call(monitor_stack, token, "GET", "/v1/monitoring/reports/not-a-report").status_code == 404
    bad_range = call(monitor_stack, token, "GET", "/v1/monitoring/reports?from=yesterday&to=2026-02-30")
    assert bad_range.status_code == 400
    assert sorted(d["field"] for d in bad_range.json()["error"]["details"]) == ["from", "to"]
    bad_window = call(monitor_stack, token, "POST", "/v1/monitoring/runs", {"window_days": 3})
    assert bad_window.status_code == 400
    assert [d["field"] for d in bad_window.json()["error"]["details"]] == ["window_days"]


def test_make_monitor_runs_through_the_staff_route(
    monitor_stack: DevStack, tokens: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``make monitor``'s command (devstack.monitoring_timer --now): one run as modelrisk1, its summary
    printed."""
    import json

    from devstack import monitoring_timer

    status = monitoring_timer.run_now(
        monitor_stack.api_url, monitor_stack.endpoint_url, monitor_stack.resource_stage, 7, "modelrisk1"
    )
    printed = json.loads(capsys.readouterr().out)
    assert status == 0
    assert printed["window"]["days"] == 7
    stored = call(
        monitor_stack, tokens["modelrisk1"], "GET", f"/v1/monitoring/reports/{printed['report_id']}"
    )
    assert stored.status_code == 200
    assert {s["client_id"] for s in printed["sections"]} == {
        s["client_id"] for s in stored.json()["sections"]
    }
