"""DynamoDB tables and SQS queues in the packaged templates, against chalicelib/resources.py."""

from __future__ import annotations

import re

import pytest
from infra_template_support import Template

from chalicelib import resources


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("spec", resources.TABLES, ids=lambda spec: spec.logical_id)
def test_table(templates: dict[str, Template], stage: str, spec: resources.TableSpec) -> None:
    table = templates[stage]["Resources"][spec.logical_id]
    properties = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["TableName"] == resources.resource_name(stage, spec.suffix)
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": spec.partition_key, "KeyType": "HASH"}] + (
        [{"AttributeName": spec.sort_key, "KeyType": "RANGE"}] if spec.sort_key else []
    )
    # Every key attribute (table and indexes) declared once, as a string; nothing else.
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": name, "AttributeType": "S"} for name in spec.key_attributes
    ]
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if spec.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    prod = stage == "prod"
    assert properties["DeletionProtectionEnabled"] is prod
    assert table["DeletionPolicy"] == ("Retain" if prod else "Delete")


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_table_is_in_the_template(templates: dict[str, Template], stage: str) -> None:
    tables = {
        r["Properties"]["TableName"]
        for r in templates[stage]["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert tables == {resources.resource_name(stage, spec.suffix) for spec in resources.TABLES}


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_queue_and_dead_letter_queue(templates: dict[str, Template], stage: str) -> None:
    spec = resources.APPLICATIONS_QUEUE
    queue = templates[stage]["Resources"][spec.logical_id]["Properties"]
    dlq = templates[stage]["Resources"][spec.dlq_logical_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [spec.dlq_logical_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert spec.max_receive_count == 5
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["MessageRetentionPeriod"] == spec.retention_seconds
    assert dlq["MessageRetentionPeriod"] == spec.dlq_retention_seconds == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("spec", resources.TABLES, ids=lambda spec: spec.logical_id)
def test_global_secondary_indexes(
    templates: dict[str, Template], stage: str, spec: resources.TableSpec
) -> None:
    """The GSIs in the template, read back, are the ones resources.py defines (the lists' Queries)."""
    properties = templates[stage]["Resources"][spec.logical_id]["Properties"]
    declared = {
        index["IndexName"]: (
            [(key["AttributeName"], key["KeyType"]) for key in index["KeySchema"]],
            index["Projection"],
            "ProvisionedThroughput" in index,
        )
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    expected = {
        index.name: (
            [(index.partition_key, "HASH"), (index.sort_key, "RANGE")],
            # The list indexes carry the list's summary; the reconciler's carries everything.
            {"ProjectionType": "ALL"}
            if index.projected is None
            else {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index.projected)},
            False,
        )
        for index in spec.indexes
    }
    assert declared == expected


def test_the_list_indexes_are_there() -> None:
    # The tables whose lists the API serves have their indexes (a spec edit that dropped one fails).
    assert {i.name for i in resources.DECISIONS_TABLE.indexes} == {"by-client", "by-client-outcome", "by-day"}
    assert {i.name for i in resources.APPLICATIONS_TABLE.indexes} == {
        "by-client",
        "by-client-status",
        "pending",
    }
    assert resources.APPLICATIONS_TABLE.key_attributes == (
        "application_id", "client_id", "submitted_at", "client_status", "pending"
    )  # fmt: skip


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize(
    "spec", (resources.DECISIONS_TABLE, resources.APPLICATIONS_TABLE), ids=lambda s: s.logical_id
)
def test_records_expire_by_ttl(templates: dict[str, Template], stage: str, spec: resources.TableSpec) -> None:
    # The retention (RECORD_RETENTION_DAYS) is enforced by TTL on this attribute; the code sets it.
    properties = templates[stage]["Resources"][spec.logical_id]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_index_limit_adds_indexes_one_per_deploy(limit: int) -> None:
    """CloudFormation adds at most one GSI per table and update: ``--index-limit N`` declares the
    first N, with exactly the attribute definitions those N use."""
    from infra import data_stores

    for spec in (resources.DECISIONS_TABLE, resources.APPLICATIONS_TABLE):
        properties = data_stores.table_resource("prod", spec, index_limit=limit)["Properties"]
        indexes = [index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])]
        assert indexes == [index.name for index in spec.indexes[:limit]]
        used = (
            {spec.partition_key}
            | ({spec.sort_key} if spec.sort_key else set())
            | {
                key["AttributeName"]
                for index in properties.get("GlobalSecondaryIndexes", [])
                for key in index["KeySchema"]
            }
        )
        assert {d["AttributeName"] for d in properties["AttributeDefinitions"]} == used
    full = data_stores.table_resource("prod", resources.APPLICATIONS_TABLE)["Properties"]
    assert len(full["GlobalSecondaryIndexes"]) == len(resources.APPLICATIONS_TABLE.indexes)


def test_the_review_desk_tables_are_there() -> None:
    # The review desk's tables as issue 10 needs them (a spec edit that dropped a key or the index fails).
    reviews, audit = resources.REVIEWS_TABLE, resources.AUDIT_TABLE
    assert (reviews.partition_key, reviews.sort_key, reviews.ttl_attribute) == (
        "review_id",
        None,
        "expires_at",
    )
    (by_status_due,) = reviews.indexes
    assert (by_status_due.name, by_status_due.partition_key, by_status_due.sort_key) == (
        "by-status-due", "status", "due_at"
    )  # fmt: skip
    assert by_status_due.projected is None  # the queue lists whole cases from the index
    assert (audit.partition_key, audit.sort_key, audit.ttl_attribute) == ("subject_id", "seq", "expires_at")
    assert audit.indexes == ()


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_audit_trail_is_keyed_by_subject_and_sequence(templates: dict[str, Template], stage: str) -> None:
    """Read back from the packaged template: one subject's entries are one partition, ordered by the
    sequence number (a Query returns the chain in order), and both keys are declared attributes."""
    properties = templates[stage]["Resources"][resources.AUDIT_TABLE.logical_id]["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "subject_id", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert {d["AttributeName"] for d in properties["AttributeDefinitions"]} == {"subject_id", "seq"}
    reviews = templates[stage]["Resources"][resources.REVIEWS_TABLE.logical_id]["Properties"]
    (index,) = reviews["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-status-due" and index["Projection"] == {"ProjectionType": "ALL"}


def test_a_sort_key_survives_the_index_limit() -> None:
    """--index-limit 0 drops indexes, never the table's own sort key."""
    from infra import data_stores

    properties = data_stores.table_resource("prod", resources.AUDIT_TABLE, index_limit=0)["Properties"]
    assert [key["KeyType"] for key in properties["KeySchema"]] == ["HASH", "RANGE"]
    limited = data_stores.table_resource("prod", resources.REVIEWS_TABLE, index_limit=0)["Properties"]
    assert limited["AttributeDefinitions"] == [{"AttributeName": "review_id", "AttributeType": "S"}]


# What S3 and DynamoDB accept in a tag value (their tagging pages): letters, digits, white space and
# _ . : / = + - @, at most 256 characters. LocalStack's S3 refuses anything else as real S3 does.
ALLOWED_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_tag_value_is_one_s3_and_dynamodb_accept(templates: dict[str, Template], stage: str) -> None:
    tagged = {
        logical_id: resource["Properties"]["Tags"]
        for logical_id, resource in templates[stage]["Resources"].items()
        if resource["Type"] in ("AWS::S3::Bucket", "AWS::DynamoDB::Table")
        and resource["Properties"].get("Tags")
    }
    assert {"BatchesBucket", "MonitoringReportsBucket", "FraudCountersTable"} <= tagged.keys()
    refused = {
        logical_id: tag["Value"]
        for logical_id, tags in tagged.items()
        for tag in tags
        if isinstance(tag["Value"], str) and not ALLOWED_TAG_VALUE.match(tag["Value"])
    }
    assert refused == {}
