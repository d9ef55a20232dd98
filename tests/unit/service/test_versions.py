"""The decision-version registry's service: register with a report, gates, maker-checker, rollback,
on the in-memory twin and on moto in-process (DynamoDB + S3)."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest

from chalicelib import engine, resources
from chalicelib.dal.versions import PACKAGED_VERSION_ID, empty_routing
from chalicelib.engine.artifact import ARTIFACT_PATH
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from chalicelib.errors import ServiceError
from chalicelib.service import routing, versions
from chalicelib.service.dependencies import Dependencies

MAKER, CHECKER, OTHER_MANAGER = "model-risk-1", "manager-1", "manager-2"
MANAGERS = frozenset({resources.MANAGER_GROUP})
MODEL_RISK = frozenset({resources.MODEL_RISK_GROUP})


def policy_v1() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    return document


def foir_55() -> dict[str, Any]:
    document = policy_v1()
    document["version"] = "1.1-foir-55"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    return document


def unaffordable() -> dict[str, Any]:
    """Approves FOIR up to 95%: beyond the gates' affordability ceiling."""
    document = policy_v1()
    document["version"] = "9-unaffordable"
    for rule in ("POL-FOIR-MAX", "POL-DTI-MAX", "POL-FOIR-REVIEW"):
        document["rules"][rule]["limit"] = 0.95
    document["rules"]["POL-FOIR-REVIEW"]["severity"] = "warning"
    return document


def error_fields(error: pytest.ExceptionInfo[ServiceError]) -> list[str]:
    return [detail["field"] for detail in error.value.details]


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest) -> Dependencies:
    twin: Dependencies = request.getfixturevalue(request.param)
    return twin


def test_an_empty_registry_is_the_packaged_version(deps: Dependencies) -> None:
    listing = versions.list_versions(deps)
    assert listing["routing"] == empty_routing()
    assert [v["version_id"] for v in listing["versions"]] == [PACKAGED_VERSION_ID]
    assert listing["versions"][0]["status"] == "champion"
    assert routing.version_logic(PACKAGED_VERSION_ID, deps.versions) is engine.packaged_version()
    detail = versions.version_detail(deps, PACKAGED_VERSION_ID)
    assert detail["policy"] == policy_v1()


def test_a_policy_only_version_reports_beside_the_champion(deps: Dependencies) -> None:
    detail = versions.register(deps, MAKER, {"label": "FOIR 55%", "notes": "tighter", "policy": foir_55()})
    assert detail["version_id"] == "v2" and detail["status"] == "registered"
    assert detail["policy"]["rules"]["POL-FOIR-MAX"]["limit"] == 0.55
    report = detail["report"]
    assert report is not None and report["champion_version"] == PACKAGED_VERSION_ID
    candidate, champion = report["candidate"], report["champion"]
    assert champion is not None
    # A policy-only change leaves the model's figures as they are.
    assert candidate["model"] == champion["model"]
    assert candidate["rows"] == champion["rows"] == 1000
    # A lower FOIR limit declines some of what version 1 sent to review, approves nothing more.
    assert candidate["outcomes"]["approved"] <= champion["outcomes"]["approved"]
    assert candidate["outcomes"]["declined"] > champion["outcomes"]["declined"]
    assert sum(candidate["outcomes"].values()) == 1000
    groups = candidate["four_fifths"]["gender"]
    assert sum(group["n"] for group in groups) == 1000 and max(group["ratio"] for group in groups) == 1.0
    assert report["passed"] and {g["gate"] for g in report["gates"]} == {
        "auc",
        "brier",
        "affordability",
        "four_fifths",
    }
    logic = routing.version_logic("v2", deps.versions)
    assert logic.policy.limits == engine.load_policy(foir_55()).limits
    assert logic.model.sha256 == engine.packaged_version().model.sha256


def test_a_registered_policy_is_inline_in_its_record_and_archived_by_sha256(deps: Dependencies) -> None:
    versions.register(deps, MAKER, {"label": "FOIR 55%", "policy": foir_55()})
    record = deps.versions.get_version("v2")
    assert record is not None and record.get("policy_document") == foir_55()
    blob = deps.versions.get_blob(record["policy_sha256"])
    assert blob is not None and json.loads(blob) == foir_55()
    # A model-only version keeps the champion's policy: the packaged one is not copied inline.
    model = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    versions.register(deps, MAKER, {"label": "same model", "model": model})
    model_only = deps.versions.get_version("v3")
    assert model_only is not None and "policy_document" not in model_only


def test_a_policy_that_fails_its_schema_is_a_400_naming_each_path(deps: Dependencies) -> None:
    document = policy_v1()
    document["bands"]["approve"] = 7
    del document["rules"]["POL-AGE-MIN"]["severity"]
    with pytest.raises(ServiceError) as error:
        versions.register(deps, MAKER, {"label": "broken", "policy": document, "colour": "red"})
    assert error.value.status == 400
    fields = error_fields(error)
    assert "policy/bands/approve" in fields and "policy/rules/POL-AGE-MIN" in " ".join(fields)
    assert "colour" in fields
    assert versions.list_versions(deps)["versions"][1:] == []


def test_an_artifact_whose_content_does_not_match_its_sha256_is_a_400(deps: Dependencies) -> None:
    artifact = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    artifact["base_points"] += 1
    with pytest.raises(ServiceError) as error:
        versions.register(deps, MAKER, {"label": "tampered", "model": artifact})
    assert error.value.status == 400 and error_fields(error) == ["model/sha256"]


def test_a_failed_gate_refuses_promotion_naming_the_gate_and_figures(deps: Dependencies) -> None:
    detail = versions.register(deps, MAKER, {"label": "loose", "policy": unaffordable()})
    assert detail["report"] is not None and not detail["report"]["passed"]
    with pytest.raises(ServiceError) as error:
        versions.propose(deps, MAKER, detail["version_id"], {"role": "challenger", "share": 10})
    assert error.value.status == 409 and "gate:affordability" in error_fields(error)
    assert "approvals with FOIR above 0.65" in error.value.details[0]["problem"]
    # A shadow never serves: it may score what the gates would refuse.
    change = versions.propose(deps, MAKER, detail["version_id"], {"role": "shadow"})
    assert change["state"] == "proposed"


@pytest.mark.parametrize("share", [0, 51, "10", 10.5, True, None])
def test_a_challenger_share_outside_1_to_50_is_a_400(deps: Dependencies, share: object) -> None:
    versions.register(deps, MAKER, {"label": "FOIR 55%", "policy": foir_55()})
    with pytest.raises(ServiceError) as error:
        versions.propose(deps, MAKER, "v2", {"role": "challenger", "share": share})
    assert error.value.status == 400 and error_fields(error) == ["share"]


def test_an_unknown_version_is_a_404(deps: Dependencies) -> None:
    with pytest.raises(ServiceError) as error:
        versions.propose(deps, MAKER, "v99", {"role": "challenger", "share": 10})
    assert error.value.status == 404
    with pytest.raises(ServiceError) as error:
        versions.version_detail(deps, "v99")
    assert error.value.status == 404


def test_maker_checker_then_rollback(deps: Dependencies) -> None:
    versions.register(deps, MAKER, {"label": "FOIR 55%", "policy": foir_55()})
    change = versions.propose(deps, MAKER, "v2", {"role": "challenger", "share": 10, "reason": "trial"})
    listing = versions.list_versions(deps)
    assert listing["routing"]["revision"] == 0  # nothing applied yet
    assert [(c["change_id"], c["state"]) for c in listing["pending_changes"]] == [
        (change["change_id"], "proposed")
    ]
    with pytest.raises(ServiceError) as error:
        versions.approve(deps, MAKER, change["change_id"])
    assert error.value.status == 403
    applied = versions.approve(deps, CHECKER, change["change_id"])
    assert applied["state"] == "applied" and applied["approved_by"] == CHECKER
    assert versions.list_versions(deps)["pending_changes"] == []
    routing = deps.versions.get_routing()
    assert routing["challenger"] == {"version_id": "v2", "share": 10} and routing["revision"] == 1
    with pytest.raises(ServiceError) as error:
        versions.approve(deps, OTHER_MANAGER, change["change_id"])
    assert error.value.status == 409

    promote = versions.propose(deps, MAKER, "v2", {"role": "champion", "reason": "trial went well"})
    versions.approve(deps, CHECKER, promote["change_id"])
    routing = deps.versions.get_routing()
    assert routing["champion"] == "v2" and routing["challenger"] is None
    assert routing["previous_champions"] == [PACKAGED_VERSION_ID]
    statuses = {v["version_id"]: v["status"] for v in versions.list_versions(deps)["versions"]}
    assert statuses == {"v1": "retired", "v2": "champion"}

    # Someone other than a manager proposes a rollback; a manager alone applies one, flagged.
    proposed = versions.rollback(deps, MAKER, MODEL_RISK, {"reason": "complaints"})
    assert proposed["state"] == "proposed" and deps.versions.get_routing()["champion"] == "v2"
    emergency = versions.rollback(deps, CHECKER, MANAGERS, {"reason": "complaints"})
    assert emergency["state"] == "applied" and emergency["emergency"] is True
    assert deps.versions.get_routing()["champion"] == PACKAGED_VERSION_ID
    # The proposal made on the older revision cannot be applied any more (nor is it pending).
    assert versions.list_versions(deps)["pending_changes"] == []
    with pytest.raises(ServiceError) as error:
        versions.approve(deps, OTHER_MANAGER, proposed["change_id"])
    assert error.value.status == 409

    trail = versions.audit_trail(deps)
    assert trail["verified"]
    actions = [entry["action"] for entry in trail["entries"]]
    assert actions == [
        "version_registered",
        "routing_proposed",
        "routing_changed",
        "routing_proposed",
        "routing_changed",
        "routing_proposed",
        "routing_changed",
    ]
    last = trail["entries"][-1]
    assert last["actor"] == CHECKER and last["details"]["emergency"] is True
    assert json.loads(str(last["details"]["routing_before"]))["champion"] == "v2"
    assert json.loads(str(last["details"]["routing_after"]))["champion"] == PACKAGED_VERSION_ID
    assert last["details"]["reason"] == "complaints"


def test_a_rollback_without_a_previous_champion_is_a_409(deps: Dependencies) -> None:
    with pytest.raises(ServiceError) as error:
        versions.rollback(deps, CHECKER, MANAGERS, {"reason": "nothing to go back to"})
    assert error.value.status == 409
    with pytest.raises(ServiceError) as error:
        versions.rollback(deps, CHECKER, MANAGERS, {})
    assert error.value.status == 400 and error_fields(error) == ["reason"]


def test_two_concurrent_promotions_one_wins_the_other_409(deps: Dependencies) -> None:
    versions.register(deps, MAKER, {"label": "FOIR 55%", "policy": foir_55()})
    second = copy.deepcopy(foir_55())
    second["version"] = "1.2"
    second["rules"]["POL-FOIR-MAX"]["limit"] = 0.58
    versions.register(deps, MAKER, {"label": "FOIR 58%", "policy": second})
    changes = [
        versions.propose(deps, MAKER, version_id, {"role": "challenger", "share": 5})
        for version_id in ("v2", "v3")
    ]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def approve(change_id: str, manager: str) -> None:
        barrier.wait()
        try:
            versions.approve(deps, manager, change_id)
            statuses.append(200)
        except ServiceError as error:
            statuses.append(error.status)

    threads = [
        threading.Thread(target=approve, args=(change["change_id"], manager))
        for change, manager in zip(changes, (CHECKER, OTHER_MANAGER), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert deps.versions.get_routing()["revision"] == 1


def test_the_store_refuses_a_stale_routing_revision(deps: Dependencies) -> None:
    store = deps.versions
    routing = store.get_routing()
    first = {**routing, "revision": 1, "champion": "v1"}
    assert store.put_routing(first, 0)  # type: ignore[arg-type]
    assert not store.put_routing(first, 0)  # type: ignore[arg-type]
    assert store.put_routing({**first, "revision": 2}, 1)  # type: ignore[arg-type]
    assert store.get_routing()["revision"] == 2
