"""The staff user pool of the local stack (moto's Cognito IdP): pool, app client, groups, demo staff.

Local-only code, called by ``devstack.bootstrap`` (``make run``, the integration tests). Built from
``chalicelib.resources.STAFF_POOL``, the same spec the CloudFormation user pool comes from: no self
sign-up (administrators create staff), the pool's password policy, MFA optional (TOTP), an app
client without a secret for the staff console, and the groups the staff routes check.

The demo staff below have FIXED, DOCUMENTED development passwords (``make run`` prints them): they
exist only in the local moto server, which holds fake data and can never reach a real account.
Idempotent: a pool, client, group or user that already exists is reused, and the demo passwords are
set again, so a second bootstrap on the same endpoint changes nothing a person relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import resources
from chalicelib.resources import MANAGER_GROUP, MODEL_RISK_GROUP, REVIEWER_GROUP, STAFF_POOL


@dataclass(frozen=True)
class DemoStaffUser:
    username: str
    group: str
    password: str  # a development password, documented; meets STAFF_POOL's policy


DEMO_STAFF: tuple[DemoStaffUser, ...] = (
    DemoStaffUser("reviewer1", REVIEWER_GROUP, "Local-Reviewer1-Pass!"),
    DemoStaffUser("reviewer2", REVIEWER_GROUP, "Local-Reviewer2-Pass!"),
    DemoStaffUser("manager1", MANAGER_GROUP, "Local-Manager1-Pass!"),
    # Decision versions (issue 18): registers and proposes; manager1 approves.
    DemoStaffUser("modelrisk1", MODEL_RISK_GROUP, "Local-ModelRisk1-Pass!"),
)
# What a staff console does (USER_PASSWORD_AUTH or SRP), what scripts and tests do (the admin flow),
# and refreshing an expired ID token.
EXPLICIT_AUTH_FLOWS = (
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
)
PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": STAFF_POOL.minimum_password_length,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 1,
}


@dataclass(frozen=True)
class StaffPool:
    pool_id: str
    pool_arn: str
    client_id: str
    issuer: str  # the ``iss`` of the pool's tokens
    jwks_url: str  # where the endpoint serves the pool's signing keys

    def environment(self) -> dict[str, str]:
        """The variables the API function (and its local processes) read the pool from."""
        return {
            resources.STAFF_POOL_ARN_ENV: self.pool_arn,
            resources.STAFF_POOL_ID_ENV: self.pool_id,
            resources.STAFF_POOL_CLIENT_ID_ENV: self.client_id,
        }


def pool_name(stage: str) -> str:
    return resources.resource_name(stage, STAFF_POOL.suffix)


def client_name(stage: str) -> str:
    return resources.resource_name(stage, STAFF_POOL.client_suffix)


def issuer_for(pool_id: str) -> str:
    """The ``iss`` claim of a pool's tokens. A pool id starts with its region (``us-east-1_abc``);
    Cognito and moto both write ``https://cognito-idp.<region>.amazonaws.com/<pool id>``."""
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url_for(endpoint_url: str, pool_id: str) -> str:
    """Where a local endpoint serves a pool's JSON Web Key Set (moto: ``<endpoint>/<pool id>/...``;
    in AWS it is ``<issuer>/.well-known/jwks.json``)."""
    return f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"


def demo_user(username: str) -> DemoStaffUser | None:
    return next((user for user in DEMO_STAFF if user.username == username), None)


def _staff_pool(cognito_client: Any, pool_id: str, pool_arn: str, client_id: str) -> StaffPool:
    return StaffPool(
        pool_id=pool_id,
        pool_arn=pool_arn,
        client_id=client_id,
        issuer=issuer_for(pool_id),
        jwks_url=jwks_url_for(cognito_client.meta.endpoint_url, pool_id),
    )


def _find_pool_id(cognito_client: Any, name: str) -> str | None:
    for page in cognito_client.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == name:
                return str(pool["Id"])
    return None


def _find_client_id(cognito_client: Any, pool_id: str, name: str) -> str | None:
    paginator = cognito_client.get_paginator("list_user_pool_clients")
    for page in paginator.paginate(UserPoolId=pool_id, MaxResults=60):
        for client in page["UserPoolClients"]:
            if client["ClientName"] == name:
                return str(client["ClientId"])
    return None


def find_staff_pool(stage: str, cognito_client: Any) -> StaffPool | None:
    """The stage's staff pool and app client on this endpoint, found by name; None if not created."""
    pool_id = _find_pool_id(cognito_client, pool_name(stage))
    if pool_id is None:
        return None
    client_id = _find_client_id(cognito_client, pool_id, client_name(stage))
    if client_id is None:
        return None
    arn = cognito_client.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    return _staff_pool(cognito_client, pool_id, arn, client_id)


def _create_pool(stage: str, cognito_client: Any) -> str:
    pool = cognito_client.create_user_pool(
        PoolName=pool_name(stage),
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        # Staff are people the bank hires: only administrators create them, nobody signs up.
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        UserPoolTags={"service": resources.SERVICE, "stage": stage},
    )["UserPool"]
    pool_id = str(pool["Id"])
    # MFA optional with an authenticator app (TOTP): Cognito refuses OPTIONAL with no MFA method, so
    # it is set the way it must be in AWS, not in CreateUserPool.
    cognito_client.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    return pool_id


def _create_client(stage: str, cognito_client: Any, pool_id: str) -> str:
    client = cognito_client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=client_name(stage),
        # A browser console or a CLI cannot keep a secret.
        GenerateSecret=False,
        ExplicitAuthFlows=list(EXPLICIT_AUTH_FLOWS),
        IdTokenValidity=STAFF_POOL.id_token_validity_minutes,
        AccessTokenValidity=STAFF_POOL.id_token_validity_minutes,
        TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes"},
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    return str(client["ClientId"])


def _ignore(error: ClientError, *codes: str) -> None:
    if error.response["Error"]["Code"] not in codes:
        raise error


def ensure_user(
    cognito_client: Any, pool: StaffPool, username: str, password: str, group: str | None
) -> None:
    """A confirmed user with this permanent password, in ``group`` (None: in no group)."""
    try:
        cognito_client.admin_create_user(UserPoolId=pool.pool_id, Username=username, MessageAction="SUPPRESS")
    except ClientError as error:
        _ignore(error, "UsernameExistsException")
    # Permanent: otherwise the first sign-in answers NEW_PASSWORD_REQUIRED instead of tokens.
    cognito_client.admin_set_user_password(
        UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
    )
    if group is not None:
        cognito_client.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=username, GroupName=group)


def create_staff_pool(stage: str, cognito_client: Any) -> StaffPool:
    """The stage's staff pool, app client, groups and demo staff; reuses whatever already exists."""
    pool_id = _find_pool_id(cognito_client, pool_name(stage)) or _create_pool(stage, cognito_client)
    client_id = _find_client_id(cognito_client, pool_id, client_name(stage)) or _create_client(
        stage, cognito_client, pool_id
    )
    arn = cognito_client.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    pool = _staff_pool(cognito_client, pool_id, arn, client_id)
    for group in STAFF_POOL.groups:
        try:
            cognito_client.create_group(UserPoolId=pool_id, GroupName=group, Description=f"{group} staff")
        except ClientError as error:
            _ignore(error, "GroupExistsException")
    for user in DEMO_STAFF:
        ensure_user(cognito_client, pool, user.username, user.password, user.group)
    return pool


class SignInFailed(Exception):
    """The pool did not hand out tokens (wrong password, unknown user, a challenge to answer)."""


def id_token(cognito_client: Any, pool: StaffPool, username: str, password: str) -> str:
    """Sign in as a staff console does (USER_PASSWORD_AUTH on the app client) and return the ID token,
    the token API Gateway's Cognito authorizer expects in ``Authorization``."""
    try:
        answer = cognito_client.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except ClientError as error:
        raise SignInFailed(f"{username}: {error.response['Error']['Message']}") from error
    if "AuthenticationResult" not in answer:
        raise SignInFailed(f"{username}: the pool asks for {answer.get('ChallengeName')} first")
    return str(answer["AuthenticationResult"]["IdToken"])
