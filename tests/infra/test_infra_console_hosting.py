"""The console in AWS, read back from the packaged templates: a private, encrypted bucket that only the
distribution can read, CloudFront with the bucket as default origin and the REST API for the API's
paths (no caching, viewer headers except Host), HTTPS only, security headers (the console's CSP with
connect-src to the region's Cognito IdP alone), a CLOUDFRONT-scope web ACL with the per-IP rate rule
(created in us-east-1, named by a parameter elsewhere); the secret origin header the API's per-IP
rule leaves out (one generated secret, the same reference on both sides); and what ``make deploy``
runs: the ConsoleWebAclArn override, the upload commands once the stack is deployed."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from infra_template_support import (
    Template,
    assert_per_ip_rate_rule,
    assert_region_rule_refuses_exactly_the_linted_regions,
    lint_problems,
    resources_of_type,
)

from chalicelib import resources
from chalicelib.http import console_config
from chalicelib.http import gateway_responses as edge
from chalicelib.http.static_files import CONSOLE, served_names
from infra import console_hosting as hosting
from infra import deploy, names

EXAMPLE_WEB_ACL_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared-console/a1b2c3d4-5678-90ab-cdef-1234567890ab"
)


def _one(template: Template, resource_type: str) -> tuple[str, Template]:
    """The console's one resource of ``resource_type`` (the stack has other buckets: the decision
    versions' registry)."""
    (found,) = (
        (logical_id, resource)
        for logical_id, resource in resources_of_type(template, resource_type).items()
        if logical_id.startswith("Console")
    )
    return found


@pytest.fixture(params=resources.DEPLOYED_STAGES)
def template(request: pytest.FixtureRequest, templates: dict[str, Template]) -> Template:
    return templates[request.param]


def test_the_bucket_is_private_encrypted_and_kept(template: Template) -> None:
    logical_id, bucket = _one(template, "AWS::S3::Bucket")
    assert logical_id == hosting.BUCKET_LOGICAL_ID
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "BucketName" not in properties  # generated: bucket names are global
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_only_this_distribution_may_read_the_bucket(template: Template) -> None:
    _, policy = _one(template, "AWS::S3::BucketPolicy")
    assert policy["Properties"]["Bucket"] == {"Ref": hosting.BUCKET_LOGICAL_ID}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source_arn = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(f":distribution/${{{hosting.DISTRIBUTION_LOGICAL_ID}}}")
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _distribution(template: Template) -> Template:
    logical_id, distribution = _one(template, "AWS::CloudFront::Distribution")
    assert logical_id == hosting.DISTRIBUTION_LOGICAL_ID
    return dict(distribution["Properties"]["DistributionConfig"])


def test_the_bucket_origin_is_signed_with_origin_access_control(template: Template) -> None:
    config = _distribution(template)
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    bucket = origins[hosting.BUCKET_ORIGIN_ID]
    assert bucket["DomainName"] == {"Fn::GetAtt": [hosting.BUCKET_LOGICAL_ID, "RegionalDomainName"]}
    assert bucket["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac_id, oac = _one(template, "AWS::CloudFront::OriginAccessControl")
    assert bucket["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    oac_config = oac["Properties"]["OriginAccessControlConfig"]
    assert (oac_config["OriginAccessControlOriginType"], oac_config["SigningBehavior"]) == ("s3", "always")
    assert oac_config["SigningProtocol"] == "sigv4"


def test_the_api_origin_serves_the_api_paths_uncached(template: Template) -> None:
    config = _distribution(template)
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    api = origins[hosting.API_ORIGIN_ID]
    assert api["DomainName"] == {
        "Fn::Sub": f"${{{names.REST_API_LOGICAL_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
    }
    assert api["OriginPath"] == f"/{resources.API_GATEWAY_STAGE}"
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {
        "/v1/*",
        "/health*",
        "/metrics",
        "/openapi.json",
        "/docs*",
        "/console/config.js",
    }
    for behaviour in behaviours.values():
        assert behaviour["TargetOriginId"] == hosting.API_ORIGIN_ID
        assert behaviour["CachePolicyId"] == hosting.CACHING_DISABLED_POLICY_ID
        # AllViewerExceptHostHeader: x-api-key, Authorization, every query string and cookie.
        assert behaviour["OriginRequestPolicyId"] == hosting.ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID
        assert {"POST", "GET", "OPTIONS"} <= set(behaviour["AllowedMethods"])
        assert behaviour["ViewerProtocolPolicy"] == "https-only"


def test_every_public_api_route_reaches_the_api_except_the_console() -> None:
    # The console's own paths are the bucket's; every other public route must not fall to the bucket.
    patterns = [p.rstrip("*") for p in hosting.API_PATH_PATTERNS]
    for prefix in resources.PUBLIC_ROUTES:
        if prefix.startswith("/console"):
            continue
        assert any(prefix.startswith(p) or p.startswith(prefix) for p in patterns), prefix


def test_the_default_is_the_bucket_https_only_with_security_headers(template: Template) -> None:
    config = _distribution(template)
    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == hosting.BUCKET_ORIGIN_ID
    assert default["ViewerProtocolPolicy"] == "https-only"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "console"
    policy_id, policy = _one(template, "AWS::CloudFront::ResponseHeadersPolicy")
    assert default["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert csp.startswith("default-src 'self'")
    assert "unsafe-inline" not in csp
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"] == {"Override": True}


def test_the_console_url_is_an_output(template: Template) -> None:
    url = template["Outputs"]["ConsoleUrl"]["Value"]["Fn::Sub"]
    assert url == f"https://${{{hosting.DISTRIBUTION_LOGICAL_ID}.DomainName}}/console"
    assert template["Outputs"]["ConsoleBucketName"]["Value"] == {"Ref": hosting.BUCKET_LOGICAL_ID}
    assert template["Outputs"]["ConsoleDistributionId"]["Value"] == {"Ref": hosting.DISTRIBUTION_LOGICAL_ID}


def test_the_cloudfront_region_rule_names_exactly_where_the_types_are_missing(
    templates: dict[str, Template],
) -> None:
    """E3006 is silenced on the CloudFront resources only because the template's rule refuses those
    regions: the rule must list exactly the regions cfn-lint refuses them in."""
    assert_region_rule_refuses_exactly_the_linted_regions(
        templates["prod"], "AWS::CloudFront::", hosting.REGION_RULE_ID, hosting.CLOUDFRONT_UNSUPPORTED_REGIONS
    )


def test_the_hosting_survives_the_sam_transform(expanded: dict[str, Template]) -> None:
    template = expanded["prod"]
    assert hosting.REGION_RULE_ID in template["Rules"]
    for logical_id in hosting.console_hosting_resources("prod"):
        assert logical_id in template["Resources"]


# ------------------------------------------------------------------------------ make deploy
def test_upload_commands_put_the_console_at_the_served_paths() -> None:
    sync, index, invalidate = deploy.console_upload_commands("console-bucket", "E123")
    assert sync[:3] == ["aws", "s3", "sync"]
    assert sync[3] == f"{CONSOLE.directory}/" and sync[4] == "s3://console-bucket/console/"
    assert "--delete" in sync
    assert sync[sync.index("--exclude") + 1] == "index.html"
    assert index[:3] == ["aws", "s3", "cp"]
    assert index[3:5] == [str(CONSOLE.directory / "index.html"), "s3://console-bucket/console"]
    assert index[index.index("--content-type") + 1] == "text/html; charset=utf-8"
    assert invalidate[:3] == ["aws", "cloudfront", "create-invalidation"]
    assert invalidate[invalidate.index("--distribution-id") + 1] == "E123"
    assert invalidate[invalidate.index("--paths") + 1 :] == ["/console", "/console/*"]


def test_the_synced_folder_holds_the_console_and_the_vendored_chart_library() -> None:
    # What the page loads (console/<name>) must be in the folder the sync uploads, except the files
    # the API makes (config.js), which the distribution sends to the API instead.
    html = (CONSOLE.directory / "index.html").read_text()
    loaded = set(re.findall(r'(?:src|href)="console/([^"]+)"', html))
    assert {"chart.umd.min.js", "console.js", "console.css", console_config.CONFIG_SCRIPT} <= loaded
    assert loaded <= served_names(CONSOLE)
    generated = {name for name, _ in CONSOLE.generated}
    assert {path.name for path in CONSOLE.directory.iterdir()} >= loaded - generated
    assert not (CONSOLE.directory / console_config.CONFIG_SCRIPT).exists()
    assert {f"/console/{name}" for name in generated} <= set(hosting.API_PATH_PATTERNS)


def test_stack_output_command_reads_one_output() -> None:
    command = deploy.stack_output_command("prod", "ConsoleBucketName")
    assert command[:3] == ["aws", "cloudformation", "describe-stacks"]
    assert command[command.index("--stack-name") + 1] == f"{resources.SERVICE}-prod"
    assert "OutputKey=='ConsoleBucketName'" in command[command.index("--query") + 1]
    assert command[command.index("--output") + 1] == "text"


def test_deploy_runs_the_stack_then_uploads_the_console(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "sam.json").write_text("{}")
    monkeypatch.setattr(deploy, "output_dir", lambda stage: tmp_path / stage)
    monkeypatch.setattr(deploy.shutil, "which", lambda name: f"/usr/bin/{name}")
    ran: list[list[str]] = []
    outputs = {"ConsoleBucketName": "the-bucket\n", "ConsoleDistributionId": "EDIST\n"}

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        key = next((k for k in outputs if "describe-stacks" in command and k in " ".join(command)), None)
        return subprocess.CompletedProcess(command, 0, stdout=outputs[key] if key else "")

    monkeypatch.setattr(deploy.subprocess, "run", run)
    deploy.main(["--stage", "prod", "--bucket", "artifacts"])
    steps = [" ".join(command[:3]) for command in ran]
    assert steps == [
        "aws cloudformation package",
        "aws cloudformation deploy",
        "aws cloudformation describe-stacks",
        "aws cloudformation describe-stacks",
        "aws s3 sync",
        "aws s3 cp",
        "aws cloudfront create-invalidation",
    ]
    assert ran[4][4] == "s3://the-bucket/console/" and "EDIST" in ran[6]


def test_dry_run_prints_the_upload_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "sam.json").write_text("{}")
    monkeypatch.setattr(deploy, "output_dir", lambda stage: tmp_path / stage)
    deploy.main(["--stage", "dev", "--bucket", "artifacts", "--dry-run"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[-3].startswith("aws s3 sync") and "s3://<ConsoleBucketName>/console/" in printed[-3]
    assert printed[-1].startswith(
        "aws cloudfront create-invalidation --distribution-id <ConsoleDistributionId>"
    )


# ------------------------------------------------------------------------------ CSP: the sign-in
@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_cloudfront_policy_is_the_apis_console_policy_for_the_stacks_region(
    templates: dict[str, Template], stage: str
) -> None:
    # One function builds both: what CloudFront adds to the bucket's console page and what the API
    # serves on its own /console, for the same region (the pool's endpoint in AWS).
    _, policy = _one(templates[stage], "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentSecurityPolicy"]["Override"] is True
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    batches = f"{resources.resource_name(stage, resources.BATCHES_BUCKET.suffix)}-123456789012"
    environ = {
        "STAGE": stage,
        "AWS_REGION": "eu-west-1",
        resources.STAFF_POOL_ID_ENV: "eu-west-1_Example",
        resources.STAFF_POOL_CLIENT_ID_ENV: "exampleclientid",
        resources.BATCHES_BUCKET.env_var: batches,
    }
    deployed = csp.replace("${AWS::Region}", "eu-west-1").replace("${AWS::AccountId}", "123456789012")
    assert deployed == console_config.console_page_policy(environ)
    (connect,) = [part.strip() for part in csp.split(";") if part.strip().startswith("connect-src")]
    # The batches page PUTs a file to the batches bucket (issue 19): its regional origin, by name.
    bucket = f"{resources.resource_name(stage, resources.BATCHES_BUCKET.suffix)}-${{AWS::AccountId}}"
    assert connect == (
        "connect-src 'self' https://cognito-idp.${AWS::Region}.amazonaws.com "
        f"https://{bucket}.s3.${{AWS::Region}}.amazonaws.com"
    )


# ------------------------------------------------------------------------------ WAF on CloudFront
def _evaluate(node: Any, parameters: dict[str, str], region: str) -> Any:
    """A Conditions or Rules expression's value (the functions the console's use)."""
    if not isinstance(node, dict):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        if argument == "AWS::Region":
            return region
        return parameters.get(argument, hosting.PARAMETERS[argument]["Default"])
    values = [_evaluate(item, parameters, region) for item in argument]
    operations = {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::Not": lambda: not values[0],
        "Fn::And": lambda: all(values),
        "Fn::Or": lambda: any(values),
    }
    return operations[function]()


def test_the_distribution_has_a_cloudfront_web_acl_with_the_per_ip_rate_rule(template: Template) -> None:
    acls = {
        logical_id: acl
        for logical_id, acl in resources_of_type(template, "AWS::WAFv2::WebACL").items()
        if acl["Properties"]["Scope"] == "CLOUDFRONT"
    }
    ((acl_id, acl),) = acls.items()
    assert acl_id == hosting.WEB_ACL_LOGICAL_ID
    assert acl["Condition"] == hosting.CREATE_WEB_ACL_CONDITION
    (rule,) = acl["Properties"]["Rules"]
    # The viewer's address (CloudFront sees it), the API's own limit over the same window, no
    # scope-down: every viewer request counts.
    assert "ScopeDownStatement" not in rule["Statement"]["RateBasedStatement"]
    body = assert_per_ip_rate_rule(acl, rule)
    assert body["error"]["code"] == edge.WAF_BLOCKED.code
    config = _distribution(template)
    assert config["WebACLId"] == {
        "Fn::If": [
            hosting.CREATE_WEB_ACL_CONDITION,
            {"Fn::GetAtt": [hosting.WEB_ACL_LOGICAL_ID, "Arn"]},
            {"Ref": hosting.WEB_ACL_ARN_PARAMETER},
        ]
    }
    # Its own name and metrics: the regional ACL of the same stage is another resource.
    names_in_use = {
        a["Properties"]["Name"] for a in resources_of_type(template, "AWS::WAFv2::WebACL").values()
    }
    assert len(names_in_use) == 2


@pytest.mark.parametrize(
    ("region", "arn", "creates", "deploys"),
    [
        ("us-east-1", "", True, True),  # the stack creates the CLOUDFRONT web ACL itself
        ("us-east-1", EXAMPLE_WEB_ACL_ARN, False, True),  # or uses one that exists
        ("eu-west-1", EXAMPLE_WEB_ACL_ARN, False, True),  # elsewhere: one made in us-east-1
        ("eu-west-1", "", False, False),  # elsewhere without one: refused before anything is created
        ("ap-south-1", "", False, False),
    ],
)
def test_where_the_web_acl_comes_from_in_each_region(
    template: Template, region: str, arn: str, creates: bool, deploys: bool
) -> None:
    parameters = {hosting.WEB_ACL_ARN_PARAMETER: arn}
    assert (
        template["Parameters"][hosting.WEB_ACL_ARN_PARAMETER]
        == hosting.PARAMETERS[hosting.WEB_ACL_ARN_PARAMETER]
    )
    condition = template["Conditions"][hosting.CREATE_WEB_ACL_CONDITION]
    assert _evaluate(condition, parameters, region) is creates
    (assertion,) = template["Rules"][hosting.WEB_ACL_REGION_RULE_ID]["Assertions"]
    assert _evaluate(assertion["Assert"], parameters, region) is deploys
    # Whichever way a deploy goes through, the distribution gets a web ACL: its own, or the ARN given.
    chosen = _distribution(template)["WebACLId"]["Fn::If"]
    attached = chosen[1] if creates else _evaluate(chosen[2], parameters, region)
    assert (
        attached == {"Fn::GetAtt": [hosting.WEB_ACL_LOGICAL_ID, "Arn"]} or attached == arn != ""
    ) is deploys


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("", True),
        (EXAMPLE_WEB_ACL_ARN, True),
        # A REGIONAL web ACL (the API's kind) cannot be attached to a distribution.
        (EXAMPLE_WEB_ACL_ARN.replace("us-east-1", "eu-west-1").replace(":global/", ":regional/"), False),
        (EXAMPLE_WEB_ACL_ARN.replace(":global/", ":regional/"), False),
        ("a1b2c3d4-5678-90ab-cdef-1234567890ab", False),  # a WAF Classic id
        ("*", False),
    ],
)
def test_the_web_acl_parameter_takes_only_a_cloudfront_web_acl_arn(value: str, allowed: bool) -> None:
    pattern = hosting.PARAMETERS[hosting.WEB_ACL_ARN_PARAMETER]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is allowed


def test_cfn_lint_sees_a_distribution_pointing_at_a_missing_web_acl(templates: dict[str, Template]) -> None:
    # The lint tests' "clean" can fail for this wiring: the condition and the GetAtt are checked.
    broken = copy.deepcopy(templates["prod"])
    del broken["Resources"][hosting.WEB_ACL_LOGICAL_ID]
    assert any(hosting.WEB_ACL_LOGICAL_ID in problem for problem in lint_problems(broken))


def test_the_web_acl_wiring_survives_the_sam_transform(expanded: dict[str, Template]) -> None:
    template = expanded["prod"]
    assert hosting.WEB_ACL_REGION_RULE_ID in template["Rules"]
    assert hosting.CREATE_WEB_ACL_CONDITION in template["Conditions"]
    assert hosting.WEB_ACL_ARN_PARAMETER in template["Parameters"]
    assert template["Resources"][hosting.WEB_ACL_LOGICAL_ID]["Properties"]["Scope"] == "CLOUDFRONT"


# ------------------------------------------------------------------------------ the origin header
def _regional_rate_rule(template: Template) -> Template:
    ((_, acl),) = [
        (logical_id, acl)
        for logical_id, acl in resources_of_type(template, "AWS::WAFv2::WebACL").items()
        if acl["Properties"]["Scope"] == "REGIONAL"
    ]
    (rule,) = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    return dict(rule["Statement"]["RateBasedStatement"])


def _api_origin_headers(template: Template) -> list[Template]:
    origins = {origin["Id"]: origin for origin in _distribution(template)["Origins"]}
    assert "OriginCustomHeaders" not in origins[hosting.BUCKET_ORIGIN_ID]  # the secret stays off S3
    return list(origins[hosting.API_ORIGIN_ID]["OriginCustomHeaders"])


def _secret_logical_id(reference: Any) -> str:
    """The secret a ``{{resolve:secretsmanager:<Ref>:SecretString:::}}`` reference names (the Fn::Join
    form: no Fn::Sub, the trailing ``:::`` LocalStack needs)."""
    assert isinstance(reference, dict) and set(reference) == {"Fn::Join"}, reference
    separator, (head, ref, tail) = reference["Fn::Join"]
    assert (separator, head, tail) == ("", "{{resolve:secretsmanager:", ":SecretString:::}}")
    assert set(ref) == {"Ref"}
    return str(ref["Ref"])


def test_cloudfront_sends_the_header_the_api_rule_leaves_out(template: Template) -> None:
    (header,) = _api_origin_headers(template)
    assert header["HeaderName"] == resources.CLOUDFRONT_ORIGIN_HEADER
    scope_down = _regional_rate_rule(template)["ScopeDownStatement"]
    match = scope_down["NotStatement"]["Statement"]["ByteMatchStatement"]
    # WAF compares header names case-insensitively; the value must be the very same reference.
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": header["HeaderName"].lower()}}
    assert match["SearchString"] == header["HeaderValue"]
    assert match["PositionalConstraint"] == "EXACTLY"
    assert match["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]


def test_the_header_value_is_a_generated_secret_never_in_the_template(template: Template) -> None:
    (header,) = _api_origin_headers(template)
    secret_id = _secret_logical_id(header["HeaderValue"])
    secret = template["Resources"][secret_id]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "Condition" not in secret  # the distribution always exists
    properties = secret["Properties"]
    assert "SecretString" not in properties
    generated = properties["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True
    # Every secret reference in the template is the Fn::Join form (none inside an Fn::Sub string).
    text = json.dumps(template)
    joined = re.findall(r'"\{\{resolve:secretsmanager:", \{"Ref": "[^"]+"\}, ":SecretString:::\}\}"', text)
    assert text.count("{{resolve:secretsmanager:") == len(joined) >= 2  # the origin header, the WAF rule


def _counted_by_the_api_rule(scope_down: Template, headers: dict[str, str], secret_value: str) -> bool:
    """The scope-down evaluated as WAF does for one request (the secret's value substituted)."""
    match = scope_down["NotStatement"]["Statement"]["ByteMatchStatement"]
    name = match["FieldToMatch"]["SingleHeader"]["Name"]
    received = {key.lower(): value for key, value in headers.items()}.get(name)
    matched = match["PositionalConstraint"] == "EXACTLY" and received == secret_value
    return not matched  # the NotStatement


@pytest.mark.parametrize(
    ("headers", "counted"),
    [
        ({}, True),  # a client calling the API directly
        ({"x-api-key": "k"}, True),
        ({resources.CLOUDFRONT_ORIGIN_HEADER: "guessed"}, True),  # a forged header without the secret
        ({resources.CLOUDFRONT_ORIGIN_HEADER: "S3cretValue "}, True),  # close is not enough
        ({resources.CLOUDFRONT_ORIGIN_HEADER: "S3cretValue"}, False),  # forwarded by the distribution
        ({resources.CLOUDFRONT_ORIGIN_HEADER.upper(): "S3cretValue"}, False),
    ],
)
def test_only_the_distributions_requests_escape_the_apis_per_ip_rule(
    templates: dict[str, Template], headers: dict[str, str], counted: bool
) -> None:
    scope_down = _regional_rate_rule(templates["prod"])["ScopeDownStatement"]
    assert _counted_by_the_api_rule(scope_down, headers, "S3cretValue") is counted


def test_the_forwarded_requests_are_limited_by_the_viewer_address_at_cloudfront(template: Template) -> None:
    # The only per-viewer limit on them: the CLOUDFRONT web ACL counts every request (no scope-down),
    # keyed on the address CloudFront sees; the API's ACL has no X-Forwarded-For key (viewer-written).
    (rule,) = template["Resources"][hosting.WEB_ACL_LOGICAL_ID]["Properties"]["Rules"]
    assert "ScopeDownStatement" not in rule["Statement"]["RateBasedStatement"]
    assert "ForwardedIPConfig" not in json.dumps(template)


def test_the_origin_header_survives_the_sam_transform(expanded: dict[str, Template]) -> None:
    template = expanded["prod"]
    (header,) = _api_origin_headers(template)
    secret_id = _secret_logical_id(header["HeaderValue"])
    assert template["Resources"][secret_id]["Type"] == "AWS::SecretsManager::Secret"
    assert (
        _regional_rate_rule(template)["ScopeDownStatement"]["NotStatement"]["Statement"][
            "ByteMatchStatement"
        ]["SearchString"]
        == header["HeaderValue"]
    )


# ------------------------------------------------------------------------------ make deploy: the ARN
def test_make_deploy_passes_the_console_web_acl_arn() -> None:
    _, stack = deploy.deploy_commands("prod", "artifacts", None, console_web_acl_arn=EXAMPLE_WEB_ACL_ARN)
    overrides = stack[stack.index("--parameter-overrides") + 1 :]
    assert overrides == [f"ConsoleWebAclArn={EXAMPLE_WEB_ACL_ARN}"]
    assert hosting.WEB_ACL_ARN_PARAMETER == "ConsoleWebAclArn"
    # Not given: not passed (an existing stack keeps its value); empty: passed (create one in us-east-1).
    _, unchanged = deploy.deploy_commands("prod", "artifacts", None)
    assert "--parameter-overrides" not in unchanged
    _, cleared = deploy.deploy_commands("prod", "artifacts", "ops@example.com", console_web_acl_arn="")
    assert cleared[cleared.index("--parameter-overrides") + 1 :] == [
        "AlarmEmail=ops@example.com",
        "ConsoleWebAclArn=",
    ]


def _dry_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> str:
    (tmp_path / "prod").mkdir(exist_ok=True)
    (tmp_path / "prod" / "sam.json").write_text("{}")
    monkeypatch.setattr(deploy, "output_dir", lambda stage: tmp_path / stage)
    deploy.main(["--stage", "prod", "--bucket", "artifacts", "--dry-run", *argv])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "cloudformation deploy" in line]
    return line


def test_console_web_acl_arn_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONSOLE_WEB_ACL_ARN", raising=False)
    line = _dry_run(monkeypatch, tmp_path, capsys, ["--console-web-acl-arn", EXAMPLE_WEB_ACL_ARN])
    assert line.endswith(f"--parameter-overrides ConsoleWebAclArn={EXAMPLE_WEB_ACL_ARN}")
    assert "ConsoleWebAclArn" not in _dry_run(monkeypatch, tmp_path, capsys, [])
    monkeypatch.setenv("CONSOLE_WEB_ACL_ARN", EXAMPLE_WEB_ACL_ARN)
    assert line == _dry_run(monkeypatch, tmp_path, capsys, [])


@pytest.mark.parametrize(
    "arn",
    [
        EXAMPLE_WEB_ACL_ARN.replace("us-east-1", "eu-west-1").replace(":global/", ":regional/"),
        "a1b2c3d4-5678-90ab-cdef-1234567890ab",
    ],
)
def test_deploy_refuses_what_is_not_a_cloudfront_web_acl_arn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], arn: str
) -> None:
    monkeypatch.delenv("CONSOLE_WEB_ACL_ARN", raising=False)
    with pytest.raises(SystemExit, match="CLOUDFRONT-scope"):
        _dry_run(monkeypatch, tmp_path, capsys, ["--console-web-acl-arn", arn])
