"""Lambda concurrency, sizing, aliases and the SQS event source mapping in the packaged templates."""

from __future__ import annotations

import dataclasses

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import names

FUNCTIONS = {names.logical_id(spec): spec for spec in resources.FUNCTIONS}
API_ID, WORKER_ID = names.logical_id(resources.API_FUNCTION), names.logical_id(resources.WORKER_FUNCTION)


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
    (mapping,) = resources_of_type(expanded[stage], "AWS::Lambda::EventSourceMapping").values()
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
    queue_name = resources.resource_name(stage, queue.suffix)
    assert properties["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    assert expanded[stage]["Resources"][queue.logical_id]["Properties"]["QueueName"] == queue_name


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_mapping_waits_for_the_queue(templates: dict[str, Template], stage: str) -> None:
    # The mapping names the queue by an ARN string, so only DependsOn orders it after the queue.
    assert resources.APPLICATIONS_QUEUE.logical_id in templates[stage]["Resources"][WORKER_ID]["DependsOn"]


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
    for spec in resources.QUEUES:
        assert template["Resources"][spec.logical_id]["Properties"]["QueueName"] == variables[spec.env_var]
        assert (
            template["Resources"][spec.dlq_logical_id]["Properties"]["QueueName"]
            == variables[spec.dlq_env_var]
        )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_function_names_are_the_ones_chalice_deploy_uses(templates: dict[str, Template], stage: str) -> None:
    functions = templates[stage]["Resources"]
    assert functions[API_ID]["Properties"]["FunctionName"] == f"{resources.SERVICE}-{stage}"
    assert functions[WORKER_ID]["Properties"]["FunctionName"] == (
        f"{resources.SERVICE}-{stage}-{resources.WORKER_FUNCTION.chalice_name}"
    )


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
    assert variables[PII_HASH_KEY_ENV] == {
        "Fn::Sub": "{{resolve:secretsmanager:${" + PII_HASH_KEY_SECRET_ID + "}:SecretString}}"
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
