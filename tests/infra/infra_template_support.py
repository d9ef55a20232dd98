"""Helpers for the template tests (a uniquely named module, importable from every test file)."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from typing import Any

from chalicelib import resources
from infra import console_hosting

# What `aws cloudformation package` would write in place of CodeUri (the translator insists on S3).
UPLOADED_CODE_URI = f"s3://{resources.SERVICE}-artifacts/deployment.zip"

Template = dict[str, Any]
# Issue 10's staff routes (the review queue and its cases, an application's audit trail): opened by
# the staff pool's Cognito authorizer, never by an API key.
STAFF_PATH = re.compile(
    r"^/v1/reviews(/.*)?$|^/v1/applications/\{[^/}]+\}/audit$|^/v1/versions(/.*)?$|^/v1/monitoring(/.*)?$"
    r"|^/v1/backtests(/.*)?$"
)


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


# The regions the templates are linted for: us-east-1, where the stack creates the console's
# CloudFront web ACL (and the Makefile's AWS_DEFAULT_REGION), and one region elsewhere, where it is
# given one (the other branch of the template's conditions). cfn-lint's time grows with the number
# of regions (≈ 40 s for all of them per template, ≈ 3 s for these two); only the region-rule tests
# below lint in every region, on the few resources whose types some regions lack.
DEPLOY_REGIONS = (console_hosting.CLOUDFRONT_WAF_REGION, "eu-west-1")


def every_region() -> tuple[str, ...]:
    """Every region cfn-lint knows (its regional resource specification)."""
    from cfnlint.helpers import REGIONS

    return tuple(REGIONS)


def lint_problems(template: Template, regions: tuple[str, ...] = DEPLOY_REGIONS) -> list[str]:
    """cfn-lint errors (E) and warnings (W) in ``regions``; informational findings (I) are advice,
    not defects. The same template in the same regions is linted once per session (cached)."""
    return list(_lint(json.dumps(template, sort_keys=True), regions))


@functools.cache
def _lint(template_text: str, regions: tuple[str, ...]) -> tuple[str, ...]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    config = ManualArgs(include_experimental=True, regions=list(regions))
    return tuple(str(match) for match in lint(template_text, config=config) if match.rule.id[0] in "EW")


def regions_refusing(template: Template, type_prefix: str) -> set[str]:
    """The regions where cfn-lint refuses the ``type_prefix`` resources ("does not exist in", E3006)
    once every resource's cfn-lint silencing is removed. E3006 depends only on a resource's type and
    the region, so only the silenced resources are linted (with the parameters, conditions and rules
    they name), in every region cfn-lint knows: one lint, shared by every region-rule test."""
    silenced = {
        logical_id: {key: value for key, value in resource.items() if key != "Metadata"}
        for logical_id, resource in template["Resources"].items()
        if "cfn-lint" in resource.get("Metadata", {})
    }
    unsilenced = {key: value for key, value in template.items() if key not in ("Resources", "Outputs")}
    unsilenced["Resources"] = silenced
    pattern = re.escape(type_prefix) + r"\w+' does not exist in '([a-z0-9-]+)'"
    problems = lint_problems(unsilenced, regions=every_region())
    return {region for problem in problems for region in re.findall(pattern, problem)}


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
    refused = regions_refusing(template, type_prefix)
    assert refused == set(expected)
    (assertion,) = template["Rules"][rule_id]["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [sorted(refused), {"Ref": "AWS::Region"}]}]}
