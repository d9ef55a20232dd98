"""The in-memory batch twin's parts, typed (import as ``tests.support.batch_twin``), and decisions
whose records are moved back in time, for the batch and outcome tests on the twin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.service.batches import Batches
from devstack.batch_poller import PartFaults
from devstack.in_memory_batches import InMemoryBatchObjects, InMemoryBatchStore, InMemoryChunkQueue
from tests.support.http import body_of, post_json, sample_application


def store(twin: Batches) -> InMemoryBatchStore:
    assert isinstance(twin.store, InMemoryBatchStore)
    return twin.store


def objects(twin: Batches) -> InMemoryBatchObjects:
    """The twin's object store (under the fault tests' wrapper, if a test put one on)."""
    found = twin.objects.objects if isinstance(twin.objects, PartFaults) else twin.objects
    assert isinstance(found, InMemoryBatchObjects)
    return found


def queue(twin: Batches) -> InMemoryChunkQueue:
    assert isinstance(twin.queue, InMemoryChunkQueue)
    return twin.queue


def days_ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()


def decided_days_ago(client: Any, memory: Any, row: int, days: int = 30) -> str:
    """A decision of the test's client on sample row ``row``, its record's time moved ``days`` back."""
    response = post_json(client, "/v1/decisions", sample_application(row))
    assert response.status_code == 200, response.body
    decision_id = str(body_of(response)["decision_id"])
    memory.memory_store.decisions[decision_id]["created_at"] = f"{days_ago(days)}T09:00:00.000Z"
    return decision_id
