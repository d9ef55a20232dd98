"""The routing item carries the content of the versions it routes to (moto in-process): a process's
first read of the routing gives what its champion, challenger and shadows decide with, without a
GetItem of each version's record; a routing stored before it carried them still resolves."""

from __future__ import annotations

from typing import Any

from chalicelib.dal import versions_aws
from chalicelib.dal.versions import PACKAGED_VERSION_ID, version_content
from tests.support.versions import policy_with_bands, register, route


def _store(aws: Any) -> versions_aws.AWSVersionStore:
    return versions_aws.AWSVersionStore.for_settings(aws.aws_clients["dynamodb"], aws.settings)


def _get_items(aws: Any) -> list[str]:
    calls: list[str] = []
    aws.aws_clients["dynamodb"].meta.events.register(
        "provide-client-params.dynamodb.GetItem",
        lambda params, **_: calls.append(params["Key"][versions_aws.ITEM_ID]["S"]),
    )
    return calls


def test_the_routing_item_carries_its_versions_content(aws: Any) -> None:
    writer = _store(aws)
    writer._s3.create_bucket(Bucket=aws.settings.versions_bucket)
    champion, challenger, shadow, unrouted = (
        register(writer, policy_with_bands(0.7, 0.5, f"1.{n}"), label=f"v{n}") for n in range(4)
    )
    route(writer, champion, {"version_id": challenger, "share": 10}, shadows=[shadow, PACKAGED_VERSION_ID])

    reader = _store(aws)  # another process
    reads = _get_items(aws)
    assert reader.get_routing()["champion"] == champion
    for version_id in (champion, challenger, shadow):
        record = writer.get_version(version_id)
        assert record is not None and "policy_document" in record
        reads.clear()
        assert reader.get_content(version_id) == version_content(record)
        assert reads == []  # answered from the routing read
    unrouted_record = writer.get_version(unrouted)
    assert unrouted_record is not None
    reads.clear()
    assert reader.get_content(unrouted) == version_content(unrouted_record)
    assert reads == [unrouted]  # not routed: its own record


def test_a_routing_stored_before_it_carried_contents_reads_each_version(aws: Any) -> None:
    writer = _store(aws)
    writer._s3.create_bucket(Bucket=aws.settings.versions_bucket)
    champion = register(writer, policy_with_bands(0.7, 0.5, "1.9"))
    route(writer, champion)
    dynamodb = aws.aws_clients["dynamodb"]
    dynamodb.update_item(
        TableName=aws.settings.versions_table,
        Key={
            versions_aws.KIND: {"S": versions_aws.ROUTING},
            versions_aws.ITEM_ID: {"S": versions_aws.ROUTING_ID},
        },
        UpdateExpression="REMOVE routed",
    )

    reader = _store(aws)
    assert reader.get_routing()["champion"] == champion
    reads = _get_items(aws)
    content = reader.get_content(champion)
    assert (
        content is not None
        and content["policy_sha256"] == (writer.get_version(champion) or {})["policy_sha256"]
    )
    assert reads[0] == champion
