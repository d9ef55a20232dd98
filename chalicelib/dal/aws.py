"""DynamoDB and SQS implementations of the DAL interfaces (low-level boto3 clients).

Nested values (the decision, the masked applicant) are stored as JSON strings: no float/Decimal
conversion on the hot path, and the records are read back exactly as they were written.
Every botocore failure becomes ``DependencyUnavailable`` so callers can answer 503 / bypass the
cache without knowing boto3.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import get_settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable, JsonDict, clients

T = TypeVar("T")

PENDING, DECIDED, FAILED = "PENDING", "DECIDED", "FAILED"
# A key that never exists: the readiness probe reads it to prove the table answers.
_PROBE_KEY = "__readiness_probe__"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _guarded(dependency: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except (BotoCoreError, ClientError) as error:
        cause = _error_code(error) if isinstance(error, ClientError) else type(error).__name__
        raise DependencyUnavailable(dependency, cause) from error


def _conditional_write(call: Callable[[], object]) -> bool:
    """Run a conditional DynamoDB write: False when its condition does not hold (not a failure of
    DynamoDB); any other error is ``DependencyUnavailable`` as in ``_guarded``."""
    try:
        call()
    except ClientError as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return False
        raise DependencyUnavailable("dynamodb", _error_code(error)) from error
    except BotoCoreError as error:
        raise DependencyUnavailable("dynamodb", type(error).__name__) from error
    return True


def _timed_check(name: str, call: Callable[[], object]) -> DependencyCheck:
    started = time.perf_counter()
    try:
        call()
    except (BotoCoreError, ClientError) as error:
        problem = _error_code(error) if isinstance(error, ClientError) else type(error).__name__
        return DependencyCheck(name, False, (time.perf_counter() - started) * 1000, problem)
    return DependencyCheck(name, True, (time.perf_counter() - started) * 1000)


class DynamoDBLoanStore:
    def __init__(
        self, client: Any, decision_cache_table: str, decisions_table: str, applications_table: str
    ) -> None:
        self._ddb = client
        self._cache_table = decision_cache_table
        self._decisions_table = decisions_table
        self._applications_table = applications_table

    @classmethod
    def from_settings(cls) -> DynamoDBLoanStore:
        settings = get_settings()
        return cls(
            clients.dynamodb_client(),
            settings.decision_cache_table,
            settings.decisions_table,
            settings.applications_table,
        )

    # -- decision cache -------------------------------------------------------------------------
    def get_cached_decision(self, cache_key: str, now: int) -> JsonDict | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(TableName=self._cache_table, Key={"cache_key": {"S": cache_key}}),
        )
        item = response.get("Item")
        # TTL deletes lazily (up to days later): an expired item is a miss.
        if item is None or int(item["expires_at"]["N"]) <= now:
            return None
        return json.loads(item["decision"]["S"])

    def put_cached_decision(self, cache_key: str, decision: JsonDict, expires_at: int) -> None:
        item = {
            "cache_key": {"S": cache_key},
            "decision": {"S": _dumps(decision)},
            "expires_at": {"N": str(expires_at)},
        }
        _guarded("dynamodb", lambda: self._ddb.put_item(TableName=self._cache_table, Item=item))

    # -- decision log ---------------------------------------------------------------------------
    def put_decision(self, record: JsonDict) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._decisions_table,
                Item=self._decision_item(record),
                ConditionExpression="attribute_not_exists(decision_id)",
            ),
        )

    @staticmethod
    def _decision_item(record: JsonDict) -> dict[str, Any]:
        item: dict[str, Any] = {
            "decision_id": {"S": record["decision_id"]},
            "created_at": {"S": record["created_at"]},
            "source": {"S": record["source"]},
            "outcome": {"S": record["decision"]["outcome"]},
            "model_version": {"S": record["decision"]["model"]["version"]},
            "cached": {"BOOL": bool(record.get("cached", False))},
            "applicant": {"S": _dumps(record["applicant"])},
            "decision": {"S": _dumps(record["decision"])},
        }
        if record.get("application_id"):
            item["application_id"] = {"S": record["application_id"]}
        return item

    # -- asynchronous applications --------------------------------------------------------------
    def create_pending_application(self, application_id: str, applicant: JsonDict, submitted_at: str) -> None:
        item = {
            "application_id": {"S": application_id},
            "status": {"S": PENDING},
            "submitted_at": {"S": submitted_at},
            "applicant": {"S": _dumps(applicant)},
        }
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._applications_table,
                Item=item,
                ConditionExpression="attribute_not_exists(application_id)",
            ),
        )

    def delete_application(self, application_id: str) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.delete_item(
                TableName=self._applications_table, Key={"application_id": {"S": application_id}}
            ),
        )

    def get_application(self, application_id: str) -> JsonDict | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._applications_table,
                Key={"application_id": {"S": application_id}},
                ConsistentRead=True,
            ),
        )
        item = response.get("Item")
        if item is None:
            return None
        application: JsonDict = {
            "application_id": item["application_id"]["S"],
            "status": item["status"]["S"],
            "submitted_at": item["submitted_at"]["S"],
        }
        for name in ("decision_id", "decided_at", "failure", "failed_at"):
            if name in item:
                application[name] = item[name]["S"]
        if "decision" in item:
            application["decision"] = json.loads(item["decision"]["S"])
        return application

    def record_application_decision(self, application_id: str, decided: JsonDict) -> bool:
        # Two single-item writes instead of a transaction (moto deep-copies both tables on every
        # TransactWriteItems, so a burst through the local stack slowed down quadratically; in AWS
        # a transaction also costs twice the write capacity). The order keeps the invariants:
        # 1. the decision-log record, put if absent under the application's own decision id: the
        #    FIRST record written is the decision (a redelivery reads it back instead of using its
        #    own, so even a model deployed in between cannot produce a second decision);
        # 2. the DECIDED application carrying that decision, on condition it is still PENDING.
        # A crash between 1 and 2 leaves the application PENDING; its redelivery completes step 2.
        # So DECIDED always has its log record, and each application has at most one decision.
        record = self._decision_item(
            {
                "decision_id": decided["decision_id"],
                "created_at": decided["created_at"],
                "source": "async",
                "applicant": decided["applicant"],
                "decision": decided["decision"],
                "application_id": application_id,
            }
        )
        if not self._put_if_absent(self._decisions_table, record, "decision_id"):
            existing = _guarded(
                "dynamodb",
                lambda: self._ddb.get_item(
                    TableName=self._decisions_table,
                    Key={"decision_id": record["decision_id"]},
                    ConsistentRead=True,
                ),
            ).get("Item")
            record = existing or record
        return self._put_decided_application(
            {
                "application_id": {"S": application_id},
                "status": {"S": DECIDED},
                "submitted_at": {"S": decided["submitted_at"]},
                "applicant": record["applicant"],
                "decision": record["decision"],
                "decision_id": record["decision_id"],
                "decided_at": record["created_at"],
            }
        )

    def _put_if_absent(self, table: str, item: dict[str, Any], key: str) -> bool:
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=table, Item=item, ConditionExpression=f"attribute_not_exists({key})"
            )
        )

    def _put_decided_application(self, item: dict[str, Any]) -> bool:
        """The whole DECIDED record, if the application is still PENDING (a PutItem: moto parses
        update expressions ~3x slower than a put, and the caller has every attribute anyway)."""
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._applications_table,
                Item=item,
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": {"S": PENDING}},
            )
        )

    def mark_application_failed(self, application_id: str, problem: str, failed_at: str) -> bool:
        return _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._applications_table,
                Key={"application_id": {"S": application_id}},
                UpdateExpression="SET #s = :failed, failure = :p, failed_at = :t",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED},
                    ":pending": {"S": PENDING},
                    ":p": {"S": problem},
                    ":t": {"S": failed_at},
                },
            )
        )

    # -- readiness --------------------------------------------------------------------------------
    def check(self) -> list[DependencyCheck]:
        """One probe read per table, concurrently: against an endpoint that hangs, three
        sequential probes (each up to its timeouts x attempts) would outlast the Lambda timeout."""
        from concurrent.futures import ThreadPoolExecutor

        def probe(table: str, key: str) -> DependencyCheck:
            return _timed_check(
                f"dynamodb:{table}",
                lambda: self._ddb.get_item(
                    TableName=table, Key={key: {"S": _PROBE_KEY}}, ProjectionExpression=key
                ),
            )

        tables = (
            (self._cache_table, "cache_key"),
            (self._decisions_table, "decision_id"),
            (self._applications_table, "application_id"),
            # Powertools Idempotency's table: without it, submits with an Idempotency-Key get 503.
            (get_settings().idempotency_table, "id"),
        )
        with ThreadPoolExecutor(max_workers=len(tables)) as pool:
            return list(pool.map(lambda spec: probe(*spec), tables))


class SQSApplicationQueue:
    def __init__(self, client: Any, queue_name: str) -> None:
        self._sqs = client
        self._queue_name = queue_name
        self._queue_url: str | None = None

    @classmethod
    def from_settings(cls) -> SQSApplicationQueue:
        return cls(clients.sqs_client(), get_settings().applications_queue)

    @property
    def name(self) -> str:
        return self._queue_name

    def _url(self) -> str:
        # Resolved once per process; a failed lookup is retried on the next call.
        if self._queue_url is None:
            response = self._sqs.get_queue_url(QueueName=self._queue_name)
            self._queue_url = str(response["QueueUrl"])
        return self._queue_url

    def send(self, message: JsonDict) -> str:
        response = _guarded(
            "sqs", lambda: self._sqs.send_message(QueueUrl=self._url(), MessageBody=_dumps(message))
        )
        return str(response["MessageId"])

    def depth(self) -> dict[str, int]:
        response = _guarded(
            "sqs",
            lambda: self._sqs.get_queue_attributes(
                QueueUrl=self._url(),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            ),
        )
        attributes = response.get("Attributes", {})
        return {
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"sqs:{self._queue_name}",
                lambda: self._sqs.get_queue_attributes(
                    QueueUrl=self._url(), AttributeNames=["ApproximateNumberOfMessages"]
                ),
            )
        ]
