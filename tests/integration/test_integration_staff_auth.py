"""Staff sign-in over HTTP against the real local stack: moto's Cognito IdP issues the tokens,
``chalice local`` serves the app, and the local stage verifies every token for real
(``devstack.staff_auth``) instead of chalice local's pass-through. ``GET /v1/reviews`` is the staff
route (reviewer or manager group); ``POST /v1/decisions`` the client route (API key)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

import jwt
import pytest
import requests

from chalicelib import resources
from chalicelib.http.gateway_responses import UNAUTHORIZED
from devstack.cognito import DEMO_STAFF, StaffPool, create_staff_pool, ensure_user, id_token
from devstack.processes import PROJECT_ROOT
from devstack.samples import sample_application
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

REVIEWS = "/v1/reviews"
REVIEWER = DEMO_STAFF[0]
CLERK = ("clerk1", "Local-Clerk1-Pass!")  # a user of the staff pool in no staff group


@pytest.fixture(scope="module")
def pool(stack: DevStack) -> StaffPool:
    if stack.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP (LocalStack community): no staff sign-in")
    return stack.staff_pool


@pytest.fixture(scope="module")
def cognito(stack: DevStack) -> Any:
    return stack.client("cognito-idp")


@pytest.fixture(scope="module")
def reviewer_token(cognito: Any, pool: StaffPool) -> str:
    return id_token(cognito, pool, REVIEWER.username, REVIEWER.password)


def get_reviews(stack: DevStack, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{stack.api_url}{REVIEWS}", headers=headers, timeout=30)


def assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"]["code"] == UNAUTHORIZED.code
    assert body["request_id"] == response.headers["X-Request-ID"]
    # Answered inside the edge: the security headers are there as on every answer.
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_staff_with_a_group_open_the_review_list(stack: DevStack, cognito: Any, pool: StaffPool) -> None:
    review_groups = {resources.REVIEWER_GROUP, resources.MANAGER_GROUP}
    for user in DEMO_STAFF:
        token = id_token(cognito, pool, user.username, user.password)
        response = get_reviews(stack, {"Authorization": token})
        # model_risk staff work the version registry, not the review desk (403 naming the groups).
        assert response.status_code == (200 if user.group in review_groups else 403), (
            user.username,
            response.text,
        )
    bearer = get_reviews(
        stack, {"Authorization": f"Bearer {id_token(cognito, pool, REVIEWER.username, REVIEWER.password)}"}
    )
    assert bearer.status_code == 200, bearer.text


def test_no_token_is_401(stack: DevStack, pool: StaffPool) -> None:
    assert_unauthorized(get_reviews(stack, {}))


def test_tampered_forged_or_garbage_tokens_are_401(stack: DevStack, reviewer_token: str) -> None:
    header, payload, signature = reviewer_token.split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    claims = jwt.decode(reviewer_token, options={"verify_signature": False})
    promoted = b64(dict(claims, **{"cognito:groups": ["manager"]}))
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    for token in (
        f"{header}.{payload}.{flipped}",
        f"{header}.{promoted}.{signature}",
        unsigned,
        "garbage",
        "a.b.c",
    ):
        assert_unauthorized(get_reviews(stack, {"Authorization": token}))


def test_a_token_from_another_pool_on_the_same_endpoint_is_401(
    stack: DevStack, cognito: Any, pool: StaffPool
) -> None:
    other = create_staff_pool("elsewhere", cognito)
    assert other.pool_id != pool.pool_id
    token = id_token(cognito, other, REVIEWER.username, REVIEWER.password)
    assert_unauthorized(get_reviews(stack, {"Authorization": token}))


def test_an_access_token_is_401(stack: DevStack, cognito: Any, pool: StaffPool) -> None:
    answer = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": REVIEWER.username, "PASSWORD": REVIEWER.password},
    )
    assert_unauthorized(get_reviews(stack, {"Authorization": answer["AuthenticationResult"]["AccessToken"]}))


def test_a_signed_in_user_in_no_staff_group_is_403(stack: DevStack, cognito: Any, pool: StaffPool) -> None:
    ensure_user(cognito, pool, *CLERK, None)
    response = get_reviews(stack, {"Authorization": id_token(cognito, pool, *CLERK)})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] != UNAUTHORIZED.code


def test_an_api_key_never_opens_a_staff_route(stack: DevStack, pool: StaffPool) -> None:
    assert_unauthorized(get_reviews(stack, stack.api_headers()))


def test_a_staff_token_never_replaces_the_api_key(stack: DevStack, reviewer_token: str) -> None:
    response = requests.post(
        f"{stack.api_url}/v1/decisions",
        json=sample_application(with_personal_data=False),
        headers={"Authorization": reviewer_token},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def test_staff_token_command_prints_a_token_that_works(stack: DevStack, pool: StaffPool) -> None:
    # As a person types it in the project folder: no AWS variables (the stack's moto is not on the
    # default port here, hence --endpoint).
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    # --stage: the pool is named after the run's own resource stage (tests/integration/conftest.py).
    argv = [sys.executable, "-m", "devstack.staff_token", REVIEWER.username, "--endpoint", stack.endpoint_url]
    done = subprocess.run(
        [*argv, "--stage", stack.resource_stage],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert get_reviews(stack, {"Authorization": token}).status_code == 200
