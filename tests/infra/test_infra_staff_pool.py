"""The review desk's staff sign-in in the packaged templates: the Cognito user pool, its app client
and groups, the pool's ids on the API function, and the Cognito authorizer on the staff routes only
(pointed at the stack's own pool by infra/package.py). Expected values come from resources.py."""

from __future__ import annotations

import copy
import json

import pytest
from chalice import Chalice, CognitoUserPoolAuthorizer
from chalice.deploy.swagger import CFNSwaggerGenerator
from infra_template_support import (
    STAFF_PATH,
    Template,
    assert_region_rule_refuses_exactly_the_linted_regions,
    resources_of_type,
)

from chalicelib import resources
from infra import package as infra_package

POOL = resources.STAFF_POOL
POOL_ARN = {"Fn::GetAtt": [POOL.logical_id, "Arn"]}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head")  # OPTIONS: CORS preflights, no auth
STAFF_SECURITY = [{POOL.authorizer_name: []}]
API_KEY_SECURITY = {"api_key": []}


def _resource(template: Template, logical_id: str) -> dict:
    return template["Resources"][logical_id]


# ------------------------------------------------------------------------------------ the pool
@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_user_pool_admits_no_self_sign_up_and_a_strong_password(
    templates: dict[str, Template], stage: str
) -> None:
    pool = _resource(templates[stage], POOL.logical_id)
    properties = pool["Properties"]
    assert pool["Type"] == "AWS::Cognito::UserPool"
    assert properties["UserPoolName"] == resources.resource_name(stage, POOL.suffix)
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    password = properties["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] == POOL.minimum_password_length == 14
    for requirement in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"):
        assert password[requirement] is True, requirement
    assert properties["MfaConfiguration"] == "OPTIONAL"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["UsernameConfiguration"] == {"CaseSensitive": False}
    # No recovery by SMS (no SNS role, phishable).
    mechanisms = {m["Name"] for m in properties["AccountRecoverySetting"]["RecoveryMechanisms"]}
    assert "verified_phone_number" not in mechanisms


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_prod_pool_is_protected_and_retained(templates: dict[str, Template], stage: str) -> None:
    pool = _resource(templates[stage], POOL.logical_id)
    prod = stage == "prod"
    assert pool["Properties"]["DeletionProtection"] == ("ACTIVE" if prod else "INACTIVE")
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == ("Retain" if prod else "Delete")


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_app_client_has_no_secret_and_only_the_intended_flows(
    templates: dict[str, Template], stage: str
) -> None:
    client = _resource(templates[stage], POOL.client_logical_id)
    properties = client["Properties"]
    assert client["Type"] == "AWS::Cognito::UserPoolClient"
    assert properties["ClientName"] == resources.resource_name(stage, POOL.client_suffix)
    assert properties["UserPoolId"] == {"Ref": POOL.logical_id}
    assert properties["GenerateSecret"] is False
    expected = {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    if resources.STAFF_PASSWORD_AUTH[stage]:
        expected.add("ALLOW_USER_PASSWORD_AUTH")
    assert set(properties["ExplicitAuthFlows"]) == expected
    assert properties["IdTokenValidity"] == POOL.id_token_validity_minutes
    assert properties["TokenValidityUnits"]["IdToken"] == "minutes"
    assert properties["PreventUserExistenceErrors"] == "ENABLED"


def test_prod_console_signs_in_by_srp_only(templates: dict[str, Template]) -> None:
    flows = _resource(templates["prod"], POOL.client_logical_id)["Properties"]["ExplicitAuthFlows"]
    assert "ALLOW_USER_PASSWORD_AUTH" not in flows and "ALLOW_ADMIN_USER_PASSWORD_AUTH" not in flows


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_groups_reviewer_and_manager(templates: dict[str, Template], stage: str) -> None:
    groups = resources_of_type(templates[stage], "AWS::Cognito::UserPoolGroup").values()
    assert (
        {g["Properties"]["GroupName"] for g in groups}
        == set(POOL.groups)
        == {"reviewer", "manager", "model_risk"}
    )
    assert all(g["Properties"]["UserPoolId"] == {"Ref": POOL.logical_id} for g in groups)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_outputs_name_the_pool_and_the_client(templates: dict[str, Template], stage: str) -> None:
    outputs = templates[stage]["Outputs"]
    assert outputs["StaffUserPoolId"]["Value"] == {"Ref": POOL.logical_id}
    assert outputs["StaffUserPoolClientId"]["Value"] == {"Ref": POOL.client_logical_id}


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_only_the_api_function_gets_the_pool_ids(expanded: dict[str, Template], stage: str) -> None:
    """After the SAM transform, the API's environment names the stack's own pool and client (the
    token checks' issuer and audience); the worker and the reconciler never see a staff token."""
    functions = resources_of_type(expanded[stage], "AWS::Lambda::Function")
    variables = functions["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables[resources.STAFF_POOL_ARN_ENV] == POOL_ARN
    assert variables[resources.STAFF_POOL_ID_ENV] == {"Ref": POOL.logical_id}
    assert variables[resources.STAFF_POOL_CLIENT_ID_ENV] == {"Ref": POOL.client_logical_id}
    for logical_id, function in functions.items():
        if logical_id != "APIHandler":
            assert resources.STAFF_POOL_ID_ENV not in function["Properties"]["Environment"]["Variables"]


# ------------------------------------------------------------------------------ the authorizer
def _paths(template: Template) -> dict:
    return template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]


def authorizer_problems(template: Template) -> list[str]:
    """Every method that breaks the rule: a staff route (issue 10) is opened by the staff pool's
    Cognito authorizer and nothing else (no API key: a client's key must not open it, and API
    Gateway would demand both); every other method has no authorizer (a staff token never
    replaces a client's API key)."""
    problems = []
    for path, operations in _paths(template).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            security = operation.get("security", [])
            route = f"{method.upper()} {path}"
            if STAFF_PATH.match(path):
                if security != STAFF_SECURITY:
                    problems.append(f"{route}: staff route with security {security}")
            elif any(POOL.authorizer_name in entry for entry in security):
                problems.append(f"{route}: client route with the staff authorizer")
    return problems


def _staff_routes(template: Template) -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, operations in _paths(template).items()
        if STAFF_PATH.match(path)
        for method in operations
        if method in HTTP_METHODS
    ]


def _app_staff_routes() -> list[str]:
    """The staff routes app.py declares (issue 10's review desk and audit trail)."""
    from app import app

    return [
        f"{method} {path}"
        for path, methods in app.routes.items()
        if STAFF_PATH.match(path)
        for method in methods
        if method.lower() in HTTP_METHODS
    ]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_staff_authorizer_is_on_the_staff_routes_only(templates: dict[str, Template], stage: str) -> None:
    assert authorizer_problems(templates[stage]) == []
    # Every staff route app.py declares is in the template (so the rule above was checked on it).
    assert sorted(_staff_routes(templates[stage])) == sorted(_app_staff_routes())
    assert _app_staff_routes(), "app.py declares the review desk's routes"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_staff_authorizer_trusts_the_stacks_own_pool(
    templates: dict[str, Template], expanded: dict[str, Template], stage: str
) -> None:
    body = templates[stage]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert resources.STAFF_POOL_ARN_PLACEHOLDER not in json.dumps(templates[stage])
    _assert_points_at_the_pool(body["securityDefinitions"])
    (api,) = resources_of_type(expanded[stage], "AWS::ApiGateway::RestApi").values()
    _assert_points_at_the_pool(api["Properties"]["Body"]["securityDefinitions"])


def _assert_points_at_the_pool(definitions: dict) -> None:
    definition = definitions[POOL.authorizer_name]
    assert definition["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert definition["name"] == "Authorization"  # the header API Gateway reads the ID token from
    assert definition["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": [POOL_ARN],
    }


def test_the_rule_check_catches_a_staff_route_without_the_authorizer() -> None:
    # The checks above can fail: a staff route declared with an API key and no authorizer, and a
    # client route given the staff authorizer, are both named (on the swagger Chalice writes for an
    # app declared like app.py, which passes the check until it is broken).
    swagger = CFNSwaggerGenerator().generate_swagger(_staff_app())
    broken = {"Resources": {"RestAPI": {"Properties": {"DefinitionBody": swagger}}}}
    assert authorizer_problems(broken) == []
    paths = _paths(broken)
    paths["/v1/reviews/{review_id}/claim"] = {"post": {"security": [API_KEY_SECURITY]}}
    paths["/v1/decisions"]["post"]["security"] = [API_KEY_SECURITY, {POOL.authorizer_name: []}]
    assert sorted(authorizer_problems(broken)) == [
        "POST /v1/decisions: client route with the staff authorizer",
        "POST /v1/reviews/{review_id}/claim: staff route with security [{'api_key': []}]",
    ]
    assert STAFF_PATH.match("/v1/applications/{application_id}/audit")
    assert not STAFF_PATH.match("/v1/applications/{application_id}")
    assert not STAFF_PATH.match("/v1/reviewsx")


# ------------------------------------------ post-processing, on the swagger Chalice really writes
def _staff_app() -> Chalice:
    """A Chalice app declared as app.py declares the review desk: staff routes with the Cognito
    authorizer on the placeholder ARN (what chalice package sees) and no API key, a client route
    with a key."""
    app = Chalice(app_name="staff-shape")
    authorizer = CognitoUserPoolAuthorizer(
        POOL.authorizer_name, provider_arns=[resources.STAFF_POOL_ARN_PLACEHOLDER]
    )

    @app.route("/v1/reviews", methods=["GET"], authorizer=authorizer, api_key_required=False)
    def list_reviews() -> dict:
        return {}

    @app.route(
        "/v1/applications/{application_id}/audit",
        methods=["GET"],
        authorizer=authorizer,
        api_key_required=False,
    )
    def get_audit(application_id: str) -> dict:
        return {}

    @app.route("/v1/decisions", methods=["POST"], api_key_required=True)
    def create_decision() -> dict:
        return {}

    return app


@pytest.fixture(scope="module")
def staff_template(templates: dict[str, Template]) -> Template:
    """The packaged prod template with the staff app's swagger in place of the API definition,
    post-processed by infra/package.py."""
    template = copy.deepcopy(templates["prod"])
    swagger = CFNSwaggerGenerator().generate_swagger(_staff_app())
    template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"] = swagger
    assert resources.STAFF_POOL_ARN_PLACEHOLDER in json.dumps(template)  # what Chalice writes
    assert infra_package.point_staff_authorizer_at_the_stack_pool(template) == 1
    return template


def test_packaging_points_the_authorizer_at_the_stacks_pool(staff_template: Template) -> None:
    body = staff_template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    _assert_points_at_the_pool(body["securityDefinitions"])
    assert resources.STAFF_POOL_ARN_PLACEHOLDER not in json.dumps(staff_template)
    assert authorizer_problems(staff_template) == []
    assert _staff_routes(staff_template) == ["GET /v1/reviews", "GET /v1/applications/{application_id}/audit"]


def test_packaging_replaces_any_arn_the_shell_had(templates: dict[str, Template]) -> None:
    # Another stage's (or a local moto) pool in STAFF_USER_POOL_ARN must not be trusted by this stack.
    template = copy.deepcopy(templates["prod"])
    swagger = CFNSwaggerGenerator().generate_swagger(_staff_app())
    other = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_OtherPool"
    text = json.dumps(swagger).replace(resources.STAFF_POOL_ARN_PLACEHOLDER, other)
    template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"] = json.loads(text)
    infra_package.point_staff_authorizer_at_the_stack_pool(template)
    assert other not in json.dumps(template)


def test_packaging_fails_on_a_leftover_placeholder_or_an_unknown_pool(templates: dict[str, Template]) -> None:
    leftover = copy.deepcopy(templates["prod"])
    leftover["Outputs"]["Stray"] = {"Value": resources.STAFF_POOL_ARN_PLACEHOLDER}
    with pytest.raises(SystemExit, match="left in the packaged template"):
        infra_package.point_staff_authorizer_at_the_stack_pool(leftover)
    unknown = copy.deepcopy(templates["prod"])
    definitions = unknown["Resources"]["RestAPI"]["Properties"]["DefinitionBody"].setdefault(
        "securityDefinitions", {}
    )
    definitions["PartnerPool"] = CognitoUserPoolAuthorizer("PartnerPool", provider_arns=["arn"]).to_swagger()
    with pytest.raises(SystemExit, match="PartnerPool"):
        infra_package.point_staff_authorizer_at_the_stack_pool(unknown)


# ------------------------------------------------------------------------ gateway responses
def _gateway_responses(expanded: Template) -> dict:
    (api,) = resources_of_type(expanded, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize(("response_type", "status"), [("UNAUTHORIZED", "401"), ("ACCESS_DENIED", "403")])
def test_the_authorizers_refusals_have_the_product_error_shape(
    expanded: dict[str, Template], stage: str, response_type: str, status: str
) -> None:
    response = _gateway_responses(expanded[stage])[response_type]
    assert response["statusCode"] == status
    body = json.loads(response["responseTemplates"]["application/json"])
    assert set(body) == {"error", "request_id"} and body["request_id"] == "$context.requestId"
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["details"] == []
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.Content-Type"] == "'application/json'"
    assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"


def test_unauthorized_is_the_one_the_local_stack_answers(expanded: dict[str, Template]) -> None:
    # The local verifier answers with chalicelib's UNAUTHORIZED spec: AWS answers the same body.
    from chalicelib.http import gateway_responses as edge

    response = _gateway_responses(expanded["prod"])["UNAUTHORIZED"]
    assert response["responseTemplates"]["application/json"] == edge.gateway_response_template(
        edge.UNAUTHORIZED
    )


# ------------------------------------------------------------------------------ regions
def test_the_region_rule_refuses_exactly_where_cognito_is_missing(templates: dict[str, Template]) -> None:
    """The Cognito types' "not in region" finding is silenced on them only because the template's
    rule refuses those regions: the rule must name exactly the regions cfn-lint refuses them in."""
    from infra import staff_pool

    assert_region_rule_refuses_exactly_the_linted_regions(
        templates["prod"], "AWS::Cognito::", staff_pool.REGION_RULE_ID, staff_pool.COGNITO_UNSUPPORTED_REGIONS
    )
    # Silenced only where the rule applies: no other resource ignores a check.
    ignoring = [
        logical_id
        for logical_id, resource in templates["prod"]["Resources"].items()
        if "cfn-lint" in resource.get("Metadata", {})
    ]
    assert {templates["prod"]["Resources"][i]["Type"] for i in ignoring} == {
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::Cognito::UserPoolGroup",
        # The console's CloudFront types, under a region rule of their own (test_infra_console_hosting).
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CloudFront::Distribution",
    }


def test_the_region_rule_survives_the_sam_transform(expanded: dict[str, Template]) -> None:
    from infra import staff_pool

    assert staff_pool.REGION_RULE_ID in expanded["prod"]["Rules"]
