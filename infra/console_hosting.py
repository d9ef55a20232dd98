"""The loan-officer console in AWS: a private S3 bucket behind CloudFront, the REST API as a second origin.

One hostname serves both, so the console's calls stay same-origin and its CSP (``default-src 'self'``)
and relative paths work unchanged: ``/console`` and ``/console/<file>`` come from the bucket (the
object keys are exactly those paths, uploaded by ``make deploy``, see ``infra.deploy``), while the API's
paths go to API Gateway's stage with caching disabled and every viewer header, cookie and query
string forwarded except Host (API Gateway routes on its own hostname; x-api-key and Authorization
must reach it). Only the distribution can read the bucket (Origin Access Control, SigV4), and the
bucket blocks every form of public access.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import names

Resource = dict[str, Any]

BUCKET_LOGICAL_ID = "ConsoleBucket"
BUCKET_POLICY_LOGICAL_ID = "ConsoleBucketPolicy"
ORIGIN_ACCESS_CONTROL_LOGICAL_ID = "ConsoleOriginAccessControl"
HEADERS_POLICY_LOGICAL_ID = "ConsoleSecurityHeadersPolicy"
DISTRIBUTION_LOGICAL_ID = "ConsoleDistribution"

BUCKET_ORIGIN_ID = "console-bucket"
API_ORIGIN_ID = "rest-api"
# Where the console lives in the bucket and on the distribution: the same paths as on the API locally.
CONSOLE_PREFIX = "console"
# The API's paths on the distribution (everything else is the bucket's).
API_PATH_PATTERNS: tuple[str, ...] = ("/v1/*", "/health*", "/metrics", "/openapi.json", "/docs*")

# AWS managed policies (fixed ids, the same in every account).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

# The API's own default policy: the console needs nothing else (no inline script or style).
CONSOLE_CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'"
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
                        "ContentSecurityPolicy": CONSOLE_CONTENT_SECURITY_POLICY,
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
            }
        },
    }


def console_hosting_resources(stage: str) -> dict[str, Resource]:
    return {
        BUCKET_LOGICAL_ID: _bucket(),
        BUCKET_POLICY_LOGICAL_ID: _bucket_policy(),
        ORIGIN_ACCESS_CONTROL_LOGICAL_ID: _origin_access_control(stage),
        HEADERS_POLICY_LOGICAL_ID: _security_headers_policy(stage),
        DISTRIBUTION_LOGICAL_ID: _distribution(stage),
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
