"""Run-time settings of the service, read once per process from the stage's environment.

Names of tables and queues come from the environment variables that ``.chalice/config.json`` sets
for each stage (the variable names are in ``chalicelib/resources.py``); when a variable is missing
(packaging, ad-hoc scripts) the physical name is derived from ``STAGE`` with the same
``resource_name`` the template uses, so both can never disagree.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib import resources


@dataclass(frozen=True)
class Settings:
    stage: str
    decision_cache_table: str
    decisions_table: str
    applications_table: str
    idempotency_table: str
    applications_queue: str  # queue NAME; the URL is resolved once by the DAL
    applications_dlq: str
    region: str


def _name(environ: Mapping[str, str], stage: str, env_var: str, suffix: str) -> str:
    return environ.get(env_var) or resources.resource_name(stage, suffix)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    stage = env.get("STAGE", "dev")
    queue = resources.APPLICATIONS_QUEUE
    return Settings(
        stage=stage,
        decision_cache_table=_name(env, stage, *_spec(resources.DECISION_CACHE_TABLE)),
        decisions_table=_name(env, stage, *_spec(resources.DECISIONS_TABLE)),
        applications_table=_name(env, stage, *_spec(resources.APPLICATIONS_TABLE)),
        idempotency_table=_name(env, stage, *_spec(resources.IDEMPOTENCY_TABLE)),
        applications_queue=_name(env, stage, queue.env_var, queue.suffix),
        applications_dlq=_name(env, stage, queue.dlq_env_var, queue.dlq_suffix),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def _spec(table: resources.TableSpec) -> tuple[str, str]:
    return table.env_var, table.suffix


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return load_settings()


def worker_queue_name() -> str:
    """Physical name of the queue the SQS worker subscribes to (used at import time by app.py).

    ``chalice package`` imports app.py without the stage's environment variables, hence the
    fallback to ``STAGE`` (default ``dev``).
    """
    return load_settings().applications_queue


def worker_maximum_concurrency() -> int | None:
    """The event source mapping's MaximumConcurrency for ``STAGE`` (None where resources has none)."""
    return resources.APPLICATIONS_QUEUE.maximum_concurrency.get(load_settings().stage)
