"""The registry on AWS: records in the decision-versions DynamoDB table, blobs in the S3 bucket.

Each record is one item: ``kind`` + ``item_id`` (the key) and ``doc`` (the record as compressed JSON,
read back exactly as written). The routing item also carries ``revision`` as a number, which every
write of it is conditional on, and ``routed``: the content (:class:`VersionContent`: shas and
inline policy, a few KB each) of the versions it routes to, copied from their records when the
routing is written (records never change). So a cold start's one GetItem of the routing gives what
its champion decides with, without a second round trip for the champion's record. The S3 client is
made on first use: serving a decision with a version already loaded never needs S3, so cold starts
do not pay for it.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from chalicelib.config import Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.aws import _conditional_write, _document, _guarded, _read_document, _timed_check
from chalicelib.dal.versions import (
    Routing,
    RoutingChange,
    VersionContent,
    VersionRecord,
    empty_routing,
    routed_version_ids,
    version_content,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

KIND = resources.VERSIONS_TABLE.partition_key
ITEM_ID = resources.VERSIONS_TABLE.sort_key or "item_id"
VERSION, ROUTING, CHANGE, COUNTER = "version", "routing", "change", "counter"
ROUTING_ID = "current"


def make_s3_client(region: str, *, path_style: bool) -> S3Client:
    """The service's S3 client; path-style addressing where an emulator serves every bucket under
    one host (moto server, LocalStack: AWS_ENDPOINT_URL set), virtual-hosted on AWS."""
    from botocore.config import Config

    from chalicelib.dal.clients import _session, client_config

    config = client_config().merge(Config(s3={"addressing_style": "path" if path_style else "auto"}))
    return cast("S3Client", _session().create_client("s3", region_name=region, config=config))


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256}.json"


def _key(kind: str, item_id: str) -> dict[str, Any]:
    return {KIND: {"S": kind}, ITEM_ID: {"S": item_id}}


class AWSVersionStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str, bucket: str, region: str) -> None:
        self._ddb = dynamodb
        self._table = table
        self._bucket = bucket
        self._region = region
        # The ``routed`` contents of the routing document last read (replaced whole on each read).
        self._routed: dict[str, VersionContent] = {}

    @classmethod
    def for_settings(cls, dynamodb: DynamoDBClient, settings: Settings) -> AWSVersionStore:
        return cls(dynamodb, settings.versions_table, settings.versions_bucket, settings.region)

    @functools.cached_property
    def _s3(self) -> S3Client:
        emulated = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
        return make_s3_client(self._region, path_style=emulated)

    def _get_item(self, kind: str, item_id: str) -> dict[str, Any] | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(TableName=self._table, Key=_key(kind, item_id), ConsistentRead=True),
        )
        return response.get("Item")

    def _get(self, kind: str, item_id: str) -> Any:
        item = self._get_item(kind, item_id)
        return None if item is None else _read_document(item["doc"])

    def _documents(self, kind: str, state: str | None = None) -> list[Any]:
        """The documents of every item of ``kind`` (one paginated Query), of that ``state`` if given."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": KIND},
            "ExpressionAttributeValues": {":k": {"S": kind}},
        }
        if state is not None:
            query["FilterExpression"] = "#s = :state"
            query["ExpressionAttributeNames"]["#s"] = "state"
            query["ExpressionAttributeValues"][":state"] = {"S": state}
        paginator = self._ddb.get_paginator("query")
        pages = _guarded("dynamodb", lambda: list(paginator.paginate(**query)))
        return [_read_document(item["doc"]) for page in pages for item in page.get("Items", [])]

    def get_routing(self) -> Routing:
        item = self._get_item(ROUTING, ROUTING_ID)
        if item is None:
            self._routed = {}
            return empty_routing()
        # A routing written before it carried ``routed``: each version is read from its record.
        self._routed = _read_document(item["routed"]) if "routed" in item else {}
        routing: Routing = _read_document(item["doc"])
        return routing

    def put_routing(self, routing: Routing, expected_revision: int) -> bool:
        if routing["revision"] != expected_revision + 1:
            raise ValueError("the new routing's revision must follow the expected one")
        routed = {
            version_id: version_content(record)
            for version_id in routed_version_ids(routing)
            if (record := self.get_version(version_id)) is not None
        }
        item = {
            **_key(ROUTING, ROUTING_ID),
            "revision": {"N": str(routing["revision"])},
            "doc": _document(routing),
            "routed": _document(routed),
        }
        if expected_revision == 0:
            return _conditional_write(
                lambda: self._ddb.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": KIND},
                )
            )
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="#r = :expected",
                ExpressionAttributeNames={"#r": "revision"},
                ExpressionAttributeValues={":expected": {"N": str(expected_revision)}},
            )
        )

    def get_version(self, version_id: str) -> VersionRecord | None:
        record: VersionRecord | None = self._get(VERSION, version_id)
        return record

    def get_content(self, version_id: str) -> VersionContent | None:
        routed = self._routed.get(version_id)
        if routed is not None:
            return routed
        record = self.get_version(version_id)
        return None if record is None else version_content(record)

    def list_versions(self) -> list[VersionRecord]:
        records: list[VersionRecord] = self._documents(VERSION)
        return sorted(records, key=lambda record: int(record["version_id"].lstrip("v")))

    def next_version_id(self) -> str:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.update_item(
                TableName=self._table,
                Key=_key(COUNTER, VERSION),
                UpdateExpression="ADD #n :one",
                ExpressionAttributeNames={"#n": "last"},
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            ),
        )
        # v1 is the packaged version: registered versions start at v2.
        return f"v{int(response['Attributes']['last']['N']) + 1}"

    def put_version(self, record: VersionRecord) -> bool:
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._table,
                Item={**_key(VERSION, record["version_id"]), "doc": _document(record)},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": KIND},
            )
        )

    def put_blob(self, sha256: str, body: bytes) -> None:
        _guarded(
            "s3",
            lambda: self._s3.put_object(
                Bucket=self._bucket,
                Key=blob_key(sha256),
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="AES256",
            ),
        )

    def get_blob(self, sha256: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=blob_key(sha256))
            return response["Body"].read()
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404"):
                return None
            raise DependencyUnavailable("s3", str(error.response.get("Error", {}).get("Code"))) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error

    def put_change(self, change: RoutingChange) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._table,
                Item={
                    **_key(CHANGE, change["change_id"]),
                    "state": {"S": change["state"]},
                    "doc": _document(change),
                },
            ),
        )

    def get_change(self, change_id: str) -> RoutingChange | None:
        change: RoutingChange | None = self._get(CHANGE, change_id)
        return change

    def proposed_changes(self) -> list[RoutingChange]:
        changes: list[RoutingChange] = self._documents(CHANGE, state="proposed")
        return sorted(changes, key=lambda change: change["proposed_at"])

    def mark_change(self, change: RoutingChange) -> bool:
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._table,
                Item={
                    **_key(CHANGE, change["change_id"]),
                    "state": {"S": change["state"]},
                    "doc": _document(change),
                },
                ConditionExpression="#s = :proposed",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":proposed": {"S": "proposed"}},
            )
        )

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"dynamodb:{self._table}",
                lambda: self._ddb.get_item(
                    TableName=self._table, Key=_key(ROUTING, ROUTING_ID), ProjectionExpression=KIND
                ),
            )
        ]
