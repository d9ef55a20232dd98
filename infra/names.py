"""Names shared by the merge template, the IAM policies and the tests.

Chalice decides the logical ids of what it generates (``APIHandler``, ``RestAPI``, the SQS event
``<Function>SqsEventSource``, the SAM stage ``RestAPI<stage>Stage``). The merge template must use
exactly those ids: it is a recursive dict merge, so a differently named key would add a second,
broken resource instead of extending Chalice's.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib import resources

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"

API_LOGICAL_ID = "APIHandler"  # Chalice's fixed id for the REST API handler
REST_API_LOGICAL_ID = "RestAPI"
WORKER_LOGICAL_ID = to_cfn_resource_name(resources.WORKER_FUNCTION.chalice_name)
WORKER_EVENT_ID = f"{WORKER_LOGICAL_ID}SqsEventSource"
# SAM's AutoPublishAlias: each deploy publishes a version and points this alias at it. API Gateway
# and the SQS mapping invoke the alias, so provisioned concurrency, rollbacks and canaries apply.
ALIAS_NAME = "live"
ALARM_NAMESPACE = "LoanDecisions/Lambda"  # custom metrics from log metric filters

FUNCTION_SPECS = (resources.API_FUNCTION, resources.WORKER_FUNCTION)


@cache
def chalice_config() -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG.read_text())


def api_gateway_stage_name(stage: str) -> str:
    config = chalice_config()
    stage_config = config["stages"][stage]
    return str(stage_config.get("api_gateway_stage", config.get("api_gateway_stage", "api")))


def api_stage_logical_id(stage: str) -> str:
    """SAM names the stage it generates for ``RestAPI`` ``RestAPI<StageName>Stage``."""
    return f"{REST_API_LOGICAL_ID}{api_gateway_stage_name(stage)}Stage"


def logical_id(spec: resources.FunctionSpec) -> str:
    return API_LOGICAL_ID if spec is resources.API_FUNCTION else to_cfn_resource_name(spec.chalice_name)


def function_name(stage: str, spec: resources.FunctionSpec) -> str:
    """Physical Lambda name: the names ``chalice deploy`` would choose, so both paths agree."""
    base = f"{chalice_config()['app_name']}-{stage}"
    return base if spec is resources.API_FUNCTION else f"{base}-{spec.chalice_name}"


def function_log_group(stage: str, spec: resources.FunctionSpec) -> str:
    return f"/aws/lambda/{function_name(stage, spec)}"


def access_log_group(stage: str) -> str:
    return f"/aws/apigateway/{resources.SERVICE}-{stage}-access"


def stage_environment(stage: str) -> dict[str, str]:
    config = chalice_config()
    variables = dict(config.get("environment_variables", {}))
    variables.update(config["stages"][stage].get("environment_variables", {}))
    return {name: str(value) for name, value in variables.items()}


def table_names(stage: str) -> dict[str, str]:
    """{table logical id: physical name} for the stage."""
    return {spec.logical_id: resources.resource_name(stage, spec.suffix) for spec in resources.TABLES}


def queue_names(stage: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for spec in resources.QUEUES:
        names[spec.logical_id] = resources.resource_name(stage, spec.suffix)
        names[spec.dlq_logical_id] = resources.resource_name(stage, spec.dlq_suffix)
    return names
