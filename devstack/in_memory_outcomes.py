"""The in-memory twin of ``chalicelib.dal.outcomes_aws.DynamoDBOutcomeStore``: loan outcomes on the
in-memory store's decision records, the history beside them, the same rules (the latest moves only
forward in ``as_of``; a history element added twice is a replay). Local-only."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from chalicelib.dal.outcomes import (
    Recorded,
    day_partition,
    day_partitions,
    history_element,
    history_of,
    monitored,
    monitoring_document,
    utc_now,
)
from chalicelib.engine.monitoring import MonitoredDecision
from chalicelib.records import LoanOutcome
from devstack.in_memory import InMemoryLoanStore


class InMemoryOutcomeStore:
    def __init__(self, store: InMemoryLoanStore, sla_business_days: int) -> None:
        self._store = store
        self._sla_business_days = sla_business_days
        self._lock = threading.Lock()
        self.history: dict[str, set[str]] = {}  # decision id -> "<as_of>#<status>", as DynamoDB's set

    def record_outcome(self, decision_id: str, outcome: LoanOutcome) -> Recorded:
        self._store.outages.guard("dynamodb")
        element = history_element(outcome)
        with self._lock:
            record = self._store.decisions.get(decision_id)
            if record is None:
                return Recorded(False, None)
            elements = self.history.setdefault(decision_id, set())
            created = element not in elements
            elements.add(element)
            latest = record.get("loan_outcome")
            if created and (latest is None or latest["as_of"] <= outcome["as_of"]):
                latest = {"status": outcome["status"], "as_of": outcome["as_of"]}
                record["loan_outcome"] = latest
            return Recorded(created, None if latest is None else latest.copy())

    def outcome_history(self, decision_id: str) -> list[LoanOutcome]:
        self._store.outages.guard("dynamodb")
        with self._lock:
            return history_of(self.history.get(decision_id, ()))

    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        """What the DynamoDB Queries return: the window's decisions by partition, then time."""
        self._store.outages.guard("dynamodb")
        now = utc_now()
        partitions = {partition: n for n, partition in enumerate(day_partitions(start, end))}
        with self._store._lock:
            records = list(self._store.decisions.values())
        found = []
        for record in records:
            partition = day_partition(record["decision_id"], record["created_at"])
            if partition in partitions and start <= record["created_at"] < end:
                found.append((partitions[partition], record["created_at"], record))
        for _, _, record in sorted(found, key=lambda entry: (entry[0], entry[1])):
            fields: dict[str, str] = {
                "decision_id": record["decision_id"],
                "client_id": record["client_id"],
                "decision_version": record["decision_version"],
                "arm": record["arm"],
                "created_at": record["created_at"],
                "outcome": record["decision"]["outcome"],
                "decided_by": record["decision"]["decided_by"],
            }
            if "final" in record:
                fields["final_outcome"] = record["final"]["final_outcome"]
                fields["final_decided_at"] = record["final"]["final_decided_at"]
            if "loan_outcome" in record:
                fields["loan_status"] = record["loan_outcome"]["status"]
            yield monitored(fields, monitoring_document(record), self._sla_business_days, now)

    def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
        """One (day, shard) partition of the window, as its Query returns it."""
        for decision in self.iter_monitored(start, end):
            if day_partition(decision.decision_id, decision.created_at) == partition:
                yield decision
