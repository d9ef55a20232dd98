"""Settings: names from the stage's environment, or derived from STAGE like the template does."""

from __future__ import annotations

from chalicelib import resources
from chalicelib.config import load_settings, physical_name, queue_name


def test_names_derive_from_stage_when_variables_are_missing():
    settings = load_settings({"STAGE": "prod"})
    assert settings.stage == "prod"
    assert settings.applications_queue == "loan-decisions-prod-applications"
    assert settings.applications_dlq == "loan-decisions-prod-applications-dlq"
    assert settings.decision_cache_table == "loan-decisions-prod-decision-cache"
    assert settings.idempotency_table == "loan-decisions-prod-idempotency"


def test_environment_variables_win():
    settings = load_settings({"STAGE": "prod", "APPLICATIONS_QUEUE": "q", "DECISIONS_TABLE": "t"})
    assert (settings.applications_queue, settings.decisions_table) == ("q", "t")


def test_every_named_resource_has_its_variable_or_the_templates_name():
    specs = (
        resources.BATCHES_TABLE,
        resources.BATCHES_BUCKET,
        resources.MONITORING_REPORTS_TABLE,
        resources.MONITORING_REPORTS_BUCKET,
        resources.WEBHOOK_ENDPOINTS_TABLE,
        resources.WEBHOOK_QUEUE,
        resources.DECISION_EVENTS_BUS,
    )
    for spec in specs:
        assert physical_name(spec, {"STAGE": "prod"}) == f"loan-decisions-prod-{spec.suffix}"
        assert physical_name(spec, {"STAGE": "prod", spec.env_var: "set-by-the-stage"}) == "set-by-the-stage"
    chunks = resources.BATCH_CHUNKS_QUEUE
    assert queue_name(chunks, dead_letters=True, environ={"STAGE": "prod"}) == (
        f"loan-decisions-prod-{chunks.dlq_suffix}"
    )
    assert queue_name(chunks, dead_letters=True, environ={chunks.dlq_env_var: "dlq"}) == "dlq"


def test_default_stage_is_dev():
    assert load_settings({}).applications_queue == resources.resource_name("dev", "applications")


def test_a_deployed_stage_refuses_to_start_without_its_pii_hash_key():
    import pytest

    from chalicelib.config import check_serving_environment

    serving = {"AWS_LAMBDA_FUNCTION_NAME": "loan-decisions-prod", "STAGE": "prod"}
    with pytest.raises(RuntimeError, match="PII_HASH_KEY"):
        check_serving_environment(serving)
    check_serving_environment({**serving, "PII_HASH_KEY": "a-generated-secret"})
    check_serving_environment({**serving, "STAGE": "local"})  # the local stack uses the dev key
    check_serving_environment({"STAGE": "prod"})  # `chalice package` imports the app without secrets
