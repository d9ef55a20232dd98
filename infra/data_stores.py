"""DynamoDB tables and SQS queues, from the same specs the local stack bootstraps from."""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import names

Resource = dict[str, Any]


def index_resource(index: resources.IndexSpec) -> dict[str, Any]:
    """A GSI as CloudFormation declares it. The list indexes carry the summary a list answers with
    (INCLUDE: a KEYS_ONLY index would cost a GetItem per listed record, ALL would read whole
    decisions); the reconciler's sparse index carries everything it re-queues from."""
    return index.definition()


def table_resource(stage: str, spec: resources.TableSpec, index_limit: int | None = None) -> Resource:
    """``index_limit``: declare only the first N of the table's indexes (see ``infra.package``:
    CloudFormation adds at most one GSI per table and stack update, so an existing stack is brought
    to the full set one index per deploy)."""
    prod = stage == "prod"
    indexes = spec.indexes if index_limit is None else spec.indexes[:index_limit]
    table_keys = [spec.partition_key] + ([spec.sort_key] if spec.sort_key else [])
    # The same order as TableSpec.key_attributes (table keys, then each declared index's keys).
    key_attributes = dict.fromkeys(
        table_keys + [name for index in indexes for name in (index.partition_key, index.sort_key)]
    )
    properties: dict[str, Any] = {
        "TableName": resources.resource_name(stage, spec.suffix),
        "BillingMode": "PAY_PER_REQUEST",  # on-demand: no capacity to scale or throttle at
        # Only key attributes are declared (DynamoDB refuses a definition no key schema uses).
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_attributes],
        "KeySchema": spec.key_schema(),
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": prod,
        "Tags": [{"Key": "purpose", "Value": names.tag_value(spec.purpose)}] if spec.purpose else [],
    }
    if indexes:
        properties["GlobalSecondaryIndexes"] = [index_resource(index) for index in indexes]
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    # Prod data survives a stack deletion or a replacement; dev tables go with the stack.
    policy = "Retain" if prod else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }


def queue_resources(stage: str, spec: resources.QueueSpec) -> dict[str, Resource]:
    # Queues hold work in flight only (the applications table keeps the state): deleted with the stack.
    lifecycle = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    dead_letter_queue: Resource = {
        "Type": "AWS::SQS::Queue",
        **lifecycle,
        "Properties": {
            "QueueName": resources.resource_name(stage, spec.dlq_suffix),
            "MessageRetentionPeriod": spec.dlq_retention_seconds,
            "SqsManagedSseEnabled": True,
        },
    }
    queue: Resource = {
        "Type": "AWS::SQS::Queue",
        **lifecycle,
        "Properties": {
            "QueueName": resources.resource_name(stage, spec.suffix),
            "VisibilityTimeout": spec.visibility_timeout_seconds,
            "MessageRetentionPeriod": spec.retention_seconds,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [spec.dlq_logical_id, "Arn"]},
                "maxReceiveCount": spec.max_receive_count,
            },
        },
    }
    return {spec.dlq_logical_id: dead_letter_queue, spec.logical_id: queue}


def data_store_resources(stage: str, index_limit: int | None = None) -> dict[str, Resource]:
    out: dict[str, Resource] = {
        spec.logical_id: table_resource(stage, spec, index_limit) for spec in resources.TABLES
    }
    for spec in resources.QUEUES:
        out.update(queue_resources(stage, spec))
    for bucket in resources.BUCKETS:
        out.update(bucket_resources(stage, bucket))
    return out


# ---- Decision versions (issue 18): model artifacts and policy documents by sha256
# Refused over plain HTTP: every read, write and listing of the blobs and their versions.
TLS_ONLY_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketVersions",
)


def lifecycle_rule(days: int) -> dict[str, Any]:
    """Objects expire ``days`` after they were written; an upload left unfinished, after a day."""
    return {
        "Id": f"expire-after-{days}-days",
        "Status": "Enabled",
        "ExpirationInDays": days,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def cors_rule() -> dict[str, Any]:
    """The console's page PUTs a file to a presigned URL of the bucket (batch uploads, issue 19):
    only PUT, only the content-type header the browser adds, only from the console's origins."""
    from infra import console_hosting

    return {
        "Id": "put-from-console",
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["content-type"],
        "AllowedOrigins": console_hosting.console_origins(),
        "MaxAge": resources.BUCKET_CORS_MAX_AGE_SECONDS,
    }


def bucket_resources(stage: str, spec: resources.BucketSpec) -> dict[str, Resource]:
    """A private bucket: versioned (an overwritten or deleted blob can be recovered), SSE-S3 by
    default, every public access blocked, ACLs off (the bucket owner owns every object), TLS only."""
    prod = stage == "prod"
    # A registered version's blobs are evidence of what decided: kept in prod beyond the stack.
    policy = "Retain" if prod else "Delete"
    bucket: Resource = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {
            "BucketName": names.bucket_name(stage, spec),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "Tags": [{"Key": "purpose", "Value": names.tag_value(spec.purpose)}] if spec.purpose else [],
        },
    }
    if spec.versioned:
        bucket["Properties"]["VersioningConfiguration"] = {"Status": "Enabled"}
    if spec.expire_after_days is not None:
        # Batch results (issue 19): every object expires after the retention (the local stack's
        # bootstrap sets the same rule: devstack.bootstrap.lifecycle_rule).
        bucket["Properties"]["LifecycleConfiguration"] = {"Rules": [lifecycle_rule(spec.expire_after_days)]}
    if spec.cors_put_from_console:
        bucket["Properties"]["CorsConfiguration"] = {"CorsRules": [cors_rule()]}
    bucket_arn = {"Fn::GetAtt": [spec.logical_id, "Arn"]}
    tls_only: Resource = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": spec.logical_id},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        # Named actions (no wildcard anywhere in the templates: tests/infra).
                        "Action": list(TLS_ONLY_ACTIONS),
                        "Resource": [bucket_arn, {"Fn::Sub": f"${{{spec.logical_id}.Arn}}/*"}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    return {spec.logical_id: bucket, f"{spec.logical_id}Policy": tls_only}
