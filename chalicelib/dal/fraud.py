"""Velocity counters on DynamoDB: one table (``resources.FRAUD_COUNTERS_TABLE``), idempotent counts.

An item per client, signal, keyed hash of the value and time bucket holds a string set ``seen`` of
``"<epoch seconds>:<submission>"`` (and ``declined``, the same for declined applications). Counting
is an ``ADD`` to a set, so a retried write, an idempotent replay or an SQS redelivery (same
submission, same time) never counts twice, and concurrent submissions each land once. The buckets are
as long as the signal's longest window: a sliding window is read from the current and the previous
bucket and cut in code (TTL deletes late). Another client's applicant is in another item.

One round trip of latency: an ``UpdateItem`` per counted value (``ADD``, ``ReturnValues`` ALL_NEW: the
current bucket as it stands after this submission's write, so of N concurrent submissions of one
value the last one sees all N) and one ``BatchGetItem`` of the previous buckets, sent at the same
time. Not a ``TransactWriteItems``: a transaction costs twice the write units, and concurrent
submissions of one value would cancel each other's transactions (``TransactionConflict``); each
``ADD`` is atomic on its own item, and the items need no all-or-nothing (a partial failure is
``FRD-UNCHECKED``, and the retry adds what is missing, once).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple, Protocol

from chalicelib.config import Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, KeysAndAttributesTypeDef


# One thread per counted value (at most 6) and one for the read: the requests go out together.
_MAX_CONCURRENT_REQUESTS = 8
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """One pool per process, made on first use (never in a cold start that counts nothing)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_MAX_CONCURRENT_REQUESTS, thread_name_prefix="fraud-counters"
            )
        return _pool


class CounterKey(NamedTuple):
    """One counted value of one submission: ``signal`` (e.g. "pan"), the keyed hash of the value,
    and the bucket length (seconds) of the signal's windows."""

    signal: str
    value_hash: str
    bucket_seconds: int


class Counted(NamedTuple):
    """What the counters hold for one submission's values (this submission included): per signal,
    the submission times; and the times of declines among them."""

    seen: Mapping[str, list[int]]
    declined: list[int]


class FraudCounters(Protocol):
    def count(
        self, client_id: str, keys: Sequence[CounterKey], submission: str, at: int, declined: bool
    ) -> Counted:
        """Add ``submission`` (at epoch ``at``) to each key's set (and to ``declined`` if it was),
        then read every key's last two buckets. Raises ``DependencyUnavailable``."""

    def check(self) -> list[DependencyCheck]:
        """Probe the counters table (the in-memory twin has nothing of its own to probe)."""


class NoFraudCounters:
    """Dependencies built without counters: every application is unchecked (fail closed)."""

    def count(
        self, client_id: str, keys: Sequence[CounterKey], submission: str, at: int, declined: bool
    ) -> Counted:
        raise DependencyUnavailable("dynamodb", "no fraud counters configured")

    def check(self) -> list[DependencyCheck]:
        return []


def counter_key(client_id: str, key: CounterKey, bucket: int) -> str:
    return f"{client_id}#{key.signal}#{key.value_hash}#{bucket}"


def element(submission: str, at: int) -> str:
    return f"{at}:{submission}"


def parse_elements(elements: Sequence[str]) -> dict[str, int]:
    """submission -> time (an element that does not parse is ignored: it cannot be ours)."""
    times: dict[str, int] = {}
    for item in elements:
        at, _, submission = item.partition(":")
        if at.isascii() and at.isdigit() and submission:
            times[submission] = int(at)
    return times


def expires_at(bucket: int, bucket_seconds: int) -> int:
    # Read as "previous bucket" until the end of the next one; an hour more for clock skew.
    return (bucket + 2) * bucket_seconds + 3600


class DynamoDBFraudCounters:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self._table = table

    @classmethod
    def for_settings(cls, client: DynamoDBClient, settings: Settings) -> DynamoDBFraudCounters:
        return cls(client, settings.fraud_counters_table)

    def check(self) -> list[DependencyCheck]:
        from chalicelib.dal.aws import _timed_check

        return [
            _timed_check(
                f"dynamodb:{self._table}",
                lambda: self._ddb.get_item(
                    TableName=self._table,
                    Key={"counter_key": {"S": "health-probe"}},
                    ProjectionExpression="counter_key",
                ),
            )
        ]

    def _add(
        self, client_id: str, key: CounterKey, bucket: int, mine: str, declined: bool
    ) -> dict[str, AttributeValueTypeDef]:
        response = self._ddb.update_item(
            TableName=self._table,
            Key={"counter_key": {"S": counter_key(client_id, key, bucket)}},
            UpdateExpression="ADD seen :mine"
            + (", declined :mine" if declined else "")
            + " SET expires_at = :ttl",
            ExpressionAttributeValues={
                ":mine": {"SS": [mine]},
                ":ttl": {"N": str(expires_at(bucket, key.bucket_seconds))},
            },
            ReturnValues="ALL_NEW",
        )
        return response.get("Attributes", {})

    def _previous(self, names: list[str]) -> list[dict[str, AttributeValueTypeDef]]:
        request: dict[str, KeysAndAttributesTypeDef] = {
            self._table: {
                "Keys": [{"counter_key": {"S": name}} for name in names],
                "ConsistentRead": True,
                "ProjectionExpression": "counter_key, seen, declined",
            }
        }
        response = self._ddb.batch_get_item(RequestItems=request)
        if response.get("UnprocessedKeys"):
            raise DependencyUnavailable("dynamodb", "UnprocessedKeys")
        return list(response.get("Responses", {}).get(self._table, []))

    def count(
        self, client_id: str, keys: Sequence[CounterKey], submission: str, at: int, declined: bool
    ) -> Counted:
        from botocore.exceptions import BotoCoreError, ClientError

        if not keys:
            return Counted({}, [])
        mine = element(submission, at)
        pool = _executor()
        added: list[tuple[str, Future[dict[str, AttributeValueTypeDef]]]] = [
            (key.signal, pool.submit(self._add, client_id, key, at // key.bucket_seconds, mine, declined))
            for key in keys
        ]
        previous_names = {
            counter_key(client_id, key, at // key.bucket_seconds - 1): key.signal for key in keys
        }
        previous = pool.submit(self._previous, list(previous_names))
        try:
            items = [(signal, future.result()) for signal, future in added]
            items += [(previous_names[item["counter_key"]["S"]], item) for item in previous.result()]
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise DependencyUnavailable("dynamodb", code) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("dynamodb", type(error).__name__) from error
        seen: dict[str, dict[str, int]] = {key.signal: {} for key in keys}
        declines: dict[str, int] = {}
        for signal, item in items:
            seen[signal].update(parse_elements(item.get("seen", {}).get("SS", [])))
            declines.update(parse_elements(item.get("declined", {}).get("SS", [])))
        declines.pop(submission, None)  # this application's own decline is not an earlier one
        return Counted(
            {signal: sorted(times.values()) for signal, times in seen.items()}, sorted(declines.values())
        )
