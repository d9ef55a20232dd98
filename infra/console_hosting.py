"""The loan-officer console in AWS: a private S3 bucket behind CloudFront, the REST API as a second origin.

One hostname serves both, so the console's calls stay same-origin and its CSP (``default-src 'self'``)
and relative paths work unchanged: ``/console`` and ``/console/<file>`` come from the bucket (the
object keys are exactly those paths, uploaded by ``make deploy``, see ``infra.deploy``), while the API's
paths go to API Gateway's stage with caching disabled and every viewer header, cookie and query
string forwarded except Host (API Gateway routes on its own hostname; x-api-key and Authorization
must reach it). Only the distribution can read the bucket (Origin Access Control, SigV4), and the
bucket blocks every form of public access. ``/console/config.js`` (where staff sign in, made by the
API from the function's environment: ``chalicelib/http/console_config.py``) goes to the API too.

WAF: behind CloudFront the API's regional web ACL sees CloudFront's addresses, not the client's, so
its per-IP rate rule cannot tell console users apart. The distribution gets a web ACL of its own
(scope CLOUDFRONT, the same per-IP rate rule and 429 answer as the API's: ``resources``'s
``WAF_PER_IP_LIMIT`` over ``WAF_EVALUATION_WINDOW_SECONDS``), which sees the viewer's address.
CloudFront web ACLs can only be created in us-east-1 (WAF's global scope lives there), so:

- deployed in us-east-1, the stack creates it (condition ``CreateConsoleWebAcl``);
- deployed anywhere else, the stack cannot create it: pass the ARN of one created in us-east-1 as
  the parameter ``ConsoleWebAclArn`` (``arn:aws:wafv2:us-east-1:<account>:global/webacl/...``). The
  rule ``ConsoleWebAclRegion`` refuses such a deploy without it, before anything is created, rather
  than putting the console online without a per-viewer rate limit. In us-east-1 the parameter may
  name an existing web ACL too (then none is created). It must hold the same per-IP rate rule:
  the API's own per-IP rule leaves this distribution's requests out (below).

What the distribution forwards to the API carries the header ``resources.CLOUDFRONT_ORIGIN_HEADER``
with a generated secret as its value (``api_gateway.origin_secret_reference``, resolved at deploy
time); the API's regional per-IP rule counts only requests without that value, so CloudFront's edge
addresses (each shared by many officers) are not throttled as if they were one client.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from chalicelib.http import console_config
from infra import api_gateway, names

Resource = dict[str, Any]

BUCKET_LOGICAL_ID = "ConsoleBucket"
BUCKET_POLICY_LOGICAL_ID = "ConsoleBucketPolicy"
ORIGIN_ACCESS_CONTROL_LOGICAL_ID = "ConsoleOriginAccessControl"
HEADERS_POLICY_LOGICAL_ID = "ConsoleSecurityHeadersPolicy"
DISTRIBUTION_LOGICAL_ID = "ConsoleDistribution"
WEB_ACL_LOGICAL_ID = "ConsoleWebAcl"

BUCKET_ORIGIN_ID = "console-bucket"
API_ORIGIN_ID = "rest-api"
# Where the console lives in the bucket and on the distribution: the same paths as on the API locally.
CONSOLE_PREFIX = "console"
# The API's paths on the distribution (everything else is the bucket's); the console's config
# script is made by the API, never uploaded to the bucket.
CONFIG_SCRIPT_PATH = f"/{CONSOLE_PREFIX}/{console_config.CONFIG_SCRIPT}"
API_PATH_PATTERNS: tuple[str, ...] = (
    "/v1/*",
    "/health*",
    "/metrics",
    "/openapi.json",
    "/docs*",
    CONFIG_SCRIPT_PATH,
)

# AWS managed policies (fixed ids, the same in every account).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def console_content_security_policy(stage: str) -> dict[str, str]:
    """The console's policy as the API serves it (no inline script or style), with connect-src naming
    the stack's own region's Cognito IdP endpoint (the sign-in form calls it) and the stage's batches
    bucket (the batches page PUTs files to it: issue 19), nothing broader. The bucket by its name,
    not its Ref: the distribution must not depend on the bucket, whose CORS rule names the distribution."""
    bucket = names.bucket_name(stage, resources.BATCHES_BUCKET)["Fn::Sub"]
    return {
        "Fn::Sub": console_config.console_content_security_policy(
            console_config.cognito_idp_origin("${AWS::Region}"),
            console_config.s3_bucket_origin(bucket, "${AWS::Region}"),
        )
    }


def console_origins() -> list[dict[str, str]]:
    """The origins the console page is served from in AWS: the distribution's host, and the API's
    own (the API serves ``/console`` too). A bucket's CORS rule names them (``infra.data_stores``)."""
    return [
        {"Fn::Sub": f"https://${{{DISTRIBUTION_LOGICAL_ID}.DomainName}}"},
        {
            "Fn::Sub": f"https://${{{names.REST_API_LOGICAL_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        },
    ]


ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]

# Regions whose CloudFormation lacks a CloudFront type used here (cfn-lint's regional specification;
# tests/infra check the list is exactly where cfn-lint refuses them). As with the staff pool, a rule
# refuses such a region before anything is created, and only the "type not in region" finding is
# silenced on the CloudFront resources.
CLOUDFRONT_UNSUPPORTED_REGIONS = ("cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1")
REGION_RULE_ID = "ConsoleHostingRegion"
RULES: dict[str, Any] = {
    REGION_RULE_ID: {
        "Assertions": [
            {
                "Assert": {
                    "Fn::Not": [
                        {"Fn::Contains": [list(CLOUDFRONT_UNSUPPORTED_REGIONS), {"Ref": "AWS::Region"}]}
                    ]
                },
                "AssertDescription": "The console's CloudFront distribution (with Origin Access Control and "
                "a response headers policy) is not available in this region",
            }
        ]
    }
}
LINT_METADATA = {"cfn-lint": {"config": {"ignore_checks": ["E3006"]}}}

# --------------------------------------------------------------------------------------------
# WAF on the distribution (scope CLOUDFRONT: created in us-east-1 only)
# --------------------------------------------------------------------------------------------
CLOUDFRONT_WAF_REGION = "us-east-1"
WEB_ACL_ARN_PARAMETER = "ConsoleWebAclArn"
CREATE_WEB_ACL_CONDITION = "CreateConsoleWebAcl"
WEB_ACL_REGION_RULE_ID = "ConsoleWebAclRegion"
# Global-scope (CLOUDFRONT) web ACL ARNs name us-east-1 and "global"; the same partition the policy
# files tie the stack to.
WEB_ACL_ARN_PATTERN = (
    rf"^$|^arn:aws:wafv2:{CLOUDFRONT_WAF_REGION}:[0-9]{{12}}:global/webacl/[A-Za-z0-9_-]+/[a-f0-9-]+$"
)
PARAMETERS: dict[str, Any] = {
    WEB_ACL_ARN_PARAMETER: {
        "Type": "String",
        "Default": "",
        "AllowedPattern": WEB_ACL_ARN_PATTERN,
        "ConstraintDescription": "empty, or the ARN of a CLOUDFRONT-scope WAFv2 web ACL "
        "(created in us-east-1)",
        "Description": "A CLOUDFRONT-scope WAFv2 web ACL for the console's distribution. Empty in us-east-1: "
        "the stack creates one. Required in every other region: CloudFront web ACLs exist only in us-east-1.",
    }
}
_IN_WAF_REGION = {"Fn::Equals": [{"Ref": "AWS::Region"}, CLOUDFRONT_WAF_REGION]}
_NO_ARN_GIVEN = {"Fn::Equals": [{"Ref": WEB_ACL_ARN_PARAMETER}, ""]}
CONDITIONS: dict[str, Any] = {CREATE_WEB_ACL_CONDITION: {"Fn::And": [_IN_WAF_REGION, _NO_ARN_GIVEN]}}
RULES[WEB_ACL_REGION_RULE_ID] = {
    "Assertions": [
        {
            "Assert": {"Fn::Or": [_IN_WAF_REGION, {"Fn::Not": [_NO_ARN_GIVEN]}]},
            "AssertDescription": f"Outside {CLOUDFRONT_WAF_REGION}, pass {WEB_ACL_ARN_PARAMETER}: the "
            f"ARN of a CLOUDFRONT-scope web ACL created in {CLOUDFRONT_WAF_REGION} (CloudFront web "
            "ACLs exist only there)",
        }
    ]
}


def _bucket() -> Resource:
    return {
        "Type": "AWS::S3::Bucket",
        # No BucketName: a generated, globally unique one (make deploy reads it from the outputs).
        # Retained on stack deletion: CloudFormation cannot delete a bucket that still holds files.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            # SSE-S3: OAC can read it without a KMS key policy granting CloudFront decrypt.
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},  # a bad upload can be rolled back
        },
    }


def _distribution_arn() -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
        f"${{{DISTRIBUTION_LOGICAL_ID}}}"
    }


def _bucket_policy() -> Resource:
    objects = {"Fn::Sub": f"${{{BUCKET_LOGICAL_ID}.Arn}}/*"}
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET_LOGICAL_ID},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ReadByTheConsoleDistributionOnly",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": objects,
                        "Condition": {"StringEquals": {"AWS:SourceArn": _distribution_arn()}},
                    },
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        # Named actions (no wildcard anywhere in the templates): what the deploy and
                        # CloudFront do with the bucket.
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
                        "Resource": [{"Fn::GetAtt": [BUCKET_LOGICAL_ID, "Arn"]}, objects],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            },
        },
    }


def _origin_access_control(stage: str) -> Resource:
    return {
        "Type": "AWS::CloudFront::OriginAccessControl",
        "Metadata": LINT_METADATA,
        "Properties": {
            "OriginAccessControlConfig": {
                # Unique per account: the stack's name holds the service and stage.
                "Name": {"Fn::Sub": "${AWS::StackName}-console"},
                "Description": f"{resources.SERVICE} {stage}: CloudFront reads the console bucket",
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    }


def _security_headers_policy(stage: str) -> Resource:
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Metadata": LINT_METADATA,
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": {"Fn::Sub": "${AWS::StackName}-console-security-headers"},
                "Comment": f"{resources.SERVICE} {stage}: the API's security headers on the console's files",
                "SecurityHeadersConfig": {
                    "ContentSecurityPolicy": {
                        "ContentSecurityPolicy": console_content_security_policy(stage),
                        "Override": True,
                    },
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
                    "StrictTransportSecurity": {
                        "AccessControlMaxAgeSec": 63072000,
                        "IncludeSubdomains": True,
                        "Override": True,
                    },
                },
            }
        },
    }


def _api_behaviour(path_pattern: str) -> Resource:
    # No response headers policy: the API sets its own (and /docs its wider CSP for Swagger UI).
    return {
        "PathPattern": path_pattern,
        "TargetOriginId": API_ORIGIN_ID,
        "ViewerProtocolPolicy": "https-only",
        "AllowedMethods": ALL_METHODS,
        "CachedMethods": ["GET", "HEAD"],
        "CachePolicyId": CACHING_DISABLED_POLICY_ID,
        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
        "Compress": True,
    }


def _distribution(stage: str) -> Resource:
    api_domain = {
        "Fn::Sub": f"${{{names.REST_API_LOGICAL_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
    }
    return {
        "Type": "AWS::CloudFront::Distribution",
        "Metadata": LINT_METADATA,
        "Properties": {
            "DistributionConfig": {
                "Comment": f"{resources.SERVICE} {stage}: loan-officer console + API",
                "Enabled": True,
                "HttpVersion": "http2and3",
                "IPV6Enabled": True,
                "PriceClass": "PriceClass_100",
                # "/" opens the console (the object key "console" is its index.html).
                "DefaultRootObject": CONSOLE_PREFIX,
                "Origins": [
                    {
                        "Id": BUCKET_ORIGIN_ID,
                        "DomainName": {"Fn::GetAtt": [BUCKET_LOGICAL_ID, "RegionalDomainName"]},
                        "OriginAccessControlId": {"Fn::GetAtt": [ORIGIN_ACCESS_CONTROL_LOGICAL_ID, "Id"]},
                        # Empty: OAC, not the legacy origin access identity, signs the requests.
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    },
                    {
                        "Id": API_ORIGIN_ID,
                        "DomainName": api_domain,
                        "OriginPath": f"/{names.api_gateway_stage_name(stage)}",
                        # What tells the API's web ACL that this distribution's web ACL has already
                        # limited the request per viewer (infra/api_gateway.py: the per-IP rule).
                        "OriginCustomHeaders": [
                            {
                                "HeaderName": resources.CLOUDFRONT_ORIGIN_HEADER,
                                "HeaderValue": api_gateway.origin_secret_reference(),
                            }
                        ],
                        "CustomOriginConfig": {
                            "OriginProtocolPolicy": "https-only",
                            "OriginSSLProtocols": ["TLSv1.2"],
                        },
                    },
                ],
                "DefaultCacheBehavior": {
                    "TargetOriginId": BUCKET_ORIGIN_ID,
                    "ViewerProtocolPolicy": "https-only",
                    "AllowedMethods": ["GET", "HEAD"],
                    "CachedMethods": ["GET", "HEAD"],
                    "CachePolicyId": CACHING_OPTIMIZED_POLICY_ID,
                    "ResponseHeadersPolicyId": {"Ref": HEADERS_POLICY_LOGICAL_ID},
                    "Compress": True,
                },
                "CacheBehaviors": [_api_behaviour(pattern) for pattern in API_PATH_PATTERNS],
                # The stack's own web ACL, or the one named in us-east-1 (the rule guarantees one).
                "WebACLId": {
                    "Fn::If": [
                        CREATE_WEB_ACL_CONDITION,
                        {"Fn::GetAtt": [WEB_ACL_LOGICAL_ID, "Arn"]},
                        {"Ref": WEB_ACL_ARN_PARAMETER},
                    ]
                },
            }
        },
    }


def _web_acl(stage: str) -> Resource:
    metric = f"{resources.SERVICE}-{stage}-console"
    return {
        "Type": "AWS::WAFv2::WebACL",
        "Condition": CREATE_WEB_ACL_CONDITION,
        "Properties": {
            "Name": metric,
            "Scope": "CLOUDFRONT",
            "Description": f"{resources.SERVICE} {stage}: per-viewer rate limit on the console",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": f"{metric}-web-acl",
            },
            "CustomResponseBodies": api_gateway.waf_response_bodies(),
            # The rate rule only: the API's regional web ACL still applies the AWS common rules to
            # every API request CloudFront forwards; the bucket's files are static. No scope-down:
            # every viewer request counts (the origin header is added after this ACL, on the way out).
            "Rules": [api_gateway.per_ip_rate_rule(metric=f"{metric}-per-ip")],
        },
    }


def console_hosting_resources(stage: str) -> dict[str, Resource]:
    return {
        BUCKET_LOGICAL_ID: _bucket(),
        BUCKET_POLICY_LOGICAL_ID: _bucket_policy(),
        ORIGIN_ACCESS_CONTROL_LOGICAL_ID: _origin_access_control(stage),
        HEADERS_POLICY_LOGICAL_ID: _security_headers_policy(stage),
        DISTRIBUTION_LOGICAL_ID: _distribution(stage),
        WEB_ACL_LOGICAL_ID: _web_acl(stage),
    }


def outputs() -> dict[str, Any]:
    return {
        "ConsoleUrl": {
            "Description": "The loan-officer console (and the API under the same host)",
            "Value": {"Fn::Sub": f"https://${{{DISTRIBUTION_LOGICAL_ID}.DomainName}}/{CONSOLE_PREFIX}"},
        },
        "ConsoleBucketName": {"Value": {"Ref": BUCKET_LOGICAL_ID}},
        "ConsoleDistributionId": {"Value": {"Ref": DISTRIBUTION_LOGICAL_ID}},
    }
