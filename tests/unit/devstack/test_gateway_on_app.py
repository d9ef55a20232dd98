"""The local stage's gateway emulation (devstack.gateway, loaded through LOCAL_EDGE_MODULE) in front
of the real app (chalice.test.Client, in-memory store): API keys, throttles, quota, in the
production gateway's response shape."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib import resources
from chalicelib.http.gateway_responses import INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED
from chalicelib.resources import Throttle, UsagePlanSpec
from devstack.gateway import LocalGateway, local_api_keys, local_dev_api_key, reset_local_gateway
from tests.support.edge import FakeClock, assert_gateway_answer, assert_security_headers
from tests.support.http import body_of, post_json, sample_application

KEY = local_dev_api_key("standard", {})


def test_missing_or_wrong_api_key_is_403_in_our_shape(chalice_client, gateway_on) -> None:
    for headers in ({}, {"x-api-key": "not-a-key"}):
        response = post_json(chalice_client, "/v1/decisions", sample_application(), headers)
        assert_gateway_answer(response, INVALID_API_KEY)
        assert body_of(response)["error"]["code"] == "forbidden"


def test_valid_key_reaches_the_api(chalice_client, gateway_on) -> None:
    response = post_json(chalice_client, "/v1/decisions", sample_application(), {"x-api-key": KEY})
    assert response.status_code == 200
    assert_security_headers(response)


def test_public_routes_need_no_key(chalice_client, gateway_on) -> None:
    for path in ("/health", "/health/live", "/openapi.json"):
        response = chalice_client.http.get(path)
        assert response.status_code == 200, path
    docs = chalice_client.http.get("/docs")
    assert docs.status_code == 200
    assert_security_headers(docs, cache_control="no-cache")


def test_keys_from_environment_replace_the_defaults(chalice_client, gateway_on, monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_API_KEYS", "standard:my-own-key")
    reset_local_gateway()
    assert chalice_client.http.get("/metrics", headers={"x-api-key": KEY}).status_code == 403
    assert chalice_client.http.get("/metrics", headers={"x-api-key": "my-own-key"}).status_code == 200


def test_no_emulation_outside_the_local_stage(memory, gateway_on) -> None:
    from app import app

    with Client(app, stage_name="dev", project_dir=str(resources_project_dir())) as client:
        assert client.http.get("/metrics").status_code == 200


def resources_project_dir() -> Any:
    from pathlib import Path

    return Path(resources.__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- throttling and quota
def test_burst_then_429_throttled_with_retry_after(chalice_client, gateway_on) -> None:
    clock = FakeClock()
    reset_local_gateway(LocalGateway(local_api_keys({}), clock=clock, wall_clock=clock))
    standard = next(plan for plan in resources.USAGE_PLANS if plan.name == "standard")
    # A route with only the stage throttle, whose burst is larger: the key's usage plan refuses first.
    path = "/v1/applications/{application_id}"
    assert f"{path}/GET" not in resources.METHOD_THROTTLES
    assert resources.STAGE_THROTTLE.burst > standard.throttle.burst
    url = "/v1/applications/00000000-0000-0000-0000-000000000000"
    statuses = [
        chalice_client.http.get(url, headers={"x-api-key": KEY}).status_code
        for _ in range(standard.throttle.burst)
    ]
    assert statuses == [404] * standard.throttle.burst
    throttled = chalice_client.http.get(url, headers={"x-api-key": KEY})
    assert_gateway_answer(throttled, THROTTLED)
    clock.now += 1 / standard.throttle.rate_per_second
    assert chalice_client.http.get(url, headers={"x-api-key": KEY}).status_code == 404


def test_daily_quota_is_429_quota_exceeded(chalice_client, gateway_on) -> None:
    clock = FakeClock()
    tiny = UsagePlanSpec(name="standard", throttle=Throttle(rate_per_second=1000, burst=1000), daily_quota=3)
    reset_local_gateway(LocalGateway({KEY: "standard"}, clock=clock, wall_clock=clock, usage_plans=(tiny,)))
    for _ in range(3):
        assert chalice_client.http.get("/metrics", headers={"x-api-key": KEY}).status_code == 200
    assert_gateway_answer(chalice_client.http.get("/metrics", headers={"x-api-key": KEY}), QUOTA_EXCEEDED)


# ---------------------------------------------------------------------------- security headers
