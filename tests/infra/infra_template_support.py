"""Helpers for the template tests (a uniquely named module, importable from every test file)."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

from chalicelib import resources

# What `aws cloudformation package` would write in place of CodeUri (the translator insists on S3).
UPLOADED_CODE_URI = f"s3://{resources.SERVICE}-artifacts/deployment.zip"

Template = dict[str, Any]
# Issue 10's staff routes (the review queue and its cases, an application's audit trail): opened by
# the staff pool's Cognito authorizer, never by an API key.
STAFF_PATH = re.compile(r"^/v1/reviews(/.*)?$|^/v1/applications/\{[^/}]+\}/audit$|^/v1/versions(/.*)?$")


class _NoManagedPolicies:
    # The Chalice template attaches inline policies only; nothing to look up in IAM.
    def load(self) -> dict[str, str]:
        return {}


def expand_sam(template: Template) -> Template:
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = UPLOADED_CODE_URI
    old_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        return transform(template, {}, _NoManagedPolicies())
    finally:
        if old_region is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = old_region


def resources_of_type(template: Template, resource_type: str) -> dict[str, Template]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def lint_problems(template: Template) -> list[str]:
    """cfn-lint errors (E) and warnings (W); informational findings (I) are advice, not defects."""
    from cfnlint.api import lint_all

    return [str(match) for match in lint_all(json.dumps(template)) if match.rule.id[0] in "EW"]


def assert_per_ip_rate_rule(acl: Template, rule: Template) -> dict[str, Any]:
    """A web ACL's per-IP rate rule: resources.py's limit over its window, keyed on the address WAF
    sees, blocking with a 429, Retry-After and the API's error body (returned for more checks).
    A scope-down statement, if any, is the caller's to check."""
    from chalicelib.http import gateway_responses as edge

    rate = rule["Statement"]["RateBasedStatement"]
    statement = {key: value for key, value in rate.items() if key != "ScopeDownStatement"}
    assert statement == {
        "Limit": resources.WAF_PER_IP_LIMIT,
        "EvaluationWindowSec": resources.WAF_EVALUATION_WINDOW_SECONDS,
        "AggregateKeyType": "IP",
    }
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    retry_after = {"Name": "Retry-After", "Value": str(edge.WAF_BLOCKED.retry_after_seconds)}
    assert retry_after in response["ResponseHeaders"]
    body = json.loads(acl["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
    assert set(body) == {"error", "request_id"}
    return body


def assert_region_rule_refuses_exactly_the_linted_regions(
    template: Template, type_prefix: str, rule_id: str, expected: tuple[str, ...]
) -> None:
    """The "not in region" finding is silenced on ``type_prefix`` resources only because the
    template's rule ``rule_id`` refuses those regions: with the silencing removed, cfn-lint must
    refuse them in exactly ``expected``, and the rule must name exactly those."""
    unsilenced = copy.deepcopy(template)
    for resource in unsilenced["Resources"].values():
        if resource["Type"].startswith(type_prefix):
            del resource["Metadata"]
    pattern = re.escape(type_prefix) + r"\w+' does not exist in '([a-z0-9-]+)'"
    refused = {region for problem in lint_problems(unsilenced) for region in re.findall(pattern, problem)}
    assert refused == set(expected)
    (assertion,) = template["Rules"][rule_id]["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [sorted(refused), {"Ref": "AWS::Region"}]}]}
