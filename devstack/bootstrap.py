"""Create the stage's tables and queues from ``chalicelib/resources.py`` (local stack and tests).

The one function here is shared by the unit tests (moto in-process), ``devstack`` (moto server)
and the LocalStack init hook, so every local copy of the resources has exactly the shape the
CloudFormation template declares. Idempotent: existing tables/queues are left as they are.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import resources


def table_definition(name: str, spec: resources.TableSpec) -> dict[str, Any]:
    """CreateTable's arguments: the key, every index's keys, on-demand billing."""
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in spec.key_attributes
        ],
        "KeySchema": spec.key_schema(),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        definition["GlobalSecondaryIndexes"] = [index.definition() for index in spec.indexes]
    return definition


def create_tables(stage: str, dynamodb_client: Any) -> list[str]:
    names = []
    for spec in resources.TABLES:
        name = resources.resource_name(stage, spec.suffix)
        try:
            dynamodb_client.create_table(**table_definition(name, spec))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        dynamodb_client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        if spec.ttl_attribute:
            _enable_ttl(dynamodb_client, name, spec.ttl_attribute)
        names.append(name)
    return names


def _enable_ttl(dynamodb_client: Any, table: str, attribute: str) -> None:
    current = dynamodb_client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb_client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def create_queues(stage: str, sqs_client: Any) -> dict[str, str]:
    """Create each queue and its dead-letter queue; returns {queue name: queue URL}."""
    urls: dict[str, str] = {}
    for spec in resources.QUEUES:
        dlq_name = resources.resource_name(stage, spec.dlq_suffix)
        dlq_url = sqs_client.create_queue(
            QueueName=dlq_name,
            Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_seconds)},
        )["QueueUrl"]
        dlq_arn = sqs_client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        name = resources.resource_name(stage, spec.suffix)
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
        url = sqs_client.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(spec.retention_seconds),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        urls[dlq_name] = dlq_url
        urls[name] = url
    return urls


def create_event_bus(stage: str, events_client: Any, sqs_client: Any) -> dict[str, str]:
    """The decision-events bus, and a rule delivering its events to a local SQS queue (what the
    lender's webhook gets in AWS), so tests and people can read the events. Returns the names."""
    spec = resources.DECISION_EVENTS_BUS
    bus = resources.resource_name(stage, spec.suffix)
    try:
        events_client.create_event_bus(Name=bus)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    queue_name = resources.resource_name(stage, spec.local_queue_suffix)
    queue_url = sqs_client.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    rule = f"{bus}-to-local-queue"
    events_client.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [spec.source]}), State="ENABLED"
    )
    events_client.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "local-queue", "Arn": queue_arn}])
    return {"bus": bus, "queue": queue_name, "queue_url": queue_url, "rule": rule}


def s3_client_beside(dynamodb_client: Any) -> Any:
    """An S3 client on the same endpoint, region and (fake) credentials as ``dynamodb_client``:
    the callers hand in clients for their endpoint and keep their own environment untouched.
    Path-style: the emulators serve every bucket under one host, not as sub-domains."""
    import boto3
    from botocore.config import Config

    endpoint = dynamodb_client.meta.endpoint_url
    # botocore keeps a client's credentials on its request signer (no public accessor).
    credentials = dynamodb_client._request_signer._credentials.get_frozen_credentials()
    return boto3.client(
        "s3",
        region_name=dynamodb_client.meta.region_name,
        # moto in-process intercepts AWS's own host names: only an emulator's endpoint is passed on.
        endpoint_url=None if endpoint.endswith(".amazonaws.com") else endpoint,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        config=Config(s3={"addressing_style": "path"}),
    )


def lifecycle_rule(days: int) -> dict[str, Any]:
    """Every object expires ``days`` after it was written (and unfinished uploads after a day)."""
    return {
        "ID": f"expire-after-{days}-days",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "Expiration": {"Days": days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def create_buckets(stage: str, s3_client: Any) -> list[str]:
    """The decision-versions bucket (versioned) and the batches bucket (a lifecycle rule expiring its
    objects): SSE-S3 by default, public access blocked (the template's settings, so local code meets
    the same buckets)."""
    names = []
    for spec in resources.BUCKETS:
        name = resources.resource_name(stage, spec.suffix)
        try:
            if s3_client.meta.region_name == "us-east-1":
                s3_client.create_bucket(Bucket=name)
            else:
                s3_client.create_bucket(
                    Bucket=name, CreateBucketConfiguration={"LocationConstraint": s3_client.meta.region_name}
                )
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if spec.versioned:
            s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if spec.expire_after_days is not None:  # batch results (issue 19): the template's rule
            s3_client.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [lifecycle_rule(spec.expire_after_days)]}
            )
        s3_client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3_client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        names.append(name)
    return names


def create_webhook_key(stage: str, kms_client: Any) -> str:
    """The KMS key the webhooks' signing secrets are encrypted under, by its alias (what the template
    creates as WebhookSecretsKey); returns the alias. Idempotent."""
    alias = "alias/" + resources.resource_name(stage, resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX)
    aliases = kms_client.list_aliases()["Aliases"]
    if not any(entry["AliasName"] == alias for entry in aliases):
        key_id = kms_client.create_key(Description=f"{resources.SERVICE} {stage} webhook signing secrets")[
            "KeyMetadata"
        ]["KeyId"]
        kms_client.create_alias(AliasName=alias, TargetKeyId=key_id)
    return alias


def create_tables_and_queues(
    stage: str,
    dynamodb_client: Any,
    sqs_client: Any,
    events_client: Any | None = None,
    cognito_client: Any | None = None,
    s3_client: Any | None = None,
    kms_client: Any | None = None,
) -> dict[str, Any]:
    """Everything the service needs for ``stage``; safe to call again on an existing stack.
    ``cognito_client``: also the staff user pool and demo staff (``devstack.cognito``), returned
    under "staff_pool" (a ``StaffPool``)."""
    created: dict[str, Any] = {
        "tables": create_tables(stage, dynamodb_client),
        "queues": create_queues(stage, sqs_client),
        "buckets": create_buckets(stage, s3_client or s3_client_beside(dynamodb_client)),
    }
    if events_client is not None:
        created["events"] = create_event_bus(stage, events_client, sqs_client)
    if kms_client is not None:
        created["webhook_secrets_key"] = create_webhook_key(stage, kms_client)
    if cognito_client is not None:
        from devstack.cognito import create_staff_pool  # only a caller with Cognito needs it

        created["staff_pool"] = create_staff_pool(stage, cognito_client)
    return created
