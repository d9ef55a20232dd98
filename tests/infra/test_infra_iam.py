"""Least privilege: no wildcard IAM actions, in the policy files and anywhere in the templates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
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


def _policy_file(stage: str, spec: resources.FunctionSpec = resources.API_FUNCTION) -> dict:
    """The committed policy file the function's role is built from."""
    file_name = names.chalice_config()["stages"][stage]["lambda_functions"][spec.chalice_name].get(
        "iam_policy_file", names.chalice_config()["stages"][stage]["iam_policy_file"]
    )
    return json.loads((names.CHALICE_CONFIG.parent / file_name).read_text())


def _resources(statement: dict) -> list[str]:
    """The statement's ARNs; one CloudFormation fills in (``{"Fn::Sub": ...}``: a deployed stage's
    bucket, named with the account id) as its template string."""
    resource = statement["Resource"]
    listed = [resource] if isinstance(resource, str | dict) else resource
    return [arn["Fn::Sub"] if isinstance(arn, dict) else arn for arn in listed]


def _allowed(document: dict) -> dict[str, set[str]]:
    """{action: every resource ARN some statement allows it on}."""
    allowed: dict[str, set[str]] = {}
    for statement in _statements(document):
        for action in _actions(statement):
            allowed.setdefault(action, set()).update(_resources(statement))
    return allowed


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:*:*:{resource}"


def _table(stage: str, spec: resources.TableSpec) -> str:
    return _arn("dynamodb", f"table/{resources.resource_name(stage, spec.suffix)}")


RECONCILER = resources.RECONCILER_FUNCTION


def _all_policy_files(stage: str) -> list:
    return sorted(names.CHALICE_CONFIG.parent.glob(f"policy-{stage}.json")) + sorted(
        names.CHALICE_CONFIG.parent.glob(f"policy-{stage}-*.json")
    )


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_files_have_no_wildcard_actions(stage: str) -> None:
    files = _all_policy_files(stage)
    # the shared one, the reconciler's, the monitoring run's, its parts' and its parts' DLQ handler's,
    # and the batch functions'
    assert len(files) == 6
    for path in files:
        statements = list(_statements(json.loads(path.read_text())))
        assert statements
        for statement in statements:
            assert "NotAction" not in statement
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in _actions(statement)), statement


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_files_are_the_generated_ones(stage: str) -> None:
    assert policies.policy_path(stage).read_text() == policies.render(stage), "run: python -m infra.policies"
    rendered = policies.policy_files(stage)
    assert {path.name for path in _all_policy_files(stage)} == set(rendered), "run: make render"
    for file_name, document in rendered.items():
        assert policies.policy_path(stage, file_name).read_text() == policies.render_document(document), (
            file_name
        )


@pytest.mark.parametrize("stage", resources.STAGES)
@pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda spec: spec.chalice_name)
def test_policy_names_only_the_stage_resources(stage: str, spec: resources.FunctionSpec) -> None:
    document = _policy_file(stage, spec)
    # The webhook secrets' key is named by its alias in a condition (its ARN exists only once the
    # stack does): the condition must name this stage's alias.
    by_alias = [s for s in _statements(document) if "kms:ResourceAliases" in str(s.get("Condition"))]
    for statement in by_alias:
        assert f"{resources.SERVICE}-{stage}-" in str(statement["Condition"])
    resource_arns = [
        arn
        for statement in _statements(document)
        if statement not in by_alias
        for arn in _resources(statement)
    ]
    # "*" only for X-Ray, which has no resource-level permissions.
    for statement in _statements(document):
        if "*" in _resources(statement):
            assert _resources(statement) == ["*"]
            assert all(action.startswith("xray:") for action in _actions(statement))
    for arn in resource_arns:
        assert arn == "*" or f"{resources.SERVICE}-{stage}" in arn, arn
    # Each function may write its own log group (and the reconciler no other).
    assert any(names.function_log_group(stage, spec) in arn for arn in resource_arns)
    own = (RECONCILER, resources.MONITOR_FUNCTION, resources.MONITOR_PART_FUNCTION)
    if spec in (*own, resources.MONITOR_PARTS_DLQ_FUNCTION):  # their own policies (issue 20: fan-out)
        assert [arn for arn in resource_arns if ":log-group:" in arn] == [
            _arn("logs", f"log-group:{names.function_log_group(stage, spec)}:*")
        ]
    elif spec in policies.BATCH_FUNCTIONS:  # their own file: tests/infra/test_infra_batches.py
        assert _table(stage, resources.BATCHES_TABLE) in resource_arns
        # The decisions table for an outcomes batch's rows only (GetItem and UpdateItem, issue 20).
        assert _table(stage, resources.AUDIT_TABLE) not in resource_arns
    else:
        for table in resources.TABLES:
            assert _table(stage, table) in resource_arns


@pytest.mark.parametrize("stage", resources.STAGES)
def test_api_and_worker_query_each_index_and_publish_to_the_bus(stage: str) -> None:
    for spec in (resources.API_FUNCTION, resources.WORKER_FUNCTION):
        allowed = _allowed(_policy_file(stage, spec))
        # Queries on every list index, each named (no table/*/index/*), and on one table: the audit
        # trail, read one subject's chain at a time by its partition key.
        assert allowed["dynamodb:Query"] == {
            f"{_table(stage, table)}/index/{index.name}"
            for table in resources.TABLES
            for index in table.indexes
        } | {
            _table(stage, resources.AUDIT_TABLE),
            _table(stage, resources.VERSIONS_TABLE),
            _table(stage, resources.MONITORING_REPORTS_TABLE),
        }
        # 5 list indexes, the review queue's, the audit trail, the decision versions (listed by
        # kind); the webhooks' 3 (issue 22); the monitoring reports (listed by time, issue 20);
        # the batches' owner index (issue 19)
        assert len(allowed["dynamodb:Query"]) == 13 + sum(
            1 for index in resources.DECISIONS_TABLE.indexes if index.name == "by-day"
        )
        assert allowed["events:PutEvents"] == {
            _arn(
                "events",
                f"event-bus/{resources.resource_name(stage, resources.DECISION_EVENTS_BUS.suffix)}",
            )
        }
        # The one batch write (decision record + cache entry + a new decision's first audit entries
        # and review case) on those tables only: never applications or idempotency records.
        assert allowed["dynamodb:BatchWriteItem"] == {
            _table(stage, resources.DECISIONS_TABLE),
            _table(stage, resources.DECISION_CACHE_TABLE),
            _table(stage, resources.AUDIT_TABLE),
            _table(stage, resources.REVIEWS_TABLE),
        }


@pytest.mark.parametrize("stage", resources.STAGES)
@pytest.mark.parametrize("spec", policies.SHARED_FUNCTIONS, ids=lambda spec: spec.chalice_name)
def test_review_cases_and_the_audit_trail_get_only_what_the_desk_does(
    stage: str, spec: resources.FunctionSpec
) -> None:
    """Cases are read and written, never deleted by a DeleteItem; the audit trail is appended to and
    read, never updated or deleted by an UpdateItem/DeleteItem (IAM cannot require the condition
    that makes a PutItem append-only, nor forbid a BatchWriteItem's DeleteRequests)."""
    reviews, audit = _table(stage, resources.REVIEWS_TABLE), _table(stage, resources.AUDIT_TABLE)
    on_table = {
        table: {action for action, arns in _allowed(_policy_file(stage, spec)).items() if table in arns}
        for table in (reviews, audit)
    }
    # BatchWriteItem: a new decision's trail and case go with its record in one request (dal/aws.py).
    assert on_table[reviews] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
    }
    assert on_table[audit] == {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"}
    reviews_index = f"{reviews}/index/{resources.REVIEWS_BY_STATUS_DUE.name}"
    assert "dynamodb:Query" in {
        a for a, arns in _allowed(_policy_file(stage, spec)).items() if reviews_index in arns
    }


@pytest.mark.parametrize("stage", resources.STAGES)
def test_reconciler_may_do_only_what_reconciling_needs(stage: str) -> None:
    applications = _table(stage, resources.APPLICATIONS_TABLE)
    reviews = _table(stage, resources.REVIEWS_TABLE)
    queue = _arn("sqs", resources.resource_name(stage, resources.APPLICATIONS_QUEUE.suffix))
    log_group = _arn("logs", f"log-group:{names.function_log_group(stage, RECONCILER)}:*")
    assert _allowed(_policy_file(stage, RECONCILER)) == {
        # PENDING applications, and the review backlog for its gauges (no case or audit write).
        "dynamodb:Query": {
            f"{applications}/index/{resources.APPLICATIONS_PENDING.name}",
            f"{reviews}/index/{resources.REVIEWS_BY_STATUS_DUE.name}",
        },
        "dynamodb:GetItem": {applications},
        "dynamodb:UpdateItem": {applications},
        "sqs:GetQueueUrl": {queue},
        "sqs:SendMessage": {queue},
        "logs:CreateLogStream": {log_group},
        "logs:PutLogEvents": {log_group},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }


DAL_DIR = Path(__file__).resolve().parents[2] / "chalicelib" / "dal"
SERVICE_PREFIX = {"ddb": "dynamodb", "sqs": "sqs", "events": "events"}
# botocore client methods that are not AWS operations (no IAM action of their own).
CLIENT_HELPERS = {"get_paginator", "get_waiter", "can_paginate", "close"}


def _iam_action(client: str, method: str) -> str:
    return f"{SERVICE_PREFIX[client]}:{''.join(part.title() for part in method.split('_'))}"


def _calls_in(source: str) -> set[str]:
    """``self._ddb.<call>(`` / ``self._sqs.<call>(`` / ``self._events.<call>(`` in one module (also
    ``functools.partial(self._events.<call>, ...)``), and
    the operation behind ``self._ddb.get_paginator("query")``, as IAM actions (``batch_write_item``
    -> ``dynamodb:BatchWriteItem``)."""
    calls = {
        (client, method)
        for client, method in re.findall(
            r"\b_(ddb|sqs|events)\.([a-z_]+)\s*[(,]", source
        )  # a call, or a partial's argument
        if method not in CLIENT_HELPERS
    }
    calls |= set(re.findall(r"\b_(ddb|sqs|events)\.get_paginator\(\s*[\"']([a-z_]+)[\"']", source))
    actions = {_iam_action(client, method) for client, method in calls}
    # TransactWriteItems is authorised per item (PutItem, UpdateItem, ConditionCheckItem, ...).
    actions.discard("dynamodb:TransactWriteItems")
    # SendMessageBatch is authorised by sqs:SendMessage (it has no IAM action of its own:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
    if "sqs:SendMessageBatch" in actions:
        actions = (actions - {"sqs:SendMessageBatch"}) | {"sqs:SendMessage"}
    return actions


def _dal_actions() -> set[str]:
    """Every AWS call in every module of chalicelib/dal (aws.py, reviews.py, ...)."""
    return set().union(*(_calls_in(path.read_text()) for path in sorted(DAL_DIR.glob("*.py"))))


def test_the_dal_call_scan_sees_every_client() -> None:
    # The scan below can fail: it finds the calls we know the DAL makes.
    assert {"dynamodb:GetItem", "dynamodb:Query", "sqs:SendMessage", "events:PutEvents"} <= _dal_actions()
    assert (DAL_DIR / "aws.py").exists()


def test_the_dal_call_scan_reads_paginators_and_skips_client_helpers() -> None:
    source = 'p = self._ddb.get_paginator("query")\nself._events.put_events(Entries=[])\nself._ddb.close()'
    assert _calls_in(source) == {"dynamodb:Query", "events:PutEvents"}
    assert _calls_in("functools.partial(self._events.put_events, Entries=[])") == {"events:PutEvents"}
    assert _calls_in("self._ddb.transact_write_items(TransactItems=[])") == set()


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_aws_call_in_the_dal_is_allowed(stage: str) -> None:
    """A call added to chalicelib/dal/ without its IAM action would fail only in AWS (moto
    enforces no IAM): the shared policy must allow every one."""
    missing = _dal_actions() - set(_allowed(_policy_file(stage)))
    assert missing == set(), f"add to infra/policies.py: {sorted(missing)}"


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
        "dynamodb:Query",
        "events:PutEvents",
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
def test_function_roles_carry_their_policy_files(templates: dict[str, Template], stage: str) -> None:
    # Chalice names each function's role after the function: ApiHandlerRole, ProcessApplicationQueueRole,
    # ReconcilePendingApplicationsRole; the API and the worker share the stage's file.
    for spec in resources.FUNCTIONS:
        role = templates[stage]["Resources"][f"{to_cfn_resource_name(spec.chalice_name)}Role"]["Properties"]
        (policy,) = role["Policies"]
        assert policy["PolicyDocument"] == _policy_file(stage, spec)
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "lambda.amazonaws.com"
        }
    reconciler_role = f"{to_cfn_resource_name(RECONCILER.chalice_name)}Role"
    assert templates[stage]["Resources"][reconciler_role]["Properties"]["Policies"][0][
        "PolicyDocument"
    ] != _policy_file(stage)


def test_config_uses_the_policy_files_without_autogeneration() -> None:
    for stage in resources.STAGES:
        stage_config = names.chalice_config()["stages"][stage]
        assert stage_config["autogen_policy"] is False
        assert stage_config["iam_policy_file"] == f"policy-{stage}.json"
        functions = stage_config["lambda_functions"]
        assert functions[RECONCILER.chalice_name]["iam_policy_file"] == f"policy-{stage}-reconciler.json"
        assert all(
            "iam_policy_file" not in functions[spec.chalice_name] for spec in policies.SHARED_FUNCTIONS
        )
