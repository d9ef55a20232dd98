"""The staff user pool (Cognito) behind the review desk's authorizer, from ``resources.STAFF_POOL``.

Reviewers and managers are people, not API clients: an administrator creates each account
(``aws cognito-idp admin-create-user``, docs/DEPLOYMENT.md), nobody can sign up, and the group
(``reviewer`` / ``manager``) is what the app checks in the ID token's ``cognito:groups``. API
Gateway's Cognito authorizer on the staff routes points at this pool (``infra/package.py``
replaces the ARN placeholder app.py passes while packaging).
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources

Resource = dict[str, Any]
POOL = resources.STAFF_POOL

# A refresh token lasts one working day: a reviewer signs in once a morning, and a stolen token
# (or a person who left, until AdminUserGlobalSignOut / disabling the user) dies by the evening.
REFRESH_TOKEN_VALIDITY_HOURS = 12
# A temporary password from admin-create-user must be changed within this many days.
TEMPORARY_PASSWORD_VALIDITY_DAYS = 3
# Lower precedence wins when a user is in both groups (only matters for role mapping, which the
# app does not use; it reads every group in cognito:groups).
GROUP_PRECEDENCE = {resources.MANAGER_GROUP: 0, resources.REVIEWER_GROUP: 1, resources.MODEL_RISK_GROUP: 2}
GROUP_DESCRIPTIONS = {
    resources.REVIEWER_GROUP: "Works review cases: claim, release, decide",
    resources.MANAGER_GROUP: "Reviewer rights plus the second approval (maker-checker)",
    resources.MODEL_RISK_GROUP: "Registers decision versions and proposes routing changes (managers approve)",
}


# Regions without Cognito user pools (CloudFormation's regional resource specification as cfn-lint
# ships it; tests/infra check the list is exactly where cfn-lint refuses the types). The staff
# routes cannot exist without their pool, so unlike the optional lender webhook this is not a
# Condition: the template's Rules refuse such a region before anything is created (the policy files'
# ``arn:aws:`` ARNs already tie the stack to the aws partition, which these China regions are not).
COGNITO_UNSUPPORTED_REGIONS = ("cn-north-1", "cn-northwest-1")
REGION_RULE_ID = "StaffUserPoolRegion"
RULES: dict[str, Any] = {
    REGION_RULE_ID: {
        "Assertions": [
            {
                "Assert": {
                    "Fn::Not": [{"Fn::Contains": [list(COGNITO_UNSUPPORTED_REGIONS), {"Ref": "AWS::Region"}]}]
                },
                "AssertDescription": "The review desk's staff user pool needs Amazon Cognito user pools, "
                "which this region does not offer",
            }
        ]
    }
}
# cfn-lint checks every region; the rule above guarantees the Cognito types are only ever created
# where they exist, so their "type not in region" finding (and only that one) is silenced on them.
LINT_METADATA = {"cfn-lint": {"config": {"ignore_checks": ["E3006"]}}}


def group_logical_id(group: str) -> str:
    # CloudFormation logical ids are alphanumeric: "model_risk" -> "ModelRisk".
    return f"{POOL.logical_id}{''.join(part.capitalize() for part in group.split('_'))}Group"


def auth_flows(stage: str) -> list[str]:
    """SRP (the console: the password never leaves the browser) and refresh everywhere; the plain
    password flow only where resources.STAFF_PASSWORD_AUTH allows it (scripts, curl, the AWS CLI
    cannot do SRP)."""
    flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    if resources.STAFF_PASSWORD_AUTH[stage]:
        flows.append("ALLOW_USER_PASSWORD_AUTH")
    return flows


def user_pool(stage: str) -> Resource:
    prod = stage == "prod"
    # Prod: the accounts (and their MFA devices) survive a stack deletion or replacement, and the
    # pool cannot be deleted by hand while protection is on. Dev: goes with the stack.
    policy = "Retain" if prod else "Delete"
    return {
        "Type": "AWS::Cognito::UserPool",
        "Metadata": LINT_METADATA,
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {
            "UserPoolName": resources.resource_name(stage, POOL.suffix),
            # No self sign-up: staff accounts are created by an administrator only.
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": POOL.minimum_password_length,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                    "TemporaryPasswordValidityDays": TEMPORARY_PASSWORD_VALIDITY_DAYS,
                }
            },
            # Optional per user, TOTP apps only: SMS MFA would need an SNS role and is phishable.
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            # "Reviewer1" and "reviewer1" are one person, never two accounts.
            "UsernameConfiguration": {"CaseSensitive": False},
            # A forgotten password is reset through the verified e-mail address (or by an
            # administrator with admin-set-user-password); never by SMS.
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            "AutoVerifiedAttributes": ["email"],
            "DeletionProtection": "ACTIVE" if prod else "INACTIVE",
            "UserPoolTags": {"service": resources.SERVICE, "stage": stage, "purpose": "review desk staff"},
        },
    }


def user_pool_client(stage: str) -> Resource:
    minutes = POOL.id_token_validity_minutes
    return {
        "Type": "AWS::Cognito::UserPoolClient",
        "Metadata": LINT_METADATA,
        "Properties": {
            "ClientName": resources.resource_name(stage, POOL.client_suffix),
            "UserPoolId": {"Ref": POOL.logical_id},
            # A browser console cannot keep a secret; SRP needs none.
            "GenerateSecret": False,
            "ExplicitAuthFlows": auth_flows(stage),
            # "Incorrect username or password" whether or not the user exists.
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "IdTokenValidity": minutes,
            "AccessTokenValidity": minutes,
            "RefreshTokenValidity": REFRESH_TOKEN_VALIDITY_HOURS,
            "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
        },
    }


def staff_pool_resources(stage: str) -> dict[str, Resource]:
    out: dict[str, Resource] = {
        POOL.logical_id: user_pool(stage),
        POOL.client_logical_id: user_pool_client(stage),
    }
    for group in POOL.groups:
        out[group_logical_id(group)] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Metadata": LINT_METADATA,
            "Properties": {
                "GroupName": group,
                "UserPoolId": {"Ref": POOL.logical_id},
                "Description": GROUP_DESCRIPTIONS[group],
                "Precedence": GROUP_PRECEDENCE[group],
            },
        }
    return out


def pool_arn() -> dict[str, Any]:
    return {"Fn::GetAtt": [POOL.logical_id, "Arn"]}


def api_environment() -> dict[str, Any]:
    """The API function's staff-pool variables (merged beside the ones Chalice writes from
    .chalice/config.json): only the stack knows the pool's id, so they cannot be literal there."""
    return {
        resources.STAFF_POOL_ARN_ENV: pool_arn(),
        resources.STAFF_POOL_ID_ENV: {"Ref": POOL.logical_id},
        resources.STAFF_POOL_CLIENT_ID_ENV: {"Ref": POOL.client_logical_id},
    }


def outputs() -> dict[str, Any]:
    return {
        "StaffUserPoolId": {
            "Description": "Staff user pool: aws cognito-idp admin-create-user --user-pool-id <id> ...",
            "Value": {"Ref": POOL.logical_id},
        },
        "StaffUserPoolClientId": {
            "Description": "App client of the staff console (no secret)",
            "Value": {"Ref": POOL.client_logical_id},
        },
        "StaffUserPoolArn": {"Value": pool_arn()},
    }
