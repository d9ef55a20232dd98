"""DynamoDB and SQS implementations of the DAL interfaces (low-level boto3 clients).

Nested values (the decision, the masked applicant) are stored as compressed JSON (binary
attributes): no float/Decimal conversion on the hot path, the records are read back exactly as they
were written, and an item costs a third of the write units.
Every botocore failure becomes ``DependencyUnavailable`` so callers can answer 503 / bypass the
cache without knowing boto3.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from chalicelib.config import Settings
from chalicelib.dal import CacheEntry, DependencyCheck, DependencyUnavailable, NewTrail
from chalicelib.engine.types import Decision
from chalicelib.records import (
    DECIDED,
    FAILED,
    PENDING,
    ApplicationRecord,
    ApplicationSummary,
    AsyncDecision,
    AuditEntry,
    DecisionEvent,
    DecisionRecord,
    DecisionSummary,
    PageKey,
    QueueDepth,
    ReviewCase,
)

T = TypeVar("T")

# Key attributes, from the one table definition.
CACHE_KEY = resources.DECISION_CACHE_TABLE.partition_key
CACHE_EXPIRES = resources.DECISION_CACHE_TABLE.ttl_attribute or "expires_at"
DECISION_KEY = resources.DECISIONS_TABLE.partition_key
APPLICATION_KEY = resources.APPLICATIONS_TABLE.partition_key
IDEMPOTENCY_KEY = resources.IDEMPOTENCY_TABLE.partition_key
RECORD_EXPIRES = resources.DECISIONS_TABLE.ttl_attribute or "expires_at"
REVIEW_KEY = resources.REVIEWS_TABLE.partition_key
AUDIT_SUBJECT = resources.AUDIT_TABLE.partition_key
AUDIT_SEQ = resources.AUDIT_TABLE.sort_key or "seq"
SEQ_DIGITS = 8
PENDING_INDEX_KEY = resources.APPLICATIONS_PENDING.partition_key
# A key that never exists: the readiness probe reads it to prove the table answers.
_PROBE_KEY = "__readiness_probe__"


def _document(value: Any) -> dict[str, bytes]:
    """A nested value (decision, applicant) as a compressed binary attribute: a decision is about
    7 KB of JSON and 2 KB compressed, and DynamoDB charges a write unit per KB written."""
    return {"B": zlib.compress(_dumps(value).encode(), 6)}


def _read_document(attribute: dict[str, Any]) -> Any:
    """The value of ``_document`` (or of a record written before compression, as a JSON string)."""
    if "B" in attribute:
        return json.loads(zlib.decompress(attribute["B"]))
    return json.loads(attribute["S"])


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


def seq_key(seq: int) -> str:
    return str(seq).zfill(SEQ_DIGITS)


def case_item(case: ReviewCase, version: int) -> dict[str, Any]:
    """A review case: keys and index attributes beside the whole case as a document."""
    return {
        REVIEW_KEY: {"S": case["review_id"]},
        "status": {"S": case["status"]},
        "due_at": {"S": case["due_at"]},
        "version": {"N": str(version)},
        "case": _document(case),
        RECORD_EXPIRES: {"N": str(case["expires_at"])},
    }


def audit_item(entry: AuditEntry, expires_at: int) -> dict[str, Any]:
    """An audit entry as plain attributes (small; and what a tamper test edits)."""
    return {
        AUDIT_SUBJECT: {"S": entry["subject_id"]},
        AUDIT_SEQ: {"S": seq_key(entry["seq"])},
        "action": {"S": entry["action"]},
        "actor": {"S": entry["actor"]},
        "at": {"S": entry["at"]},
        "details": {"S": json.dumps(entry["details"], sort_keys=True, separators=(",", ":"))},
        "prev_hash": {"S": entry["prev_hash"]},
        "hash": {"S": entry["hash"]},
        RECORD_EXPIRES: {"N": str(expires_at)},
    }


class DynamoDBLoanStore:
    def __init__(
        self,
        client: Any,
        decision_cache_table: str,
        decisions_table: str,
        applications_table: str,
        idempotency_table: str,
        reviews_table: str,
        audit_table: str,
    ) -> None:
        self._ddb = client
        self._cache_table = decision_cache_table
        self._decisions_table = decisions_table
        self._applications_table = applications_table
        self._idempotency_table = idempotency_table
        self._reviews_table = reviews_table
        self._audit_table = audit_table

    @classmethod
    def for_settings(cls, client: Any, settings: Settings) -> DynamoDBLoanStore:
        return cls(
            client,
            settings.decision_cache_table,
            settings.decisions_table,
            settings.applications_table,
            settings.idempotency_table,
            settings.reviews_table,
            settings.audit_table,
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
        decision: Decision = _read_document(item["decision"])
        return decision

    @staticmethod
    def _cache_item(entry: CacheEntry) -> dict[str, Any]:
        return {
            CACHE_KEY: {"S": entry.cache_key},
            "decision": _document(entry.decision),
            CACHE_EXPIRES: {"N": str(entry.expires_at)},
        }

    # -- decision log ---------------------------------------------------------------------------
    def put_decision(
        self, record: DecisionRecord, cache_entry: CacheEntry | None = None, trail: NewTrail | None = None
    ) -> None:
        """The decision record, the cache entry a miss fills, and the new decision's audit trail
        (and review case) in ONE BatchWriteItem: a cache miss costs a read and one write request.
        (The decision id is a fresh UUID, so nothing it writes can exist yet: no condition is
        needed, and BatchWriteItem allows none.) Items DynamoDB leaves unprocessed are retried
        once; a decision record still not written raises."""
        writes: dict[str, list[dict[str, Any]]] = {
            self._decisions_table: [{"PutRequest": {"Item": self._decision_item(record)}}]
        }
        if cache_entry is not None:
            writes[self._cache_table] = [{"PutRequest": {"Item": self._cache_item(cache_entry)}}]
        if trail is not None:
            writes[self._audit_table] = [
                {"PutRequest": {"Item": audit_item(entry, record["expires_at"])}} for entry in trail.entries
            ]
            if trail.case is not None:
                writes[self._reviews_table] = [{"PutRequest": {"Item": case_item(trail.case, 1)}}]
        for _ in range(2):
            response = _guarded(
                "dynamodb", lambda writes=writes: self._ddb.batch_write_item(RequestItems=writes)
            )
            writes = response.get("UnprocessedItems") or {}
            if not writes:
                return
        if self._decisions_table in writes:
            raise DependencyUnavailable("dynamodb", "UnprocessedItems")

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._decisions_table, Key={DECISION_KEY: {"S": decision_id}}
            ),
        ).get("Item")
        return None if item is None else self._decision_record(item)

    @staticmethod
    def _decision_item(record: DecisionRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            DECISION_KEY: {"S": record["decision_id"]},
            "client_id": {"S": record["client_id"]},
            "client_outcome": {"S": f"{record['client_id']}#{record['decision']['outcome']}"},
            "created_at": {"S": record["created_at"]},
            "source": {"S": record["source"]},
            "outcome": {"S": record["decision"]["outcome"]},
            "decided_by": {"S": record["decision"]["decided_by"]},
            "probability": {"N": repr(record["decision"]["probability"])},
            "model_version": {"S": record["decision"]["model"]["version"]},
            "cached": {"BOOL": record["cached"]},
            "applicant": _document(record["applicant"]),
            "decision": _document(record["decision"]),
            RECORD_EXPIRES: {"N": str(record["expires_at"])},
        }
        if "application_id" in record:
            item["application_id"] = {"S": record["application_id"]}
        return item

    @staticmethod
    def _decision_record(item: dict[str, Any]) -> DecisionRecord:
        record: DecisionRecord = {
            "decision_id": item[DECISION_KEY]["S"],
            "client_id": item.get("client_id", {}).get("S", ""),  # ownerless (older) records: nobody's
            "created_at": item["created_at"]["S"],
            "source": item["source"]["S"],
            "applicant": _read_document(item["applicant"]),
            "decision": _read_document(item["decision"]),
            "cached": item["cached"]["BOOL"],
            "expires_at": int(item.get(RECORD_EXPIRES, {}).get("N", 0)),
        }
        if "application_id" in item:
            record["application_id"] = item["application_id"]["S"]
        if "final" in item:
            record["final"] = _read_document(item["final"])
        return record

    def query_decisions(
        self,
        client_id: str,
        outcome: str | None,
        created_range: tuple[str, str],
        limit: int,
        start: PageKey | None,
    ) -> tuple[list[DecisionSummary], PageKey | None]:
        """One client's decisions, newest first, created within ``created_range`` (inclusive):
        a Query on the client's GSI (which carries the summary), never a Scan."""
        if outcome is None:
            index, partition = resources.DECISIONS_BY_CLIENT, client_id
        else:
            index, partition = resources.DECISIONS_BY_CLIENT_OUTCOME, f"{client_id}#{outcome}"
        items, last = self._query(index, self._decisions_table, partition, created_range, limit, start)
        return [self._decision_summary(item) for item in items], last

    @staticmethod
    def _decision_summary(item: dict[str, Any]) -> DecisionSummary:
        summary: DecisionSummary = {
            "decision_id": item[DECISION_KEY]["S"],
            "created_at": item["created_at"]["S"],
            "source": item["source"]["S"],
            "outcome": item["outcome"]["S"],
            "decided_by": item["decided_by"]["S"],
            "probability": float(item["probability"]["N"]),
            "model_version": item["model_version"]["S"],
        }
        if "application_id" in item:
            summary["application_id"] = item["application_id"]["S"]
        return summary

    def _query(
        self,
        index: resources.IndexSpec,
        table: str,
        partition: str,
        sort_range: tuple[str, str] | None,
        limit: int,
        start: PageKey | None,
        newest_first: bool = True,
    ) -> tuple[list[dict[str, Any]], PageKey | None]:
        condition = "#p = :p"
        values: dict[str, Any] = {":p": {"S": partition}}
        names = {"#p": index.partition_key}
        if sort_range is not None:
            condition += " AND #s BETWEEN :lo AND :hi"
            names["#s"] = index.sort_key
            values[":lo"], values[":hi"] = {"S": sort_range[0]}, {"S": sort_range[1]}
        arguments: dict[str, Any] = {
            "TableName": table,
            "IndexName": index.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if start:
            arguments["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
        response = _guarded("dynamodb", lambda: self._ddb.query(**arguments))
        last = response.get("LastEvaluatedKey")
        return response.get("Items", []), (
            {name: value["S"] for name, value in last.items()} if last else None
        )

    # -- asynchronous applications --------------------------------------------------------------
    @staticmethod
    def _application_item(record: ApplicationRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            APPLICATION_KEY: {"S": record["application_id"]},
            "client_id": {"S": record["client_id"]},
            "client_status": {"S": f"{record['client_id']}#{record['status']}"},
            "status": {"S": record["status"]},
            "submitted_at": {"S": record["submitted_at"]},
            "applicant": _document(record["applicant"]),
            RECORD_EXPIRES: {"N": str(record["expires_at"])},
        }
        if record["status"] == PENDING:
            # Only PENDING items are in the sparse "pending" index the reconciler reads.
            item[PENDING_INDEX_KEY] = {"S": PENDING}
            item["application"] = _document(record["application"])
        for name in ("decision_id", "decided_at", "failure", "failed_at", "requeued_at"):
            if name in record:
                item[name] = {"S": record[name]}  # type: ignore[literal-required]
        if "decision" in record:
            item["decision"] = _document(record["decision"])
        return item

    @staticmethod
    def _application_record(item: dict[str, Any]) -> ApplicationRecord:
        record: dict[str, Any] = {
            "application_id": item[APPLICATION_KEY]["S"],
            # Records written before clients owned them have no owner: nobody can read them.
            "client_id": item.get("client_id", {}).get("S", ""),
            "status": item["status"]["S"],
            "submitted_at": item["submitted_at"]["S"],
            "expires_at": int(item.get(RECORD_EXPIRES, {}).get("N", 0)),
            "applicant": _read_document(item["applicant"]),
            "application": _read_document(item["application"]) if "application" in item else {},
        }
        for name in ("decision_id", "decided_at", "failure", "failed_at", "requeued_at"):
            if name in item:
                record[name] = item[name]["S"]
        if "decision" in item:
            record["decision"] = _read_document(item["decision"])
        if "final" in item:
            record["final"] = _read_document(item["final"])
        typed: ApplicationRecord = record  # type: ignore[assignment]
        return typed

    def create_pending_application(self, record: ApplicationRecord) -> None:
        item = self._application_item(record)
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

    def get_application(self, application_id: str) -> ApplicationRecord | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._applications_table,
                Key={APPLICATION_KEY: {"S": application_id}},
                ConsistentRead=True,
            ),
        )
        item = response.get("Item")
        return None if item is None else self._application_record(item)

    def query_applications(
        self, client_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[ApplicationSummary], PageKey | None]:
        """One client's applications, newest first: a Query on the client's GSI, never a Scan."""
        if status is None:
            index, partition = resources.APPLICATIONS_BY_CLIENT, client_id
        else:
            index, partition = resources.APPLICATIONS_BY_CLIENT_STATUS, f"{client_id}#{status}"
        items, last = self._query(index, self._applications_table, partition, None, limit, start)
        summaries: list[ApplicationSummary] = []
        for item in items:
            summary: dict[str, Any] = {
                name: item[name]["S"]
                for name in (
                    "application_id",
                    "status",
                    "submitted_at",
                    "decided_at",
                    "decision_id",
                    "outcome",
                    "failure",
                )
                if name in item
            }
            summaries.append(summary)  # type: ignore[arg-type]
        return summaries, last

    def pending_applications(self, submitted_before: str, limit: int) -> list[ApplicationRecord]:
        """PENDING applications submitted before ``submitted_before``, oldest first (the sparse
        ``pending`` index: decided and failed applications are not in it)."""
        index = resources.APPLICATIONS_PENDING
        items, _ = self._query(
            index, self._applications_table, PENDING, ("0", submitted_before), limit, None, newest_first=False
        )
        return [self._application_record(item) for item in items]

    def mark_requeued(self, application_id: str, requeued_at: str) -> bool:
        """Record that the reconciler sent the application to the queue again: once, while PENDING."""
        return _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._applications_table,
                Key={APPLICATION_KEY: {"S": application_id}},
                UpdateExpression="SET requeued_at = :t",
                ConditionExpression="#s = :pending AND attribute_not_exists(requeued_at)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":t": {"S": requeued_at}, ":pending": {"S": PENDING}},
            )
        )

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
                "client_id": decided.client_id,
                "created_at": decided.created_at,
                "source": "async",
                "applicant": decided.applicant,
                "decision": decided.decision,
                "cached": False,
                "expires_at": decided.expires_at,
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
                "client_id": {"S": decided.client_id},
                "client_status": {"S": f"{decided.client_id}#{DECIDED}"},
                "status": {"S": DECIDED},
                "submitted_at": {"S": decided.submitted_at},
                "applicant": record["applicant"],
                "decision": record["decision"],
                "decision_id": record[DECISION_KEY],
                "decided_at": record["created_at"],
                "outcome": record["outcome"],
                RECORD_EXPIRES: {"N": str(decided.expires_at)},
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

    def set_final_outcome(self, decision_id: str, application_id: str | None, final: dict[str, Any]) -> None:
        """The reviewer's outcome beside the engine's (its own attribute: the decision is never edited)."""
        targets = [(self._decisions_table, DECISION_KEY, decision_id)]
        if application_id is not None:
            targets.append((self._applications_table, APPLICATION_KEY, application_id))
        for table, key, value in targets:
            _guarded(
                "dynamodb",
                lambda table=table, key=key, value=value: self._ddb.update_item(
                    TableName=table,
                    Key={key: {"S": value}},
                    # "final" is a DynamoDB reserved word: always through a name placeholder.
                    UpdateExpression="SET #f = :f",
                    ConditionExpression=f"attribute_exists({key})",
                    ExpressionAttributeNames={"#f": "final"},
                    ExpressionAttributeValues={":f": _document(final)},
                ),
            )

    def mark_application_failed(self, application_id: str, problem: str, failed_at: str) -> bool:
        # A rare path (poison message, reconciler): read the owner to rewrite the status index key.
        current = self.get_application(application_id)
        if current is None or current["status"] != PENDING:
            return False
        return _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._applications_table,
                Key={APPLICATION_KEY: {"S": application_id}},
                UpdateExpression="SET #s = :failed, failure = :p, failed_at = :t, client_status = :cs "
                f"REMOVE {PENDING_INDEX_KEY}, application",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED},
                    ":pending": {"S": PENDING},
                    ":p": {"S": problem},
                    ":t": {"S": failed_at},
                    ":cs": {"S": f"{current['client_id']}#{FAILED}"},
                },
            )
        )

    # -- readiness --------------------------------------------------------------------------------
    def check(self) -> list[DependencyCheck]:
        """One probe read per table, concurrently: against an endpoint that hangs, three
        sequential probes (each up to its timeouts x attempts) would outlast the Lambda timeout."""
        from concurrent.futures import ThreadPoolExecutor

        def probe(table: str, keys: tuple[str, ...]) -> DependencyCheck:
            return _timed_check(
                f"dynamodb:{table}",
                lambda: self._ddb.get_item(
                    TableName=table,
                    Key={key: {"S": _PROBE_KEY} for key in keys},
                    ProjectionExpression=keys[0],
                ),
            )

        tables = [
            (self._cache_table, (CACHE_KEY,)),
            (self._decisions_table, (DECISION_KEY,)),
            (self._applications_table, (APPLICATION_KEY,)),
            # Powertools Idempotency's table: without it, submits with an Idempotency-Key get 503.
            (self._idempotency_table, (IDEMPOTENCY_KEY,)),
            (self._reviews_table, (REVIEW_KEY,)),
            (self._audit_table, (AUDIT_SUBJECT, AUDIT_SEQ)),
        ]
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


class EventBridgePublisher:
    """``decision.made`` events on the decision-events bus (PutEvents takes up to 10 entries)."""

    BATCH = 10

    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    @classmethod
    def for_settings(cls, client: Any, settings: Settings) -> EventBridgePublisher:
        return cls(client, settings.decision_events_bus)

    def publish(self, events: list[DecisionEvent]) -> int:
        """Publish; returns how many entries EventBridge did not accept (raises if unreachable)."""
        failed = 0
        for start in range(0, len(events), self.BATCH):
            entries = [
                {
                    "Source": resources.DECISION_EVENTS_BUS.source,
                    "DetailType": event.detail_type,
                    "Detail": _dumps(event.detail()),
                    "EventBusName": self._bus,
                }
                for event in events[start : start + self.BATCH]
            ]
            response = _guarded("events", lambda entries=entries: self._events.put_events(Entries=entries))
            failed += int(response.get("FailedEntryCount", 0))
        return failed


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
