"""The decision-version registry over real HTTP on a local stack of its own (moto server with S3,
``chalice local`` with the local Cognito authorizer): model risk registers a policy-only version
(FOIR limit 55%), reads its report beside the champion's, proposes it as a challenger, a manager
approves; it becomes champion and a manager rolls back alone (flagged). Every bad input of the
issue answers its status over HTTP. Its own stack: it changes the routing document."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.engine.artifact import ARTIFACT_PATH
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack.stack import DevStack

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[2] / "data" / "loan_applications.csv"


@pytest.fixture(scope="module")
def versions_stack(start_stack: Callable[..., DevStack]) -> DevStack:
    return start_stack("versions", workers=0, reconcile_every_seconds=None)


@pytest.fixture(scope="module")
def tokens(versions_stack: DevStack, staff_tokens: Callable[[DevStack], dict[str, str]]) -> dict[str, str]:
    return staff_tokens(versions_stack)


def call(stack: DevStack, token: str | None, method: str, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": token} if token else stack.api_headers()
    return requests.request(method, f"{stack.api_url}{path}", json=body, headers=headers, timeout=60)


def foir_55() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    document["version"] = "1.1-foir-55"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    return document


def test_register_report_challenger_champion_rollback(
    versions_stack: DevStack, tokens: dict[str, str]
) -> None:
    maker, checker = tokens["modelrisk1"], tokens["manager1"]
    registered = call(
        versions_stack, maker, "POST", "/v1/versions", {"label": "FOIR 55%", "policy": foir_55()}
    )
    assert registered.status_code == 201, registered.text
    version_id = registered.json()["version_id"]
    detail = call(versions_stack, maker, "GET", f"/v1/versions/{version_id}").json()
    report = detail["report"]
    assert detail["policy"]["rules"]["POL-FOIR-MAX"]["limit"] == 0.55
    assert report["champion_version"] == "v1" and report["passed"]
    assert report["candidate"]["model"] == report["champion"]["model"]  # a policy-only change
    assert report["candidate"]["outcomes"]["declined"] > report["champion"]["outcomes"]["declined"]

    proposed = call(
        versions_stack,
        maker,
        "POST",
        f"/v1/versions/{version_id}/promote",
        {"role": "challenger", "share": 10},
    )
    assert proposed.status_code == 202, proposed.text
    change_id = proposed.json()["change_id"]
    own = call(
        versions_stack, tokens["manager1"], "POST", f"/v1/versions/{version_id}/promote", {"role": "shadow"}
    )
    refused = call(versions_stack, checker, "POST", f"/v1/versions/changes/{own.json()['change_id']}/approve")
    assert refused.status_code == 403  # the maker of a change cannot approve it
    approved = call(versions_stack, checker, "POST", f"/v1/versions/changes/{change_id}/approve")
    assert approved.status_code == 200, approved.text
    listing = call(versions_stack, maker, "GET", "/v1/versions").json()
    assert listing["routing"]["challenger"] == {"version_id": version_id, "share": 10}

    champion = call(versions_stack, maker, "POST", f"/v1/versions/{version_id}/promote", {"role": "champion"})
    assert call(
        versions_stack, checker, "POST", f"/v1/versions/changes/{champion.json()['change_id']}/approve"
    ).ok
    assert call(versions_stack, maker, "GET", "/v1/versions").json()["routing"]["champion"] == version_id

    rolled = call(versions_stack, checker, "POST", "/v1/versions/rollback", {"reason": "complaints"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["emergency"] is True and rolled.json()["state"] == "applied"
    assert call(versions_stack, maker, "GET", "/v1/versions").json()["routing"]["champion"] == "v1"


def test_bad_input_over_http(versions_stack: DevStack, tokens: dict[str, str]) -> None:
    maker, manager = tokens["modelrisk1"], tokens["manager1"]
    broken = foir_55()
    broken["bands"]["approve"] = 2
    answer = call(versions_stack, maker, "POST", "/v1/versions", {"label": "broken", "policy": broken})
    assert answer.status_code == 400
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["policy/bands/approve"]
    artifact = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    artifact["base_points"] += 1
    answer = call(versions_stack, maker, "POST", "/v1/versions", {"label": "tampered", "model": artifact})
    assert answer.status_code == 400 and answer.json()["error"]["details"][0]["field"] == "model/sha256"
    answer = call(
        versions_stack, maker, "POST", "/v1/versions/v1/promote", {"role": "challenger", "share": 60}
    )
    assert answer.status_code == 400
    assert (
        call(versions_stack, maker, "POST", "/v1/versions/v999/promote", {"role": "shadow"}).status_code
        == 404
    )
    loose = foir_55()
    loose["version"] = "unaffordable"
    for rule in ("POL-FOIR-MAX", "POL-DTI-MAX", "POL-FOIR-REVIEW"):
        loose["rules"][rule]["limit"] = 0.95
    loose["rules"]["POL-FOIR-REVIEW"]["severity"] = "warning"
    registered = call(versions_stack, maker, "POST", "/v1/versions", {"label": "loose", "policy": loose})
    assert registered.status_code == 201 and not registered.json()["report"]["passed"]
    gate = call(
        versions_stack,
        manager,
        "POST",
        f"/v1/versions/{registered.json()['version_id']}/promote",
        {"role": "champion"},
    )
    assert gate.status_code == 409
    assert "gate:affordability" in [d["field"] for d in gate.json()["error"]["details"]]
    # A client's API key does not open the staff routes; a reviewer is not in the registry's groups.
    assert call(versions_stack, None, "GET", "/v1/versions").status_code in (401, 403)
    assert call(versions_stack, tokens["reviewer1"], "GET", "/v1/versions").status_code == 403


def test_the_registry_audit_trail_over_http(versions_stack: DevStack, tokens: dict[str, str]) -> None:
    maker, manager = tokens["modelrisk1"], tokens["manager1"]
    shadow = foir_55()
    shadow["version"] = "audit-shadow"
    registered = call(versions_stack, maker, "POST", "/v1/versions", {"label": "audit", "policy": shadow})
    assert registered.status_code == 201, registered.text
    version_id = registered.json()["version_id"]
    before = call(versions_stack, manager, "GET", "/v1/versions/audit?limit=100")
    assert before.status_code == 200, before.text
    known = len(before.json()["entries"])
    assert before.json()["entries"][0]["action"] == "version_registered"
    assert before.json()["entries"][0]["details"]["version_id"] == version_id
    proposed = call(
        versions_stack,
        maker,
        "POST",
        f"/v1/versions/{version_id}/promote",
        {"role": "shadow", "reason": "audit"},
    )
    assert proposed.status_code == 202, proposed.text

    newest = call(versions_stack, maker, "GET", "/v1/versions/audit?limit=1").json()
    assert newest["verified"] is True and len(newest["entries"]) == 1
    entry = newest["entries"][0]
    assert entry["action"] == "routing_proposed" and entry["seq"] == known + 1
    assert (
        entry["details"]["change_id"] == proposed.json()["change_id"]
        and entry["details"]["reason"] == "audit"
    )
    # Page by page with the cursor each page returns: every entry once, newest first, all verified.
    sequences, cursor = [], newest["next_cursor"]
    while cursor is not None:
        page = call(versions_stack, manager, "GET", f"/v1/versions/audit?limit=2&cursor={cursor}")
        assert page.status_code == 200, page.text
        assert page.json()["verified"] is True
        sequences += [item["seq"] for item in page.json()["entries"]]
        cursor = page.json()["next_cursor"]
    assert sequences == list(range(known, 0, -1))

    assert call(versions_stack, tokens["reviewer1"], "GET", "/v1/versions/audit").status_code == 403
    assert call(versions_stack, None, "GET", "/v1/versions/audit").status_code in (401, 403)
    bad = call(versions_stack, maker, "GET", "/v1/versions/audit?limit=0")
    assert bad.status_code == 400 and [d["field"] for d in bad.json()["error"]["details"]] == ["limit"]


def test_a_near_zero_rate_is_refused_by_its_schema_over_http(
    versions_stack: DevStack, tokens: dict[str, str]
) -> None:
    document = foir_55()
    document["rate_card"]["base_annual_rate"] = 1e-300
    answer = call(
        versions_stack, tokens["modelrisk1"], "POST", "/v1/versions", {"label": "zero", "policy": document}
    )
    assert answer.status_code == 400, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["policy/rate_card/base_annual_rate"]


def test_a_version_reported_on_a_holdout_uploaded_to_a_backtest(
    versions_stack: DevStack, tokens: dict[str, str]
) -> None:
    """Model risk creates a backtest, PUTs a labelled slice of the shipped data to its presigned URL
    (never starting it), and registers a version naming it: the report is on those rows."""
    maker = tokens["modelrisk1"]
    created = call(versions_stack, maker, "POST", "/v1/backtests", {"format": "csv"})
    assert created.status_code == 201, created.text
    backtest_id = created.json()["batch_id"]
    body = {"label": "FOIR 55% on our book", "policy": foir_55(), "holdout": {"backtest_id": backtest_id}}
    early = call(versions_stack, maker, "POST", "/v1/versions", body)
    assert early.status_code == 400, early.text  # nothing uploaded yet
    assert [d["field"] for d in early.json()["error"]["details"]] == ["holdout/backtest_id"]
    lines = DATA.read_bytes().splitlines(keepends=True)
    rows = 250
    upload = b"".join([lines[0], *lines[4001 : 4001 + rows]])  # a slice of the shipped data, labelled
    assert requests.put(created.json()["upload_url"], data=upload, timeout=60).status_code == 200
    registered = call(versions_stack, maker, "POST", "/v1/versions", body)
    assert registered.status_code == 201, registered.text
    report = registered.json()["report"]
    assert report["holdout"] == {
        "source": "uploaded",
        "backtest_id": backtest_id,
        "rows": rows,
        "sha256": hashlib.sha256(upload).hexdigest(),
    }
    assert report["candidate"]["rows"] == report["champion"]["rows"] == rows
    stored = call(versions_stack, maker, "GET", f"/v1/versions/{registered.json()['version_id']}").json()
    assert stored["report"]["holdout"]["source"] == "uploaded"
