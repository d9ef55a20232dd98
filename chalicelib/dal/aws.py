"""DynamoDB and SQS implementations of the DAL interfaces (low-level boto3 clients).

Nested values (the decision, the masked applicant) are stored as compressed JSON (binary
attributes): no float/Decimal conversion on the hot path, the records are read back exactly as they
were written, and an item costs a third of the write units.
Every botocore failure becomes ``DependencyUnavailable`` so callers can answer 503 / bypass the
cache without knowing boto3.
"""

from __future__ import annotations

import functools
import json
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from chalicelib.config import Settings
from chalicelib.dal import CacheEntry, DependencyCheck, DependencyUnavailable, NewTrail
from chalicelib.dal.outcomes import day_partition, monitoring_document
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.engine.types import Decision
from chalicelib.records import (
    APPLICATION_STATES,
    ARMS,
    DECISION_SOURCES,
    FAILED,
    LOAN_STATUSES,
    PENDING,
    ApplicationRecord,
    ApplicationSummary,
    AsyncDecision,
    AuditEntry,
    DecisionEvent,
    DecisionRecord,
    DecisionSummary,
    FinalRecord,
    PageKey,
    QueueDepth,
    ReviewCase,
    decided_application,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        WriteRequestOutputTypeDef,
        WriteRequestTypeDef,
        WriteRequestUnionTypeDef,
    )
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sqs.client import SQSClient

    # A DynamoDB item as the low-level client reads and writes it: attribute name -> typed value.
    Item = dict[str, AttributeValueTypeDef]

T = TypeVar("T")
L = TypeVar("L", bound=str)

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


def _document(value: object) -> AttributeValueTypeDef:
    """A nested value (decision, applicant) as a compressed binary attribute: a decision is about
    7 KB of JSON and 2 KB compressed, and DynamoDB charges a write unit per KB written."""
    return {"B": zlib.compress(_dumps(value).encode(), 6)}


def _read_document(attribute: AttributeValueTypeDef) -> Any:
    """The value of ``_document`` (or of a record written before compression, as a JSON string):
    JSON, typed by the record it is read into."""
    if "B" in attribute:
        return json.loads(zlib.decompress(attribute["B"]))
    return json.loads(attribute["S"])


def _literal(value: str, allowed: tuple[L, ...]) -> L:
    """``value`` as one of the ``allowed`` literals of a record field (a stored item's string)."""
    for candidate in allowed:
        if candidate == value:
            return candidate
    raise ValueError(f"unexpected stored value {value!r}")


def _dumps(value: object) -> str:
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


def case_item(case: ReviewCase, version: int) -> Item:
    """A review case: keys and index attributes beside the whole case as a document."""
    return {
        REVIEW_KEY: {"S": case["review_id"]},
        "status": {"S": case["status"]},
        "due_at": {"S": case["due_at"]},
        "version": {"N": str(version)},
        "case": _document(case),
        RECORD_EXPIRES: {"N": str(case["expires_at"])},
    }


def audit_item(entry: AuditEntry, expires_at: int) -> Item:
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
        client: DynamoDBClient,
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
    def for_settings(cls, client: DynamoDBClient, settings: Settings) -> DynamoDBLoanStore:
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
    def _cache_item(entry: CacheEntry) -> Item:
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
        writes: dict[str, list[WriteRequestTypeDef]] = {
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
        pending: Mapping[str, Sequence[WriteRequestUnionTypeDef]] = writes
        for _ in range(2):
            pending = self._batch_write(pending)
            if not pending:
                return
        if self._decisions_table in pending:
            raise DependencyUnavailable("dynamodb", "UnprocessedItems")

    def _batch_write(
        self, writes: Mapping[str, Sequence[WriteRequestUnionTypeDef]]
    ) -> Mapping[str, Sequence[WriteRequestOutputTypeDef]]:
        """One BatchWriteItem; returns what DynamoDB left unprocessed."""
        response = _guarded("dynamodb", lambda: self._ddb.batch_write_item(RequestItems=writes))
        return response.get("UnprocessedItems") or {}

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._decisions_table, Key={DECISION_KEY: {"S": decision_id}}
            ),
        ).get("Item")
        return None if item is None else self._decision_record(item)

    @staticmethod
    def _decision_item(record: DecisionRecord) -> Item:
        item: Item = {
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
            "decision_version": {"S": record["decision_version"]},
            "arm": {"S": record["arm"]},
        }
        if "application_id" in record:
            item["application_id"] = {"S": record["application_id"]}
        if "shadows" in record:  # beside the decision, in the same write (never a second request)
            item["shadows"] = _document(record["shadows"])
        # Issue 20: the monitoring index's partition and what a run reads (chalicelib.dal.outcomes).
        item["monitor_day"] = {"S": day_partition(record["decision_id"], record["created_at"])}
        item["monitoring"] = _document(monitoring_document(record))
        return item

    @staticmethod
    def _decision_record(item: Item) -> DecisionRecord:
        record: DecisionRecord = {
            "decision_id": item[DECISION_KEY]["S"],
            "client_id": item.get("client_id", {}).get("S", ""),  # ownerless (older) records: nobody's
            "created_at": item["created_at"]["S"],
            "source": _literal(item["source"]["S"], DECISION_SOURCES),
            "applicant": _read_document(item["applicant"]),
            "decision": _read_document(item["decision"]),
            "cached": item["cached"]["BOOL"],
            "expires_at": int(item.get(RECORD_EXPIRES, {}).get("N", 0)),
            # Records from before decision versions were all decided by the packaged version.
            "decision_version": item.get("decision_version", {}).get("S", PACKAGED_VERSION_ID),
            "arm": _literal(item.get("arm", {}).get("S", ARMS[0]), ARMS),
        }
        if "application_id" in item:
            record["application_id"] = item["application_id"]["S"]
        if "final" in item:
            record["final"] = _read_document(item["final"])
        if "shadows" in item:
            record["shadows"] = _read_document(item["shadows"])
        if "loan_status" in item and "loan_as_of" in item:
            record["loan_outcome"] = {
                "status": _literal(item["loan_status"]["S"], LOAN_STATUSES),
                "as_of": item["loan_as_of"]["S"],
            }
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
    def _decision_summary(item: Item) -> DecisionSummary:
        summary: DecisionSummary = {
            "decision_id": item[DECISION_KEY]["S"],
            "created_at": item["created_at"]["S"],
            "source": _literal(item["source"]["S"], DECISION_SOURCES),
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
    ) -> tuple[list[Item], PageKey | None]:
        condition = "#p = :p"
        values: Item = {":p": {"S": partition}}
        names = {"#p": index.partition_key}
        if sort_range is not None:
            condition += " AND #s BETWEEN :lo AND :hi"
            names["#s"] = index.sort_key
            values[":lo"], values[":hi"] = {"S": sort_range[0]}, {"S": sort_range[1]}
        arguments: QueryInputTypeDef = {
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
    def _application_item(record: ApplicationRecord, encoded: Item | None = None) -> Item:
        """The item of ``record``; ``encoded`` holds documents already compressed for it."""
        item: Item = {
            APPLICATION_KEY: {"S": record["application_id"]},
            "client_id": {"S": record["client_id"]},
            "client_status": {"S": f"{record['client_id']}#{record['status']}"},
            "status": {"S": record["status"]},
            "submitted_at": {"S": record["submitted_at"]},
            RECORD_EXPIRES: {"N": str(record["expires_at"])},
        }
        encoded = encoded or {}
        item["applicant"] = encoded.get("applicant") or _document(record["applicant"])
        if record["status"] == PENDING:
            # Only PENDING items are in the sparse "pending" index the reconciler reads.
            item[PENDING_INDEX_KEY] = {"S": PENDING}
            item["application"] = _document(record["application"])
        for name in ("decision_id", "decided_at", "failure", "failed_at", "requeued_at"):
            if name in record:
                item[name] = {"S": record[name]}
        if "decision" in record:
            item["decision"] = encoded.get("decision") or _document(record["decision"])
            item["outcome"] = {"S": record["decision"]["outcome"]}  # in the client's list index
        return item

    @staticmethod
    def _application_record(item: Item) -> ApplicationRecord:
        record: ApplicationRecord = {
            "application_id": item[APPLICATION_KEY]["S"],
            # Records written before clients owned them have no owner: nobody can read them.
            "client_id": item.get("client_id", {}).get("S", ""),
            "status": _literal(item["status"]["S"], APPLICATION_STATES),
            "submitted_at": item["submitted_at"]["S"],
            "expires_at": int(item.get(RECORD_EXPIRES, {}).get("N", 0)),
            "applicant": _read_document(item["applicant"]),
        }
        if "application" in item:
            record["application"] = _read_document(item["application"])
        for name in ("decision_id", "decided_at", "failure", "failed_at", "requeued_at"):
            if name in item:
                record[name] = item[name]["S"]
        if "decision" in item:
            record["decision"] = _read_document(item["decision"])
        if "final" in item:
            record["final"] = _read_document(item["final"])
        return record

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
            summary: ApplicationSummary = {
                "application_id": item[APPLICATION_KEY]["S"],
                "status": _literal(item["status"]["S"], APPLICATION_STATES),
                "submitted_at": item["submitted_at"]["S"],
            }
            for name in ("decided_at", "decision_id", "outcome", "failure"):
                if name in item:
                    summary[name] = item[name]["S"]
            summaries.append(summary)
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
        record = decided.record()
        item = self._decision_item(record)
        if not self._put_if_absent(self._decisions_table, item, DECISION_KEY):
            existing = _guarded(
                "dynamodb",
                lambda: self._ddb.get_item(
                    TableName=self._decisions_table,
                    Key={DECISION_KEY: item[DECISION_KEY]},
                    ConsistentRead=True,
                ),
            ).get("Item")
            if existing is not None:
                item, record = existing, self._decision_record(existing)
        # The documents as the decision record stores them: compressed once, written twice.
        encoded = {"applicant": item["applicant"], "decision": item["decision"]}
        return self._put_decided_application(
            self._application_item(decided_application(record, decided.submitted_at), encoded)
        )

    def _put_if_absent(self, table: str, item: Item, key: str) -> bool:
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=table, Item=item, ConditionExpression=f"attribute_not_exists({key})"
            )
        )

    def _put_decided_application(self, item: Item) -> bool:
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

    def set_final_outcome(self, decision_id: str, application_id: str | None, final: FinalRecord) -> None:
        """The reviewer's outcome beside the engine's (its own attribute: the decision is never edited)."""
        targets = [(self._decisions_table, DECISION_KEY, decision_id)]
        if application_id is not None:
            targets.append((self._applications_table, APPLICATION_KEY, application_id))
        for table, key, value in targets:
            update, values = "SET #f = :f", {":f": _document(final)}
            if table == self._decisions_table:  # plain, for the monitoring index (issue 20)
                update += ", final_outcome = :fo, final_decided_at = :fa"
                values[":fo"] = {"S": final["final_outcome"]}
                values[":fa"] = {"S": final["final_decided_at"]}
            _guarded(
                "dynamodb",
                functools.partial(
                    self._ddb.update_item,
                    TableName=table,
                    Key={key: {"S": value}},
                    # "final" is a DynamoDB reserved word: always through a name placeholder.
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists({key})",
                    ExpressionAttributeNames={"#f": "final"},
                    ExpressionAttributeValues=values,
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
    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._sqs = client
        self._queue_name = queue_name
        self._queue_url: str | None = None

    @classmethod
    def for_settings(cls, client: SQSClient, settings: Settings) -> SQSApplicationQueue:
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

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    @classmethod
    def for_settings(cls, client: EventBridgeClient, settings: Settings) -> EventBridgePublisher:
        return cls(client, settings.decision_events_bus)

    def publish(self, events: list[DecisionEvent]) -> int:
        """Publish; returns how many entries EventBridge did not accept (raises if unreachable)."""
        failed = 0
        for start in range(0, len(events), self.BATCH):
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": resources.DECISION_EVENTS_BUS.source,
                    "DetailType": event.detail_type,
                    "Detail": _dumps(event.detail()),
                    "EventBusName": self._bus,
                }
                for event in events[start : start + self.BATCH]
            ]
            response = _guarded("events", functools.partial(self._events.put_events, Entries=entries))
            failed += int(response.get("FailedEntryCount", 0))
        return failed


def idempotency_persistence_layer(client: DynamoDBClient, table_name: str) -> DynamoDBPersistenceLayer:
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
