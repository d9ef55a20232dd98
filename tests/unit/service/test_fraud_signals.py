"""Fraud and velocity signals in the service: counted on every submission (cache hits too), per
client, idempotently, on the in-memory twin and on moto in-process; fail closed when the counters
are down; the worker counts an application once however often its message comes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

import app
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.fraud import Counted, CounterKey
from chalicelib.service import clock, decisions, fraud
from chalicelib.service.decision_versions import PACKAGED
from devstack.lambda_events import worker_context
from tests.support.http import post_json
from tests.support.samples import strong_application as strong
from tests.support.sqs import queued_records, sqs_event, sqs_record

# 2026-12-01 12:00 IST: outside the odd hours, so the counted rules alone decide the flags.
NOON_IST = int(dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC).timestamp())
PAN = "ABCDE1234F"


@pytest.fixture(autouse=True)
def noon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now_epoch", lambda: NOON_IST)
    # Submission times of queued applications are ISO strings: the worker's clock is this one too.
    monkeypatch.setattr(clock, "now_iso", lambda: "2026-12-01T06:30:00.000Z")


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield request.getfixturevalue(request.param)


def test_the_same_pan_is_counted_per_client_and_refers_from_the_sixth(deps: Any) -> None:
    outcomes = [decisions.make_decision(strong(pan=PAN), deps, "client-a") for _ in range(6)]

    assert [d["outcome"] for d in outcomes] == ["approved"] * 5 + ["manual_review"]
    assert [[f["code"] for f in d["risk_flags"]] for d in outcomes] == [[]] * 3 + [
        ["FRD-PAN-REPEAT"],
        ["FRD-PAN-REPEAT"],
        ["FRD-PAN-REPEAT-HIGH"],
    ]
    sixth = outcomes[-1]
    assert sixth["risk_flags"][0]["evidence"] == {"count": 6, "window_seconds": 86_400}
    assert [r["code"] for r in sixth["reasons"]] == ["FRD-PAN-REPEAT-HIGH"]
    # A decision-cache hit is still a submission: the later ones were served from the cache.
    assert [d["cache"] for d in outcomes[:3]] == ["miss", "hit", "hit"]
    # Another lender's applicant with the same PAN starts from nothing.
    other = decisions.make_decision(strong(pan=PAN), deps, "client-b")
    assert other["outcome"] == "approved" and other["risk_flags"] == []
    assert PAN not in json.dumps(sixth)


def test_a_device_burst_is_critical_referred_and_published_as_fraud_flagged(memory: Any) -> None:
    results = [
        decisions.make_decision(strong(device_id="dev-1", loan_amount=500_000 + i * 1000), memory, "client-a")
        for i in range(5)
    ]
    last = results[-1]
    assert last["outcome"] == "manual_review"
    assert last["risk_flags"] == [
        {"code": "FRD-DEVICE-BURST", "severity": "critical", "evidence": {"count": 5, "window_seconds": 300}}
    ]
    flagged = [e for e in memory.memory_events.published if e.detail_type == "fraud.flagged"]
    assert [e.decision_id for e in flagged] == [last["decision_id"]]
    assert flagged[0].detail()["risk_flags"] == [{"code": "FRD-DEVICE-BURST", "severity": "critical"}]
    # The case on the review desk carries the decision, flags and all.
    stored = memory.memory_store.decisions[last["decision_id"]]
    assert stored["decision"]["risk_flags"] == last["risk_flags"]
    assert "dev-1" not in json.dumps(stored)


def test_counting_is_idempotent_per_submission(deps: Any) -> None:
    refs = fraud.signal_refs({"pan": PAN, "ip_address": "203.0.113.9"})
    keys = fraud.counter_keys(refs, PACKAGED.policy.fraud)
    for _ in range(3):  # a retried write, a replay, a redelivery: the same submission and time
        counted = deps.fraud_counters.count("client-a", keys, "application-1", NOON_IST, True)
    assert counted == Counted({"pan": [NOON_IST], "ip_address": [NOON_IST]}, [])
    second = deps.fraud_counters.count("client-a", keys, "application-2", NOON_IST + 5, False)
    assert second.seen["pan"] == [NOON_IST, NOON_IST + 5] and second.declined == [NOON_IST]


def test_the_store_down_still_decides_flagged_unchecked_and_referred(memory: Any) -> None:
    memory.outages.fail("dynamodb")
    result = decisions.make_decision(strong(pan=PAN), memory, "client-a")
    assert result["outcome"] == "manual_review" and result["cache"] == "bypassed"
    assert [(f["code"], f["severity"]) for f in result["risk_flags"]] == [("FRD-UNCHECKED", "high")]
    assert [r["code"] for r in result["reasons"]] == ["FRD-UNCHECKED"]


class _StalledCounters:
    def count(self, *args: Any) -> Counted:
        raise DependencyUnavailable("dynamodb", "ReadTimeoutError")

    def check(self) -> list[DependencyCheck]:
        return []


def test_counters_down_alone_refer_rather_than_approve_and_the_decision_is_stored(memory: Any) -> None:
    memory.fraud_counters = _StalledCounters()
    result = decisions.make_decision(strong(pan=PAN), memory, "client-a")
    assert result["outcome"] == "manual_review" and result["stored"] is True
    assert [f["code"] for f in result["risk_flags"]] == ["FRD-UNCHECKED"]
    # Without any identity or session value there is nothing to count: no round trip, no flag.
    plain = decisions.make_decision(strong(), memory, "client-a")
    assert plain["outcome"] == "approved" and plain["risk_flags"] == []


def test_the_worker_counts_an_application_once_however_often_it_is_delivered(
    chalice_client: Any, memory: Any
) -> None:
    ids = []
    for _ in range(4):
        response = post_json(chalice_client, "/v1/applications", strong(pan=PAN, ip_address="203.0.113.9"))
        assert response.status_code == 202
        ids.append(json.loads(response.body)["application_id"])
    pending = memory.memory_store.applications[ids[0]]
    assert PAN not in json.dumps(pending) and "203.0.113.9" not in json.dumps(pending)
    assert set(pending["applicant"][fraud.SIGNAL_REFS]) == {"pan", "ip_address"}
    records = queued_records(memory.memory_queue)
    context = worker_context("local", "us-east-1")
    first = records[0]
    # The first message three times (redeliveries), then the others.
    redeliveries = [sqs_record(first["body"], receive_count=n, message_id=first["messageId"]) for n in (2, 3)]
    assert app.process_application_queue(sqs_event(first, *redeliveries), context) == {
        "batchItemFailures": []
    }
    assert app.process_application_queue(sqs_event(*records[1:]), context) == {"batchItemFailures": []}
    decided = [memory.memory_store.applications[i]["decision"] for i in ids]
    # Four applications, each counted once: the fourth is the first at "at least 4".
    assert [[f["code"] for f in d["risk_flags"]] for d in decided] == [[], [], [], ["FRD-PAN-REPEAT"]]


def test_counter_keys_hash_every_value_and_bucket_by_the_longest_window() -> None:
    refs = fraud.signal_refs(
        strong(pan=PAN, email="a@example.com", device_id="d-1", ip_address="2001:db8::1")
    )
    assert set(refs) == {"pan", "email", "device_id", "ip_address"}
    assert not any(value in json.dumps(refs) for value in (PAN, "a@example.com", "d-1", "2001:db8::1"))
    keys = {k.signal: k for k in fraud.counter_keys(refs, PACKAGED.policy.fraud)}
    assert keys["pan"] == CounterKey("pan", refs["pan"], 86_400)
    assert keys["ip_address"].bucket_seconds == 300


def test_the_review_queue_filters_by_flag_and_the_case_shows_the_evidence(deps: Any) -> None:
    from chalicelib.errors import ServiceError
    from chalicelib.service import reviews

    burst = [
        decisions.make_decision(strong(ip_address="203.0.113.9", loan_amount=500_000 + i), deps, "client-a")
        for i in range(5)
    ]
    referred_by_policy = decisions.make_decision(strong(has_defaults=True), deps, "client-a")
    assert burst[-1]["outcome"] == referred_by_policy["outcome"] == "manual_review"

    flagged = reviews.list_cases(deps, status="open", limit=None, cursor=None, flag="FRD-IP-BURST")
    assert [case["decision_id"] for case in flagged["items"]] == [burst[-1]["decision_id"]]
    assert flagged["items"][0]["risk_flags"] == ["FRD-IP-BURST"]
    everything = reviews.list_cases(deps, status="open", limit=None, cursor=None)
    assert {case["decision_id"] for case in everything["items"]} == {
        burst[-1]["decision_id"],
        referred_by_policy["decision_id"],
    }
    case = reviews.case_detail(deps, reviews.review_id_for(burst[-1]["decision_id"]))
    assert case["risk_flags"] == [
        {"code": "FRD-IP-BURST", "severity": "critical", "evidence": {"count": 5, "window_seconds": 300}}
    ]
    with pytest.raises(ServiceError) as bad:
        reviews.list_cases(deps, status="open", limit=None, cursor=None, flag="FRD-NOPE")
    assert bad.value.status == 400 and "flag" in json.dumps(bad.value.details)


def test_the_worker_with_counters_down_records_an_unchecked_referral(
    chalice_client: Any, memory: Any
) -> None:
    response = post_json(chalice_client, "/v1/applications", strong(pan=PAN))
    assert response.status_code == 202
    application_id = json.loads(response.body)["application_id"]
    memory.fraud_counters = _StalledCounters()
    [record] = queued_records(memory.memory_queue)
    context = worker_context("local", "us-east-1")
    assert app.process_application_queue(sqs_event(record), context) == {"batchItemFailures": []}
    decision = memory.memory_store.applications[application_id]["decision"]
    assert decision["outcome"] == "manual_review"
    assert [f["code"] for f in decision["risk_flags"]] == ["FRD-UNCHECKED"]
