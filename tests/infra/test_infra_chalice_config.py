""".chalice/config.json is the file infra/chalice_config.py renders from chalicelib/resources.py, in
every stage (local included); its numbers and names agree with resources.py.

The expected values below are written from resources.py, not read from infra/chalice_config.py, so
a rendering mistake fails here even though the committed file equals the render.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib import resources
from infra import chalice_config, names, policies


def _committed() -> dict:
    return json.loads(names.CHALICE_CONFIG.read_text())


def test_committed_file_is_the_rendered_one() -> None:
    assert names.CHALICE_CONFIG.read_text() == chalice_config.render(), (
        "run: make render (python -m infra.chalice_config)"
    )


@pytest.mark.parametrize("stage", resources.STAGES)
def test_each_stage_is_the_rendered_one(stage: str) -> None:
    # Per stage as well, so a stale stage is named in the failure (the local stage included).
    assert _committed()["stages"][stage] == chalice_config.config_document()["stages"][stage]


def test_every_stage_and_the_app_name() -> None:
    config = _committed()
    assert set(config["stages"]) == set(resources.STAGES)
    # chalice deploy names the functions <app_name>-<stage>[-<function>]: the names the template uses.
    assert config["app_name"] == resources.SERVICE


@pytest.mark.parametrize("stage", resources.STAGES)
def test_environment_names_every_table_and_queue(stage: str) -> None:
    variables = _committed()["stages"][stage]["environment_variables"]
    assert variables["STAGE"] == stage
    assert variables["POWERTOOLS_SERVICE_NAME"] == resources.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == resources.METRICS_NAMESPACE
    expected = {spec.env_var: resources.resource_name(stage, spec.suffix) for spec in resources.TABLES}
    for queue in resources.QUEUES:
        expected[queue.env_var] = resources.resource_name(stage, queue.suffix)
        expected[queue.dlq_env_var] = resources.resource_name(stage, queue.dlq_suffix)
    expected["DECISION_EVENTS_BUS"] = f"{resources.SERVICE}-{stage}-decision-events"
    expected["VERSIONS_BUCKET"] = f"{resources.SERVICE}-{stage}-decision-versions"
    expected["MONITORING_REPORTS_BUCKET"] = f"{resources.SERVICE}-{stage}-monitoring-reports"
    expected["BATCHES_BUCKET"] = f"{resources.SERVICE}-{stage}-batches"
    assert {name: variables[name] for name in expected} == expected
    # Eight tables (cache, decisions, applications, idempotency, reviews, audit, fraud counters,
    # decision versions), the queue and its dead-letter queue, the events bus, the versions bucket;
    # the webhooks' two tables, queue and dead-letter queue; the monitoring reports' table and bucket
    # (issue 20); the batches' table, chunk queue, its dead-letter queue and results bucket (issue 19);
    # the monitoring runs' parts queue and its dead-letter queue (issue 20, fan-out).
    assert len(expected) == 24
    # The staff pool's ids exist only once the stack does: the template sets them (Ref/GetAtt), so
    # a literal here would be another stage's pool or a stale one.
    staff = {resources.STAFF_POOL_ARN_ENV, resources.STAFF_POOL_ID_ENV, resources.STAFF_POOL_CLIENT_ID_ENV}
    assert staff.isdisjoint(variables)
    assert all(isinstance(value, str) for value in variables.values())  # Lambda takes strings only


@pytest.mark.parametrize("stage", resources.STAGES)
def test_local_edge_module_only_in_the_local_stage(stage: str) -> None:
    variables = _committed()["stages"][stage]["environment_variables"]
    if stage == "local":
        assert variables[resources.LOCAL_EDGE_MODULE_ENV] == resources.LOCAL_EDGE_MODULE == "devstack.gateway"
    else:
        # The deployed stages have API Gateway in front; the emulation is not even in their package.
        assert resources.LOCAL_EDGE_MODULE_ENV not in variables


@pytest.mark.parametrize("stage", resources.STAGES)
def test_tracing_and_metrics_switches(stage: str) -> None:
    stage_config = _committed()["stages"][stage]
    variables = stage_config["environment_variables"]
    assert stage_config["xray"] is resources.XRAY_TRACING[stage]
    assert (variables.get("POWERTOOLS_TRACE_DISABLED") == "true") is not resources.XRAY_TRACING[stage]
    assert (variables.get("POWERTOOLS_METRICS_DISABLED") == "true") is not resources.EMF_METRICS[stage]
    # Lambda reserves AWS_DEFAULT_REGION: a deployed function may not set it.
    assert ("AWS_DEFAULT_REGION" in variables) is (stage == "local")


def test_deployed_stages_trace_and_local_does_not() -> None:
    assert resources.XRAY_TRACING == {"local": False, "dev": True, "prod": True}


@pytest.mark.parametrize("stage", resources.STAGES)
@pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda spec: spec.chalice_name)
def test_function_sizing_agrees_with_resources(stage: str, spec: resources.FunctionSpec) -> None:
    """`chalice deploy` reads .chalice/config.json; the template reads resources.py: they must agree."""
    functions = _committed()["stages"][stage]["lambda_functions"]
    assert set(functions) == {s.chalice_name for s in resources.FUNCTIONS}
    function_config = functions[spec.chalice_name]
    assert function_config["lambda_memory_size"] == spec.memory_mb
    assert function_config["lambda_timeout"] == spec.timeout_seconds
    assert function_config.get("reserved_concurrency") == spec.reserved_concurrency.get(stage)
    # The reconciler's role gets its own, narrower policy; the API and the worker share the stage's.
    own_policy = (resources.RECONCILER_FUNCTION, resources.MONITOR_FUNCTION, *policies.BATCH_FUNCTIONS)
    own_policy += (resources.MONITOR_PART_FUNCTION, resources.MONITOR_PARTS_DLQ_FUNCTION)  # issue 20, fan-out
    if spec in own_policy:
        assert (names.CHALICE_CONFIG.parent / function_config["iam_policy_file"]).is_file()
    else:
        assert "iam_policy_file" not in function_config


@pytest.mark.parametrize("stage", resources.STAGES)
def test_api_gateway_stage_and_policy_file(stage: str) -> None:
    stage_config = _committed()["stages"][stage]
    assert (
        stage_config["api_gateway_stage"]
        == resources.API_GATEWAY_STAGE
        == names.api_gateway_stage_name(stage)
    )
    assert (names.CHALICE_CONFIG.parent / stage_config["iam_policy_file"]).is_file()


def test_a_changed_number_changes_the_render(monkeypatch: pytest.MonkeyPatch) -> None:
    # The equality test above can fail: resources.py is really the source of the file.
    bigger = dataclasses.replace(resources.WORKER_FUNCTION, memory_mb=1024)
    monkeypatch.setattr(resources, "FUNCTIONS", (resources.API_FUNCTION, bigger))
    rendered = json.loads(chalice_config.render())
    assert rendered["stages"]["prod"]["lambda_functions"][bigger.chalice_name]["lambda_memory_size"] == 1024
    assert chalice_config.render() != names.CHALICE_CONFIG.read_text()
