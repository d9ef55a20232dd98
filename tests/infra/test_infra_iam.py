"""Least privilege: no wildcard IAM actions, in the policy files and anywhere in the templates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.utils import to_cfn_resource_name
from infra_template_support import Template

from chalicelib import resources
from infra import names, policies


def _statements(node: Any) -> Iterator[dict]:
    """Every IAM statement anywhere in a document or template."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def _actions(statement: dict) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else actions


def _policy_file(stage: str) -> dict:
    return json.loads(policies.policy_path(stage).read_text())


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_files_have_no_wildcard_actions(stage: str) -> None:
    statements = list(_statements(_policy_file(stage)))
    assert statements
    for statement in statements:
        assert "NotAction" not in statement
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in _actions(statement)), statement


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_files_are_the_generated_ones(stage: str) -> None:
    assert policies.policy_path(stage).read_text() == policies.render(stage), "run: python -m infra.policies"


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_names_only_the_stage_resources(stage: str) -> None:
    resource_arns = [
        arn
        for statement in _statements(_policy_file(stage))
        for arn in (
            [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        )
    ]
    # "*" only for X-Ray, which has no resource-level permissions.
    for statement in _statements(_policy_file(stage)):
        if statement["Resource"] == "*":
            assert all(action.startswith("xray:") for action in _actions(statement))
    for arn in resource_arns:
        assert arn == "*" or f"{resources.SERVICE}-{stage}" in arn, arn
    for spec in resources.TABLES:
        assert f"arn:aws:dynamodb:*:*:table/{resources.resource_name(stage, spec.suffix)}" in resource_arns
    for spec in names.FUNCTION_SPECS:
        assert any(names.function_log_group(stage, spec) in arn for arn in resource_arns)


def test_policy_allows_what_the_code_and_the_sqs_mapping_need() -> None:
    actions = {a for s in _statements(_policy_file("prod")) for a in _actions(s)}
    needed = {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
    }
    assert needed <= actions


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_templates_have_no_wildcard_actions(
    templates: dict[str, Template], expanded: dict[str, Template], stage: str
) -> None:
    for template in (templates[stage], expanded[stage]):
        statements = list(_statements(template["Resources"]))
        assert statements
        for statement in statements:
            assert all("*" not in action for action in _actions(statement)), statement


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_function_roles_carry_the_stage_policy(templates: dict[str, Template], stage: str) -> None:
    # Chalice names each function's role after the function: ApiHandlerRole, ProcessApplicationQueueRole.
    for role_id in (f"{to_cfn_resource_name(spec.chalice_name)}Role" for spec in resources.FUNCTIONS):
        (policy,) = templates[stage]["Resources"][role_id]["Properties"]["Policies"]
        assert policy["PolicyDocument"] == _policy_file(stage)


def test_config_uses_the_policy_files_without_autogeneration() -> None:
    for stage in resources.STAGES:
        stage_config = names.chalice_config()["stages"][stage]
        assert stage_config["autogen_policy"] is False
        assert stage_config["iam_policy_file"] == f"policy-{stage}.json"
