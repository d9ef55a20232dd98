"""REST API stage settings, gateway responses, usage plans with API keys, and the WAF web ACL.

Throttling happens in this order (AWS): usage plan per API key -> stage/method limits -> account.
Stage limits in REST APIs apply to each method separately (a token bucket per method). The stage
and method limits are clamped to what the stage's reserved concurrency can serve (see
``served_throttle``) so that a burst is answered 429 by API Gateway rather than 500 by a throttled
Lambda.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chalicelib import resources
from chalicelib.http import gateway_responses as edge_responses
from chalicelib.http.headers import SECURITY_HEADERS
from infra import names

Resource = dict[str, Any]

# Responses above this size are gzip-compressed when the client accepts it. A decision body is
# ~1-3 KB; health answers stay uncompressed (compressing a few hundred bytes costs more than it saves).
MINIMUM_COMPRESSION_BYTES = 1024

# Catch-alls so that every answer API Gateway produces itself has the product's error shape.
DEFAULT_4XX = edge_responses.GatewayResponseSpec(
    response_type="DEFAULT_4XX", status_code=400, code="request_rejected", message="$context.error.message"
)
DEFAULT_5XX = edge_responses.GatewayResponseSpec(
    response_type="DEFAULT_5XX", status_code=500, code="internal_error", message="$context.error.message"
)
# API Gateway answers a path it has no resource for, or a method the resource does not define,
# with MISSING_AUTHENTICATION_TOKEN (by default 403 "Missing Authentication Token"): a 404 instead.
# Routing fails before the API key check: a key problem on a real route still answers 403 Forbidden.
ROUTE_NOT_FOUND = edge_responses.GatewayResponseSpec(
    response_type="MISSING_AUTHENTICATION_TOKEN", status_code=404, code="not_found", message="no such route"
)
# The staff routes' Cognito authorizer answers a missing/invalid/expired token with UNAUTHORIZED
# (401, defined with the local emulation in chalicelib.http.gateway_responses) and an authorization
# failure with ACCESS_DENIED (AWS: "denied by a custom or Amazon Cognito authorizer"), which would
# otherwise fall to DEFAULT_4XX's generic code. A wrong group is the app's own 403 (the authorizer
# does not read cognito:groups), so locally nothing produces ACCESS_DENIED: it lives here only.
ACCESS_DENIED = edge_responses.GatewayResponseSpec(
    response_type="ACCESS_DENIED",
    status_code=403,
    code="forbidden",
    message="forbidden: the staff token does not allow this request",
)
_EDGE_TYPES = {spec.response_type for spec in edge_responses.GATEWAY_RESPONSES}
GATEWAY_RESPONSES = (
    *edge_responses.GATEWAY_RESPONSES,
    # If chalicelib defines ACCESS_DENIED one day, its definition (shared with the emulation) wins.
    *((ACCESS_DENIED,) if ACCESS_DENIED.response_type not in _EDGE_TYPES else ()),
    ROUTE_NOT_FOUND,
    DEFAULT_4XX,
    DEFAULT_5XX,
)

# The JSON access log line: one object per request, no bodies, no API key values.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "request_id": "$context.requestId",
        "extended_request_id": "$context.extendedRequestId",
        "time": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "user_agent": "$context.identity.userAgent",
        "method": "$context.httpMethod",
        "resource": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "response_length": "$context.responseLength",
        "latency_ms": "$context.responseLatency",
        "integration_latency_ms": "$context.integrationLatency",
        "integration_status": "$context.integration.status",
        "error_type": "$context.error.responseType",
        "error_message": "$context.error.message",
        "api_key_id": "$context.identity.apiKeyId",
        "waf_status": "$context.waf.status",
        "xray_trace_id": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


# --------------------------------------------------------------------------------------------
# Throttle arithmetic
# --------------------------------------------------------------------------------------------
def served_throttle(throttle: resources.Throttle, stage: str) -> resources.Throttle:
    """``throttle`` clamped to what the API function's reserved concurrency serves in ``stage``.

    A token bucket admits up to ``burst`` requests at once and ``rate`` per second after that.
    Served without Lambda throttling when ``burst <= reserved`` (every admitted request can run at
    the same time) and ``rate * p95 latency <= reserved`` (Little's law at the p95 alarm threshold).
    """
    reserved = resources.API_FUNCTION.reserved_concurrency.get(stage)
    if reserved is None:
        return throttle
    p95_seconds = resources.ALARM_THRESHOLDS.p95_latency_ms / 1000
    max_rate = math.floor(reserved / p95_seconds)
    return resources.Throttle(
        rate_per_second=min(throttle.rate_per_second, max_rate), burst=min(throttle.burst, reserved)
    )


def split_method_key(key: str) -> tuple[str, str]:
    """``"/health/live/GET"`` -> (``"/health/live"``, ``"GET"``)."""
    path, method = key.rsplit("/", 1)
    return path or "/", method


def encoded_resource_path(path: str) -> str:
    """MethodSettings want ``/health/live`` as ``/~1health~1live`` (JSON-pointer escaping)."""
    return "/" + path.replace("/", "~1")


def method_settings(stage: str) -> list[dict[str, Any]]:
    stage_throttle = served_throttle(resources.STAGE_THROTTLE, stage)
    settings: list[dict[str, Any]] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": stage_throttle.rate_per_second,
            "ThrottlingBurstLimit": stage_throttle.burst,
            "MetricsEnabled": True,  # per-method metrics for the dashboard
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,  # would log request bodies (personal data)
        }
    ]
    for key, throttle in resources.METHOD_THROTTLES.items():
        path, method = split_method_key(key)
        served = served_throttle(throttle, stage)
        settings.append(
            {
                "ResourcePath": encoded_resource_path(path),
                "HttpMethod": method,
                "ThrottlingRateLimit": served.rate_per_second,
                "ThrottlingBurstLimit": served.burst,
                "MetricsEnabled": True,
                "LoggingLevel": "ERROR",
                "DataTraceEnabled": False,
            }
        )
    return settings


# --------------------------------------------------------------------------------------------
# The RestAPI (SAM AWS::Serverless::Api generated by Chalice): plain properties only
# --------------------------------------------------------------------------------------------
def gateway_responses() -> dict[str, Any]:
    """SAM's ``GatewayResponses``: they end up inside the API definition, so every deployment
    carries them (separate AWS::ApiGateway::GatewayResponse resources would need a redeploy)."""
    out: dict[str, Any] = {}
    for spec in GATEWAY_RESPONSES:
        headers = {**edge_responses.gateway_response_headers(spec), **SECURITY_HEADERS}
        headers["Cache-Control"] = "no-store"
        out[spec.response_type] = {
            "StatusCode": spec.status_code,
            "ResponseParameters": {"Headers": {name: f"'{value}'" for name, value in headers.items()}},
            "ResponseTemplates": {"application/json": edge_responses.gateway_response_template(spec)},
        }
    # The catch-alls keep API Gateway's own status code (403, 404, 413, 502, 504...).
    for spec in (DEFAULT_4XX, DEFAULT_5XX):
        del out[spec.response_type]["StatusCode"]
    return out


def alias_integration_paths(routes: dict[str, list[str]]) -> dict[str, Any]:
    """Point every route's Lambda proxy integration at the ``live`` alias instead of $LATEST, so
    provisioned concurrency and weighted-alias canaries apply to API traffic.

    Only the string inside Chalice's ``Fn::Sub`` changes (same intrinsic, same key), which the
    recursive merge replaces cleanly.
    """
    uri = {
        "Fn::Sub": [
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            "${AliasArn}/invocations",
            {"AliasArn": {"Ref": f"{names.API_LOGICAL_ID}.Alias"}},
        ]
    }
    return {
        path: {method.lower(): {"x-amazon-apigateway-integration": {"uri": uri}} for method in methods}
        for path, methods in routes.items()
    }


def rest_api_properties(stage: str, routes: dict[str, list[str]]) -> dict[str, Any]:
    return {
        # Unique per stage: API Gateway metrics are keyed by ApiName + Stage, and Chalice would
        # name both stages' APIs after the app.
        "Name": f"{resources.SERVICE}-{stage}",
        "MethodSettings": method_settings(stage),
        "TracingEnabled": True,
        "MinimumCompressionSize": MINIMUM_COMPRESSION_BYTES,
        "AccessLogSetting": {
            "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
            "Format": ACCESS_LOG_FORMAT,
        },
        "GatewayResponses": gateway_responses(),
        "DefinitionBody": {"paths": alias_integration_paths(routes)},
    }


def api_gateway_resources(stage: str) -> dict[str, Resource]:
    stage_id = names.api_stage_logical_id(stage)
    out: dict[str, Resource] = {
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            # Logs expire by retention; a retained group would block re-creating the stack.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": names.access_log_group(stage),
                "RetentionInDays": resources.LOG_RETENTION_DAYS[stage],
            },
        },
        # Access and execution logging need the account-wide API Gateway -> CloudWatch Logs role.
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}},
        },
        # The integration now invokes the alias; a permission on the bare function does not cover it.
        "APIHandlerAliasInvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": f"{names.API_LOGICAL_ID}.Alias"},
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                    f"${{{names.REST_API_LOGICAL_ID}}}/*"
                },
            },
        },
    }
    out.update(usage_plan_resources(stage, stage_id))
    out.update(waf_resources(stage, stage_id))
    return out


# --------------------------------------------------------------------------------------------
# Usage plans and API keys
# --------------------------------------------------------------------------------------------
def plan_logical_id(plan: resources.UsagePlanSpec) -> str:
    return f"{plan.name.capitalize()}UsagePlan"


def key_logical_id(plan: resources.UsagePlanSpec) -> str:
    return f"{plan.name.capitalize()}ApiKey"


def usage_plan_resources(stage: str, stage_id: str) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    for plan in resources.USAGE_PLANS:
        plan_id, key_id = plan_logical_id(plan), key_logical_id(plan)
        out[plan_id] = {
            "Type": "AWS::ApiGateway::UsagePlan",
            # Chalice issue #420: referencing the API without waiting for its stage fails with
            # "Invalid stage identifier"; the SAM-generated stage must exist first.
            "DependsOn": [stage_id],
            "Properties": {
                "UsagePlanName": f"{resources.SERVICE}-{stage}-{plan.name}",
                "Description": f"{plan.name} tier",
                "ApiStages": [
                    {
                        "ApiId": {"Ref": names.REST_API_LOGICAL_ID},
                        "Stage": names.api_gateway_stage_name(stage),
                    }
                ],
                "Throttle": {"RateLimit": plan.throttle.rate_per_second, "BurstLimit": plan.throttle.burst},
                "Quota": {"Limit": plan.daily_quota, "Period": "DAY"},
            },
        }
        # One starter key per tier; more keys are added with `aws apigateway create-api-key` +
        # `create-usage-plan-key` (docs/DEPLOYMENT.md). The value is generated by API Gateway.
        out[key_id] = {
            "Type": "AWS::ApiGateway::ApiKey",
            "DependsOn": [stage_id],
            "Properties": {
                "Name": f"{resources.SERVICE}-{stage}-{plan.name}-starter",
                "Description": f"Starter key of the {plan.name} usage plan",
                "Enabled": True,
            },
        }
        out[f"{key_id}Attachment"] = {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {"KeyId": {"Ref": key_id}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan_id}},
        }
    return out


# --------------------------------------------------------------------------------------------
# WAF
# --------------------------------------------------------------------------------------------
WAF_BLOCKED_BODY_KEY = "throttled"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
# The common rule set blocks bodies over 8 KB; the API accepts up to MAX_BODY_BYTES and answers
# 413 itself above that, so this one rule only counts.
COMMON_RULES_COUNTED = ("SizeRestrictions_BODY",)


def _visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


# The console's distribution marks what it forwards with this header and a generated secret value
# (``resources.CLOUDFRONT_ORIGIN_HEADER``; set in infra/console_hosting.py). Requests with it were
# rate-limited per viewer by the distribution's CLOUDFRONT web ACL; here the API would see only
# CloudFront's edge addresses, each shared by many officers, so the per-IP rule leaves them out.
# A caller going to the API directly cannot forge the header without the secret's value (48
# generated characters, only in Secrets Manager and in the distribution's and web ACL's
# configurations); a request with any other value is counted like every direct one.
ORIGIN_SECRET_LOGICAL_ID = "CloudFrontOriginSecret"
PER_IP_RULE_NAME = "per-ip-rate-limit"


def origin_secret_reference() -> dict[str, Any]:
    """The secret's value, resolved by CloudFormation at deploy time (never in the template), in
    the form infra/events.py uses: Fn::Join, not Fn::Sub, and the trailing ``:::`` (LocalStack)."""
    return {
        "Fn::Join": [
            "",
            ["{{resolve:secretsmanager:", {"Ref": ORIGIN_SECRET_LOGICAL_ID}, ":SecretString:::}}"],
        ]
    }


def origin_secret(stage: str) -> Resource:
    return {
        "Type": "AWS::SecretsManager::Secret",
        # Nothing depends on the value outliving the stack: a new stack gets a new one.
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "Name": f"{resources.SERVICE}/{stage}/cloudfront-origin-key",
            "Description": f"Value of the {resources.CLOUDFRONT_ORIGIN_HEADER} header the console's "
            "CloudFront distribution sends to the API (the API's per-IP WAF rule skips those requests)",
            # Letters and digits: a header value needs no escaping, and WAF compares it exactly.
            "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
        },
    }


def forwarded_by_cloudfront() -> Resource:
    """Matches a request carrying the distribution's header with exactly the secret's value."""
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": resources.CLOUDFRONT_ORIGIN_HEADER.lower()}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": origin_secret_reference(),
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


def waf_response_bodies() -> dict[str, Any]:
    return {
        WAF_BLOCKED_BODY_KEY: {
            "ContentType": "APPLICATION_JSON",
            # WAF has no request id variable; the body keeps the shape with an empty id.
            "Content": json.dumps(
                edge_responses.gateway_error_body(edge_responses.WAF_BLOCKED, ""), separators=(",", ":")
            ),
        }
    }


def per_ip_rate_rule(scope_down: Resource | None = None, metric: str = PER_IP_RULE_NAME) -> Resource:
    """``WAF_PER_IP_LIMIT`` requests per source address over ``WAF_EVALUATION_WINDOW_SECONDS``, then
    429 with the throttled body (``waf_response_bodies``); only requests matching ``scope_down``
    are counted, when given. The API's web ACL and the console's CLOUDFRONT one both use it."""
    blocked = edge_responses.WAF_BLOCKED
    statement: Resource = {
        "Limit": resources.WAF_PER_IP_LIMIT,
        "EvaluationWindowSec": resources.WAF_EVALUATION_WINDOW_SECONDS,
        "AggregateKeyType": "IP",
    }
    if scope_down is not None:
        statement["ScopeDownStatement"] = scope_down
    return {
        "Name": PER_IP_RULE_NAME,
        "Priority": 0,
        "Statement": {"RateBasedStatement": statement},
        "Action": {
            "Block": {
                "CustomResponse": {
                    "ResponseCode": blocked.status_code,
                    "CustomResponseBodyKey": WAF_BLOCKED_BODY_KEY,
                    "ResponseHeaders": [
                        {"Name": name, "Value": value}
                        for name, value in edge_responses.gateway_response_headers(blocked).items()
                        if name != "Content-Type"  # set by ContentType above
                    ],
                }
            }
        },
        "VisibilityConfig": _visibility(metric),
    }


def waf_resources(stage: str, stage_id: str) -> dict[str, Resource]:
    web_acl: Resource = {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": f"{resources.SERVICE}-{stage}",
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": _visibility(f"{resources.SERVICE}-{stage}-web-acl"),
            "CustomResponseBodies": waf_response_bodies(),
            "Rules": [
                # Every request except the ones the console's distribution forwarded (see above). No
                # second rate rule keyed on X-Forwarded-For for those: WAF reads its first address,
                # which the viewer writes (CloudFront appends the real one), so it could be dodged
                # by rotating it or aimed at an officer's address to throttle them; the
                # distribution's web ACL already counts the address CloudFront saw.
                per_ip_rate_rule(scope_down={"NotStatement": {"Statement": forwarded_by_cloudfront()}}),
                {
                    "Name": COMMON_RULE_SET,
                    "Priority": 1,
                    "Statement": {
                        "ManagedRuleGroupStatement": {
                            "VendorName": "AWS",
                            "Name": COMMON_RULE_SET,
                            "RuleActionOverrides": [
                                {"Name": rule, "ActionToUse": {"Count": {}}} for rule in COMMON_RULES_COUNTED
                            ],
                        }
                    },
                    "OverrideAction": {"None": {}},
                    "VisibilityConfig": _visibility(COMMON_RULE_SET),
                },
            ],
        },
    }
    association: Resource = {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "DependsOn": [stage_id],
        "Properties": {
            "ResourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/"
                f"${{{names.REST_API_LOGICAL_ID}}}/stages/{names.api_gateway_stage_name(stage)}"
            },
            "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
        },
    }
    return {
        "WebAcl": web_acl,
        "WebAclAssociation": association,
        ORIGIN_SECRET_LOGICAL_ID: origin_secret(stage),
    }
