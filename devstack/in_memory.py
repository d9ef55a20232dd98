"""The in-memory twin of the DAL: a store, a queue and an idempotency persistence layer in dicts.

Implements the same Protocols as ``chalicelib.dal.aws`` (``LoanStore``, ``ApplicationQueue``) and
Powertools' ``BasePersistenceLayer``, with the same conditional-write semantics (put if absent,
PENDING -> DECIDED once, expiry checked on read), so the service and HTTP layers can be tested and
benchmarked without any AWS emulator. Local-only: never in the Lambda package. ``fail(...)`` makes
a dependency unavailable, as an outage would.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TypeVar

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from chalicelib.audit_chain import chain
from chalicelib.config import Settings, load_settings
from chalicelib.dal import CacheEntry, DependencyCheck, DependencyUnavailable, NewTrail
from chalicelib.dal.fraud import Counted, CounterKey, counter_key, element, parse_elements
from chalicelib.engine.types import Decision
from chalicelib.records import (
    FAILED,
    PENDING,
    ApplicationRecord,
    ApplicationSummary,
    AsyncDecision,
    AuditEntry,
    AuditStep,
    DecisionEvent,
    DecisionRecord,
    DecisionSummary,
    FinalRecord,
    PageKey,
    QueueDepth,
    ReviewCase,
    decided_application,
)
from chalicelib.service.dependencies import Dependencies
from devstack.in_memory_versions import InMemoryVersionStore

# A stored record (a decision or an application) as a list's page reads it.
R = TypeVar("R", bound=Mapping[str, object])


class _Outages:
    """Which dependencies are down (``fail("dynamodb")``); every call to one raises."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    def fail(self, *dependencies: str) -> None:
        self.down.update(dependencies)

    def recover(self) -> None:
        self.down.clear()

    def guard(self, dependency: str) -> None:
        if dependency in self.down:
            raise DependencyUnavailable(dependency, "EndpointConnectionError")


class InMemoryLoanStore:
    def __init__(self, outages: _Outages | None = None) -> None:
        self.outages = outages or _Outages()
        self.reviews: InMemoryReviewStore | None = None  # where a decision's trail and case go
        self._lock = threading.Lock()
        self.cache: dict[str, tuple[Decision, int]] = {}
        self.decisions: dict[str, DecisionRecord] = {}
        self.applications: dict[str, ApplicationRecord] = {}
        self.operations: list[str] = []  # every call, by name, as DynamoDB would see them

    def _call(self, operation: str) -> None:
        self.outages.guard("dynamodb")
        self.operations.append(operation)

    # -- decision cache -------------------------------------------------------------------------
    def get_cached_decision(self, cache_key: str, now: int) -> Decision | None:
        self._call("GetItem")
        entry = self.cache.get(cache_key)
        if entry is None or entry[1] <= now:
            return None
        return copy.deepcopy(entry[0])

    def put_cached_decision(self, cache_key: str, decision: Decision, expires_at: int) -> None:
        """Plant a cache entry (tests), as a cache-miss write would."""
        self.cache[cache_key] = (copy.deepcopy(decision), expires_at)

    # -- decision log ---------------------------------------------------------------------------
    def put_decision(
        self, record: DecisionRecord, cache_entry: CacheEntry | None = None, trail: NewTrail | None = None
    ) -> None:
        self._call("BatchWriteItem")
        with self._lock:
            self.decisions[record["decision_id"]] = copy.deepcopy(record)
            if cache_entry is not None:
                self.cache[cache_entry.cache_key] = (
                    copy.deepcopy(cache_entry.decision),
                    cache_entry.expires_at,
                )
        if trail is not None and self.reviews is not None:
            self.reviews.put_audit_entries(trail.entries, record["expires_at"])
            if trail.case is not None:
                self.reviews.open_case(trail.case, [])

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        self._call("GetItem")
        return copy.deepcopy(self.decisions.get(decision_id))

    def query_decisions(
        self,
        client_id: str,
        outcome: str | None,
        created_range: tuple[str, str],
        limit: int,
        start: PageKey | None,
    ) -> tuple[list[DecisionSummary], PageKey | None]:
        self._call("Query")
        low, high = created_range
        matching = [
            record
            for record in self.decisions.values()
            if record["client_id"] == client_id
            and (outcome is None or record["decision"]["outcome"] == outcome)
            and low <= record["created_at"] <= high
        ]
        page, last = _page(matching, "created_at", "decision_id", limit, start)
        return [_decision_summary(record) for record in page], last

    # -- asynchronous applications --------------------------------------------------------------
    def create_pending_application(self, record: ApplicationRecord) -> None:
        self._call("PutItem")
        with self._lock:
            if record["application_id"] in self.applications:
                raise DependencyUnavailable("dynamodb", "ConditionalCheckFailedException")
            self.applications[record["application_id"]] = copy.deepcopy(record)

    def delete_application(self, application_id: str) -> None:
        self._call("DeleteItem")
        self.applications.pop(application_id, None)

    def get_application(self, application_id: str) -> ApplicationRecord | None:
        self._call("GetItem")
        return copy.deepcopy(self.applications.get(application_id))

    def query_applications(
        self, client_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[ApplicationSummary], PageKey | None]:
        self._call("Query")
        matching = [
            record
            for record in self.applications.values()
            if record["client_id"] == client_id and (status is None or record["status"] == status)
        ]
        page, last = _page(matching, "submitted_at", "application_id", limit, start)
        return [_application_summary(record) for record in page], last

    def pending_applications(self, submitted_before: str, limit: int) -> list[ApplicationRecord]:
        self._call("Query")
        pending = [
            copy.deepcopy(record)
            for record in self.applications.values()
            if record["status"] == PENDING and record["submitted_at"] <= submitted_before
        ]
        return sorted(pending, key=lambda record: record["submitted_at"])[:limit]

    def mark_requeued(self, application_id: str, requeued_at: str) -> bool:
        self._call("UpdateItem")
        with self._lock:
            record = self.applications.get(application_id)
            if record is None or record["status"] != PENDING or "requeued_at" in record:
                return False
            record["requeued_at"] = requeued_at
            return True

    def record_application_decision(self, decided: AsyncDecision) -> bool:
        self._call("PutItem")
        self._call("PutItem")
        with self._lock:
            # Same order and invariants as DynamoDBLoanStore: the first decision record written is
            # THE decision; the application goes PENDING -> DECIDED with it, once.
            record = self.decisions.setdefault(decided.decision_id, copy.deepcopy(decided.record()))
            application = self.applications.get(decided.application_id)
            if application is None or application["status"] != PENDING:
                return False
            self.applications[decided.application_id] = copy.deepcopy(
                decided_application(record, decided.submitted_at)
            )
            return True

    def set_final_outcome(self, decision_id: str, application_id: str | None, final: FinalRecord) -> None:
        self._call("UpdateItem")
        with self._lock:
            self.decisions[decision_id]["final"] = copy.deepcopy(final)
            if application_id is not None:
                self.applications[application_id]["final"] = copy.deepcopy(final)

    def mark_application_failed(self, application_id: str, problem: str, failed_at: str) -> bool:
        self._call("UpdateItem")
        with self._lock:
            application = self.applications.get(application_id)
            if application is None or application["status"] != PENDING:
                return False
            application["status"], application["failure"], application["failed_at"] = (
                FAILED,
                problem,
                failed_at,
            )
            application.pop("application", None)  # as in DynamoDB: only PENDING keeps the inputs
            return True

    def check(self) -> list[DependencyCheck]:
        ok = "dynamodb" not in self.outages.down
        return [DependencyCheck("dynamodb:in-memory", ok, 0.0, None if ok else "EndpointConnectionError")]


def _decision_summary(record: DecisionRecord) -> DecisionSummary:
    decision = record["decision"]
    summary: DecisionSummary = {
        "decision_id": record["decision_id"],
        "created_at": record["created_at"],
        "source": record["source"],
        "outcome": decision["outcome"],
        "decided_by": decision["decided_by"],
        "probability": decision["probability"],
        "model_version": decision["model"]["version"],
    }
    if "application_id" in record:
        summary["application_id"] = record["application_id"]
    return summary


def _application_summary(record: ApplicationRecord) -> ApplicationSummary:
    summary: ApplicationSummary = {
        "application_id": record["application_id"],
        "status": record["status"],
        "submitted_at": record["submitted_at"],
    }
    for name in ("decided_at", "decision_id", "failure"):
        if name in record:
            summary[name] = record[name]
    if "decision" in record:
        summary["outcome"] = record["decision"]["outcome"]
    return summary


def _page(
    records: list[R], sort_key: str, key: str, limit: int, start: PageKey | None
) -> tuple[list[R], PageKey | None]:
    """Newest first by ``sort_key`` (ties by ``key``), after ``start``: a GSI Query's page."""

    def position(record: R) -> tuple[str, str]:
        return str(record[sort_key]), str(record[key])

    ordered = sorted(records, key=position, reverse=True)
    if start is not None:
        boundary = (start[sort_key], start[key])
        ordered = [record for record in ordered if position(record) < boundary]
    page = ordered[:limit]  # summaries are built from these, never handed out
    more = len(ordered) > limit
    return page, (dict(zip((sort_key, key), position(page[-1]), strict=True)) if more else None)


class InMemoryReviewStore:
    """Review cases (versioned) and audit chains in dicts, with DynamoDB's conditions."""

    def __init__(self, outages: _Outages | None = None) -> None:
        self.outages = outages or _Outages()
        self._lock = threading.Lock()
        self.cases: dict[str, tuple[ReviewCase, int]] = {}
        self.audit: dict[str, dict[int, AuditEntry]] = {}

    def open_case(self, case: ReviewCase, audit: list[AuditEntry]) -> bool:
        self.outages.guard("dynamodb")
        with self._lock:
            if case["review_id"] in self.cases:
                return False
            self.cases[case["review_id"]] = (copy.deepcopy(case), 1)
            for entry in audit:
                self.audit.setdefault(entry["subject_id"], {}).setdefault(entry["seq"], copy.deepcopy(entry))
            return True

    def get_case(self, review_id: str) -> tuple[ReviewCase, int] | None:
        self.outages.guard("dynamodb")
        found = self.cases.get(review_id)
        return None if found is None else (copy.deepcopy(found[0]), found[1])

    def replace_case(self, case: ReviewCase, version: int) -> bool:
        self.outages.guard("dynamodb")
        with self._lock:
            current = self.cases.get(case["review_id"])
            if current is None or current[1] != version:
                return False
            self.cases[case["review_id"]] = (copy.deepcopy(case), version + 1)
            return True

    def query_cases(
        self, status: str, limit: int, start: PageKey | None
    ) -> tuple[list[ReviewCase], PageKey | None]:
        self.outages.guard("dynamodb")
        matching = sorted(
            (case for case, _ in self.cases.values() if case["status"] == status),
            key=lambda case: (case["due_at"], case["review_id"]),
        )
        if start is not None:
            boundary = (start["due_at"], start["review_id"])
            matching = [case for case in matching if (case["due_at"], case["review_id"]) > boundary]
        page = [copy.deepcopy(case) for case in matching[:limit]]
        if len(matching) <= limit:
            return page, None
        return page, {"due_at": page[-1]["due_at"], "review_id": page[-1]["review_id"], "status": status}

    def put_audit_entries(self, entries: list[AuditEntry], expires_at: int) -> None:
        self.outages.guard("dynamodb")
        with self._lock:
            for entry in entries:
                self.audit.setdefault(entry["subject_id"], {}).setdefault(entry["seq"], copy.deepcopy(entry))

    def append_audit(
        self,
        subject_id: str,
        steps: list[AuditStep],
        expires_at: int,
    ) -> None:
        self.outages.guard("dynamodb")
        with self._lock:
            trail = self.audit.setdefault(subject_id, {})
            last = trail[max(trail)] if trail else None
            for entry in chain(subject_id, steps, last):
                trail[entry["seq"]] = entry

    def audit_entries(self, subject_id: str) -> list[AuditEntry]:
        self.outages.guard("dynamodb")
        return [copy.deepcopy(entry) for _, entry in sorted(self.audit.get(subject_id, {}).items())]


class InMemoryEvents:
    def __init__(self, outages: _Outages | None = None) -> None:
        self.outages = outages or _Outages()
        self.published: list[DecisionEvent] = []

    def publish(self, events: list[DecisionEvent]) -> int:
        self.outages.guard("events")
        self.published.extend(events)
        return 0


class InMemoryQueue:
    def __init__(self, outages: _Outages | None = None) -> None:
        self.outages = outages or _Outages()
        self.messages: list[tuple[str, str]] = []  # (message id, body) in send order

    def send(self, message: dict[str, object]) -> str:
        self.outages.guard("sqs")
        message_id = str(uuid.uuid4())
        self.messages.append((message_id, json.dumps(message, sort_keys=True, separators=(",", ":"))))
        return message_id

    def drain(self) -> list[tuple[str, str]]:
        """Every message sent so far (and forget them), as a worker's receive would."""
        messages, self.messages = self.messages, []
        return messages

    def depth(self) -> QueueDepth:
        self.outages.guard("sqs")
        return {"visible": len(self.messages), "in_flight": 0}

    def check(self) -> list[DependencyCheck]:
        ok = "sqs" not in self.outages.down
        return [DependencyCheck("sqs:in-memory", ok, 0.0, None if ok else "EndpointConnectionError")]


class InMemoryIdempotencyStore(BasePersistenceLayer):
    """Powertools' persistence contract over a dict, with DynamoDBPersistenceLayer's put condition:
    a record may be replaced only when absent, expired, or INPROGRESS past its in-progress expiry."""

    def __init__(self, outages: _Outages | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self.outages = outages or _Outages()
        self._lock = threading.Lock()
        self.records: dict[str, DataRecord] = {}
        self.unavailable = False  # the idempotency table alone is missing
        self.fail_updates = False  # saving a finished response fails (the operation already ran)

    def _guard(self) -> None:
        if self.unavailable or "dynamodb" in self.outages.down:
            raise ConnectionError("idempotency table unavailable")

    def _get_record(self, idempotency_key: str) -> DataRecord:
        self._guard()
        record = self.records.get(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        self._guard()
        now = dt.datetime.now()
        with self._lock:
            existing = self.records.get(data_record.idempotency_key)
            if existing is not None:
                expired = (existing.expiry_timestamp or 0) < int(now.timestamp())
                in_progress_expired = (
                    existing.status == STATUS_CONSTANTS["INPROGRESS"]
                    and existing.in_progress_expiry_timestamp is not None
                    and existing.in_progress_expiry_timestamp < int(now.timestamp() * 1000)
                )
                if not (expired or in_progress_expired):
                    self._validate_payload(data_payload=data_record, stored_data_record=existing)
                    raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
            self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self._guard()
        if self.fail_updates:
            raise ConnectionError("idempotency table went away after the operation ran")
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self._guard()
        self.records.pop(data_record.idempotency_key, None)


class InMemoryDependencies(Dependencies):
    """``Dependencies`` on the in-memory twins, sharing one outage switch."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.outages = _Outages()
        self.memory_store = InMemoryLoanStore(self.outages)
        self.memory_queue = InMemoryQueue(self.outages)
        self.memory_idempotency = InMemoryIdempotencyStore(self.outages)
        self.memory_events = InMemoryEvents(self.outages)
        self.memory_reviews = InMemoryReviewStore(self.outages)
        self.memory_store.reviews = self.memory_reviews
        self.memory_fraud_counters = InMemoryFraudCounters(self.outages)
        self.memory_versions = InMemoryVersionStore()
        super().__init__(
            settings or load_settings(),
            self.memory_store,
            self.memory_queue,
            self.memory_events,
            lambda: self.memory_idempotency,
            reviews=self.memory_reviews,
            fraud_counters=self.memory_fraud_counters,
            versions=self.memory_versions,
        )
        from devstack.in_memory_outcomes import InMemoryOutcomeStore  # issue 20: loan outcomes

        self.outcomes = InMemoryOutcomeStore(self.memory_store, self.settings.review_sla_business_days)
        from devstack.in_memory_batches import InMemoryChunkQueue  # the runs' parts (nobody drains them)
        from devstack.in_memory_monitoring import in_memory_monitoring  # issue 20: monitoring reports

        self.monitoring = in_memory_monitoring(InMemoryChunkQueue())


# --------------------------------------------------------------------------------------------
# Fraud and velocity counters (issue 21): the twin of chalicelib.dal.fraud.DynamoDBFraudCounters.
# --------------------------------------------------------------------------------------------
class InMemoryFraudCounters:
    """Sets per counter key, as the DynamoDB items hold them (same keys, same elements)."""

    def __init__(self, outages: _Outages | None = None) -> None:
        self.outages = outages or _Outages()
        self.seen: dict[str, set[str]] = {}
        self.declined: dict[str, set[str]] = {}
        self.calls = 0  # requests DynamoDB would have served: a write and a read per call
        self._lock = threading.Lock()

    def check(self) -> list[DependencyCheck]:
        return []  # the in-memory store's "dynamodb:in-memory" check covers the same outage switch

    def count(
        self, client_id: str, keys: Sequence[CounterKey], submission: str, at: int, declined: bool
    ) -> Counted:
        self.outages.guard("dynamodb")
        if not keys:
            return Counted({}, [])
        mine = element(submission, at)
        seen: dict[str, dict[str, int]] = {key.signal: {} for key in keys}
        declines: dict[str, int] = {}
        with self._lock:
            self.calls += 1
            for key in keys:
                bucket = at // key.bucket_seconds
                current = counter_key(client_id, key, bucket)
                self.seen.setdefault(current, set()).add(mine)
                if declined:
                    self.declined.setdefault(current, set()).add(mine)
                for b in (bucket, bucket - 1):
                    name = counter_key(client_id, key, b)
                    seen[key.signal].update(parse_elements(sorted(self.seen.get(name, ()))))
                    declines.update(parse_elements(sorted(self.declined.get(name, ()))))
        declines.pop(submission, None)
        return Counted({s: sorted(times.values()) for s, times in seen.items()}, sorted(declines.values()))
