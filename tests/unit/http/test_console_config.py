"""The console's run-time config (``/console/config.js``) and its page's CSP: where staff sign in,
from the function's environment, and ``connect-src`` to exactly that endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.http import console_config

POOL = {
    resources.STAFF_POOL_ID_ENV: "eu-west-1_AbCdEf123",
    resources.STAFF_POOL_CLIENT_ID_ENV: "4example0client0id0123456",
}
CONFIG_PREFIX = f"window.{console_config.CONFIG_GLOBAL} = "


def _parse(script: str) -> dict[str, Any]:
    assert script.startswith(CONFIG_PREFIX) and script.endswith(";\n"), script
    parsed: dict[str, Any] = json.loads(script.removeprefix(CONFIG_PREFIX).removesuffix(";\n"))
    return parsed


def test_locally_the_browser_signs_in_at_the_stacks_endpoint() -> None:
    env = {**POOL, "STAGE": "local", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    sign_in = console_config.staff_sign_in(env)
    assert sign_in is not None
    assert sign_in.endpoint == "http://127.0.0.1:4566/"
    assert (sign_in.user_pool_id, sign_in.client_id) == (
        POOL[resources.STAFF_POOL_ID_ENV],
        POOL[resources.STAFF_POOL_CLIENT_ID_ENV],
    )
    assert sign_in.password_flow is resources.STAFF_PASSWORD_AUTH["local"]
    assert sign_in.token_revocation is False  # moto has no RevokeToken
    assert console_config.console_page_policy(env) == (
        "default-src 'self'; connect-src 'self' http://127.0.0.1:4566; frame-ancestors 'none'"
    )


def test_the_cognito_specific_endpoint_wins_as_for_boto3() -> None:
    env = {
        **POOL,
        "STAGE": "local",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_COGNITO_IDP": "http://localhost:5000/some/path",
    }
    sign_in = console_config.staff_sign_in(env)
    assert sign_in is not None and sign_in.endpoint == "http://localhost:5000/"
    # The IdP's own endpoint; S3 (where the batches page PUTs files) stays at the general one.
    assert (
        "connect-src 'self' http://localhost:5000 http://127.0.0.1:4566;"
        in console_config.console_page_policy(env)
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_a_deployed_stage_always_signs_in_at_cognito_in_its_region(stage: str) -> None:
    # A stray endpoint variable in a deployed function must never redirect staff passwords.
    env = {**POOL, "STAGE": stage, "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://attacker.example"}
    sign_in = console_config.staff_sign_in(env)
    assert sign_in is not None
    assert sign_in.endpoint == "https://cognito-idp.eu-west-1.amazonaws.com/"
    assert sign_in.password_flow is resources.STAFF_PASSWORD_AUTH[stage]
    policy = console_config.console_page_policy(env)
    assert "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com;" in policy
    assert "attacker" not in policy and "*" not in policy


def test_without_a_staff_pool_there_is_no_sign_in_and_the_default_policy() -> None:
    env = {"STAGE": "local"}
    assert console_config.staff_sign_in(env) is None
    assert _parse(console_config.config_script(env)) == {"staff_sign_in": None}
    assert console_config.console_page_policy(env) == console_config.DEFAULT_CONTENT_SECURITY_POLICY


def test_without_a_staff_pool_the_page_may_still_upload_a_batch_to_the_stacks_s3() -> None:
    # LocalStack's community edition: no Cognito, but the batches page PUTs files to its S3.
    env = {"STAGE": "local", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    assert console_config.staff_sign_in(env) is None
    assert console_config.console_page_policy(env) == (
        "default-src 'self'; connect-src 'self' http://127.0.0.1:4566; frame-ancestors 'none'"
    )


def test_locally_the_s3_specific_endpoint_is_where_batch_files_go() -> None:
    env = {
        **POOL,
        "STAGE": "local",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_S3": "http://localhost:9000/",
    }
    assert console_config.console_page_policy(env) == (
        "default-src 'self'; connect-src 'self' http://127.0.0.1:4566 http://localhost:9000; "
        "frame-ancestors 'none'"
    )


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_a_deployed_console_may_put_batch_files_to_its_batches_bucket_alone(stage: str) -> None:
    bucket = f"{resources.resource_name(stage, resources.BATCHES_BUCKET.suffix)}-123456789012"
    env = {
        **POOL,
        "STAGE": stage,
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_S3": "http://attacker.example",  # never in a deployed stage
        resources.BATCHES_BUCKET.env_var: bucket,
    }
    (connect,) = [
        part.strip()
        for part in console_config.console_page_policy(env).split(";")
        if part.strip().startswith("connect-src")
    ]
    assert connect == (
        "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com "
        f"https://{bucket}.s3.eu-west-1.amazonaws.com"
    )
    without_bucket = {name: value for name, value in env.items() if name != resources.BATCHES_BUCKET.env_var}
    assert ".s3." not in console_config.console_page_policy(without_bucket)


def test_the_config_holds_ids_and_the_endpoint_only() -> None:
    env = {**POOL, "STAGE": "dev", "AWS_REGION": "eu-west-1", resources.STAFF_POOL_ARN_ENV: "arn:secret-ish"}
    config = _parse(console_config.config_script(env))
    assert set(config) == {"staff_sign_in"}
    assert config["staff_sign_in"] == {
        "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
        "region": "eu-west-1",
        "user_pool_id": POOL[resources.STAFF_POOL_ID_ENV],
        "client_id": POOL[resources.STAFF_POOL_CLIENT_ID_ENV],
        "password_flow": resources.STAFF_PASSWORD_AUTH["dev"],
        "password_minimum_length": resources.STAFF_POOL.minimum_password_length,
        "token_revocation": True,
    }


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1:21", "127.0.0.1:4566", "http://"])
def test_an_endpoint_that_is_not_http_is_refused(endpoint: str) -> None:
    with pytest.raises(ValueError):
        console_config.origin_of(endpoint)


def test_the_api_serves_the_config_script_and_the_pages_policy(
    chalice_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in POOL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    script = chalice_client.http.get(f"/console/{console_config.CONFIG_SCRIPT}")
    assert script.status_code == 200
    assert script.headers["Content-Type"].split(";")[0] == "text/javascript"
    assert (
        _parse(script.body.decode())["staff_sign_in"]["client_id"] == POOL[resources.STAFF_POOL_CLIENT_ID_ENV]
    )
    page = chalice_client.http.get("/console")
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'self'; connect-src 'self' http://127.0.0.1:4566; frame-ancestors 'none'"
    )
    # Every other response keeps the API's own policy: only the console page may call the IdP.
    other = chalice_client.http.get("/console/console.js")
    assert other.headers["Content-Security-Policy"] == console_config.DEFAULT_CONTENT_SECURITY_POLICY


def test_the_srp_script_is_served_and_loaded_before_the_console(chalice_client: Any) -> None:
    # Where password_flow is off (prod) the sign-in form runs console/srp.js (Cognito's SRP): a file
    # of its own, as a script tag under the CSP, there before console.js.
    srp = chalice_client.http.get("/console/srp.js")
    assert srp.status_code == 200
    assert srp.headers["Content-Type"].split(";")[0] == "text/javascript"
    assert b"USER_SRP_AUTH" in srp.body
    page = chalice_client.http.get("/console").body.decode()
    config, srp_tag, console = (
        page.index(f'<script src="console/{name}"></script>')
        for name in ("config.js", "srp.js", "console.js")
    )
    assert config < srp_tag < console
