"""``.chalice/config.json``, generated from chalicelib/resources.py (like the IAM policy files).

    python -m infra.chalice_config      # rewrite .chalice/config.json from this module
    make render                         # rewrite every generated file (this one and the policies)

``chalice deploy``, ``chalice local`` and ``chalice package`` read the file; the local stack
(``devstack/stage_env.py``) takes the stages' environment variables from it. Every name and number
in it comes from resources.py, so the file cannot drift from the CloudFormation template;
tests/infra check that the committed file equals this output for every stage.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import resources
from infra import names, policies

CHALICE_CONFIG_VERSION = "2.0"

# Environment variable names the code (chalicelib/config.py) and Powertools read.
STAGE_ENV = "STAGE"
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
LOG_LEVEL_ENV = "LOG_LEVEL"
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
METRICS_DISABLED_ENV = "POWERTOOLS_METRICS_DISABLED"
# Lambda sets AWS_DEFAULT_REGION itself (a reserved variable that a function may not set), so only
# the local stage, whose processes run on this machine, names its region.
REGION_ENV = "AWS_DEFAULT_REGION"


def environment_variables(stage: str) -> dict[str, str]:
    """The variables both functions get in ``stage``: identity, logging, and every resource name."""
    variables = {
        STAGE_ENV: stage,
        SERVICE_NAME_ENV: resources.SERVICE,
        METRICS_NAMESPACE_ENV: resources.METRICS_NAMESPACE,
        LOG_LEVEL_ENV: resources.LOG_LEVEL,
    }
    for table in resources.TABLES:
        variables[table.env_var] = resources.resource_name(stage, table.suffix)
    for queue in resources.QUEUES:
        variables[queue.env_var] = resources.resource_name(stage, queue.suffix)
        variables[queue.dlq_env_var] = resources.resource_name(stage, queue.dlq_suffix)
    bus = resources.DECISION_EVENTS_BUS
    variables[bus.env_var] = resources.resource_name(stage, bus.suffix)
    for bucket in resources.BUCKETS:  # decision versions (issue 18)
        variables[bucket.env_var] = resources.resource_name(stage, bucket.suffix)
    # Only written where they switch something off: Powertools' defaults are "enabled".
    if not resources.XRAY_TRACING[stage]:
        variables[TRACE_DISABLED_ENV] = "true"
    if not resources.EMF_METRICS[stage]:
        variables[METRICS_DISABLED_ENV] = "true"
    if stage == "local":
        variables[REGION_ENV] = resources.LOCAL_REGION
        variables[resources.LOCAL_EDGE_MODULE_ENV] = resources.LOCAL_EDGE_MODULE
    return variables


def lambda_functions(stage: str) -> dict[str, dict[str, int | str]]:
    """Per function: memory, timeout, (in the deployed stages) reserved concurrency, and the policy
    file of a function that does not share the stage's (infra/policies.py)."""
    out: dict[str, dict[str, int | str]] = {}
    for spec in resources.FUNCTIONS:
        settings: dict[str, int | str] = {
            "lambda_memory_size": spec.memory_mb,
            "lambda_timeout": spec.timeout_seconds,
        }
        reserved = spec.reserved_concurrency.get(stage)
        if reserved is not None:
            settings["reserved_concurrency"] = reserved
        policy_file = policies.function_policy_file_name(stage, spec)
        if policy_file != names.policy_file_name(stage):
            settings["iam_policy_file"] = policy_file
        out[spec.chalice_name] = settings
    return out


def stage_config(stage: str) -> dict[str, Any]:
    return {
        "api_gateway_stage": resources.API_GATEWAY_STAGE,
        "environment_variables": environment_variables(stage),
        # The policy files are generated too (infra/policies.py): least privilege, stage resources only.
        "autogen_policy": False,
        "iam_policy_file": names.policy_file_name(stage),
        "xray": resources.XRAY_TRACING[stage],
        "lambda_functions": lambda_functions(stage),
    }


def config_document() -> dict[str, Any]:
    return {
        "version": CHALICE_CONFIG_VERSION,
        "app_name": resources.SERVICE,
        "stages": {stage: stage_config(stage) for stage in resources.STAGES},
    }


def render() -> str:
    return json.dumps(config_document(), indent=2) + "\n"


def main() -> None:
    names.CHALICE_CONFIG.write_text(render())
    # The file is read once per process and cached; a caller that renders then reads must see it.
    names.chalice_config.cache_clear()
    print(names.CHALICE_CONFIG)


if __name__ == "__main__":
    main()
