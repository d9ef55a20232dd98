"""The merge template for ``chalice package --merge-template``, generated from chalicelib/resources.py.

Chalice merges it recursively into its SAM template: new logical ids add resources; Chalice's own
ids (APIHandler, ProcessApplicationQueue, RestAPI) get plain properties added or replaced. No
intrinsic of Chalice's is replaced by a different intrinsic (the merge would keep both keys).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chalicelib import resources
from infra import (
    alarms,
    api_gateway,
    console_hosting,
    dashboard,
    data_stores,
    events,
    functions,
    names,
    staff_pool,
    webhooks,
)

Routes = dict[str, list[str]]  # {"/v1/decisions": ["POST"], ...}


def build_merge_template(
    stage: str,
    routes: Routes,
    app_functions: Collection[str] | None = None,
    index_limit: int | None = None,
) -> dict[str, Any]:
    """``app_functions``: the Chalice function names app.py defines (None: every one of
    resources.FUNCTIONS); ``index_limit``: at most this many GSIs per table (None: all of them),
    for bringing an existing stack to the full set one index per deploy."""
    if stage not in resources.STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {resources.STAGES}")
    merged_resources: dict[str, Any] = {}
    merged_resources.update(data_stores.data_store_resources(stage, index_limit))
    merged_resources.update(events.event_resources(stage))
    merged_resources.update(functions.function_merges(stage, app_functions))
    merged_resources.update(functions.function_log_resources(stage))
    merged_resources.update(functions.pii_hash_key_resources(stage))
    merged_resources.update(staff_pool.staff_pool_resources(stage))
    merged_resources.update(api_gateway.api_gateway_resources(stage))
    merged_resources.update(alarms.alarm_resources(stage))
    merged_resources.update(dashboard.dashboard_resources(stage))
    merged_resources.update(console_hosting.console_hosting_resources(stage))
    merged_resources.update(webhooks.key_resources(stage))
    merged_resources[names.REST_API_LOGICAL_ID] = {
        # Stage logging needs the account's API Gateway -> CloudWatch role in place first.
        "DependsOn": ["ApiGatewayAccount"],
        "Properties": api_gateway.rest_api_properties(stage, routes),
    }
    outputs: dict[str, Any] = {
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        "DashboardName": {"Value": {"Ref": "Dashboard"}},
        "WebAclArn": {"Value": {"Fn::GetAtt": ["WebAcl", "Arn"]}},
        "ApiHandlerAliasArn": {"Value": {"Ref": f"{names.API_LOGICAL_ID}.Alias"}},
        **events.outputs(),
        **staff_pool.outputs(),
        **console_hosting.outputs(),
    }
    for plan in resources.USAGE_PLANS:
        outputs[f"{api_gateway.key_logical_id(plan)}Id"] = {
            "Description": f"Starter API key of the {plan.name} plan: aws apigateway get-api-key "
            "--include-value --api-key <id>",
            "Value": {"Ref": api_gateway.key_logical_id(plan)},
        }
    return {
        "Description": f"{resources.SERVICE} ({stage}): Chalice app + tables, queues, throttling, "
        "usage plans, WAF, decision events, staff user pool, alarms, dashboard, console on S3 + CloudFront",
        "Parameters": {**alarms.PARAMETERS, **events.PARAMETERS, **console_hosting.PARAMETERS},
        "Conditions": {**alarms.CONDITIONS, **events.CONDITIONS, **console_hosting.CONDITIONS},
        "Rules": {**staff_pool.RULES, **console_hosting.RULES},
        "Resources": merged_resources,
        "Outputs": outputs,
    }
