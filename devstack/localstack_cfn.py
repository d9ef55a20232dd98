"""The packaged dev template on LocalStack's CloudFormation (on the host, no Docker).

``make localstack-test`` runs ``tests/localstack/`` after the integration suite; its fixture calls
:func:`deploy` with the template ``make package STAGE=dev`` writes, trimmed by
:func:`trim_for_localstack` to what LocalStack can host without Docker:

- **Removed**: the Lambda functions (``AWS::Serverless::Function`` and every ``AWS::Lambda::*``
  resource: the invoke permissions). LocalStack runs Lambda code only in Docker. The functions' SAM
  ``Events`` (the SQS event source mapping, the reconciler's schedule) and ``AutoPublishAlias``
  (version + alias) go with them, since SAM generates those from the function resource.
- **Mocked**: every REST API method whose integration proxies to a removed function becomes a
  ``MOCK`` integration answering 200. The methods, their API-key requirement, the authorizer, the
  stage, its method settings and the usage plans all stay, so they can be checked and called.
- **Rewritten**: other references to a removed function (``Ref``, ``Ref: F.Alias``,
  ``Fn::GetAtt: [F, Arn]``, the same inside ``Fn::Sub``) become the name or ARN the function would
  have had (its ``FunctionName`` is fixed by Chalice), so alarms or policies naming a function keep
  deploying; ``DependsOn`` entries on removed resources are dropped; outputs that describe a
  removed resource are dropped. A reference of another kind fails loudly instead of guessing.

Nothing else is changed here: resource types the community edition does not emulate (WAFv2,
Cognito, CloudFront, CloudWatch dashboards, Logs metric filters and query definitions) are left in
the template, and LocalStack skips them with a warning (``CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES``,
on by default); the tests list which ones it skipped. The SAM transform is LocalStack's own
(it bundles AWS's ``samtranslator``), as on AWS.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Template = dict[str, Any]

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_PREFIX = "AWS::Lambda::"
INTEGRATION_KEY = "x-amazon-apigateway-integration"
# What API Gateway answers for a method whose function is not there (a MOCK integration needs a
# request template choosing the status code, and a response mapping for it).
MOCK_INTEGRATION: dict[str, Any] = {
    "type": "mock",
    "passthroughBehavior": "when_no_match",
    "requestTemplates": {"application/json": '{"statusCode": 200}'},
    "responses": {"default": {"statusCode": "200"}},
}
# ${Name} or ${Name.Attribute} in a Sub string (${!Literal} is an escape, not a reference).
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
# The most a CreateStack TemplateBody may hold (AWS and LocalStack alike): larger ones go via S3.
TEMPLATE_BODY_LIMIT = 51_200
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass
class Trimmed:
    """The trimmed template and what was done to it (for the report and the tests)."""

    template: Template
    removed: dict[str, str] = field(default_factory=dict)  # logical id -> type
    mocked_methods: list[str] = field(default_factory=list)  # "POST /v1/decisions"
    rewritten_references: list[str] = field(default_factory=list)  # JSON-pointer-ish paths
    dropped_outputs: list[str] = field(default_factory=list)


def is_lambda_resource(resource: Mapping[str, Any]) -> bool:
    resource_type = str(resource.get("Type", ""))
    return resource_type == SERVERLESS_FUNCTION or resource_type.startswith(LAMBDA_PREFIX)


def _function_arn(name: str, qualifier: str | None = None) -> dict[str, str]:
    suffix = f":{qualifier}" if qualifier else ""
    prefix = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function"
    return {"Fn::Sub": f"{prefix}:{name}{suffix}"}


def _stand_ins(removed: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"F": name, "F.Arn": arn, "F.Alias": alias arn}`` for each removed function that has a fixed
    name: what a ``Ref``/``GetAtt`` of it would have resolved to on AWS."""
    values: dict[str, Any] = {}
    for logical_id, resource in removed.items():
        properties = resource.get("Properties", {})
        name = properties.get("FunctionName")
        if resource["Type"] not in (SERVERLESS_FUNCTION, "AWS::Lambda::Function") or not isinstance(
            name, str
        ):
            continue
        values[logical_id] = name
        values[f"{logical_id}.Arn"] = _function_arn(name)
        alias = properties.get("AutoPublishAlias")
        if isinstance(alias, str):
            values[f"{logical_id}.Alias"] = _function_arn(name, alias)
    return values


def _reference_target(node: Mapping[str, Any]) -> str | None:
    """``"F"``, ``"F.Alias"`` or ``"F.Arn"`` when node is a Ref/GetAtt, else None."""
    if len(node) != 1:
        return None
    ((key, value),) = node.items()
    if key == "Ref" and isinstance(value, str):
        return value
    if key == "Fn::GetAtt":
        parts = value if isinstance(value, list) else str(value).split(".", 1)
        if len(parts) == 2 and all(isinstance(part, str) for part in parts):
            return f"{parts[0]}.{parts[1]}"
    return None


def _refers_to(target: str, removed: Mapping[str, Any]) -> bool:
    return target.split(".", 1)[0] in removed


def _references(node: Any) -> Iterator[str]:
    """Every resource a node refers to (Ref, GetAtt, Fn::Sub variables), with attribute if any."""
    if isinstance(node, dict):
        if (target := _reference_target(node)) is not None:
            yield target
            return
        if "Fn::Sub" in node and len(node) == 1:
            sub = node["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            yield from (name for name in _SUB_VARIABLE.findall(text) if name not in variables)
            yield from _references(variables)
            return
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


class UnhandledReference(ValueError):
    """A reference to a removed resource this module has no stand-in for."""


def _rewrite(
    node: Any, path: str, removed: Mapping[str, Any], stand_ins: Mapping[str, Any], log: list[str]
) -> Any:
    """node with every reference to a removed resource replaced by its stand-in value."""
    if isinstance(node, dict):
        target = _reference_target(node)
        if target is not None and _refers_to(target, removed):
            if target not in stand_ins:
                raise UnhandledReference(f"{path}: {node} refers to removed {target.split('.')[0]}")
            log.append(path)
            return copy.deepcopy(stand_ins[target])
        if "Fn::Sub" in node and len(node) == 1:
            return {"Fn::Sub": _rewrite_sub(node["Fn::Sub"], f"{path}/Fn::Sub", removed, stand_ins, log)}
        return {key: _rewrite(value, f"{path}/{key}", removed, stand_ins, log) for key, value in node.items()}
    if isinstance(node, list):
        return [
            _rewrite(value, f"{path}/{index}", removed, stand_ins, log) for index, value in enumerate(node)
        ]
    return node


def _rewrite_sub(
    sub: Any, path: str, removed: Mapping[str, Any], stand_ins: Mapping[str, Any], log: list[str]
) -> Any:
    """A ``${F}`` inside a Sub string becomes a Sub variable bound to F's stand-in."""
    text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], dict(sub[1]))
    variables = {
        name: _rewrite(value, f"{path}/1/{name}", removed, stand_ins, log)
        for name, value in variables.items()
    }
    for name in _SUB_VARIABLE.findall(text):
        if name in variables or not _refers_to(name, removed):
            continue
        if name not in stand_ins:
            raise UnhandledReference(f"{path}: ${{{name}}} refers to a removed resource")
        variable = "Removed" + re.sub(r"[^A-Za-z0-9]", "", name)
        text = text.replace(f"${{{name}}}", f"${{{variable}}}")
        variables[variable] = copy.deepcopy(stand_ins[name])
        log.append(f"{path}/${{{name}}}")
    return [text, variables] if variables else text


def _mock_integrations(resource: Template, removed: Mapping[str, Any], mocked: list[str]) -> None:
    """Swap integrations that call a removed function for MOCK ones, in a REST API's swagger body."""
    body = resource.get("Properties", {}).get("DefinitionBody")
    if not isinstance(body, dict):
        return
    for route, methods in body.get("paths", {}).items():
        for method, operation in methods.items():
            integration = operation.get(INTEGRATION_KEY) if isinstance(operation, dict) else None
            if integration and any(_refers_to(target, removed) for target in _references(integration)):
                operation[INTEGRATION_KEY] = copy.deepcopy(MOCK_INTEGRATION)
                mocked.append(f"{method.upper()} {route}")


def trim_for_localstack(template: Template) -> Trimmed:
    """The template without what LocalStack cannot host without Docker (see the module docstring).

    Pure: the argument is not modified.
    """
    template = copy.deepcopy(template)
    resources: dict[str, Template] = template.get("Resources", {})
    removed = {
        logical_id: resource for logical_id, resource in resources.items() if is_lambda_resource(resource)
    }
    trimmed = Trimmed(
        template, removed={logical_id: resource["Type"] for logical_id, resource in removed.items()}
    )
    stand_ins = _stand_ins(removed)
    kept: dict[str, Template] = {}
    for logical_id, resource in resources.items():
        if logical_id in removed:
            continue
        if resource.get("Type") in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            _mock_integrations(resource, removed, trimmed.mocked_methods)
        resource = _rewrite(
            resource, f"/Resources/{logical_id}", removed, stand_ins, trimmed.rewritten_references
        )
        depends_on = resource.get("DependsOn")
        if depends_on is not None:
            remaining = [
                name
                for name in ([depends_on] if isinstance(depends_on, str) else depends_on)
                if name not in removed
            ]
            if remaining:
                resource["DependsOn"] = remaining
            else:
                del resource["DependsOn"]
        kept[logical_id] = resource
    template["Resources"] = kept
    outputs: dict[str, Template] = template.get("Outputs", {})
    for name in [
        name for name, output in outputs.items() if any(_refers_to(t, removed) for t in _references(output))
    ]:
        del outputs[name]
        trimmed.dropped_outputs.append(name)
    return trimmed


# --- Deploying (boto3 against the LocalStack endpoint) ------------------------------------------


@dataclass
class Deployed:
    stack_name: str
    stack_id: str
    status: str
    seconds: float
    resources: list[dict[str, Any]]  # DescribeStackResources
    events: list[dict[str, Any]]  # DescribeStackEvents, newest first
    outputs: dict[str, str]


def deploy(
    session: Any,
    endpoint: str,
    template: Template,
    stack_name: str,
    parameters: Mapping[str, str] | None = None,
    bucket: str | None = None,
    timeout: float = 300.0,
    poll: Callable[[float], None] = time.sleep,
) -> Deployed:
    """Create the stack and wait until it settles; the template goes through S3 as ``make deploy``
    does (``aws cloudformation deploy --s3-bucket``), since it is larger than TemplateBody's limit."""
    s3 = session.client("s3", endpoint_url=endpoint)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    bucket = bucket or f"cfn-templates-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    key = f"{stack_name}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(template).encode())
    started = time.monotonic()
    stack_id = cloudformation.create_stack(
        StackName=stack_name,
        TemplateURL=f"{endpoint}/{bucket}/{key}",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=list(CAPABILITIES),
    )["StackId"]
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{stack_name} still {stack['StackStatus']} after {timeout:.0f} s")
        poll(0.5)
    seconds = time.monotonic() - started
    return Deployed(
        stack_name=stack_name,
        stack_id=stack_id,
        status=stack["StackStatus"],
        seconds=seconds,
        resources=cloudformation.describe_stack_resources(StackName=stack_id)["StackResources"],
        events=_all_events(cloudformation, stack_id),
        outputs={output["OutputKey"]: output.get("OutputValue", "") for output in stack.get("Outputs", [])},
    )


def _all_events(cloudformation: Any, stack_id: str) -> list[dict[str, Any]]:
    paginator = cloudformation.get_paginator("describe_stack_events")
    return [event for page in paginator.paginate(StackName=stack_id) for event in page["StackEvents"]]


def delete(session: Any, endpoint: str, stack_id: str, timeout: float = 120.0) -> tuple[str, float]:
    """Delete the stack and wait; returns the final status and the seconds it took."""
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    started = time.monotonic()
    cloudformation.delete_stack(StackName=stack_id)
    while True:
        try:
            status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        except cloudformation.exceptions.ClientError as error:
            # A deleted stack is still described by its id on AWS; LocalStack forgets it.
            if "does not exist" not in str(error):
                raise
            return "DELETE_COMPLETE", time.monotonic() - started
        if not status.endswith("_IN_PROGRESS") or time.monotonic() - started > timeout:
            return status, time.monotonic() - started
        time.sleep(0.5)


def failures(events: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"{event['LogicalResourceId']} ({event.get('ResourceType')}): {event.get('ResourceStatusReason')}"
        for event in events
        if "FAILED" in str(event.get("ResourceStatus"))
    ]


def query_protocol_session(
    base: Any, services: Sequence[str] = ("cloudwatch",), data_dir: Path | None = None
) -> Any:
    """A boto3 session whose clients for ``services`` speak the AWS query protocol.

    botocore picks the first protocol of a service model's ``protocols`` it supports; for
    CloudWatch that is now ``smithy-rpc-v2-cbor``, which LocalStack 4.8.1 cannot parse ("Missing
    Action in request for query-protocol service"). A copy of the model that lists only ``query``
    (still in the list: AWS serves all three) is put first on the session's data path.
    """
    import boto3
    import botocore.session

    folder = data_dir or Path(tempfile.mkdtemp(prefix="botocore-query-models-"))
    core = botocore.session.get_session()
    loader = core.get_component("data_loader")
    for service in services:
        api_version = loader.determine_latest_version(service, "service-2")
        model = copy.deepcopy(loader.load_service_model(service, "service-2", api_version))
        model["metadata"]["protocol"] = "query"
        model["metadata"]["protocols"] = ["query"]
        target = folder / service / api_version / "service-2.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model))
    fresh = botocore.session.get_session()
    fresh.get_component("data_loader").search_paths.insert(0, str(folder))
    credentials = base.get_credentials()
    return boto3.Session(
        botocore_session=fresh,
        region_name=base.region_name,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
    )
