"""devstack.cognito on moto's Cognito IdP (in-process): the staff pool as STAFF_POOL describes it,
idempotent, with the demo staff signing in to the right groups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import resources
from chalicelib.resources import MANAGER_GROUP, MODEL_RISK_GROUP, REVIEWER_GROUP, STAFF_POOL
from devstack.bootstrap import create_tables_and_queues
from devstack.cognito import (
    DEMO_STAFF,
    EXPLICIT_AUTH_FLOWS,
    SignInFailed,
    create_staff_pool,
    demo_user,
    ensure_user,
    find_staff_pool,
    id_token,
    issuer_for,
    jwks_url_for,
)


@pytest.fixture
def cognito() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=resources.LOCAL_REGION)


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_pool_is_built_from_the_staff_pool_spec(cognito) -> None:
    pool = create_staff_pool("local", cognito)
    described = cognito.describe_user_pool(UserPoolId=pool.pool_id)["UserPool"]
    assert described["Name"] == resources.resource_name("local", STAFF_POOL.suffix)
    assert described["Arn"] == pool.pool_arn
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    policy = described["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == STAFF_POOL.minimum_password_length
    assert all(
        policy[rule] for rule in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")
    )
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool.pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert mfa["SoftwareTokenMfaConfiguration"]["Enabled"] is True

    client = cognito.describe_user_pool_client(UserPoolId=pool.pool_id, ClientId=pool.client_id)[
        "UserPoolClient"
    ]
    assert client["ClientName"] == resources.resource_name("local", STAFF_POOL.client_suffix)
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == sorted(EXPLICIT_AUTH_FLOWS)
    assert client["IdTokenValidity"] == STAFF_POOL.id_token_validity_minutes
    assert client["TokenValidityUnits"]["IdToken"] == "minutes"

    groups = cognito.list_groups(UserPoolId=pool.pool_id)["Groups"]
    assert sorted(group["GroupName"] for group in groups) == sorted(STAFF_POOL.groups)
    assert pool.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.pool_id}"
    assert pool.environment() == {
        "STAFF_USER_POOL_ARN": pool.pool_arn,
        "STAFF_USER_POOL_ID": pool.pool_id,
        "STAFF_USER_POOL_CLIENT_ID": pool.client_id,
    }


def test_second_run_reuses_the_pool_client_and_users(cognito) -> None:
    first = create_staff_pool("local", cognito)
    second = create_staff_pool("local", cognito)
    assert second == first
    assert len(cognito.list_user_pools(MaxResults=60)["UserPools"]) == 1
    assert (
        len(cognito.list_user_pool_clients(UserPoolId=first.pool_id, MaxResults=60)["UserPoolClients"]) == 1
    )
    users = cognito.list_users(UserPoolId=first.pool_id)["Users"]
    assert sorted(user["Username"] for user in users) == sorted(user.username for user in DEMO_STAFF)
    assert find_staff_pool("local", cognito) == first


def test_stages_get_their_own_pools(cognito) -> None:
    assert create_staff_pool("local", cognito).pool_id != create_staff_pool("dev", cognito).pool_id
    assert find_staff_pool("prod", cognito) is None


def test_demo_staff_sign_in_with_their_documented_passwords_into_their_groups(cognito) -> None:
    pool = create_staff_pool("local", cognito)
    assert {user.username: user.group for user in DEMO_STAFF} == {
        "reviewer1": REVIEWER_GROUP,
        "reviewer2": REVIEWER_GROUP,
        "manager1": MANAGER_GROUP,
        "modelrisk1": MODEL_RISK_GROUP,
    }
    for user in DEMO_STAFF:
        claims = unverified(id_token(cognito, pool, user.username, user.password))
        assert claims["cognito:username"] == user.username
        assert claims["cognito:groups"] == [user.group]
        assert claims["token_use"] == "id"
        assert claims["aud"] == pool.client_id
        assert claims["iss"] == pool.issuer
        listed = cognito.admin_list_groups_for_user(UserPoolId=pool.pool_id, Username=user.username)["Groups"]
        assert [group["GroupName"] for group in listed] == [user.group]
        # Permanent passwords: a sign-in gets tokens, not a NEW_PASSWORD_REQUIRED challenge.
        assert (
            cognito.admin_get_user(UserPoolId=pool.pool_id, Username=user.username)["UserStatus"]
            == "CONFIRMED"
        )


def test_wrong_password_or_unknown_user_is_a_sign_in_failure(cognito) -> None:
    pool = create_staff_pool("local", cognito)
    with pytest.raises(SignInFailed):
        id_token(cognito, pool, "reviewer1", "Not-The-Password-1!")
    with pytest.raises(SignInFailed):
        id_token(cognito, pool, "nobody", DEMO_STAFF[0].password)


def test_passwords_below_the_policy_are_refused(cognito) -> None:
    pool = create_staff_pool("local", cognito)
    with pytest.raises(ClientError) as refused:
        ensure_user(cognito, pool, "weak", "Short-1!", None)
    assert refused.value.response["Error"]["Code"] == "InvalidPasswordException"


def test_a_user_in_no_group_has_no_groups_claim(cognito) -> None:
    pool = create_staff_pool("local", cognito)
    ensure_user(cognito, pool, "clerk1", "Local-Clerk1-Pass!", None)
    assert "cognito:groups" not in unverified(id_token(cognito, pool, "clerk1", "Local-Clerk1-Pass!"))


def test_bootstrap_creates_the_staff_pool_with_a_cognito_client(cognito) -> None:
    dynamodb = boto3.client("dynamodb", region_name=resources.LOCAL_REGION)
    sqs = boto3.client("sqs", region_name=resources.LOCAL_REGION)
    assert "staff_pool" not in create_tables_and_queues("local", dynamodb, sqs)
    created = create_tables_and_queues("local", dynamodb, sqs, cognito_client=cognito)
    assert created["staff_pool"] == find_staff_pool("local", cognito)


def test_issuer_and_jwks_url_are_derived_from_the_pool_id() -> None:
    assert issuer_for("eu-west-1_abc") == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert jwks_url_for("http://127.0.0.1:4566/", "us-east-1_x") == (
        "http://127.0.0.1:4566/us-east-1_x/.well-known/jwks.json"
    )
    assert demo_user("manager1") is not None and demo_user("someone") is None
