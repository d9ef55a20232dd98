"""AWS calls per operation, measured on the real app in-process: what each decision costs in AWS.

The app runs in this process (``import app``) on moto in-process, and every call made by the
botocore clients in ``dependencies.current().aws_clients`` (whatever that dict holds: DynamoDB, SQS,
EventBridge, ...) is recorded through botocore's event system (``before-call`` / ``after-call``):
service, operation, request and response payload bytes. Nothing is hard-coded, so the figures follow
the app as it changes. Operations:

- ``sync_miss`` / ``sync_hit``: ``POST /v1/decisions`` on a cache miss / a cache hit;
- ``async_submit``: ``POST /v1/applications`` (and ``async_submit_idempotent`` with an Idempotency-Key);
- ``worker_record``: one SQS batch of ``batch_size`` queued applications through
  ``app.process_application_queue``, divided by the batch size;
- ``status_poll``: ``GET /v1/applications/{id}`` of a decided application;
- ``health_ready``: ``GET /health/ready`` (what the Route 53 health check probes).

DynamoDB capacity is an ESTIMATE (the app does not ask for ``ReturnConsumedCapacity`` and moto would
not report it anyway): every written item is read before and after the write through a separate,
unrecorded client, and DynamoDB's documented rules are applied to the item sizes (attribute names +
values): 1 WCU per KB per item (rounded up; the larger of the old and new item), x2 in a transaction;
each global secondary index whose keys the item carries costs its own write (a key change = a delete
plus a put); reads 0.5 RCU per 4 KB eventually consistent, 1 RCU strongly consistent, x2 transactional.
Stored bytes per table and index (+100 bytes per item) give the retained storage.

Duration for the cost model: the in-process handler time per operation (median) on the in-memory twin
(``devstack.in_memory``, so moto's own cost is excluded), plus the botocore client's own CPU per call
(serialise, sign, parse), measured by replaying each recorded request against a canned response. The
network wait is NOT measurable here: the cost model adds an assumed in-region latency per call
(``ASSUMED_LATENCY_MS``). Log bytes are the Powertools logger's and EMF's lines captured from fd 1.

Run: ``python -m bench.bench_aws_calls [--runs N] [--timing-runs N] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

# Sets the process environment the in-process handler needs (fake credentials, local stage, no
# endpoint override), before botocore or the app is imported.
from bench.bench_handler import proxy_event as _bare_proxy_event
from bench.bench_handler import sample_application
from bench.bench_handler import stdout_silenced as stdout_discarded
from chalicelib import resources

STAGE = "local"
REGION = "us-east-1"
# The API key id API Gateway would put in requestContext.identity (records are owned by it).
BENCH_API_KEY_ID = "bench-api-key-id"
# In-region round trip per call, ASSUMED (not measurable on this machine): DynamoDB single-item
# calls are single-digit ms (AWS quotes "single-digit millisecond"), SQS and EventBridge slower.
ASSUMED_LATENCY_MS: dict[str, float] = {"dynamodb": 4.0, "sqs": 8.0, "events": 12.0}
ASSUMED_OTHER_LATENCY_MS = 10.0
# Attributes longer than this are what a "compress large attributes" lever would zlib (binary).
COMPRESSIBLE_ATTRIBUTE_BYTES = 512
# DynamoDB adds 100 bytes of overhead per stored item (table and each index) for storage billing.
ITEM_STORAGE_OVERHEAD_BYTES = 100
DAYS_PER_MONTH = 30.44

OPERATIONS = (
    "sync_miss",
    "sync_hit",
    "async_submit",
    "async_submit_idempotent",
    "worker_record",
    "status_poll",
    "health_ready",
)
# Which Lambda function serves each operation (the cost model prices its memory).
FUNCTION_OF = {name: "worker" if name == "worker_record" else "api" for name in OPERATIONS}


# ------------------------------------------------------------------------------------------------
# DynamoDB item sizes and capacity units (documented rules)
# ------------------------------------------------------------------------------------------------
def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (DynamoDB JSON, e.g. ``{"S": "..."}``)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner) * 3 // 4 if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_value_size(v) + 1 for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: dict[str, Any] | None, *, compressed: bool = False) -> int:
    """Item size as DynamoDB bills it; ``compressed``: long strings stored as zlib binary instead."""
    if not item:
        return 0
    total = 0
    for name, value in item.items():
        size = attribute_value_size(value)
        if compressed and "S" in value and size > COMPRESSIBLE_ATTRIBUTE_BYTES:
            size = len(zlib.compress(value["S"].encode(), 6))
        total += len(name.encode()) + size
    return total


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexShape, ...]
    retention_days: float


@dataclass
class Capacity:
    """Estimated consumption of one call (see the module docstring for the rules)."""

    items_written: float = 0.0  # items put, updated or deleted (in the table; indexes not counted)
    wcu: float = 0.0
    rcu: float = 0.0
    wcu_compressed: float = 0.0  # lever: large attributes zlib-compressed
    wcu_keys_only_indexes: float = 0.0  # lever: indexes project keys only
    wcu_compressed_keys_only: float = 0.0  # both levers
    # Retained bytes x months (table + indexes), and the table alone (PITR bills table size only).
    byte_months: float = 0.0
    table_byte_months: float = 0.0
    byte_months_compressed: float = 0.0


class CapacityEstimator:
    """Reads items before and after each write through its own (unrecorded) client."""

    def __init__(self, shadow_client: Any) -> None:
        self._ddb = shadow_client
        self._tables: dict[str, TableShape] = {}

    def shape(self, table: str) -> TableShape:
        if table not in self._tables:
            self._tables[table] = self._describe(table)
        return self._tables[table]

    def _describe(self, table: str) -> TableShape:
        description = self._ddb.describe_table(TableName=table)["Table"]
        keys = tuple(k["AttributeName"] for k in description["KeySchema"])
        indexes = {
            index["IndexName"]: IndexShape(
                index["IndexName"],
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                index.get("Projection", {}).get("ProjectionType", "ALL"),
                tuple(index.get("Projection", {}).get("NonKeyAttributes", ())),
            )
            for index in description.get("GlobalSecondaryIndexes", [])
        }
        retention_days = 30.0
        for spec in resources.TABLES:
            if resources.resource_name(STAGE, spec.suffix) != table:
                continue
            # The template's indexes (resources) count even if the local bootstrap lacks them.
            for spec_index in getattr(spec, "indexes", ()):
                index_keys = tuple(
                    k for k in (spec_index.partition_key, getattr(spec_index, "sort_key", None)) if k
                )
                indexes.setdefault(spec_index.name, IndexShape(spec_index.name, index_keys, "ALL"))
            retention_days = _retention_days(spec)
        return TableShape(table, keys, tuple(indexes.values()), retention_days)

    def read_item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.shape(table).keys if name in item}

    # -- writes -------------------------------------------------------------------------------
    def write_targets(self, operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
        """(table, key, transactional) of every item the call may write."""
        if operation == "PutItem":
            return [(body["TableName"], self.key_of(body["TableName"], body["Item"]), False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(body["TableName"], body["Key"], False)]
        targets = []
        if operation == "BatchWriteItem":
            for table, requests in body.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        targets.append((table, self.key_of(table, request["PutRequest"]["Item"]), False))
                    else:
                        targets.append((table, request["DeleteRequest"]["Key"], False))
        if operation == "TransactWriteItems":
            for entry in body.get("TransactItems", []):
                (kind, spec), *_ = entry.items()
                key = self.key_of(spec["TableName"], spec["Item"]) if kind == "Put" else spec["Key"]
                targets.append((spec["TableName"], key, True))
        return targets

    def write_capacity(
        self, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None, transactional: bool
    ) -> Capacity:
        shape = self.shape(table)
        factor = 2.0 if transactional else 1.0
        capacity = Capacity(items_written=1.0)
        for compressed in (False, True):
            units = factor * write_units(
                max(item_size(before, compressed=compressed), item_size(after, compressed=compressed))
            )
            index_units = 0.0
            keys_only_units = 0.0
            for index in shape.indexes:
                index_units += _index_write_units(shape, index, before, after, compressed)
                keys_only = IndexShape(index.name, index.keys, "KEYS_ONLY")
                keys_only_units += _index_write_units(shape, keys_only, before, after, compressed)
            if compressed:
                capacity.wcu_compressed = units + index_units
                capacity.wcu_compressed_keys_only = units + keys_only_units
            else:
                capacity.wcu = units + index_units
                capacity.wcu_keys_only_indexes = units + keys_only_units
        months = shape.retention_days / DAYS_PER_MONTH
        table_delta = _stored(after) - _stored(before)
        capacity.table_byte_months = table_delta * months
        for compressed in (False, True):
            delta = _stored(after, compressed) - _stored(before, compressed)
            for index in shape.indexes:
                delta += _stored(_projected(shape, index, after), compressed) - _stored(
                    _projected(shape, index, before), compressed
                )
            if compressed:
                capacity.byte_months_compressed = delta * months
            else:
                capacity.byte_months = delta * months
        return capacity

    # -- reads --------------------------------------------------------------------------------
    @staticmethod
    def read_capacity(operation: str, body: dict[str, Any], parsed: dict[str, Any]) -> float:
        consistent = bool(body.get("ConsistentRead"))
        if operation == "GetItem":
            return read_units(item_size(parsed.get("Item")), consistent)
        if operation in ("Query", "Scan"):
            return read_units(sum(item_size(i) for i in parsed.get("Items", [])), consistent)
        if operation == "BatchGetItem":
            total = 0.0
            for table, items in parsed.get("Responses", {}).items():
                table_consistent = bool(body.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
                total += sum(read_units(item_size(i), table_consistent) for i in items)
            return total
        if operation == "TransactGetItems":
            return sum(2 * read_units(item_size(r.get("Item")), True) for r in parsed.get("Responses", []))
        return 0.0


def _retention_days(spec: Any) -> float:
    """How long an item of this table is kept (its TTL) before it stops costing storage."""
    if spec is resources.DECISION_CACHE_TABLE:
        return resources.DECISION_CACHE_TTL_SECONDS / 86400
    if spec is resources.IDEMPOTENCY_TABLE:
        return resources.IDEMPOTENCY_TTL_SECONDS / 86400
    return float(getattr(resources, "RECORD_RETENTION_DAYS", 762))


def _stored(item: dict[str, Any] | None, compressed: bool = False) -> int:
    return item_size(item, compressed=compressed) + ITEM_STORAGE_OVERHEAD_BYTES if item else 0


def _projected(shape: TableShape, index: IndexShape, item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index entry of ``item`` (None when the item lacks the index's keys: a sparse index)."""
    if not item or any(key not in item for key in index.keys):
        return None
    if index.projection == "ALL":
        return item
    names = set(shape.keys) | set(index.keys) | set(index.included if index.projection == "INCLUDE" else ())
    return {name: value for name, value in item.items() if name in names}


def _index_write_units(
    shape: TableShape,
    index: IndexShape,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    compressed: bool,
) -> float:
    old, new = _projected(shape, index, before), _projected(shape, index, after)
    if old == new:
        return 0.0  # nothing projected changed (or neither version is in the index)
    old_size, new_size = item_size(old, compressed=compressed), item_size(new, compressed=compressed)
    if old is None:
        return write_units(new_size)
    if new is None:
        return write_units(old_size)
    if all(old[key] == new[key] for key in index.keys):
        return write_units(max(old_size, new_size))
    return write_units(old_size) + write_units(new_size)  # key changed: delete + put


# ------------------------------------------------------------------------------------------------
# Recording the calls
# ------------------------------------------------------------------------------------------------
@dataclass
class Call:
    service: str
    operation: str
    request_bytes: int
    response_bytes: int
    status: int
    entries: int = 1  # EventBridge events / SQS messages in the call (batch calls carry several)
    capacity: Capacity = field(default_factory=Capacity)
    request_body: bytes = b""
    response_body: bytes = b""


class CallRecorder:
    """botocore ``before-call`` / ``after-call`` handlers on every client; calls by operation name."""

    def __init__(self, clients: dict[str, Any], estimator: CapacityEstimator | None) -> None:
        self.calls: dict[str, list[Call]] = defaultdict(list)
        self.current: str | None = None
        self._estimator = estimator
        self._pending: list[tuple[dict[str, Any], list[tuple[str, dict[str, Any], bool, Any]]]] = []
        for client in clients.values():
            # unique_id: registering twice (a client listed under two names) records each call once.
            client.meta.events.register("before-call.*.*", self._before, unique_id="bench-aws-calls-before")
            client.meta.events.register("after-call.*.*", self._after, unique_id="bench-aws-calls-after")

    @contextlib.contextmanager
    def operation(self, name: str | None) -> Iterator[None]:
        previous, self.current = self.current, name
        try:
            yield
        finally:
            self.current = previous

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = _body_bytes(params.get("body"))
        parsed_body = _json_or_empty(body)
        targets: list[tuple[str, dict[str, Any], bool, Any]] = []
        service = model.service_model.endpoint_prefix
        if self.current is not None and service == "dynamodb" and self._estimator is not None:
            for table, key, transactional in self._estimator.write_targets(model.name, parsed_body):
                targets.append((table, key, transactional, self._estimator.read_item(table, key)))
        self._pending.append(({"body": body, "parsed_body": parsed_body}, targets))

    def _after(self, model: Any, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        request, targets = self._pending.pop()
        if self.current is None:
            return
        service = model.service_model.endpoint_prefix
        body = request["parsed_body"]
        call = Call(
            service=service,
            operation=model.name,
            request_bytes=len(request["body"]),
            response_bytes=len(http_response.content or b""),
            status=int(http_response.status_code),
            entries=len(body.get("Entries", [])) if model.name in ("PutEvents", "SendMessageBatch") else 1,
            request_body=request["body"],
            response_body=http_response.content or b"",
        )
        if service == "dynamodb" and self._estimator is not None:
            call.capacity.rcu = self._estimator.read_capacity(model.name, body, parsed)
            for table, key, transactional, before in targets:
                # A failed condition still consumes the write (sized by the existing item).
                after = self._estimator.read_item(table, key)
                one = self._estimator.write_capacity(table, before, after, transactional)
                for name, value in asdict(one).items():
                    setattr(call.capacity, name, getattr(call.capacity, name) + value)
        self.calls[self.current].append(call)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, dict):  # query protocol: form fields
        from urllib.parse import urlencode

        return urlencode(body).encode()
    return b""


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------------------------
# Capturing what a request writes to the log (fd 1: Powertools' Logger and EMF print there)
# ------------------------------------------------------------------------------------------------
@dataclass
class LogCapture:
    log_bytes: int = 0
    log_lines: int = 0
    emf_bytes: int = 0
    emf_lines: int = 0
    emf_blobs: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def captured_stdout(into: LogCapture) -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().splitlines():
                if not line.strip():
                    continue
                size = len(line) + 1
                document = _json_or_empty(line)
                if "_aws" in document:
                    into.emf_bytes += size
                    into.emf_lines += 1
                    into.emf_blobs.append(document)
                else:
                    into.log_bytes += size
                    into.log_lines += 1


# ------------------------------------------------------------------------------------------------
# Driving the app
# ------------------------------------------------------------------------------------------------
def proxy_event(
    method: str,
    path: str,
    body: Any | None = None,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """bench_handler's API Gateway proxy event, with the API key identity a keyed route receives."""
    event = _bare_proxy_event(method, path, body)
    if resource is not None:
        event["resource"] = resource
        event["requestContext"]["resourcePath"] = resource
    event["pathParameters"] = path_parameters
    event["headers"].update({"x-api-key": "bench-api-key", **(headers or {})})
    event["requestContext"]["identity"]["apiKeyId"] = BENCH_API_KEY_ID
    return event


class AppDriver:
    """The operations, run against whatever ``dependencies.current()`` is."""

    def __init__(self) -> None:
        from app import app, process_application_queue
        from devstack.lambda_events import LocalLambdaContext

        self.app = app
        self.worker = process_application_queue
        self.context = LocalLambdaContext(function_name="api_handler", region=REGION)
        self.application = sample_application()
        self.batch_size = resources.APPLICATIONS_QUEUE.batch_size
        self._unique = 0

    def _call(self, event: dict[str, Any], expected: int) -> dict[str, Any]:
        response: dict[str, Any] = self.app(event, self.context)
        if response["statusCode"] != expected:
            raise RuntimeError(
                f"{event['httpMethod']} {event['path']}: {response['statusCode']} (expected {expected}): "
                f"{str(response.get('body'))[:300]}"
            )
        return response

    def fresh_application(self) -> dict[str, Any]:
        # A scoring input no earlier request used: the decision cache misses.
        self._unique += 1
        return {**self.application, "savings_balance": 2_000_000 + self._unique * 7 + os.getpid() % 7}

    def decide(self, payload: dict[str, Any], expect_cache: str | None) -> None:
        response = self._call(proxy_event("POST", "/v1/decisions", payload), 200)
        cache = json.loads(response["body"]).get("cache")
        if expect_cache is not None and cache != expect_cache:
            raise RuntimeError(f"expected a cache {expect_cache}, got {cache!r}")

    def submit(self, idempotency_key: str | None = None) -> str:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else None
        event = proxy_event("POST", "/v1/applications", self.fresh_application(), headers=headers)
        return str(json.loads(self._call(event, 202)["body"])["application_id"])

    def poll(self, application_id: str) -> dict[str, Any]:
        event = proxy_event(
            "GET",
            f"/v1/applications/{application_id}",
            resource="/v1/applications/{application_id}",
            path_parameters={"application_id": application_id},
        )
        body: dict[str, Any] = json.loads(self._call(event, 200)["body"])
        return body

    def health_ready(self) -> None:
        self._call(proxy_event("GET", "/health/ready"), 200)

    def process(self, records: list[dict[str, Any]]) -> None:
        from devstack.lambda_events import worker_context

        result = self.worker({"Records": records}, worker_context(STAGE, REGION))
        if result != {"batchItemFailures": []}:
            raise RuntimeError(f"worker batch failed: {result}")


def _queue_arn(queue_name: str) -> str:
    from devstack.lambda_events import LOCAL_ACCOUNT_ID

    return f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT_ID}:{queue_name}"


def _bootstrap(clients: dict[str, Any]) -> None:
    """Create the stage's resources with whatever the devstack bootstrap takes (its signature may
    grow, e.g. an EventBridge client): parameters named after a service get that service's client."""
    import inspect

    from devstack import bootstrap

    function = bootstrap.create_tables_and_queues
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "stage":
            arguments[name] = STAGE
            continue
        service = next((s for s in clients if name.startswith(s) or name.startswith(f"{s}_")), None)
        if service is not None:
            arguments[name] = clients[service]
        elif parameter.default is inspect.Parameter.empty:
            raise RuntimeError(f"devstack.bootstrap.create_tables_and_queues needs {name!r}: not measurable")
    function(**arguments)


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
@dataclass
class CallSummary:
    service: str
    operation: str
    calls: float  # per execution of the operation
    request_bytes: float
    response_bytes: float
    entries: float


@dataclass
class OperationProfile:
    """Per ONE execution of the operation (a worker record = batch / batch size)."""

    name: str
    function: str  # "api" | "worker"
    lambda_invocations: float
    api_requests: float
    calls: list[CallSummary]
    items_written: float
    wcu: float
    rcu: float
    wcu_compressed: float
    wcu_keys_only_indexes: float
    wcu_compressed_keys_only: float
    byte_months: float
    table_byte_months: float
    byte_months_compressed: float
    log_bytes: float
    log_lines: float
    emf_bytes: float
    emf_lines: float
    handler_us: float = 0.0  # in-process median, in-memory twin (no AWS calls)
    client_cpu_us: float = 0.0  # botocore's own CPU for this operation's calls (replayed)

    def calls_to(self, service: str) -> float:
        return sum(c.calls for c in self.calls if c.service == service)

    def entries_to(self, service: str, operation: str) -> float:
        return sum(c.entries for c in self.calls if c.service == service and c.operation == operation)

    def bytes_of(self, service: str, operation: str) -> float:
        return sum(c.request_bytes for c in self.calls if c.service == service and c.operation == operation)


@dataclass
class Measurement:
    operations: dict[str, OperationProfile]
    batch_size: int
    runs: int
    timing_runs: int
    assumed_latency_ms: dict[str, float]
    client_cpu_us_per_call: dict[str, float]
    custom_metric_series: int
    api_routes: int
    access_log_line_bytes: int
    sqs_message_bytes: float
    notes: list[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Measurement:
        data = json.loads(text)
        operations = {}
        stored = data.pop("operations")
        # JSON keeps keys sorted: back to the measuring order.
        for name, profile in sorted(stored.items(), key=lambda item: _operation_order(item[0])):
            profile["calls"] = [CallSummary(**c) for c in profile["calls"]]
            operations[name] = OperationProfile(**profile)
        return cls(operations=operations, **data)


def _operation_order(name: str) -> int:
    return OPERATIONS.index(name) if name in OPERATIONS else len(OPERATIONS)


def _summarise(
    name: str, calls: list[Call], executions: float, capture: LogCapture, invocations: float
) -> OperationProfile:
    grouped: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for call in calls:
        grouped[(call.service, call.operation)].append(call)
    summaries = [
        CallSummary(
            service,
            operation,
            len(group) / executions,
            sum(c.request_bytes for c in group) / executions,
            sum(c.response_bytes for c in group) / executions,
            sum(c.entries for c in group) / executions,
        )
        for (service, operation), group in sorted(grouped.items())
    ]

    def total(attribute: str) -> float:
        return sum(getattr(c.capacity, attribute) for c in calls) / executions

    return OperationProfile(
        name=name,
        function=FUNCTION_OF[name],
        lambda_invocations=invocations,
        api_requests=0.0 if FUNCTION_OF[name] == "worker" else 1.0,
        calls=summaries,
        items_written=total("items_written"),
        wcu=total("wcu"),
        rcu=total("rcu"),
        wcu_compressed=total("wcu_compressed"),
        wcu_keys_only_indexes=total("wcu_keys_only_indexes"),
        wcu_compressed_keys_only=total("wcu_compressed_keys_only"),
        byte_months=total("byte_months"),
        table_byte_months=total("table_byte_months"),
        byte_months_compressed=total("byte_months_compressed"),
        log_bytes=capture.log_bytes / executions,
        log_lines=capture.log_lines / executions,
        emf_bytes=capture.emf_bytes / executions,
        emf_lines=capture.emf_lines / executions,
    )


@contextlib.contextmanager
def _emf_on() -> Iterator[None]:
    # The deployed stages emit EMF (resources.EMF_METRICS); count its bytes as they would.
    saved = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved


def _count_calls(runs: int, operations: tuple[str, ...]) -> tuple[dict[str, OperationProfile], dict]:
    """moto in-process: every AWS call of each operation, ``runs`` times (after one warm-up)."""
    from moto import mock_aws

    from chalicelib.dal.clients import client_config
    from chalicelib.service import dependencies

    profiles: dict[str, OperationProfile] = {}
    extra: dict[str, Any] = {"emf_blobs": [], "recorded": {}, "sqs_message_bytes": 0.0}
    # Everything the app prints outside a counted run is discarded (the counted runs capture theirs).
    with mock_aws(), stdout_discarded():
        deps = dependencies.Dependencies.from_environment()
        clients = dict(deps.aws_clients)
        _bootstrap(clients)
        dependencies.use(deps)
        try:
            import botocore.session

            shadow_session = botocore.session.Session()
            shadow_ddb = shadow_session.create_client("dynamodb", region_name=REGION, config=client_config())
            shadow_sqs = shadow_session.create_client("sqs", region_name=REGION, config=client_config())
            recorder = CallRecorder(clients, CapacityEstimator(shadow_ddb))
            driver = AppDriver()
            queue_url = shadow_sqs.get_queue_url(QueueName=deps.settings.applications_queue)["QueueUrl"]

            def drain_queue() -> list[dict[str, Any]]:
                messages: list[dict[str, Any]] = []
                while batch := shadow_sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=10,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages"):
                    messages += batch
                    shadow_sqs.delete_message_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                        ],
                    )
                return messages

            def run(name: str, call: Callable[[], Any], executions: float, invocations: float) -> None:
                with stdout_discarded():
                    call()  # warm-up: per-process work (queue URL lookup, cold start metric) is not per call
                recorder.calls.pop(name, None)
                capture = LogCapture()
                with _emf_on(), captured_stdout(capture), recorder.operation(name):
                    for _ in range(runs):
                        call()
                profiles[name] = _summarise(
                    name, recorder.calls[name], runs * executions, capture, invocations
                )
                extra["emf_blobs"] += capture.emf_blobs
                extra["recorded"][name] = recorder.calls[name]

            if "sync_miss" in operations:
                run("sync_miss", lambda: driver.decide(driver.fresh_application(), "miss"), 1, 1)
            if "sync_hit" in operations:
                with stdout_discarded():
                    driver.decide(driver.application, None)  # fills the cache (outside the count)
                run("sync_hit", lambda: driver.decide(driver.application, "hit"), 1, 1)
            decided: list[str] = []
            if "async_submit" in operations:
                run("async_submit", lambda: decided.append(driver.submit()), 1, 1)
            if "async_submit_idempotent" in operations:
                run("async_submit_idempotent", lambda: decided.append(driver.submit(str(uuid.uuid4()))), 1, 1)
            if "worker_record" in operations:
                batch = driver.batch_size

                def worker_batch() -> None:
                    with recorder.operation(None), stdout_discarded():
                        ids = [driver.submit() for _ in range(batch)]
                        messages = drain_queue()
                    extra["sqs_message_bytes"] = statistics.fmean(len(m["Body"].encode()) for m in messages)
                    from devstack.lambda_events import sqs_event

                    event = sqs_event(messages, _queue_arn(deps.settings.applications_queue), REGION)
                    driver.process(event["Records"])
                    decided.extend(ids)

                run("worker_record", worker_batch, batch, 1 / batch)
            with stdout_discarded():
                drain_queue()
            if "status_poll" in operations:
                if not decided:
                    with stdout_discarded():
                        driver.process(
                            _records_of([driver.submit()], drain_queue, deps.settings.applications_queue)
                        )
                target = decided[-1]
                if driver.poll(target).get("status") != "DECIDED":
                    raise RuntimeError("the polled application is not DECIDED")
                run("status_poll", lambda: driver.poll(target), 1, 1)
            if "health_ready" in operations:
                run("health_ready", driver.health_ready, 1, 1)
        finally:
            dependencies.use(None)
    return profiles, extra


def _records_of(
    ids: list[str], drain: Callable[[], list[dict[str, Any]]], queue: str
) -> list[dict[str, Any]]:
    from devstack.lambda_events import sqs_event

    return sqs_event(drain(), _queue_arn(queue), REGION)["Records"]


def _time_handlers(timing_runs: int, operations: tuple[str, ...]) -> dict[str, float]:
    """Median in-process µs per operation on the in-memory twin (no AWS emulator in the time)."""
    from chalicelib.service import dependencies
    from devstack.in_memory import InMemoryDependencies
    from devstack.lambda_events import sqs_record

    twin = InMemoryDependencies()
    dependencies.use(twin)
    driver = AppDriver()
    queue_arn = _queue_arn(twin.settings.applications_queue)

    def median_us(call: Callable[[], Any], runs: int, per: int = 1) -> float:
        for _ in range(max(3, runs // 20)):
            call()
        samples = []
        for _ in range(runs):
            started = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - started) / 1000 / per)
        return statistics.median(samples)

    def queued_records() -> list[dict[str, Any]]:
        """What the twin's queue holds, as Lambda's SQS records (first receive)."""
        return [
            sqs_record(
                {
                    "MessageId": message_id,
                    "ReceiptHandle": "bench",
                    "Body": body,
                    "Attributes": {"ApproximateReceiveCount": "1"},
                },
                queue_arn,
                REGION,
            )
            for message_id, body in twin.memory_queue.drain()
        ]

    def worker_batch_median(batches: int) -> float:
        samples = []
        for number in range(batches + 3):
            for _ in range(driver.batch_size):
                driver.submit()  # untimed: the applications are PENDING before the batch
            records = queued_records()
            started = time.perf_counter_ns()
            driver.process(records)
            if number >= 3:  # warm-up batches
                samples.append((time.perf_counter_ns() - started) / 1000 / driver.batch_size)
        return statistics.median(samples)

    medians: dict[str, float] = {}
    try:
        with _emf_on(), stdout_discarded():
            driver.decide(driver.application, None)
            for name in operations:
                if name == "sync_miss":
                    medians[name] = median_us(
                        lambda: driver.decide(driver.fresh_application(), "miss"), timing_runs
                    )
                elif name == "sync_hit":
                    medians[name] = median_us(lambda: driver.decide(driver.application, "hit"), timing_runs)
                elif name == "async_submit":
                    medians[name] = median_us(driver.submit, timing_runs)
                elif name == "async_submit_idempotent":
                    medians[name] = median_us(lambda: driver.submit(str(uuid.uuid4())), timing_runs)
                elif name == "worker_record":
                    medians[name] = worker_batch_median(max(10, timing_runs // driver.batch_size))
                elif name == "status_poll":
                    target = driver.submit()
                    driver.process(queued_records())
                    medians[name] = median_us(partial(driver.poll, target), timing_runs)
                elif name == "health_ready":
                    medians[name] = median_us(driver.health_ready, timing_runs)
                twin.memory_queue.drain()
    finally:
        dependencies.use(None)
    return medians


class _CannedRaw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def client_cpu_per_call(recorded: list[Call], repeats: int = 200) -> dict[str, float]:
    """Median µs botocore spends per call (build, serialise, sign, parse), by service/operation:
    the first recorded request of each is replayed against its recorded response, with no network
    or emulator (pass one operation's calls: payload sizes differ between operations)."""
    import botocore.session
    from botocore import xform_name
    from botocore.awsrequest import AWSResponse

    from chalicelib.dal.clients import client_config

    session = botocore.session.Session()
    sample: dict[tuple[str, str], Call] = {}
    for call in recorded:
        if call.status == 200:
            sample.setdefault((call.service, call.operation), call)
    out: dict[str, float] = {}
    for (service, operation), call in sample.items():
        # A closed local port: if the canned response ever failed to short-circuit, nothing leaves.
        client = session.create_client(
            service, region_name=REGION, endpoint_url="http://127.0.0.1:9", config=client_config()
        )

        def canned(request: Any, body: bytes = call.response_body, **_: Any) -> AWSResponse:
            return AWSResponse(
                request.url, 200, {"content-type": "application/x-amz-json-1.0"}, _CannedRaw(body)
            )

        client.meta.events.register_first("before-send.*.*", canned)
        method = getattr(client, xform_name(operation))
        params = _json_or_empty(call.request_body)
        try:
            method(**params)
        except Exception:
            continue  # not replayable (e.g. binary values): left to the per-service median
        samples = []
        for _ in range(repeats):
            started = time.perf_counter_ns()
            method(**params)
            samples.append((time.perf_counter_ns() - started) / 1000)
        out[f"{service}/{operation}"] = statistics.median(samples)
    return out


def _custom_metric_series(blobs: list[dict[str, Any]], api_routes: int) -> int:
    """Distinct CloudWatch metric series the EMF blobs define over a month (each one is billed).

    A metric counts once per combination of its dimensions' values. A metric seen on more than one
    route is a per-request metric: assumed on every API route with ``ASSUMED_STATUSES_PER_ROUTE``
    statuses each. ``outcome`` takes the three outcomes, ``source`` sync and async; any other
    dimension the values seen here."""
    seen: dict[tuple[str, str, tuple[str, ...]], set[tuple[str, ...]]] = {}
    for blob in blobs:
        for directive in blob["_aws"].get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", [[]]):
                dimensions = tuple(sorted(dimension_set))
                for metric in directive.get("Metrics", []):
                    key = (directive.get("Namespace", ""), metric["Name"], dimensions)
                    seen.setdefault(key, set()).add(tuple(str(blob.get(d)) for d in dimensions))
    expected = {"outcome": 3, "source": 2}
    total = 0
    for (_, _, dimensions), combinations in seen.items():
        values = {d: {combo[i] for combo in combinations} for i, d in enumerate(dimensions)}
        per_request = len(values.get("route", ())) > 1
        series = 1
        for dimension in dimensions:
            if per_request and dimension == "route":
                series *= max(api_routes, len(values[dimension]))
            elif per_request and dimension == "status":
                series *= max(ASSUMED_STATUSES_PER_ROUTE, len(values[dimension]))
            else:
                series *= max(expected.get(dimension, 1), len(values[dimension]))
        total += series
    return total


# Over a month a route answers its success status and a few errors (400, 404, 409/422, 503...).
ASSUMED_STATUSES_PER_ROUTE = 4


def _api_routes() -> int:
    from app import app

    return sum(1 for methods in app.routes.values() for method in methods if method != "OPTIONS")


def _access_log_line_bytes() -> int:
    """One API Gateway access log line in the template's format, filled with typical values."""
    try:
        from infra.api_gateway import ACCESS_LOG_FORMAT
    except ImportError:
        return 700
    typical = {
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": "Ab1CdEfGhIjKlMn=",
        "requestTime": "12/Nov/2026:10:11:12 +0000",
        "identity.sourceIp": "203.0.113.9",
        "identity.userAgent": "python-requests/2.32.3",
        "httpMethod": "POST",
        "resourcePath": "/v1/decisions",
        "path": "/api/v1/decisions",
        "status": "200",
        "responseLength": "5123",
        "responseLatency": "41",
        "integrationLatency": "38",
        "integration.status": "200",
        "error.responseType": "-",
        "error.message": "-",
        "identity.apiKeyId": "a1b2c3d4e5",
        "waf.status": "200",
        "xrayTraceId": "1-6731f0a0-0123456789abcdef01234567",
    }
    line = ACCESS_LOG_FORMAT
    for name, value in sorted(typical.items(), key=lambda item: -len(item[0])):
        line = line.replace(f"$context.{name}", value)
    return len(line.encode()) + 1


def measure(
    runs: int = 5,
    timing_runs: int = 300,
    operations: tuple[str, ...] = OPERATIONS,
    timing: bool = True,
) -> Measurement:
    profiles, extra = _count_calls(runs, operations)
    notes: list[str] = []
    per_call: dict[str, float] = {}
    if timing:
        medians = _time_handlers(timing_runs, operations)
        for name, profile in profiles.items():
            own = client_cpu_per_call(extra["recorded"][name])
            per_call.update({f"{key} ({name})": value for key, value in own.items()})
            fallback = statistics.median(own.values()) if own else 0.0
            profile.handler_us = medians.get(name, 0.0)
            profile.client_cpu_us = sum(
                c.calls * own.get(f"{c.service}/{c.operation}", fallback) for c in profile.calls
            )
    api_routes = _api_routes()
    if not any(p.calls_to("events") for p in profiles.values()):
        notes.append("no EventBridge call measured: the app publishes no decision events yet")
    return Measurement(
        operations=profiles,
        batch_size=resources.APPLICATIONS_QUEUE.batch_size,
        runs=runs,
        timing_runs=timing_runs if timing else 0,
        assumed_latency_ms=dict(ASSUMED_LATENCY_MS),
        client_cpu_us_per_call=per_call,
        custom_metric_series=_custom_metric_series(extra["emf_blobs"], api_routes),
        api_routes=api_routes,
        access_log_line_bytes=_access_log_line_bytes(),
        sqs_message_bytes=extra["sqs_message_bytes"],
        notes=notes,
    )


# ------------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------------
LABELS = {
    "sync_miss": "sync decision, cache miss",
    "sync_hit": "sync decision, cache hit",
    "async_submit": "async submit",
    "async_submit_idempotent": "async submit + Idempotency-Key",
    "worker_record": "worker, per record",
    "status_poll": "status poll (GET)",
    "health_ready": "GET /health/ready",
}


def calls_table(measurement: Measurement, markdown: bool = False) -> str:
    rows = []
    for name, profile in measurement.operations.items():
        for call in profile.calls:
            rows.append(
                [
                    LABELS.get(name, name),
                    f"{call.service}/{call.operation}",
                    f"{call.calls:g}",
                    f"{call.request_bytes / max(call.calls, 1e-9):,.0f}",
                    f"{call.response_bytes / max(call.calls, 1e-9):,.0f}",
                ]
            )
        rows.append(
            [
                LABELS.get(name, name),
                "= DynamoDB WCU / RCU (estimate)",
                f"{profile.wcu:g} / {profile.rcu:g}",
                "",
                "",
            ]
        )
    header = ["operation", "service/operation", "calls", "request B/call", "response B/call"]
    return render_table(header, rows, markdown)


def render_table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines += [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join(lines)


def summary_lines(measurement: Measurement) -> list[str]:
    lines = []
    for name, profile in measurement.operations.items():
        label = LABELS.get(name, name)
        lines.append(
            f"DynamoDB calls per {label}: {profile.calls_to('dynamodb'):g} "
            f"({profile.items_written:g} items written; "
            f"WCU {profile.wcu:g}, RCU {profile.rcu:g}, estimated); "
            f"SQS calls: {profile.calls_to('sqs'):g}; "
            f"EventBridge calls: {profile.calls_to('events'):g}"
        )
    return lines


def timing_table(measurement: Measurement, markdown: bool = False) -> str:
    rows = []
    for name, p in measurement.operations.items():
        rows.append(
            [
                LABELS.get(name, name),
                f"{p.handler_us:,.0f}",
                f"{p.client_cpu_us:,.0f}",
                f"{p.log_bytes:,.0f} ({p.log_lines:g} lines)",
                f"{p.emf_bytes:,.0f} ({p.emf_lines:g})",
            ]
        )
    header = ["operation", "handler µs (median, in-memory)", "botocore CPU µs", "log B", "EMF B"]
    return render_table(header, rows, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted executions per operation")
    parser.add_argument("--timing-runs", type=int, default=300, help="timed executions per operation")
    parser.add_argument("--json", help="also write the measurement to this file (for bench.cost_model)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    measurement = measure(args.runs, args.timing_runs)
    print(f"AWS calls per operation, measured in-process on moto ({args.runs} runs each, after a warm-up)")
    print(calls_table(measurement, args.markdown))
    print()
    for line in summary_lines(measurement):
        print(line)
    print()
    print(f"Handler time (median of {args.timing_runs}, in-memory twin) and what one execution logs")
    print(timing_table(measurement, args.markdown))
    print(
        "Assumed in-region latency per call (not measurable here): "
        + ", ".join(f"{s} {ms:g} ms" for s, ms in ASSUMED_LATENCY_MS.items())
    )
    print(
        f"Custom metric series (EMF): {measurement.custom_metric_series}; "
        f"API routes: {measurement.api_routes}; "
        f"access log line: {measurement.access_log_line_bytes} B; SQS message: "
        f"{measurement.sqs_message_bytes:,.0f} B"
    )
    for note in measurement.notes:
        print(f"note: {note}")
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(measurement.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
