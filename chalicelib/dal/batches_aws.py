"""Batches on AWS: the batches table (DynamoDB), the batches bucket (S3), the chunk queue (SQS)
and ``batch.completed`` on the decision-events bus (EventBridge). See ``chalicelib.dal.batches``.

The batch item keeps plain attributes (not one document) so that progress is one atomic
UpdateItem: ``ADD chunks_done :index_set, rows_read :n, ...`` on the condition that the index is in
neither set (``NOT contains(...)``): a redelivered chunk fails the condition and counts nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.aws import _conditional_write, _error_code, _guarded, _timed_check
from chalicelib.dal.batches import BatchRecord, BatchStatus, UploadedPart, UploadRefused
from chalicelib.records import PageKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

TABLE = resources.BATCHES_TABLE
INDEX = resources.BATCHES_BY_OWNER
SQS_MAX_BATCH = 10
# CompleteMultipartUpload's refusals that are the client's to fix (re-upload a part, send its ETag).
UPLOAD_REFUSALS = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML")
_STRINGS = (
    "batch_id",
    "owner",
    "status",
    "format",
    "kind",
    "created_at",
    "started_at",
    "completed_at",
    "error",
    "upload_id",
)
_NUMBERS = (
    "expires_at",
    "input_bytes",
    "chunks_total",
    "rows_total",
    "rows_read",
    "rows_scored",
    "rows_invalid",
    "upload_parts",
    "upload_part_bytes",
)


def _item(record: BatchRecord) -> dict[str, Any]:
    item: dict[str, Any] = {}
    values: Mapping[str, Any] = cast("Mapping[str, Any]", record)
    for name in _STRINGS:
        if name in values:
            item[name] = {"S": str(values[name])}
    for name in _NUMBERS:
        if name in values:
            item[name] = {"N": str(int(values[name]))}
    item["versions"] = {"L": [{"S": version} for version in record["versions"]]}
    item["counteroffers"] = {"BOOL": record["counteroffers"]}
    if "columns" in record:
        item["columns"] = {"L": [{"S": column} for column in record["columns"]]}
    for name in ("chunks_done", "chunks_failed"):
        if values.get(name):
            item[name] = {"NS": [str(index) for index in values[name]]}
    item["errors"] = {"L": [{"S": error} for error in record["errors"]]}
    return item


def _record(item: Mapping[str, Any]) -> BatchRecord:
    record: dict[str, Any] = {}
    for name in _STRINGS:
        if name in item:
            record[name] = item[name]["S"]
    for name in _NUMBERS:
        if name in item:
            record[name] = int(item[name]["N"])
    record["versions"] = [value["S"] for value in item.get("versions", {}).get("L", [])]
    record["counteroffers"] = bool(item.get("counteroffers", {}).get("BOOL", False))
    if "columns" in item:
        record["columns"] = [value["S"] for value in item["columns"]["L"]]
    for name in ("chunks_done", "chunks_failed"):
        record[name] = sorted(int(value) for value in item.get(name, {}).get("NS", []))
    for name in ("rows_read", "rows_scored", "rows_invalid"):
        record.setdefault(name, 0)
    record["errors"] = [value["S"] for value in item.get("errors", {}).get("L", [])]
    return cast("BatchRecord", record)


class DynamoDBBatchStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _key(self, batch_id: str) -> dict[str, Any]:
        return {TABLE.partition_key: {"S": batch_id}}

    def create(self, record: BatchRecord) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._table,
                Item=_item(record),
                ConditionExpression="attribute_not_exists(batch_id)",
            ),
        )

    def get(self, batch_id: str) -> BatchRecord | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(TableName=self._table, Key=self._key(batch_id), ConsistentRead=True),
        )
        item = response.get("Item")
        return None if item is None else _record(item)

    def owned(
        self, owner: str, limit: int, after: PageKey | None
    ) -> tuple[list[BatchRecord], PageKey | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX.name,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": INDEX.partition_key},
            "ExpressionAttributeValues": {":owner": {"S": owner}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {name: {"S": value} for name, value in after.items()}
        response = _guarded("dynamodb", lambda: self._ddb.query(**request))
        last = response.get("LastEvaluatedKey")
        page_key = None if not last else {name: value["S"] for name, value in last.items()}
        return [_record(item) for item in response.get("Items", [])], page_key

    def _update(self, batch_id: str, **request: Any) -> bool:
        return _conditional_write(
            lambda: self._ddb.update_item(TableName=self._table, Key=self._key(batch_id), **request)
        )

    def claim_start(
        self, batch_id: str, started_at: str, input_bytes: int, columns: list[str] | None
    ) -> bool:
        values: dict[str, Any] = {
            ":pending": {"S": "PENDING"},
            ":running": {"S": "RUNNING"},
            ":at": {"S": started_at},
            ":bytes": {"N": str(input_bytes)},
        }
        expression = "SET #status = :running, started_at = :at, input_bytes = :bytes"
        if columns is not None:
            expression += ", #columns = :columns"
            values[":columns"] = {"L": [{"S": column} for column in columns]}
        names = {"#status": "status"} | ({"#columns": "columns"} if columns is not None else {})
        return self._update(
            batch_id,
            UpdateExpression=expression,
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def fail(self, batch_id: str, error: str, at: str) -> bool:
        return self._update(
            batch_id,
            UpdateExpression="SET #status = :failed, #error = :error, completed_at = :at",
            ConditionExpression="#status IN (:pending, :running)",
            ExpressionAttributeNames={"#status": "status", "#error": "error"},
            ExpressionAttributeValues={
                ":failed": {"S": "FAILED"},
                ":error": {"S": error},
                ":at": {"S": at},
                ":pending": {"S": "PENDING"},
                ":running": {"S": "RUNNING"},
            },
        )

    def set_plan(self, batch_id: str, chunks_total: int, rows_total: int) -> bool:
        return self._update(
            batch_id,
            UpdateExpression="SET chunks_total = :chunks, rows_total = :rows",
            ConditionExpression="attribute_exists(batch_id) AND attribute_not_exists(chunks_total)",
            ExpressionAttributeValues={":chunks": {"N": str(chunks_total)}, ":rows": {"N": str(rows_total)}},
        )

    def _count(self, batch_id: str, request: dict[str, Any]) -> BatchRecord | None:
        try:
            response = self._ddb.update_item(
                TableName=self._table, Key=self._key(batch_id), ReturnValues="ALL_NEW", **request
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return None
            raise DependencyUnavailable("dynamodb", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("dynamodb", type(error).__name__) from error
        return _record(response["Attributes"])

    def record_chunk(
        self, batch_id: str, index: int, rows_read: int, rows_scored: int, rows_invalid: int
    ) -> BatchRecord | None:
        return self._count(
            batch_id,
            {
                "UpdateExpression": "ADD chunks_done :index, rows_read :read, rows_scored :scored, "
                "rows_invalid :invalid",
                "ConditionExpression": "attribute_exists(batch_id) AND NOT contains(chunks_done, :i) "
                "AND NOT contains(chunks_failed, :i)",
                "ExpressionAttributeValues": {
                    ":index": {"NS": [str(index)]},
                    ":i": {"N": str(index)},
                    ":read": {"N": str(rows_read)},
                    ":scored": {"N": str(rows_scored)},
                    ":invalid": {"N": str(rows_invalid)},
                },
            },
        )

    def record_failed_chunk(self, batch_id: str, index: int, error: str) -> BatchRecord | None:
        return self._count(
            batch_id,
            {
                "UpdateExpression": "ADD chunks_failed :index "
                "SET #errors = list_append(if_not_exists(#errors, :none), :error)",
                "ConditionExpression": "attribute_exists(batch_id) AND NOT contains(chunks_done, :i) "
                "AND NOT contains(chunks_failed, :i)",
                "ExpressionAttributeNames": {"#errors": "errors"},
                "ExpressionAttributeValues": {
                    ":index": {"NS": [str(index)]},
                    ":i": {"N": str(index)},
                    ":none": {"L": []},
                    ":error": {"L": [{"S": error}]},
                },
            },
        )

    def complete(self, batch_id: str, status: BatchStatus, completed_at: str) -> bool:
        return self._update(
            batch_id,
            UpdateExpression="SET #status = :done, completed_at = :at",
            ConditionExpression="#status = :running",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":done": {"S": status},
                ":at": {"S": completed_at},
                ":running": {"S": "RUNNING"},
            },
        )

    def check(self) -> list[DependencyCheck]:
        key = {TABLE.partition_key: {"S": "readiness-probe"}}
        return [
            _timed_check(
                f"dynamodb:{self._table}",
                lambda: self._ddb.get_item(TableName=self._table, Key=key, ProjectionExpression="batch_id"),
            )
        ]


def regional_s3_client(region: str) -> S3Client:
    """In AWS: SigV4 presigned URLs on the bucket's regional virtual-hosted host
    (``https://<bucket>.s3.<region>.amazonaws.com``). botocore's default presigns SigV2 on the global
    host ``<bucket>.s3.amazonaws.com`` in older regions: S3 refuses SigV2 on buckets made since 2020,
    the global host redirects (a browser's CORS preflight cannot follow that) for a new bucket outside
    us-east-1, and the console's CSP names the regional origin (``console_config.s3_bucket_origin``)."""
    from botocore.config import Config

    from chalicelib.dal.clients import _session, client_config

    regional = Config(
        signature_version="s3v4",
        s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
    )
    return cast(
        "S3Client", _session().create_client("s3", region_name=region, config=client_config().merge(regional))
    )


class S3BatchObjects:
    """The batches bucket. The client is made on first use (the API's batch routes only)."""

    BLOCK_BYTES = 1024 * 1024

    def __init__(self, bucket: str, region: str, s3: S3Client | None = None) -> None:
        self._bucket = bucket
        self._region = region
        self._given = s3

    @functools.cached_property
    def _s3(self) -> S3Client:
        if self._given is not None:
            return self._given
        import os

        from chalicelib.dal.versions_aws import make_s3_client

        if os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"):
            return make_s3_client(self._region, path_style=True)
        return regional_s3_client(self._region)

    def upload_url(self, key: str, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )

    def download_url(self, key: str, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )

    def size(self, key: str) -> int | None:
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise DependencyUnavailable("s3", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error
        return int(response["ContentLength"])

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if end is not None and end <= start:
            return b""
        byte_range = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key, Range=byte_range)
        except ClientError as error:
            # S3 answers 416 InvalidRange when ``start`` is at or past the end (e.g. any range of an
            # empty object): there are no such bytes, as a slice past the end is empty; not an outage.
            if _error_code(error) == "InvalidRange":
                return b""
            raise DependencyUnavailable("s3", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error
        return _guarded("s3", response["Body"].read)

    def stream(self, key: str) -> Iterator[bytes]:
        response = _guarded("s3", lambda: self._s3.get_object(Bucket=self._bucket, Key=key))
        body = response["Body"]
        try:
            yield from body.iter_chunks(self.BLOCK_BYTES)
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error

    def put(self, key: str, body: bytes, content_type: str) -> None:
        _guarded(
            "s3",
            lambda: self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type),
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
            return response["Body"].read()
        except ClientError as error:
            if _error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise DependencyUnavailable("s3", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error

    def start_upload(self, key: str) -> str:
        response = _guarded("s3", lambda: self._s3.create_multipart_upload(Bucket=self._bucket, Key=key))
        return response["UploadId"]

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self._bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
            ExpiresIn=expires_in,
        )

    def uploaded_parts(self, key: str, upload_id: str) -> dict[int, UploadedPart] | None:
        try:
            response = self._s3.list_parts(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if _error_code(error) == "NoSuchUpload":
                return None
            raise DependencyUnavailable("s3", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error
        return {
            part["PartNumber"]: {
                "part_number": part["PartNumber"],
                "etag": part["ETag"],
                "size": part["Size"],
            }
            for part in response.get("Parts", [])
        }

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> bool:
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": part["part_number"], "ETag": part["etag"]} for part in parts]
                },
            )
        except ClientError as error:
            code = _error_code(error)
            if code == "NoSuchUpload":
                return False
            if code in UPLOAD_REFUSALS:
                raise UploadRefused(code) from error
            raise DependencyUnavailable("s3", code) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error
        return True

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if _error_code(error) != "NoSuchUpload":
                raise DependencyUnavailable("s3", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error


class SQSChunkQueue:
    def __init__(self, sqs: SQSClient, queue_name: str) -> None:
        self._sqs = sqs
        self._name = queue_name

    @functools.cached_property
    def _url(self) -> str:
        return _guarded("sqs", lambda: self._sqs.get_queue_url(QueueName=self._name))["QueueUrl"]

    def send_all(self, messages: list[dict[str, object]]) -> None:
        for start in range(0, len(messages), SQS_MAX_BATCH):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(number), "MessageBody": json.dumps(message, separators=(",", ":"))}
                for number, message in enumerate(messages[start : start + SQS_MAX_BATCH])
            ]
            send = functools.partial(self._sqs.send_message_batch, QueueUrl=self._url, Entries=entries)
            response = _guarded("sqs", send)
            if response.get("Failed"):
                raise DependencyUnavailable("sqs", str(response["Failed"][0].get("Code", "SendFailed")))

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"sqs:{self._name}",
                lambda: self._sqs.get_queue_attributes(
                    QueueUrl=self._url, AttributeNames=["ApproximateNumberOfMessages"]
                ),
            )
        ]


class EventBridgeBatchEvents:
    def __init__(self, events: EventBridgeClient, bus: str) -> None:
        self._events = events
        self._bus = bus

    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None:
        _guarded(
            "events",
            lambda: self._events.put_events(
                Entries=[
                    {
                        "Source": resources.DECISION_EVENTS_BUS.source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(dict(detail), separators=(",", ":")),
                        "EventBusName": self._bus,
                    }
                ]
            ),
        )
