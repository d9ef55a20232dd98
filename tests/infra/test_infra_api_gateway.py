"""The REST API in the packaged templates: throttles, usage plans and keys, gateway responses,
WAF, compression, access logs, API keys on every non-health route. Expected numbers come from
chalicelib/resources.py."""

from __future__ import annotations

import json
import math

import pytest
from infra_template_support import STAFF_PATH, Template, assert_per_ip_rate_rule, resources_of_type

from chalicelib import resources

# OPTIONS is Chalice's CORS preflight (a MOCK integration): browsers send it without the API key.
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head")


def _api_properties(template: Template) -> dict:
    return template["Resources"]["RestAPI"]["Properties"]


def _stage_resource(expanded: Template) -> dict:
    (stage,) = resources_of_type(expanded, "AWS::ApiGateway::Stage").values()
    return stage


def _method_setting(expanded: Template, resource_path: str, method: str) -> dict:
    settings = _stage_resource(expanded)["Properties"]["MethodSettings"]
    (setting,) = [s for s in settings if s["ResourcePath"] == resource_path and s["HttpMethod"] == method]
    return setting


def _reserved(stage: str) -> int:
    return resources.API_FUNCTION.reserved_concurrency[stage]


# ------------------------------------------------------------------------------------------ keys
@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_route_but_the_public_ones_requires_an_api_key(
    templates: dict[str, Template], stage: str
) -> None:
    paths = _api_properties(templates[stage])["DefinitionBody"]["paths"]
    assert "/v1/decisions" in paths  # the routes really are there
    missing = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        # Staff routes are opened by the Cognito authorizer instead (test_infra_staff_pool.py).
        if path not in resources.PUBLIC_ROUTES and not STAFF_PATH.match(path)
        for method, operation in operations.items()
        if method in HTTP_METHODS and {"api_key": []} not in operation.get("security", [])
    ]
    assert missing == [], "client routes without api_key_required (install_edge)"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_health_routes_need_no_key(templates: dict[str, Template], stage: str) -> None:
    paths = _api_properties(templates[stage])["DefinitionBody"]["paths"]
    health = {path: ops for path, ops in paths.items() if path in resources.PUBLIC_ROUTES}
    assert set(health) >= {"/health", "/health/live", "/health/ready"}
    # The detailed health names tables, queues and dependency errors: a client key opens it.
    assert {"api_key": []} in paths["/health/detailed"]["get"]["security"]
    assert all("security" not in op for ops in health.values() for op in ops.values() if isinstance(op, dict))


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_integration_invokes_the_live_alias(expanded: dict[str, Template], stage: str) -> None:
    (api,) = resources_of_type(expanded[stage], "AWS::ApiGateway::RestApi").values()
    (alias_id,) = [
        logical_id
        for logical_id, resource in resources_of_type(expanded[stage], "AWS::Lambda::Alias").items()
        if resource["Properties"]["FunctionName"] == {"Ref": "APIHandler"}
    ]
    uris = [
        operation["x-amazon-apigateway-integration"]["uri"]
        for operations in api["Properties"]["Body"]["paths"].values()
        for method, operation in operations.items()
        if method in HTTP_METHODS
    ]
    assert uris
    assert all(uri["Fn::Sub"][1]["AliasArn"] == {"Ref": alias_id} for uri in uris)
    permissions = resources_of_type(expanded[stage], "AWS::Lambda::Permission").values()
    assert {"Ref": alias_id} in [p["Properties"]["FunctionName"] for p in permissions]


# ------------------------------------------------------------------------------------ throttles
@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_stage_throttle_is_the_original_api_limit_within_reserved_concurrency(
    expanded: dict[str, Template], stage: str
) -> None:
    setting = _method_setting(expanded[stage], "/*", "*")
    p95_seconds = resources.ALARM_THRESHOLDS.p95_latency_ms / 1000
    assert setting["ThrottlingRateLimit"] == min(
        resources.STAGE_THROTTLE.rate_per_second, math.floor(_reserved(stage) / p95_seconds)
    )
    assert setting["ThrottlingBurstLimit"] == min(resources.STAGE_THROTTLE.burst, _reserved(stage))
    assert setting["MetricsEnabled"] is True
    assert setting["DataTraceEnabled"] is False


def test_prod_stage_throttle_is_exactly_the_configured_one(expanded: dict[str, Template]) -> None:
    # Prod's reserved concurrency serves the original's 100 r/s, burst 200 unchanged.
    setting = _method_setting(expanded["prod"], "/*", "*")
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
        resources.STAGE_THROTTLE.rate_per_second,
        resources.STAGE_THROTTLE.burst,
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_method_throttles(expanded: dict[str, Template], stage: str) -> None:
    for key, throttle in resources.METHOD_THROTTLES.items():
        path, method = key.rsplit("/", 1)
        setting = _method_setting(expanded[stage], "/" + path.replace("/", "~1"), method)
        assert setting["ThrottlingBurstLimit"] == min(throttle.burst, _reserved(stage))
        assert setting["ThrottlingRateLimit"] <= throttle.rate_per_second


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_method_throttle_keys_name_real_routes(templates: dict[str, Template], stage: str) -> None:
    paths = _api_properties(templates[stage])["DefinitionBody"]["paths"]
    for key in resources.METHOD_THROTTLES:
        path, method = key.rsplit("/", 1)
        assert method.lower() in paths.get(path, {}), f"{key} is not a route of the app"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_api_throttle_is_served_by_reserved_concurrency(
    expanded: dict[str, Template], stage: str
) -> None:
    """Each method's bucket: burst <= reserved concurrency, and rate x p95 latency <= reserved."""
    p95_seconds = resources.ALARM_THRESHOLDS.p95_latency_ms / 1000
    for setting in _stage_resource(expanded[stage])["Properties"]["MethodSettings"]:
        assert setting["ThrottlingBurstLimit"] <= _reserved(stage), setting
        assert setting["ThrottlingRateLimit"] * p95_seconds <= _reserved(stage), setting


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_usage_plans_with_keys(templates: dict[str, Template], stage: str) -> None:
    template = templates[stage]
    plans = resources_of_type(template, "AWS::ApiGateway::UsagePlan")
    assert len(plans) == len(resources.USAGE_PLANS) >= 2
    keys = resources_of_type(template, "AWS::ApiGateway::UsagePlanKey")
    for spec in resources.USAGE_PLANS:
        (plan_id,) = [
            pid for pid, p in plans.items() if p["Properties"]["UsagePlanName"].endswith(f"-{spec.name}")
        ]
        properties = plans[plan_id]["Properties"]
        assert properties["Throttle"] == {
            "RateLimit": spec.throttle.rate_per_second,
            "BurstLimit": spec.throttle.burst,
        }
        assert properties["Quota"] == {"Limit": spec.daily_quota, "Period": "DAY"}
        assert properties["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": "api"}]
        # Chalice issue #420: the plan must wait for the SAM-generated stage.
        assert "RestAPIapiStage" in plans[plan_id]["DependsOn"]
        attached = [
            k["Properties"]["KeyId"]
            for k in keys.values()
            if k["Properties"]["UsagePlanId"] == {"Ref": plan_id}
        ]
        assert len(attached) == 1
        key = template["Resources"][attached[0]["Ref"]]
        assert key["Type"] == "AWS::ApiGateway::ApiKey" and key["Properties"]["Enabled"] is True


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_stage_usage_plans_depend_on_exists_after_transform(
    expanded: dict[str, Template], stage: str
) -> None:
    assert expanded[stage]["Resources"]["RestAPIapiStage"]["Type"] == "AWS::ApiGateway::Stage"


# ---------------------------------------------------------------------------- gateway responses
def _gateway_responses(expanded: Template) -> dict:
    (api,) = resources_of_type(expanded, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("response_type", ["THROTTLED", "QUOTA_EXCEEDED"])
def test_throttled_and_quota_answers_are_429_json_with_retry_after(
    expanded: dict[str, Template], stage: str, response_type: str
) -> None:
    response = _gateway_responses(expanded[stage])[response_type]
    assert response["statusCode"] == "429"
    retry_after = response["responseParameters"]["gatewayresponse.header.Retry-After"]
    assert int(retry_after.strip("'")) > 0
    body = json.loads(response["responseTemplates"]["application/json"])
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["details"] == []
    assert body["request_id"] == "$context.requestId"


def test_throttled_retry_after_is_the_configured_one(expanded: dict[str, Template]) -> None:
    response = _gateway_responses(expanded["prod"])["THROTTLED"]
    assert response["responseParameters"]["gatewayresponse.header.Retry-After"] == (
        f"'{resources.THROTTLED_RETRY_AFTER_SECONDS}'"
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("response_type", ["DEFAULT_4XX", "DEFAULT_5XX", "INVALID_API_KEY"])
def test_other_gateway_errors_have_the_product_error_shape(
    expanded: dict[str, Template], stage: str, response_type: str
) -> None:
    response = _gateway_responses(expanded[stage])[response_type]
    body = json.loads(response["responseTemplates"]["application/json"])
    assert set(body) == {"error", "request_id"} and set(body["error"]) == {"code", "message", "details"}
    assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_unknown_route_is_404_in_the_product_error_shape(expanded: dict[str, Template], stage: str) -> None:
    response = _gateway_responses(expanded[stage])["MISSING_AUTHENTICATION_TOKEN"]
    assert response["statusCode"] == "404"
    body = json.loads(response["responseTemplates"]["application/json"])
    assert body == {
        "error": {"code": "not_found", "message": "no such route", "details": []},
        "request_id": "$context.requestId",
    }
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.Content-Type"] == "'application/json'"
    assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_compression_tracing_and_json_access_logs(expanded: dict[str, Template], stage: str) -> None:
    template = expanded[stage]
    (api,) = resources_of_type(template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["MinimumCompressionSize"] > 0
    assert api["Properties"]["Name"] == f"{resources.SERVICE}-{stage}"
    stage_properties = _stage_resource(template)["Properties"]
    assert stage_properties["TracingEnabled"] is True
    access = stage_properties["AccessLogSetting"]
    log_group = template["Resources"][access["DestinationArn"]["Fn::GetAtt"][0]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == resources.LOG_RETENTION_DAYS[stage]
    fields = json.loads(access["Format"])  # a JSON object per request
    assert fields["request_id"] == "$context.requestId" and fields["status"] == "$context.status"


# ------------------------------------------------------------------------------------------ WAF
@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_waf_rate_rule_and_common_rules_on_the_stage(templates: dict[str, Template], stage: str) -> None:
    template = templates[stage]
    # The API stage's regional web ACL (the console's distribution has a CLOUDFRONT one of its own).
    ((acl_id, acl),) = [
        (logical_id, acl)
        for logical_id, acl in resources_of_type(template, "AWS::WAFv2::WebACL").items()
        if acl["Properties"]["Scope"] == "REGIONAL"
    ]
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    (rate_rule,) = [r for r in rules.values() if "RateBasedStatement" in r["Statement"]]
    # Scoped down to what the console's distribution did not forward (test_infra_console_hosting.py).
    assert "ScopeDownStatement" in rate_rule["Statement"]["RateBasedStatement"]
    assert_per_ip_rate_rule(acl, rate_rule)
    managed = [
        r["Statement"]["ManagedRuleGroupStatement"]
        for r in rules.values()
        if "ManagedRuleGroupStatement" in r["Statement"]
    ]
    assert {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}.items() <= managed[0].items()
    ((_, association),) = resources_of_type(template, "AWS::WAFv2::WebACLAssociation").items()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert association["Properties"]["ResourceArn"]["Fn::Sub"].endswith("/restapis/${RestAPI}/stages/api")
    assert "RestAPIapiStage" in association["DependsOn"]


def test_waf_limit_is_the_original_per_ip_rate_over_the_window() -> None:
    assert (
        resources.WAF_PER_IP_LIMIT
        == resources.WAF_PER_IP_RATE_PER_SECOND * resources.WAF_EVALUATION_WINDOW_SECONDS
    )
