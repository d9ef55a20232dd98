"""Monitoring reports on AWS: the report's JSON in the reports bucket, its index item in the
monitoring-reports table (``kind`` + ``report_id``; the summary as compressed JSON in ``doc``, the
versions as a string set for the list's version filter)."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import config, resources
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.aws import (
    _conditional_write,
    _document,
    _error_code,
    _guarded,
    _read_document,
    _timed_check,
)
from chalicelib.dal.monitoring_reports import (
    REPORT_KIND,
    RUN_KIND,
    MonitoringStores,
    ReportSummary,
    RunRecord,
    RunStatus,
    part_key,
    report_key,
)
from chalicelib.dal.versions_aws import make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

KIND = resources.MONITORING_REPORTS_TABLE.partition_key
REPORT_ID = resources.MONITORING_REPORTS_TABLE.sort_key or "report_id"


class AWSReportStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str, bucket: str, region: str) -> None:
        self._ddb = dynamodb
        self._table = table
        self._bucket = bucket
        self._region = region

    @classmethod
    def from_environment(cls, dynamodb: DynamoDBClient, region: str) -> AWSReportStore:
        """The stage's reports table and bucket (``config.physical_name``)."""
        return cls(
            dynamodb,
            config.physical_name(resources.MONITORING_REPORTS_TABLE),
            config.physical_name(resources.MONITORING_REPORTS_BUCKET),
            region,
        )

    @functools.cached_property
    def _s3(self) -> S3Client:
        emulated = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
        return make_s3_client(self._region, path_style=emulated)

    def put_report(self, summary: ReportSummary, body: bytes) -> None:
        _guarded(
            "s3",
            lambda: self._s3.put_object(
                Bucket=self._bucket,
                Key=report_key(summary["report_id"]),
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="AES256",
            ),
        )
        item: dict[str, AttributeValueTypeDef] = {
            KIND: {"S": REPORT_KIND},
            REPORT_ID: {"S": summary["report_id"]},
            "doc": _document(summary),
        }
        if summary["versions"]:  # DynamoDB has no empty sets
            item["versions"] = {"SS": summary["versions"]}
        _guarded("dynamodb", lambda: self._ddb.put_item(TableName=self._table, Item=item))

    def _object(self, key: str) -> bytes | None:
        """The object's bytes, None when there is none; an outage is DependencyUnavailable."""
        try:
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            return body
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                return None
            raise DependencyUnavailable("s3", code) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("s3", type(error).__name__) from error

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        body = self._object(report_key(report_id))
        if body is None:
            return None
        report: dict[str, Any] = json.loads(body)
        return report

    def list_reports(self, low_id: str, high_id: str, version: str | None, limit: int) -> list[ReportSummary]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#k = :k AND #id BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#k": KIND, "#id": REPORT_ID},
            "ExpressionAttributeValues": {
                ":k": {"S": REPORT_KIND},
                ":low": {"S": low_id},
                ":high": {"S": high_id},
            },
            "ScanIndexForward": False,
        }
        if version is not None:
            query["FilterExpression"] = "contains(#v, :v)"
            query["ExpressionAttributeNames"]["#v"] = "versions"
            query["ExpressionAttributeValues"][":v"] = {"S": version}
        else:
            query["Limit"] = limit
        found: list[ReportSummary] = []
        paginator = self._ddb.get_paginator("query")
        pages = _guarded("dynamodb", lambda: iter(paginator.paginate(**query)))
        while len(found) < limit:
            page = _guarded("dynamodb", lambda: next(pages, None))
            if page is None:
                break
            found += [cast(ReportSummary, _read_document(item["doc"])) for item in page.get("Items", [])]
        return found[:limit]

    # -- fanned-out runs: the run item (kind "run") and the parts' objects ---------------------------
    def _run_key(self, report_id: str) -> dict[str, AttributeValueTypeDef]:
        return {KIND: {"S": RUN_KIND}, REPORT_ID: {"S": report_id}}

    def put_run(self, run: RunRecord) -> None:
        asked = {
            "created_at": run["created_at"],
            "window": run["window"],
            "trigger": run["trigger"],
            "requested_by": run["requested_by"],
        }
        item: dict[str, AttributeValueTypeDef] = {
            **self._run_key(run["report_id"]),
            "doc": _document(asked),
            "status": {"S": run["status"]},
            "parts_total": {"N": str(run["parts_total"])},
        }
        _guarded("dynamodb", lambda: self._ddb.put_item(TableName=self._table, Item=item))

    def get_run(self, report_id: str) -> RunRecord | None:
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._table, Key=self._run_key(report_id), ConsistentRead=True
            ),
        ).get("Item")
        return _run_record(item) if item else None

    def put_part(self, report_id: str, part_id: str, body: bytes) -> None:
        _guarded(
            "s3",
            lambda: self._s3.put_object(
                Bucket=self._bucket,
                Key=part_key(report_id, part_id),
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="AES256",
            ),
        )

    def get_part(self, report_id: str, part_id: str) -> bytes | None:
        return self._object(part_key(report_id, part_id))

    def record_part(self, report_id: str, part_id: str) -> RunRecord | None:
        try:
            response = self._ddb.update_item(
                TableName=self._table,
                Key=self._run_key(report_id),
                UpdateExpression="ADD parts_done :part",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":part": {"SS": [part_id]}, ":running": {"S": "RUNNING"}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return None
            raise DependencyUnavailable("dynamodb", _error_code(error)) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("dynamodb", type(error).__name__) from error
        return _run_record(response["Attributes"])

    def finish_run(self, report_id: str, status: RunStatus, error: str | None) -> bool:
        values: dict[str, AttributeValueTypeDef] = {":to": {"S": status}, ":running": {"S": "RUNNING"}}
        expression = "SET #status = :to"
        if error is not None:
            expression += ", #error = :error"
            values[":error"] = {"S": error}
        names = {"#status": "status"} | ({"#error": "error"} if error is not None else {})
        return _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._table,
                Key=self._run_key(report_id),
                UpdateExpression=expression,
                ConditionExpression="#status = :running",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"dynamodb:{self._table}",
                lambda: self._ddb.get_item(
                    TableName=self._table,
                    Key={KIND: {"S": REPORT_KIND}, REPORT_ID: {"S": "-"}},
                    ProjectionExpression=KIND,
                ),
            )
        ]


def _run_record(item: Mapping[str, Any]) -> RunRecord:
    asked = _read_document(item["doc"])
    stored = item["status"]["S"]
    status: RunStatus = (
        "COMPLETED" if stored == "COMPLETED" else "FAILED" if stored == "FAILED" else "RUNNING"
    )
    return {
        "report_id": item[REPORT_ID]["S"],
        "created_at": asked["created_at"],
        "window": asked["window"],
        "trigger": asked["trigger"],
        "requested_by": asked["requested_by"],
        "status": status,
        "parts_total": int(item["parts_total"]["N"]),
        "parts_done": sorted(item["parts_done"]["SS"]) if "parts_done" in item else [],
        "error": item["error"]["S"] if "error" in item else None,
    }


class EventBridgeAlerts:
    """``monitoring.alert`` events on the decision-events bus (PutEvents takes up to 10 entries)."""

    BATCH = 10

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish_alerts(self, details: list[dict[str, Any]]) -> int:
        failed = 0
        for start in range(0, len(details), self.BATCH):
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": resources.DECISION_EVENTS_BUS.source,
                    "DetailType": resources.MONITORING_ALERT,
                    "Detail": json.dumps(detail, separators=(",", ":"), allow_nan=False),
                    "EventBusName": self._bus,
                }
                for detail in details[start : start + self.BATCH]
            ]
            response = _guarded("events", functools.partial(self._events.put_events, Entries=entries))
            failed += int(response.get("FailedEntryCount", 0))
        return failed


def monitoring_stores(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    region: str,
    bus_name: str,
    sqs: SQSClient | None = None,
) -> MonitoringStores:
    from chalicelib.dal.batches_aws import SQSChunkQueue  # the batches' queue client, reused

    parts = None if sqs is None else SQSChunkQueue(sqs, config.queue_name(resources.MONITORING_PARTS_QUEUE))
    return MonitoringStores(
        AWSReportStore.from_environment(dynamodb, region), EventBridgeAlerts(events, bus_name), parts
    )
