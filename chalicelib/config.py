"""Run-time settings of the service, read from the stage's environment.

Names of tables and queues come from the environment variables that ``.chalice/config.json`` sets
for each stage (the variable names are in ``chalicelib/resources.py``); when a variable is missing
(packaging, ad-hoc scripts) the physical name is derived from ``STAGE`` with the same
``resource_name`` the template uses, so both can never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple, Protocol

from chalicelib import resources
from chalicelib.privacy import PII_HASH_KEY_ENV

LOCAL_STAGE = "local"
# The local stack's override of resources.PENDING_MAX_AGE_SECONDS (its queue may use a short
# visibility timeout for tests and demos).
PENDING_MAX_AGE_ENV = "PENDING_MAX_AGE_SECONDS"
# Set by the Lambda runtime (and by the local stack's fake Lambda context): we are serving.
LAMBDA_FUNCTION_NAME_ENV = "AWS_LAMBDA_FUNCTION_NAME"


class Settings(NamedTuple):
    stage: str
    decision_cache_table: str
    decisions_table: str
    applications_table: str
    idempotency_table: str
    reviews_table: str
    audit_table: str
    applications_queue: str  # queue NAME; the URL is resolved once by the DAL
    applications_dlq: str
    decision_events_bus: str
    region: str
    code_version: str  # the deployed Lambda version (every deploy publishes one); "$LATEST" locally
    record_retention_seconds: int  # decisions and applications are deleted by TTL after this
    pending_max_age_seconds: int  # the reconciler takes over PENDING applications older than this
    review_sla_business_days: int
    # Maker-checker's amount for every decision, instead of the decision's version's policy document
    # (None: the version's). Only from SECOND_APPROVAL_ABOVE_AMOUNT (tests, demos): resources.py.
    second_approval_above_amount_override: int | None
    fraud_counters_table: str = ""  # issue 21: velocity counters (load_settings always sets it)
    # Decision versions (issue 18): the registry's table and its artifacts bucket.
    versions_table: str = ""
    versions_bucket: str = ""


class NamedResource(Protocol):
    """A table, bucket, queue or bus of ``resources``: the variable that names it, and its suffix."""

    @property
    def env_var(self) -> str: ...

    @property
    def suffix(self) -> str: ...


def _name(environ: Mapping[str, str], stage: str, env_var: str, suffix: str) -> str:
    return environ.get(env_var) or resources.resource_name(stage, suffix)


def physical_name(spec: NamedResource, environ: Mapping[str, str] | None = None) -> str:
    """Physical name of a table, bucket, queue or bus for ``STAGE``: the variable the stage sets,
    else the name the template gives it."""
    env = os.environ if environ is None else environ
    return _name(env, env.get("STAGE", "dev"), spec.env_var, spec.suffix)


def _optional_int(text: str | None) -> int | None:
    return int(text) if text else None


def _table(environ: Mapping[str, str], stage: str, table: resources.TableSpec) -> str:
    return _name(environ, stage, table.env_var, table.suffix)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    stage = env.get("STAGE", "dev")
    queue = resources.APPLICATIONS_QUEUE
    return Settings(
        stage=stage,
        decision_cache_table=_table(env, stage, resources.DECISION_CACHE_TABLE),
        decisions_table=_table(env, stage, resources.DECISIONS_TABLE),
        applications_table=_table(env, stage, resources.APPLICATIONS_TABLE),
        idempotency_table=_table(env, stage, resources.IDEMPOTENCY_TABLE),
        reviews_table=_table(env, stage, resources.REVIEWS_TABLE),
        audit_table=_table(env, stage, resources.AUDIT_TABLE),
        applications_queue=_name(env, stage, queue.env_var, queue.suffix),
        applications_dlq=_name(env, stage, queue.dlq_env_var, queue.dlq_suffix),
        decision_events_bus=_name(
            env, stage, resources.DECISION_EVENTS_BUS.env_var, resources.DECISION_EVENTS_BUS.suffix
        ),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or resources.LOCAL_REGION,
        code_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        record_retention_seconds=86_400
        * int(env.get(resources.RECORD_RETENTION_DAYS_ENV) or resources.RECORD_RETENTION_DAYS),
        # Tests and demos shorten the queue's visibility timeout; they shorten this with it.
        pending_max_age_seconds=int(env.get(PENDING_MAX_AGE_ENV) or resources.PENDING_MAX_AGE_SECONDS),
        review_sla_business_days=int(
            env.get(resources.REVIEW_SLA_BUSINESS_DAYS_ENV) or resources.REVIEW_SLA_BUSINESS_DAYS
        ),
        second_approval_above_amount_override=_optional_int(
            env.get(resources.SECOND_APPROVAL_ABOVE_AMOUNT_ENV)
        ),
        fraud_counters_table=_table(env, stage, resources.FRAUD_COUNTERS_TABLE),
        versions_table=_table(env, stage, resources.VERSIONS_TABLE),
        versions_bucket=_name(
            env, stage, resources.VERSIONS_BUCKET.env_var, resources.VERSIONS_BUCKET.suffix
        ),
    )


def staff_pool_arn(environ: Mapping[str, str] | None = None) -> str:
    """The staff user pool for the API's Cognito authorizer: the deployed pool's ARN, or the
    placeholder ``infra`` replaces with the stack's own pool when packaging."""
    env = os.environ if environ is None else environ
    return env.get(resources.STAFF_POOL_ARN_ENV) or resources.STAFF_POOL_ARN_PLACEHOLDER


def check_serving_environment(environ: Mapping[str, str] | None = None) -> None:
    """Fail closed at start: a deployed stage must have its own identity-hash key, never the
    published development key. Only checked when serving (``chalice package`` imports the app
    without the stage's secrets)."""
    env = os.environ if environ is None else environ
    serving = bool(env.get(LAMBDA_FUNCTION_NAME_ENV))
    if serving and env.get("STAGE", "dev") != LOCAL_STAGE and not env.get(PII_HASH_KEY_ENV):
        raise RuntimeError(
            f"{PII_HASH_KEY_ENV} is not set: stage {env.get('STAGE', 'dev')!r} must hash identity numbers "
            "with its own key (the template resolves it from Secrets Manager); refusing to start"
        )


def queue_name(
    spec: resources.QueueSpec, *, dead_letters: bool = False, environ: Mapping[str, str] | None = None
) -> str:
    """Physical name of a queue (or its dead-letter queue) for ``STAGE``: app.py's SQS handlers
    read it at import. ``chalice package`` imports app.py without the stage's environment variables,
    hence the fallback to ``STAGE`` (default ``dev``)."""
    env = os.environ if environ is None else environ
    if dead_letters:
        return _name(env, env.get("STAGE", "dev"), spec.dlq_env_var, spec.dlq_suffix)
    return physical_name(spec, env)


def maximum_concurrency(spec: resources.QueueSpec, environ: Mapping[str, str] | None = None) -> int | None:
    """A queue's event source mapping MaximumConcurrency for ``STAGE`` (None where resources has none)."""
    env = os.environ if environ is None else environ
    return spec.maximum_concurrency.get(env.get("STAGE", "dev"))
