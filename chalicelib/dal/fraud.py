"""Velocity counters on DynamoDB: one table (``resources.FRAUD_COUNTERS_TABLE``), idempotent counts.

An item per client, signal, keyed hash of the value and time bucket holds a string set ``seen`` of
``"<epoch seconds>:<submission>"`` (and ``declined``, the same for declined applications). Counting
is an ``ADD`` to a set, so a retried write, an idempotent replay or an SQS redelivery (same
submission, same time) never counts twice, and concurrent submissions each land once. The buckets are
as long as the signal's longest window: a sliding window is read from the current and the previous
bucket and cut in code (TTL deletes late). Another client's applicant is in another item.

Round trips: one ``TransactWriteItems`` (every item of the application, all or nothing), then one
``BatchGetItem`` with strongly consistent reads, so that each of N concurrent submissions sees at
least the submissions committed before its own write (the N-th sees all N).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from chalicelib.config import Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesTypeDef, TransactWriteItemTypeDef


TRANSACTION_ATTEMPTS = 4


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

    def _write(self, writes: list[TransactWriteItemTypeDef]) -> None:
        """One TransactWriteItems; a transaction that lost a race on one of its items (concurrent
        submissions of the same value: ``TransactionConflict``) is sent again: adding to a set twice
        counts once, so the retry cannot double-count."""
        from botocore.exceptions import ClientError

        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                self._ddb.transact_write_items(TransactItems=writes)
                return
            except ClientError as error:
                reasons = error.response.get("CancellationReasons", [])
                conflict = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
                if not conflict or attempt == TRANSACTION_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.01 * attempt))  # spread the retries of a burst

    def count(
        self, client_id: str, keys: Sequence[CounterKey], submission: str, at: int, declined: bool
    ) -> Counted:
        from botocore.exceptions import BotoCoreError, ClientError

        if not keys:
            return Counted({}, [])
        mine = element(submission, at)
        writes: list[TransactWriteItemTypeDef] = []
        reads: dict[str, str] = {}  # counter key -> signal
        for key in keys:
            bucket = at // key.bucket_seconds
            update = "ADD seen :mine" + (", declined :mine" if declined else "") + " SET expires_at = :ttl"
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"counter_key": {"S": counter_key(client_id, key, bucket)}},
                        "UpdateExpression": update,
                        "ExpressionAttributeValues": {
                            ":mine": {"SS": [mine]},
                            ":ttl": {"N": str(expires_at(bucket, key.bucket_seconds))},
                        },
                    }
                }
            )
            for b in (bucket, bucket - 1):
                reads[counter_key(client_id, key, b)] = key.signal
        request: dict[str, KeysAndAttributesTypeDef] = {
            self._table: {
                "Keys": [{"counter_key": {"S": k}} for k in reads],
                "ConsistentRead": True,
                "ProjectionExpression": "counter_key, seen, declined",
            }
        }
        try:
            self._write(writes)
            response = self._ddb.batch_get_item(RequestItems=request)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise DependencyUnavailable("dynamodb", code) from error
        except BotoCoreError as error:
            raise DependencyUnavailable("dynamodb", type(error).__name__) from error
        if response.get("UnprocessedKeys"):
            raise DependencyUnavailable("dynamodb", "UnprocessedKeys")
        seen: dict[str, dict[str, int]] = {key.signal: {} for key in keys}
        declines: dict[str, int] = {}
        for item in response.get("Responses", {}).get(self._table, []):
            signal = reads[item["counter_key"]["S"]]
            seen[signal].update(parse_elements(item.get("seen", {}).get("SS", [])))
            declines.update(parse_elements(item.get("declined", {}).get("SS", [])))
        declines.pop(submission, None)  # this application's own decline is not an earlier one
        return Counted(
            {signal: sorted(times.values()) for signal, times in seen.items()}, sorted(declines.values())
        )
