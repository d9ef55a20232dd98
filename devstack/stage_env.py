"""The environment every local child process gets: the stage's variables, a local endpoint, fake keys.

Table and queue names come from ``.chalice/config.json`` (the same variables Lambda gets), so
``chalice local``, the queue worker, the tests and the benchmark all agree on them. Credentials are
always the fake ``testing`` ones: the local stack must never be able to touch a real AWS account,
even on a machine with real credentials in its environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from chalicelib.resources import LOCAL_REGION, WORKER_FUNCTION
from devstack.processes import PROJECT_ROOT

CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
WORKER_FUNCTION_NAME = WORKER_FUNCTION.chalice_name
# boto3 reads AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_SQS) before AWS_ENDPOINT_URL.
SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_"


def stage_variables(stage: str, function_name: str | None = None) -> dict[str, str]:
    """The environment variables Chalice would give ``function_name`` (or the API) in ``stage``."""
    config = json.loads(CHALICE_CONFIG.read_text())
    stage_config = config["stages"][stage]
    variables = dict(config.get("environment_variables", {}))
    variables.update(stage_config.get("environment_variables", {}))
    if function_name is not None:
        function_config = stage_config.get("lambda_functions", {}).get(function_name, {})
        variables.update(function_config.get("environment_variables", {}))
    return {name: str(value) for name, value in variables.items()}


def child_environment(
    endpoint_url: str,
    stage: str = "local",
    function_name: str | None = None,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    # Service-specific endpoints left over in the caller's environment would bypass ours.
    for name in [name for name in env if name.startswith(SERVICE_ENDPOINT_PREFIX)]:
        del env[name]
    env.update(stage_variables(stage, function_name))
    env.update(FAKE_CREDENTIALS)
    env.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    env["AWS_ENDPOINT_URL"] = endpoint_url
    # Children log straight to our terminal or log file; buffering would hide the last lines.
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env
