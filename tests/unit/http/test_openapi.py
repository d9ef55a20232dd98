"""The OpenAPI document: valid OpenAPI 3, covers exactly the app's routes, and REAL responses of the
handlers (chalice.test.Client + moto) validate against its response schemas."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from chalicelib import engine, resources
from chalicelib.http import openapi, routes
from chalicelib.http.edge import is_public_route
from chalicelib.resources import Throttle, UsagePlanSpec
from devstack.gateway import LocalGateway, local_dev_api_key, reset_local_gateway
from tests.support.http import post_json, resolve_ref, sample_application
from tests.support.sqs import drain_queue_into_worker

DOCUMENT = openapi.build_document()
KEY = local_dev_api_key("standard", {})


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return resolve_ref(DOCUMENT, node)


def assert_matches_document(response: Any, path: str, method: str) -> Any:
    """The response's status is declared for the operation and its JSON body matches the schema."""
    operation = DOCUMENT["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} is not documented"
    declared = _resolve(operation["responses"][status])
    media_type = response.headers["Content-Type"].split(";")[0].strip()
    assert media_type in declared["content"], f"{method} {path} {status}: {media_type} not documented"
    for header in declared.get("headers", {}):
        assert header in response.headers, f"{method} {path} {status}: header {header} missing"
    if media_type != "application/json":
        return response.body
    body = json.loads(response.body)
    schema = {**declared["content"][media_type]["schema"], "components": DOCUMENT["components"]}
    errors = sorted(OAS30Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: " + "; ".join(error.message for error in errors[:5])
    return body


# ---------------------------------------------------------------------------- the document itself
def test_document_is_valid_openapi_3() -> None:
    validate_spec(DOCUMENT)


def test_document_covers_exactly_the_app_routes() -> None:
    from app import app

    routed = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if method != "OPTIONS"  # CORS preflights (chalicelib.http.edge), not API operations
    }
    documented = {
        (path, method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented == routed


def test_api_key_or_staff_token_exactly_where_the_gateway_requires_them() -> None:
    from app import app

    assert DOCUMENT["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            staff = app.routes[path][method.upper()].authorizer is not None
            if is_public_route(path):
                assert operation["security"] == [] and "403" not in operation["responses"], path
            elif staff:
                assert operation["security"] == [{"StaffIdToken": []}], path
                assert {"401", "403"} <= set(operation["responses"]), path
                continue
            else:
                assert "security" not in operation and DOCUMENT["security"] == [{"ApiKeyAuth": []}]
                assert "403" in operation["responses"], path
            assert "429" in operation["responses"], path


def test_request_schema_is_the_engine_schema() -> None:
    documented = DOCUMENT["components"]["schemas"]["Application"]
    engine_schema = engine.application_json_schema()
    # The same, with OpenAPI 3.0's "nullable" on every optional field (null is taken as absent).
    assert {**documented, "properties": None} == {**engine_schema, "properties": None}
    for name, field in engine_schema["properties"].items():
        optional = name not in engine_schema["required"]
        expected = {**field, "nullable": True} if optional else field
        if optional and "enum" in field:
            expected["enum"] = [*field["enum"], None]
        assert documented["properties"][name] == expected, name


def test_null_for_an_optional_field_is_taken_as_absent(chalice_client) -> None:
    optional = next(
        name for name in engine.application_json_schema()["properties"] if name == "applicant_name"
    )
    response = post_json(chalice_client, "/v1/decisions", {**sample_application(0), optional: None})
    assert response.status_code == 200, response.body
    required = engine.application_json_schema()["required"][0]
    rejected = post_json(chalice_client, "/v1/decisions", {**sample_application(0), required: None})
    assert rejected.status_code == 400


def test_every_error_status_uses_the_error_shape() -> None:
    for name, response in DOCUMENT["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }, name


def test_served_document_is_the_built_one(chalice_client) -> None:
    served = json.loads(chalice_client.http.get("/openapi.json").body)
    assert served["servers"] == [{"url": "/"}]
    assert served["paths"] == json.loads(json.dumps(DOCUMENT["paths"]))


def test_server_url_keeps_the_stage_prefix() -> None:
    from types import SimpleNamespace

    deployed = SimpleNamespace(context={"path": "/api/openapi.json", "resourcePath": "/openapi.json"})
    served = json.loads(openapi.document_response(deployed).body)  # type: ignore[arg-type]
    assert served["servers"] == [{"url": "/api"}]


# ---------------------------------------------------------------------------- real responses
def test_decision_responses_match(chalice_client) -> None:
    application = sample_application(0)
    first = assert_matches_document(
        post_json(chalice_client, "/v1/decisions", application), "/v1/decisions", "POST"
    )
    assert first["cached"] is False
    repeat = assert_matches_document(
        post_json(chalice_client, "/v1/decisions", application), "/v1/decisions", "POST"
    )
    assert repeat["cached"] is True
    invalid = {**application, "cibil_score": 5, "unknown": 1}
    body = assert_matches_document(
        post_json(chalice_client, "/v1/decisions", invalid), "/v1/decisions", "POST"
    )
    assert {detail["field"] for detail in body["error"]["details"]} >= {"cibil_score", "unknown"}
    for raw, content_type in ((b"{oops", "application/json"), (b"x", "text/plain")):
        response = chalice_client.http.post("/v1/decisions", headers={"Content-Type": content_type}, body=raw)
        assert response.status_code in (400, 415)
        assert_matches_document(response, "/v1/decisions", "POST")
    too_large = chalice_client.http.post(
        "/v1/decisions",
        headers={"Content-Type": "application/json"},
        body=b"[" + b"1," * resources.MAX_BODY_BYTES + b"1]",
    )
    assert too_large.status_code == 413
    assert_matches_document(too_large, "/v1/decisions", "POST")


def test_application_responses_match_through_pending_and_decided(chalice_client, memory) -> None:
    accepted = post_json(chalice_client, "/v1/applications", sample_application(1))
    assert accepted.status_code == 202
    body = assert_matches_document(accepted, "/v1/applications", "POST")
    status_path = "/v1/applications/{application_id}"
    pending = assert_matches_document(chalice_client.http.get(body["status_url"]), status_path, "GET")
    assert pending["status"] == "PENDING"
    assert drain_queue_into_worker(chalice_client, memory.memory_queue) == 1
    decided = assert_matches_document(chalice_client.http.get(body["status_url"]), status_path, "GET")
    assert decided["status"] == "DECIDED" and decided["decision"]["outcome"]
    missing = chalice_client.http.get("/v1/applications/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert_matches_document(missing, status_path, "GET")
    invalid = post_json(chalice_client, "/v1/applications", {"age": "old"})
    assert invalid.status_code == 400
    assert_matches_document(invalid, "/v1/applications", "POST")


def test_eligibility_responses_match(chalice_client) -> None:
    application = sample_application(2)
    quick = {name: application[name] for name in engine.quick_eligibility_json_schema()["properties"]}
    ok = post_json(chalice_client, "/v1/eligibility", quick)
    assert ok.status_code == 200
    assert_matches_document(ok, "/v1/eligibility", "POST")
    bad = post_json(chalice_client, "/v1/eligibility", ["not", "an", "object"])
    assert bad.status_code == 400
    assert_matches_document(bad, "/v1/eligibility", "POST")


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/health/detailed"])
def test_health_responses_match(chalice_client, path: str) -> None:
    response = chalice_client.http.get(path)
    assert response.status_code == 200
    assert_matches_document(response, path, "GET")


def test_not_ready_response_matches(chalice_client, unreachable_dynamodb) -> None:
    response = chalice_client.http.get("/health/ready")
    assert response.status_code == 503
    body = assert_matches_document(response, "/health/ready", "GET")
    assert any(check["ok"] is False for check in body["checks"])


def test_docs_metrics_and_document_match(chalice_client) -> None:
    for path in ("/docs", "/metrics", "/openapi.json"):
        response = chalice_client.http.get(path)
        assert response.status_code == 200
        assert_matches_document(response, path, "GET")


def test_gateway_answers_match(chalice_client, monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    tiny = UsagePlanSpec(name="standard", throttle=Throttle(rate_per_second=1, burst=1), daily_quota=10)
    reset_local_gateway(LocalGateway({KEY: "standard"}, clock=lambda: 0.0, usage_plans=(tiny,)))
    try:
        forbidden = chalice_client.http.get("/metrics")
        assert forbidden.status_code == 403
        assert_matches_document(forbidden, "/metrics", "GET")
        assert chalice_client.http.get("/metrics", headers={"x-api-key": KEY}).status_code == 200
        throttled = chalice_client.http.get("/metrics", headers={"x-api-key": KEY})
        assert throttled.status_code == 429
        assert_matches_document(throttled, "/metrics", "GET")
    finally:
        reset_local_gateway()


@pytest.fixture
def unreachable_dynamodb(memory) -> Any:
    """DynamoDB down."""
    memory.outages.fail("dynamodb")
    yield
    memory.outages.recover()


def test_idempotency_responses_match(chalice_client) -> None:
    key = {"Idempotency-Key": "edge-openapi-1"}
    first = post_json(chalice_client, "/v1/decisions", sample_application(5), key)
    replay = post_json(chalice_client, "/v1/decisions", sample_application(5), key)
    assert first.status_code == replay.status_code == 200
    assert (
        assert_matches_document(replay, "/v1/decisions", "POST")["decision_id"]
        == json.loads(first.body)["decision_id"]
    )
    reused = post_json(chalice_client, "/v1/decisions", sample_application(6), key)
    assert reused.status_code == 422
    assert_matches_document(reused, "/v1/decisions", "POST")


def test_record_notice_and_list_responses_match(chalice_client, memory) -> None:
    decided = post_json(chalice_client, "/v1/decisions", sample_application(0))
    decision_id = json.loads(decided.body)["decision_id"]
    record_path = "/v1/decisions/{decision_id}"
    assert_matches_document(chalice_client.http.get(f"/v1/decisions/{decision_id}"), record_path, "GET")
    notice = chalice_client.http.get(f"/v1/decisions/{decision_id}/notice")
    assert notice.status_code in (200, 404)
    assert_matches_document(notice, record_path + "/notice", "GET")
    text = chalice_client.http.get(f"/v1/decisions/{decision_id}/notice", headers={"Accept": "text/plain"})
    assert_matches_document(text, record_path + "/notice", "GET")
    post_json(chalice_client, "/v1/applications", sample_application(1))
    for path in ("/v1/decisions", "/v1/applications"):
        page = chalice_client.http.get(f"{path}?limit=1")
        assert page.status_code == 200
        assert_matches_document(page, path, "GET")
        bad = chalice_client.http.get(f"{path}?limit=1000")
        assert bad.status_code == 400
        assert_matches_document(bad, path, "GET")
    missing = chalice_client.http.get("/v1/decisions/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert_matches_document(missing, record_path, "GET")


NAME_FIELDS = [
    name
    for name, field in DOCUMENT["components"]["schemas"]["Application"]["properties"].items()
    if len(field.get("pattern", "")) > 1000  # the letter and mark classes
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet=st.sampled_from(list("aZé '.-_1\u0301\u0903\u0905\t²١\u3042\u02b0·")), max_size=8)
)
def test_the_documented_name_pattern_is_the_validators_rule(text: str) -> None:
    """applicant_name and city: what the document's pattern allows is exactly what validation takes."""
    assert set(NAME_FIELDS) == {"applicant_name", "city"}
    for field in NAME_FIELDS:
        pattern = DOCUMENT["components"]["schemas"]["Application"]["properties"][field]["pattern"]
        documented = re.fullmatch(pattern, text) is not None
        try:
            engine.validate_application({**sample_application(0), field: text})
            accepted = True
        except engine.ValidationFailed:
            accepted = False
        assert documented == accepted, (field, text)


def test_review_bodies_take_no_null() -> None:
    """The review desk's validation reads null as a wrong type, so the document does not allow it."""
    for name in ("ReviewDecision", "SecondApproval"):
        for field in DOCUMENT["components"]["schemas"][name]["properties"].values():
            assert "nullable" not in field, name


def test_every_request_body_is_its_own_component_never_replaced_by_a_record() -> None:
    """A body and a record of one name were one component: the record replaced the body's schema
    (the second approval's body was documented as the pending approval record, the monitoring run's
    body as the run's status), so clients and schemathesis were told to send the record."""
    schemas = DOCUMENT["components"]["schemas"]
    for route in routes.ROUTES:
        if route.body:
            assert schemas[route.body.component] == openapi._body_schema(route.body), route.operation_id


def test_a_body_named_like_a_record_is_refused_when_the_document_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clashing = routes.CREATE_DECISION._replace(body=routes.Body("ErrorBody", lambda: {"type": "object"}))
    monkeypatch.setattr(routes, "ROUTES", (*routes.ROUTES, clashing))
    with pytest.raises(ValueError, match="ErrorBody"):
        openapi.build_document()


def test_two_record_types_of_one_name_are_refused() -> None:
    from typing import TypedDict

    from chalicelib.http.type_schema import SchemaBuilder

    class Twin(TypedDict):
        a: int

    first = Twin

    class Twin(TypedDict):  # type: ignore[no-redef]
        b: str

    builder = SchemaBuilder()
    builder.ref(first)
    with pytest.raises(ValueError, match="Twin"):
        builder.ref(Twin)
