"""The registry's staff routes through the real handler (API Gateway proxy events with the Cognito
authorizer's claims), on the in-memory twin: who may call what, status codes, the error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

import app
from chalicelib import engine
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack.lambda_events import LocalLambdaContext
from tests.support.http import proxy_event

MODEL_RISK = {"sub": "sub-model-risk-1", "cognito:groups": "model_risk", "cognito:username": "modelrisk1"}
MANAGER = {"sub": "sub-manager-1", "cognito:groups": "manager", "cognito:username": "manager1"}
MANAGER_2 = {"sub": "sub-manager-2", "cognito:groups": "manager", "cognito:username": "manager2"}
REVIEWER = {"sub": "sub-reviewer-1", "cognito:groups": "reviewer", "cognito:username": "reviewer1"}
CONTEXT = LocalLambdaContext(function_name="api_handler", region="us-east-1")


def call(
    method: str, path: str, claims: dict[str, str] | None, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    parts = path.split("/")
    resource, parameters = path, None
    if len(parts) > 3 and parts[3] not in ("rollback", "changes", "audit"):
        resource, parameters = (
            "/".join(["", "v1", "versions", "{version_id}", *parts[4:]]),
            {"version_id": parts[3]},
        )
    elif len(parts) > 4 and parts[3] == "changes":
        resource, parameters = "/v1/versions/changes/{change_id}/approve", {"change_id": parts[4]}
    event = proxy_event(method, path, resource, body, path_parameters=parameters, claims=claims, **kwargs)
    response = app.app(event, CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def foir_55() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    document["version"] = "1.1-foir-55"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    return document


def test_register_propose_approve_over_http(memory: Any) -> None:
    status, listing = call("GET", "/v1/versions", MODEL_RISK)
    assert status == 200 and listing["routing"]["champion"] == "v1"
    status, version = call("POST", "/v1/versions", MODEL_RISK, {"label": "FOIR 55%", "policy": foir_55()})
    assert status == 201 and version["version_id"] == "v2" and version["report"]["passed"]
    status, detail = call("GET", "/v1/versions/v2", MANAGER)
    assert status == 200 and detail["policy"]["rules"]["POL-FOIR-MAX"]["limit"] == 0.55
    assert detail["report"]["champion_version"] == "v1" and detail["report"]["champion"]["rows"] == 1000
    status, change = call("POST", "/v1/versions/v2/promote", MODEL_RISK, {"role": "challenger", "share": 10})
    assert status == 202 and change["state"] == "proposed"
    # Model risk cannot approve (managers only); the maker cannot approve their own change.
    status, error = call("POST", f"/v1/versions/changes/{change['change_id']}/approve", MODEL_RISK)
    assert status == 403 and error["error"]["code"] == "forbidden"
    status, change2 = call("POST", "/v1/versions/v2/promote", MANAGER, {"role": "challenger", "share": 20})
    status, error = call("POST", f"/v1/versions/changes/{change2['change_id']}/approve", MANAGER)
    assert status == 403 and error["error"]["details"] == [
        {"field": "approved_by", "problem": "must not be the maker"}
    ]
    status, applied = call("POST", f"/v1/versions/changes/{change['change_id']}/approve", MANAGER)
    assert status == 200 and applied["state"] == "applied"
    assert applied["routing_after"]["challenger"] == {"version_id": "v2", "share": 10}
    status, listing = call("GET", "/v1/versions", REVIEWER)
    assert status == 403
    status, listing = call("GET", "/v1/versions", MANAGER_2)
    assert {v["version_id"]: (v["status"], v["share"]) for v in listing["versions"]} == {
        "v1": ("champion", None),
        "v2": ("challenger", 10),
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "fields"),
    [
        ("/v1/versions", {"label": "x", "policy": {"bands": 1}}, 400, "policy"),
        ("/v1/versions", {"policy": foir_55()}, 400, "label"),
        ("/v1/versions/v1/promote", {"role": "challenger", "share": 51}, 400, "share"),
        ("/v1/versions/v1/promote", {"role": "boss"}, 400, "role"),
        ("/v1/versions/v404/promote", {"role": "challenger", "share": 5}, 404, None),
        ("/v1/versions/changes/nope/approve", None, 404, None),
        ("/v1/versions/rollback", {"reason": "no previous"}, 409, None),
        ("/v1/versions/rollback", {}, 400, "reason"),
    ],
)
def test_bad_input(memory: Any, path: str, body: Any, status: int, fields: str | None) -> None:
    answered, error = call("POST", path, MANAGER, body)
    assert answered == status, error
    if fields is not None:
        assert all(detail["field"].startswith(fields) for detail in error["error"]["details"])
        assert error["error"]["details"]


def test_a_client_key_or_no_sign_in_is_refused(memory: Any) -> None:
    status, error = call("GET", "/v1/versions", None, api_key_id="client-key-id")
    assert status == 401 and error["error"]["code"] == "unauthorized"
    status, _ = call("POST", "/v1/versions", REVIEWER, {"label": "x", "policy": foir_55()})
    assert status == 403


def test_a_near_zero_rate_is_a_400_naming_the_field_and_registers_nothing(memory: Any) -> None:
    document = foir_55()
    document["rate_card"]["base_annual_rate"] = 1e-300  # the instalment formula would divide by zero

    status, error = call("POST", "/v1/versions", MODEL_RISK, {"label": "near-zero rate", "policy": document})

    assert status == 400 and error["error"]["code"] == "validation_failed"
    assert [detail["field"] for detail in error["error"]["details"]] == ["policy/rate_card/base_annual_rate"]
    assert "0.04" in error["error"]["details"][0]["problem"]
    status, listing = call("GET", "/v1/versions", MODEL_RISK)
    assert [version["version_id"] for version in listing["versions"]] == ["v1"]


def test_the_registry_audit_trail_pages_newest_first_for_model_risk_and_managers(memory: Any) -> None:
    call("POST", "/v1/versions", MODEL_RISK, {"label": "FOIR 55%", "policy": foir_55()})
    status, change = call("POST", "/v1/versions/v2/promote", MODEL_RISK, {"role": "challenger", "share": 10})
    call("POST", f"/v1/versions/changes/{change['change_id']}/approve", MANAGER)

    status, first = call("GET", "/v1/versions/audit", MODEL_RISK, query={"limit": "2"})
    assert status == 200 and first["verified"] is True and first["first_broken_seq"] is None
    assert [(e["seq"], e["action"], e["actor"]) for e in first["entries"]] == [
        (3, "routing_changed", "sub-manager-1"),
        (2, "routing_proposed", "sub-model-risk-1"),
    ]
    assert json.loads(first["entries"][0]["details"]["routing_after"])["challenger"] == {
        "version_id": "v2",
        "share": 10,
    }
    status, rest = call("GET", "/v1/versions/audit", MANAGER, query={"cursor": first["next_cursor"]})
    assert status == 200 and [e["action"] for e in rest["entries"]] == ["version_registered"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("claims", "query", "status", "field"),
    [
        (REVIEWER, None, 403, None),
        (MODEL_RISK, {"limit": "0"}, 400, "limit"),
        (MODEL_RISK, {"cursor": "forged.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 400, "cursor"),
        (MODEL_RISK, {"colour": "red"}, 400, "colour"),
    ],
)
def test_the_registry_audit_trail_refuses(
    memory: Any, claims: dict[str, str], query: dict[str, str] | None, status: int, field: str | None
) -> None:
    answered, error = call("GET", "/v1/versions/audit", claims, query=query)
    assert answered == status, error
    if field is not None:
        assert [detail["field"] for detail in error["error"]["details"]] == [field]


def test_a_client_key_cannot_read_the_registry_audit_trail(memory: Any) -> None:
    status, error = call("GET", "/v1/versions/audit", None, api_key_id="client-key-id")
    assert status == 401 and error["error"]["code"] == "unauthorized"


def test_null_for_an_optional_part_is_left_out_as_the_document_says(memory: Any) -> None:
    from chalicelib.http.openapi import build_document

    component = build_document()["components"]["schemas"]["RegisterVersion"]["properties"]
    assert component["model"]["nullable"] is True and component["notes"]["nullable"] is True
    assert "nullable" not in component["label"]

    status, version = call(
        "POST", "/v1/versions", MODEL_RISK, {"label": "FOIR 55%", "policy": foir_55(), "model": None}
    )
    assert status == 201 and version["model_sha256"] == engine.packaged_version().model.sha256
