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

from chalicelib import resources
from chalicelib.config import Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.engine.types import Decision
from chalicelib.records import (
    DECIDED,
    FAILED,
    PENDING,
    ApplicationStatus,
    AsyncDecision,
    DecisionRecord,
    MaskedApplicant,
    QueueDepth,
)

T = TypeVar("T")

# Key attributes, from the one table definition.
CACHE_KEY = resources.DECISION_CACHE_TABLE.partition_key
CACHE_EXPIRES = resources.DECISION_CACHE_TABLE.ttl_attribute or "expires_at"
DECISION_KEY = resources.DECISIONS_TABLE.partition_key
APPLICATION_KEY = resources.APPLICATIONS_TABLE.partition_key
IDEMPOTENCY_KEY = resources.IDEMPOTENCY_TABLE.partition_key
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
        self,
        client: Any,
        decision_cache_table: str,
        decisions_table: str,
        applications_table: str,
        idempotency_table: str,
    ) -> None:
        self._ddb = client
        self._cache_table = decision_cache_table
        self._decisions_table = decisions_table
        self._applications_table = applications_table
        self._idempotency_table = idempotency_table

    @classmethod
    def for_settings(cls, client: Any, settings: Settings) -> DynamoDBLoanStore:
        return cls(
            client,
            settings.decision_cache_table,
            settings.decisions_table,
            settings.applications_table,
            settings.idempotency_table,
        )

    # -- decision cache -------------------------------------------------------------------------
    def get_cached_decision(self, cache_key: str, now: int) -> Decision | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(TableName=self._cache_table, Key={CACHE_KEY: {"S": cache_key}}),
        )
        item = response.get("Item")
        # TTL deletes lazily (up to days later): an expired item is a miss.
        if item is None or int(item[CACHE_EXPIRES]["N"]) <= now:
            return None
        decision: Decision = json.loads(item["decision"]["S"])
        return decision

    def put_cached_decision(self, cache_key: str, decision: Decision, expires_at: int) -> None:
        item = {
            CACHE_KEY: {"S": cache_key},
            "decision": {"S": _dumps(decision)},
            CACHE_EXPIRES: {"N": str(expires_at)},
        }
        _guarded("dynamodb", lambda: self._ddb.put_item(TableName=self._cache_table, Item=item))

    # -- decision log ---------------------------------------------------------------------------
    def put_decision(self, record: DecisionRecord) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._decisions_table,
                Item=self._decision_item(record),
                ConditionExpression=f"attribute_not_exists({DECISION_KEY})",
            ),
        )

    @staticmethod
    def _decision_item(record: DecisionRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            DECISION_KEY: {"S": record["decision_id"]},
            "created_at": {"S": record["created_at"]},
            "source": {"S": record["source"]},
            "outcome": {"S": record["decision"]["outcome"]},
            "model_version": {"S": record["decision"]["model"]["version"]},
            "cached": {"BOOL": record["cached"]},
            "applicant": {"S": _dumps(record["applicant"])},
            "decision": {"S": _dumps(record["decision"])},
        }
        if "application_id" in record:
            item["application_id"] = {"S": record["application_id"]}
        return item

    # -- asynchronous applications --------------------------------------------------------------
    def create_pending_application(
        self, application_id: str, applicant: MaskedApplicant, submitted_at: str
    ) -> None:
        item = {
            APPLICATION_KEY: {"S": application_id},
            "status": {"S": PENDING},
            "submitted_at": {"S": submitted_at},
            "applicant": {"S": _dumps(applicant)},
        }
        _guarded(
            "dynamodb",
            lambda: self._ddb.put_item(
                TableName=self._applications_table,
                Item=item,
                ConditionExpression=f"attribute_not_exists({APPLICATION_KEY})",
            ),
        )

    def delete_application(self, application_id: str) -> None:
        _guarded(
            "dynamodb",
            lambda: self._ddb.delete_item(
                TableName=self._applications_table, Key={APPLICATION_KEY: {"S": application_id}}
            ),
        )

    def get_application(self, application_id: str) -> ApplicationStatus | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._applications_table,
                Key={APPLICATION_KEY: {"S": application_id}},
                ConsistentRead=True,
            ),
        )
        item = response.get("Item")
        if item is None:
            return None
        application: dict[str, Any] = {
            "application_id": item[APPLICATION_KEY]["S"],
            "status": item["status"]["S"],
            "submitted_at": item["submitted_at"]["S"],
        }
        for name in ("decision_id", "decided_at", "failure", "failed_at"):
            if name in item:
                application[name] = item[name]["S"]
        if "decision" in item:
            application["decision"] = json.loads(item["decision"]["S"])
        status: ApplicationStatus = application  # type: ignore[assignment]
        return status

    def record_application_decision(self, decided: AsyncDecision) -> bool:
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
                "decision_id": decided.decision_id,
                "created_at": decided.created_at,
                "source": "async",
                "applicant": decided.applicant,
                "decision": decided.decision,
                "cached": False,
                "application_id": decided.application_id,
            }
        )
        if not self._put_if_absent(self._decisions_table, record, DECISION_KEY):
            existing = _guarded(
                "dynamodb",
                lambda: self._ddb.get_item(
                    TableName=self._decisions_table,
                    Key={DECISION_KEY: record[DECISION_KEY]},
                    ConsistentRead=True,
                ),
            ).get("Item")
            record = existing or record
        return self._put_decided_application(
            {
                APPLICATION_KEY: {"S": decided.application_id},
                "status": {"S": DECIDED},
                "submitted_at": {"S": decided.submitted_at},
                "applicant": record["applicant"],
                "decision": record["decision"],
                "decision_id": record[DECISION_KEY],
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
                Key={APPLICATION_KEY: {"S": application_id}},
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
            (self._cache_table, CACHE_KEY),
            (self._decisions_table, DECISION_KEY),
            (self._applications_table, APPLICATION_KEY),
            # Powertools Idempotency's table: without it, submits with an Idempotency-Key get 503.
            (self._idempotency_table, IDEMPOTENCY_KEY),
        )
        with ThreadPoolExecutor(max_workers=len(tables)) as pool:
            return list(pool.map(lambda spec: probe(*spec), tables))


class SQSApplicationQueue:
    def __init__(self, client: Any, queue_name: str) -> None:
        self._sqs = client
        self._queue_name = queue_name
        self._queue_url: str | None = None

    @classmethod
    def for_settings(cls, client: Any, settings: Settings) -> SQSApplicationQueue:
        return cls(client, settings.applications_queue)

    @property
    def name(self) -> str:
        return self._queue_name

    def _url(self) -> str:
        # Resolved once per process; a failed lookup is retried on the next call.
        if self._queue_url is None:
            response = self._sqs.get_queue_url(QueueName=self._queue_name)
            self._queue_url = str(response["QueueUrl"])
        return self._queue_url

    def send(self, message: dict[str, object]) -> str:
        response = _guarded(
            "sqs", lambda: self._sqs.send_message(QueueUrl=self._url(), MessageBody=_dumps(message))
        )
        return str(response["MessageId"])

    def depth(self) -> QueueDepth:
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


def idempotency_persistence_layer(client: Any, table_name: str) -> Any:
    """Powertools' DynamoDB persistence layer for Idempotency-Key requests, on our client."""
    # Imported here: building it imports the idempotency utility, which only keyed requests use.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    spec = resources.IDEMPOTENCY_TABLE
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=spec.partition_key,
        expiry_attr=spec.ttl_attribute or "expiration",
        boto3_client=client,
    )
