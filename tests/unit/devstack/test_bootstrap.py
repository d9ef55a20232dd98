"""devstack.bootstrap creates the stage's tables and queues exactly as resources.py defines them."""

from __future__ import annotations

import json

from chalicelib import resources
from devstack.bootstrap import create_tables_and_queues


def test_bootstrap_is_idempotent_and_matches_resources(aws):
    dynamodb, sqs = aws.aws_clients["dynamodb"], aws.aws_clients["sqs"]

    first = create_tables_and_queues("local", dynamodb, sqs)
    again = create_tables_and_queues("local", dynamodb, sqs)

    assert (
        again["tables"]
        == first["tables"]
        == [resources.resource_name("local", t.suffix) for t in resources.TABLES]
    )
    queue_url = again["queues"][resources.resource_name("local", resources.APPLICATIONS_QUEUE.suffix)]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == resources.APPLICATIONS_QUEUE.max_receive_count
    assert redrive["deadLetterTargetArn"].endswith(resources.APPLICATIONS_QUEUE.dlq_suffix)
    assert int(attributes["VisibilityTimeout"]) == resources.APPLICATIONS_QUEUE.visibility_timeout_seconds
    ttl = dynamodb.describe_time_to_live(
        TableName=resources.resource_name("local", resources.DECISION_CACHE_TABLE.suffix)
    )
    assert ttl["TimeToLiveDescription"]["AttributeName"] == resources.DECISION_CACHE_TABLE.ttl_attribute
