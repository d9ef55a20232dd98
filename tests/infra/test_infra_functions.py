"""Lambda concurrency, sizing, aliases and the SQS event source mapping in the packaged templates."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import names

FUNCTIONS = {names.logical_id(spec): spec for spec in resources.FUNCTIONS}
API_ID, WORKER_ID = names.logical_id(resources.API_FUNCTION), names.logical_id(resources.WORKER_FUNCTION)
RECONCILER_ID = names.logical_id(resources.RECONCILER_FUNCTION)
APP = Path(__file__).resolve().parents[2] / "app.py"


def test_app_defines_every_function_of_resources() -> None:
    """Every FunctionSpec is a function in app.py, so the packaged template has all of them and the
    parametrized tests below cover each (the merge skips a function app.py does not define)."""
    defined = {
        node.name for node in ast.walk(ast.parse(APP.read_text())) if isinstance(node, ast.FunctionDef)
    }
    missing = {
        spec.chalice_name for spec in resources.FUNCTIONS if spec is not resources.API_FUNCTION
    } - defined
    assert missing == set()


def _function(expanded: Template, logical_id: str) -> dict:
    resource = expanded["Resources"][logical_id]
    assert resource["Type"] == "AWS::Lambda::Function"
    return resource["Properties"]


def _alias(expanded: Template, logical_id: str) -> dict:
    (alias,) = [
        a["Properties"]
        for a in resources_of_type(expanded, "AWS::Lambda::Alias").values()
        if a["Properties"]["FunctionName"] == {"Ref": logical_id}
    ]
    return alias


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_sizing_concurrency_and_tracing(expanded: dict[str, Template], stage: str, logical_id: str) -> None:
    spec = FUNCTIONS[logical_id]
    properties = _function(expanded[stage], logical_id)
    assert properties["MemorySize"] == spec.memory_mb
    assert properties["Timeout"] == spec.timeout_seconds
    assert properties["ReservedConcurrentExecutions"] == spec.reserved_concurrency[stage]
    assert properties["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_provisioned_concurrency_through_the_alias(
    expanded: dict[str, Template], stage: str, logical_id: str
) -> None:
    alias = _alias(expanded[stage], logical_id)
    assert alias["Name"] == "live"
    expected = FUNCTIONS[logical_id].provisioned_concurrency.get(stage)
    if expected:
        assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": expected}
        assert expected <= FUNCTIONS[logical_id].reserved_concurrency[stage]
    else:
        assert "ProvisionedConcurrencyConfig" not in alias


def test_prod_api_has_provisioned_concurrency(expanded: dict[str, Template]) -> None:
    assert (
        _alias(expanded["prod"], API_ID)["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"]
        > 0
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_log_group_with_retention_exists_before_the_function(
    templates: dict[str, Template], stage: str, logical_id: str
) -> None:
    function = templates[stage]["Resources"][logical_id]
    name = function["Properties"]["FunctionName"]
    (group_id,) = [
        gid
        for gid, g in resources_of_type(templates[stage], "AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"] == f"/aws/lambda/{name}"
    ]
    assert (
        templates[stage]["Resources"][group_id]["Properties"]["RetentionInDays"]
        == resources.LOG_RETENTION_DAYS[stage]
    )
    assert group_id in function["DependsOn"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_worker_event_source_mapping(expanded: dict[str, Template], stage: str) -> None:
    queue = resources.APPLICATIONS_QUEUE
    queue_name = resources.resource_name(stage, queue.suffix)
    mappings = resources_of_type(expanded[stage], "AWS::Lambda::EventSourceMapping").values()
    # The worker's (the webhook delivery function has its own, on its own queue: issue 22).
    (mapping,) = [
        m for m in mappings if m["Properties"]["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    ]
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    maximum = properties["ScalingConfig"]["MaximumConcurrency"]
    assert maximum == queue.maximum_concurrency[stage]
    assert 2 <= maximum <= resources.WORKER_FUNCTION.reserved_concurrency[stage]
    assert properties["BatchSize"] == queue.batch_size
    assert properties["MaximumBatchingWindowInSeconds"] == queue.batching_window_seconds
    # The mapping invokes the alias and reads the stage's queue (the physical name the template creates).
    alias_id = properties["FunctionName"]["Ref"]
    assert expanded[stage]["Resources"][alias_id]["Type"] == "AWS::Lambda::Alias"
    assert properties["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    assert expanded[stage]["Resources"][queue.logical_id]["Properties"]["QueueName"] == queue_name


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_mapping_waits_for_the_queue(templates: dict[str, Template], stage: str) -> None:
    # The mapping names the queue by an ARN string, so only DependsOn orders it after the queue.
    assert resources.APPLICATIONS_QUEUE.logical_id in templates[stage]["Resources"][WORKER_ID]["DependsOn"]
    assert (
        resources.APPLICATIONS_QUEUE.logical_id in templates[stage]["Resources"][RECONCILER_ID]["DependsOn"]
    )
    # The publishers name the bus by string (DECISION_EVENTS_BUS): created before them.
    for logical_id in (API_ID, WORKER_ID):
        assert (
            resources.DECISION_EVENTS_BUS.logical_id in templates[stage]["Resources"][logical_id]["DependsOn"]
        )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_visibility_timeout_is_at_least_six_times_the_worker_timeout(
    templates: dict[str, Template], stage: str
) -> None:
    queue = templates[stage]["Resources"][resources.APPLICATIONS_QUEUE.logical_id]["Properties"]
    worker = templates[stage]["Resources"][WORKER_ID]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_environment_names_match_the_template_resources(
    templates: dict[str, Template], stage: str, logical_id: str
) -> None:
    """The names the code reads from its environment are the physical names the template creates."""
    template = templates[stage]
    variables = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    assert variables["STAGE"] == stage
    for spec in resources.TABLES:
        assert variables[spec.env_var] == resources.resource_name(stage, spec.suffix)
        assert template["Resources"][spec.logical_id]["Properties"]["TableName"] == variables[spec.env_var]
    bus = resources.DECISION_EVENTS_BUS
    assert template["Resources"][bus.logical_id]["Properties"]["Name"] == variables[bus.env_var]
    assert variables[bus.env_var] == resources.resource_name(stage, bus.suffix)
    for spec in resources.QUEUES:
        assert template["Resources"][spec.logical_id]["Properties"]["QueueName"] == variables[spec.env_var]
        assert (
            template["Resources"][spec.dlq_logical_id]["Properties"]["QueueName"]
            == variables[spec.dlq_env_var]
        )
    # A bucket's name carries the account id: the variable is the bucket's own Ref (its name), or,
    # for a bucket whose CORS rule names the console (a Ref would be a cycle), that same name.
    for spec in resources.BUCKETS:
        expected = template["Resources"][spec.logical_id]["Properties"]["BucketName"]
        assert variables[spec.env_var] == (
            expected if spec.cors_put_from_console else {"Ref": spec.logical_id}
        )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_function_names_are_the_ones_chalice_deploy_uses(templates: dict[str, Template], stage: str) -> None:
    functions = templates[stage]["Resources"]
    assert functions[API_ID]["Properties"]["FunctionName"] == f"{resources.SERVICE}-{stage}"
    assert functions[WORKER_ID]["Properties"]["FunctionName"] == (
        f"{resources.SERVICE}-{stage}-{resources.WORKER_FUNCTION.chalice_name}"
    )
    assert functions[RECONCILER_ID]["Properties"]["FunctionName"] == (
        f"{resources.SERVICE}-{stage}-{resources.RECONCILER_FUNCTION.chalice_name}"
    )


def test_logical_ids_chalice_generates_for_the_reconciler() -> None:
    # What `chalice package` names a @app.schedule function and its event (checked by packaging).
    assert (names.RECONCILER_LOGICAL_ID, names.RECONCILER_EVENT_ID) == (
        "ReconcilePendingApplications",
        "ReconcilePendingApplicationsEvent",
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_reconciler_runs_on_its_schedule_through_the_alias(
    templates: dict[str, Template], expanded: dict[str, Template], stage: str
) -> None:
    event = templates[stage]["Resources"][RECONCILER_ID]["Properties"]["Events"][names.RECONCILER_EVENT_ID]
    assert event["Type"] == "Schedule"
    minutes = resources.RECONCILE_EVERY_MINUTES
    assert event["Properties"]["Schedule"] == f"rate({minutes} minute{'s' if minutes > 1 else ''})"
    # After the SAM transform: one schedule rule, invoking the live alias (not $LATEST), allowed by
    # a permission scoped to that rule.
    rules = {
        rule_id: rule["Properties"]
        for rule_id, rule in resources_of_type(expanded[stage], "AWS::Events::Rule").items()
        if "ScheduleExpression" in rule["Properties"]
    }
    # The reconciler's rule (the daily monitoring run has its own, issue 20).
    ((rule_id, rule),) = [
        (rule_id, rule)
        for rule_id, rule in rules.items()
        if rule["ScheduleExpression"] == event["Properties"]["Schedule"]
    ]
    assert rule["ScheduleExpression"] == event["Properties"]["Schedule"]
    (target,) = rule["Targets"]
    alias_id = target["Arn"]["Ref"]
    assert expanded[stage]["Resources"][alias_id]["Properties"]["FunctionName"] == {"Ref": RECONCILER_ID}
    permissions = [
        p["Properties"]
        for p in resources_of_type(expanded[stage], "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and p["Properties"]["FunctionName"] == {"Ref": alias_id}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": alias_id},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_no_merge_for_a_function_app_py_does_not_define() -> None:
    # A merge into a function Chalice does not generate would add a resource without a Type.
    from infra import functions

    merges = functions.function_merges("prod", app_functions=["api_handler", "process_application_queue"])
    assert set(merges) == {API_ID, WORKER_ID}
    assert set(functions.function_merges("prod")) == {
        API_ID,
        WORKER_ID,
        RECONCILER_ID,
        "DeliverWebhooks",
        "RunMonitoring",
        "ScoreBatchChunks",  # batches (issue 19)
        "SettleFailedBatchChunks",
        "RunMonitoringParts",  # monitoring runs' parts (issue 20, fan-out)
        "SettleFailedMonitoringParts",
    }


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_identity_hash_key_is_a_generated_secret_next_to_chalices_variables(
    expanded: dict[str, Template], stage: str, logical_id: str
) -> None:
    from chalicelib.privacy import PII_HASH_KEY_ENV
    from infra.functions import PII_HASH_KEY_SECRET_ID

    variables = _function(expanded[stage], logical_id)["Environment"]["Variables"]
    # Merged beside the variables Chalice generates from .chalice/config.json, not instead of them.
    assert variables["STAGE"] == stage
    assert variables[resources.APPLICATIONS_TABLE.env_var] == resources.resource_name(
        stage, resources.APPLICATIONS_TABLE.suffix
    )
    # Fn::Join with the empty trailing segments: the CDK's form, which LocalStack resolves too
    # (tests/localstack deploys it).
    assert variables[PII_HASH_KEY_ENV] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": PII_HASH_KEY_SECRET_ID}, ":SecretString:::}}"]]
    }
    secret = expanded[stage]["Resources"][PII_HASH_KEY_SECRET_ID]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


def test_maximum_concurrency_is_the_workers_reserved_concurrency() -> None:
    # Derived, not copied: raising the worker's reserved concurrency raises the mapping's cap with it.
    assert resources.APPLICATIONS_QUEUE.consumer is resources.WORKER_FUNCTION
    assert resources.APPLICATIONS_QUEUE.maximum_concurrency == {"dev": 5, "prod": 20}
    raised = dataclasses.replace(resources.WORKER_FUNCTION, reserved_concurrency={"dev": 7, "prod": 40})
    queue = dataclasses.replace(resources.APPLICATIONS_QUEUE, consumer=raised)
    assert queue.maximum_concurrency == {"dev": 7, "prod": 40}


def test_a_worker_too_small_for_a_mapping_is_refused() -> None:
    # Lambda's MaximumConcurrency is at least 2: a worker reserved at 1 could never be capped safely.
    tiny = dataclasses.replace(resources.WORKER_FUNCTION, reserved_concurrency={"dev": 1})
    with pytest.raises(ValueError, match="below the mapping's minimum"):
        dataclasses.replace(resources.APPLICATIONS_QUEUE, consumer=tiny)
