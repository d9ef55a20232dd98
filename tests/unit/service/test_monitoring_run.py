"""The monitoring run (chalicelib.service.monitoring): sections per client and version, the stored
report, the alerts published and the run's metrics, checked against an independent computation
(numpy) on the same rows. Decisions come from a list here; tests/unit/service/test_monitoring_dal.py
runs over the stores' own read path."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from chalicelib.engine import monitoring as figures
from chalicelib.engine.monitoring import MonitoredDecision
from chalicelib.errors import ServiceError
from chalicelib.service import monitoring
from chalicelib.service.decision_versions import PACKAGED
from chalicelib.service.dependencies import Dependencies
from devstack.in_memory_batches import InMemoryChunkQueue
from devstack.in_memory_monitoring import InMemoryAlerts, InMemoryReportStore, in_memory_monitoring

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
CLIENTS = ("client-a", "client-b")


class ListSource:
    """Decisions in [start, end), as the stores' read path answers them."""

    def __init__(self, decisions: list[MonitoredDecision]) -> None:
        self.decisions = decisions
        self.windows: list[tuple[str, str]] = []

    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        self.windows.append((start, end))
        return iter([d for d in self.decisions if start <= d.created_at < end])


def characteristics_like(
    reference: figures.ReferenceDistribution | None, rng: random.Random
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for ref in (reference or {"characteristics": []})["characteristics"]:
        if ref["kind"] == "categorical":
            values[ref["name"]] = rng.choice(ref["categories"])
        else:
            edges = ref["edges"] or [0.0]
            values[ref["name"]] = rng.uniform(edges[0] - 1, edges[-1] + 1)
    return values


def decisions(count: int, seed: int = 7, *, approve_share: float = 0.6) -> list[MonitoredDecision]:
    rng = random.Random(seed)
    reference = REFERENCE
    rows = []
    for i in range(count):
        probability = rng.random()
        outcome = "approved" if rng.random() < approve_share else rng.choice(["declined", "manual_review"])
        final = (
            rng.choice(["approved", "declined"])
            if outcome == "manual_review" and rng.random() < 0.7
            else None
        )
        rows.append(
            MonitoredDecision(
                decision_id=f"d-{seed}-{i}",
                client_id=CLIENTS[i % 2],
                decision_version="v1",
                arm="champion",
                created_at=(NOW - dt.timedelta(minutes=1 + rng.randrange(23 * 60)))
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                outcome=outcome,
                decided_by="model",
                probability=probability,
                reason_codes=tuple(rng.sample(["R1", "R2", "R3"], rng.randrange(3))),
                gender=rng.choice(["female", "male", None]),
                age=rng.choice([None, rng.randrange(21, 70)]),
                characteristics=characteristics_like(reference, rng),
                final_outcome=final,
                review_sla_breached=final is None and outcome == "manual_review" and rng.random() < 0.3,
                loan_status=rng.choice([None, "current", "paid_off", "default", "dpd30", "charged_off"]),
            )
        )
    return rows


def training_reference() -> figures.ReferenceDistribution:
    """A reference distribution as training writes one (here from seeded rows: the run only needs its
    bins; engine tests cover how training computes it)."""
    rng = random.Random(1)
    rows = 4000
    return figures.reference_from(
        PACKAGED.model.sha256,
        [rng.betavariate(3, 2) for _ in range(rows)],
        [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        [
            ("income", [20_000.0, 40_000.0, 80_000.0], [rng.lognormvariate(10.5, 0.6) for _ in range(rows)]),
            ("employment", None, [rng.choice(["salaried", "self_employed", "other"]) for _ in range(rows)]),
        ],
    )


REFERENCE = training_reference()


@pytest.fixture
def deps(memory: Dependencies, monkeypatch: pytest.MonkeyPatch) -> Dependencies:
    monkeypatch.setattr(figures, "reference_of", lambda model: REFERENCE, raising=False)
    memory.monitoring = in_memory_monitoring(InMemoryChunkQueue())
    return memory


def run_over(deps: Dependencies, rows: list[MonitoredDecision], **kwargs: Any) -> monitoring.MonitoringReport:
    return monitoring.run(
        deps, window_days=kwargs.pop("window_days", 1), now=NOW, source=ListSource(rows), **kwargs
    )


def test_a_section_per_client_and_one_over_all_clients_each_matching_its_rows(deps: Dependencies) -> None:
    rows = decisions(1200)
    report = run_over(deps, rows)
    by_client = {section["client_id"]: section for section in report["sections"]}
    assert set(by_client) == {monitoring.ALL_CLIENTS, *CLIENTS}
    assert report["decisions"] == len(rows)
    for client_id, section in by_client.items():
        mine = [d for d in rows if client_id in (monitoring.ALL_CLIENTS, d.client_id)]
        approved = np.array([d.outcome == "approved" for d in mine])
        assert section["decision_version"] == "v1"
        assert section["decisions"] == len(mine)
        assert section["approval"]["rate"] == pytest.approx(float(approved.mean()))
        closed = [d for d in mine if d.final_outcome is not None]
        assert section["overrides"]["reviews_closed"] == len(closed)
        assert section["overrides"]["sla_breaches"] == sum(d.review_sla_breached for d in mine)


def test_each_section_is_the_engines_report_on_exactly_its_rows(deps: Dependencies) -> None:
    """The run's wiring: every section equals the engine's report on an accumulator fed that
    section's rows directly (the "*" section is made by merging the clients' accumulators); the
    engine's own figures are checked against numpy/scikit-learn in tests/unit/engine."""
    rows = decisions(1500, seed=3)
    report = run_over(deps, rows)
    basis = monitoring.version_basis(deps.versions, "v1")
    for section in report["sections"]:
        mine = [d for d in rows if section["client_id"] in (monitoring.ALL_CLIENTS, d.client_id)]
        direct = figures.report(
            figures.Accumulator(basis.reference).add_all(mine),
            reference=basis.reference,
            baseline_approval_rate=basis.baseline_approval_rate,
            thresholds=monitoring.THRESHOLDS,
        )
        assert {k: v for k, v in section.items() if k not in ("client_id", "decision_version")} == direct


def test_the_approval_baseline_is_the_versions_validation_approval_rate(deps: Dependencies) -> None:
    from chalicelib.engine.validation import packaged_holdout
    from chalicelib.service import versions

    report = run_over(deps, decisions(200))
    baseline = versions.compute_report(PACKAGED, "v1", PACKAGED, packaged_holdout())["candidate"][
        "approval_rate"
    ]
    for section in report["sections"]:
        rate = section["approval"]["rate"]
        assert rate is not None
        assert section["approval"]["baseline"] == pytest.approx(baseline)
        assert section["approval"]["change"] == pytest.approx(rate - baseline)


def test_the_report_is_stored_and_listed_by_time_and_version(deps: Dependencies) -> None:
    report = run_over(deps, decisions(300), trigger="staff", requested_by="modelrisk1")
    assert deps.monitoring is not None
    assert monitoring.get_report(deps, report["report_id"]) == json.loads(json.dumps(report))
    listed = monitoring.list_reports(
        deps, created_from="2026-12-07", created_to=None, version="v1", limit=None
    )
    assert [summary["report_id"] for summary in listed["reports"]] == [report["report_id"]]
    summary = listed["reports"][0]
    assert summary["versions"] == ["v1"]
    assert summary["clients"] == 2
    assert summary["decisions"] == 300
    assert summary["requested_by"] == "modelrisk1"
    assert summary["alerts"] == len(report["alerts"])
    assert monitoring.list_reports(
        deps, created_from=None, created_to="2026-12-06", version=None, limit=None
    ) == {"reports": []}
    assert monitoring.list_reports(deps, created_from=None, created_to=None, version="v2", limit=None) == {
        "reports": []
    }


def test_reports_list_newest_first_within_the_range(deps: Dependencies) -> None:
    rows = decisions(50)
    ids = [
        monitoring.run(deps, window_days=7, now=NOW + dt.timedelta(days=day), source=ListSource(rows))[
            "report_id"
        ]
        for day in range(3)
    ]
    everything = monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit=None)
    assert [s["report_id"] for s in everything["reports"]] == ids[::-1]
    middle = monitoring.list_reports(
        deps, created_from="2026-12-08", created_to="2026-12-08T23:00:00Z", version="v1", limit=None
    )
    assert [s["report_id"] for s in middle["reports"]] == [ids[1]]
    assert [
        s["report_id"]
        for s in monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit="2")[
            "reports"
        ]
    ] == ids[:0:-1]


def test_the_window_is_the_days_before_now(deps: Dependencies) -> None:
    source = ListSource(decisions(10))
    report = monitoring.run(deps, window_days=30, now=NOW, source=source)
    assert source.windows == [("2026-11-07T02:00:00.000Z", "2026-12-07T02:00:00.000Z")]
    assert report["window"] == {
        "from": "2026-11-07T02:00:00.000Z",
        "to": "2026-12-07T02:00:00.000Z",
        "days": 30,
    }


def test_every_alert_is_published_with_its_section_and_no_personal_data(deps: Dependencies) -> None:
    # Almost everything declined: the approval rate moves far from the baseline (an alert per section).
    rows = decisions(600, seed=11, approve_share=0.02)
    report = run_over(deps, rows)
    assert deps.monitoring is not None
    published = deps.monitoring.alerts
    assert isinstance(published, InMemoryAlerts)
    codes = {(a["client_id"], a["code"]) for a in report["alerts"]}
    assert (monitoring.ALL_CLIENTS, "approval_rate_move") in codes
    assert [
        {k: v for k, v in event.items() if k not in ("report_id", "window")} for event in published.published
    ] == report["alerts"]
    assert all(event["report_id"] == report["report_id"] for event in published.published)
    allowed = {
        "report_id",
        "window",
        "code",
        "metric",
        "value",
        "threshold",
        "n",
        "client_id",
        "decision_version",
    }
    assert all(set(event) <= allowed for event in published.published)


def test_no_alert_below_the_minimum_sample(deps: Dependencies) -> None:
    few = monitoring.THRESHOLDS.approval_rate_min_n - 1
    report = run_over(deps, decisions(few, seed=5, approve_share=0.0))
    assert not [
        a for a in report["alerts"] if a["code"] in ("approval_rate_move", "score_psi", "disparate_impact")
    ]
    assert "score_psi" not in monitoring.run_metrics(report)


def test_run_metrics_are_the_worst_figures_of_sections_with_enough_decisions(deps: Dependencies) -> None:
    report = run_over(deps, decisions(2500, seed=9))
    metrics = monitoring.run_metrics(report)
    limits = monitoring.THRESHOLDS
    psi = [
        s["score"]["psi"] for s in report["sections"] if s["score"] and s["score"]["n"] >= limits.psi_min_n
    ]
    assert metrics["score_psi"] == pytest.approx(max(p for p in psi if p is not None))
    moves = [abs(s["approval"]["change"]) for s in report["sections"] if s["approval"]["change"] is not None]
    assert metrics["approval_rate_shift"] == pytest.approx(max(moves))
    impacts = [
        f["disparate_impact"] for s in report["sections"] for f in s["fairness"] if f["disparate_impact"]
    ]
    assert metrics["disparate_impact"] == pytest.approx(min(impacts))
    assert metrics["decisions"] == 2500


def test_an_empty_window_is_a_report_without_sections(deps: Dependencies) -> None:
    report = run_over(deps, [])
    assert report["sections"] == [] and report["alerts"] == [] and report["decisions"] == 0
    assert (
        monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit=None)[
            "reports"
        ][0]["versions"]
        == []
    )


@pytest.mark.parametrize(
    "body", [{}, {"window_days": 2}, {"window_days": True}, {"window_days": "7"}, [], {"x": 1}]
)
def test_a_run_request_needs_a_window_of_1_7_or_30_days(deps: Dependencies, body: Any) -> None:
    if body == {}:
        started = monitoring.start_run(deps, body, "modelrisk1", now=NOW)
        assert started["window"]["days"] == 1 and started["trigger"] == "staff"
        assert started["status"] == "running" and started["parts"]["done"] == 0
        return
    with pytest.raises(ServiceError) as error:
        monitoring.start_run(deps, body, "modelrisk1", now=NOW)
    assert error.value.status == 400
    assert [d["field"] for d in error.value.details] == ["window_days"]


def test_bad_list_parameters_are_named_in_one_400(deps: Dependencies) -> None:
    with pytest.raises(ServiceError) as error:
        monitoring.list_reports(
            deps, created_from="yesterday", created_to="2026-13-01", version="x1", limit="0"
        )
    assert error.value.status == 400
    assert sorted(d["field"] for d in error.value.details) == ["from", "limit", "to", "version"]


@pytest.mark.parametrize("report_id", ["mr-20261207T020000Z-00000000", "nope", "mr-" + "9" * 40])
def test_an_unknown_report_is_404(deps: Dependencies, report_id: str) -> None:
    with pytest.raises(ServiceError) as error:
        monitoring.get_report(deps, report_id)
    assert error.value.status == 404


def test_a_report_store_outage_is_503(deps: Dependencies) -> None:
    from chalicelib.dal import DependencyUnavailable

    class Down(InMemoryReportStore):
        def list_reports(self, *args: Any) -> Any:
            raise DependencyUnavailable("dynamodb", "ServiceUnavailable")

    assert deps.monitoring is not None
    deps.monitoring = deps.monitoring._replace(reports=Down())
    with pytest.raises(ServiceError) as error:
        monitoring.list_reports(deps, created_from=None, created_to=None, version=None, limit=None)
    assert error.value.status == 503 and error.value.headers["Retry-After"]


def test_the_runs_figures_are_one_emf_blob_with_the_service_dimension_only(
    deps: Dependencies, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The alarms (infra/monitoring.py) read each metric with exactly the dimension set {service}."""
    from chalicelib import resources

    report = run_over(deps, decisions(1200, seed=4))
    capsys.readouterr()
    monkeypatch.setattr(monitoring, "emf_enabled", lambda: True)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    figures_emitted = monitoring.emit_metrics(report)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (blob,) = blobs
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == resources.METRICS_NAMESPACE
    assert directive["Dimensions"] == [["service"]] and blob["service"] == resources.SERVICE
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names == {resources.MONITORING_METRICS[key] for key in figures_emitted}
    assert blob[resources.MONITORING_METRICS["decisions"]] == [1200.0]


def test_decisions_of_a_version_the_registry_does_not_know_are_counted_not_compared(
    deps: Dependencies,
) -> None:
    rows = [d._replace(decision_version="v99") for d in decisions(150, seed=12)]
    report = run_over(deps, rows)
    overall = next(s for s in report["sections"] if s["client_id"] == monitoring.ALL_CLIENTS)
    assert overall["decision_version"] == "v99" and overall["decisions"] == 150
    assert overall["score"] is None and overall["characteristics"] == []
    assert overall["approval"]["baseline"] is None
    assert not [a for a in report["alerts"] if a["code"] in ("score_psi", "approval_rate_move")]
