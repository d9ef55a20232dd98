"""What does each operation ask of AWS, and what do a million decisions (or list pages) cost?

The app runs in this process on moto in-process (``devstack.fake_aws``); every call its botocore
clients make is recorded through botocore's ``before-call`` / ``after-call`` events, so the figures
follow the app. DynamoDB capacity is an ESTIMATE by DynamoDB's documented rules (moto reports none):
each written item is read before and after the write through an unrecorded client. The handler time
is the median in-process time on the in-memory twin (no emulator in it); stdout is counted as logs.
``bench.cost_model`` prices it all against the floor endpoint (one request, one GetItem).
docs/BENCHMARKS.md lists the operations and explains the figures.

Run: ``python -m bench.bench_aws_calls [--runs N] [--timing-runs N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from devstack import fake_aws

fake_aws.install_environment()  # before the app or botocore is imported

from bench import cost_model  # noqa: E402
from bench.common import print_table, proxy_event, stdout_silenced, stdout_to, time_each  # noqa: E402
from chalicelib import resources  # noqa: E402
from devstack.lambda_events import LOCAL_ACCOUNT_ID  # noqa: E402

OPERATIONS = ("sync_miss", "sync_hit", "async_submit", "worker_record", "status_poll", "list_page")
LABELS = {
    "sync_miss": "sync decision, cache miss",
    "sync_hit": "sync decision, cache hit",
    "async_submit": "async submit",
    "worker_record": "worker, per record",
    "status_poll": "status poll (GET)",
    "list_page": f"list page ({resources.LIST_DEFAULT_LIMIT} decisions)",
}
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's storage overhead per item (table and each index entry)
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


# ------------------------------------------------------------------------------------------------
# DynamoDB item sizes and capacity units (documented rules)
# ------------------------------------------------------------------------------------------------
def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (DynamoDB JSON, e.g. ``{"S": "..."}``)."""
    (kind, inner), *_ = value.items()
    sizes: dict[str, Callable[[Any], int]] = {
        "S": lambda v: len(v.encode()),
        "N": _number_size,
        "B": lambda v: len(v) * 3 // 4 if isinstance(v, str) else len(v),
        "BOOL": lambda v: 1,
        "NULL": lambda v: 1,
        "SS": lambda v: sum(len(s.encode()) for s in v),
        "NS": lambda v: sum(_number_size(s) for s in v),
        "M": lambda v: 3 + sum(len(k.encode()) + attribute_value_size(x) + 1 for k, x in v.items()),
        "L": lambda v: 3 + sum(attribute_value_size(x) + 1 for x in v),
    }
    return sizes[kind](inner)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def stored_bytes(item: dict[str, Any] | None) -> int:
    return item_size(item) + ITEM_OVERHEAD_BYTES if item else 0


def projected(keys: list[str], index: dict[str, Any], item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index entry of ``item`` (None when the item lacks the index's keys: a sparse index)."""
    index_keys = [k["AttributeName"] for k in index["KeySchema"]]
    if not item or any(name not in item for name in index_keys):
        return None
    projection = index.get("Projection", {})
    if projection.get("ProjectionType", "ALL") == "ALL":
        return item
    kept = {*keys, *index_keys, *projection.get("NonKeyAttributes", ())}
    return {name: value for name, value in item.items() if name in kept}


def index_write_units(index: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    if old == new:
        return 0  # nothing projected changed (or the item is in neither version of the index)
    if old is None or new is None:
        return write_units(item_size(old or new))
    if any(old[k["AttributeName"]] != new[k["AttributeName"]] for k in index["KeySchema"]):
        return write_units(item_size(old)) + write_units(item_size(new))  # key changed: delete + put
    return write_units(max(item_size(old), item_size(new)))


@dataclass
class Capacity:
    wcu: float = 0.0
    rcu: float = 0.0
    gb_months: float = 0.0  # stored while kept (the table's TTL or the record retention)


class CapacityEstimator:
    """Sizes every written item before and after the write through its own (unrecorded) client."""

    def __init__(self, shadow: Any) -> None:
        self._ddb = shadow
        self._shapes: dict[str, tuple[list[str], list[dict[str, Any]], float]] = {}

    def shape(self, table: str) -> tuple[list[str], list[dict[str, Any]], float]:
        """(key names, global secondary indexes, months an item is kept)."""
        if table not in self._shapes:
            described = self._ddb.describe_table(TableName=table)["Table"]
            keys = [k["AttributeName"] for k in described["KeySchema"]]
            spec = next(
                s for s in resources.TABLES if resources.resource_name(fake_aws.STAGE, s.suffix) == table
            )
            ttl = {resources.DECISION_CACHE_TABLE: resources.DECISION_CACHE_TTL_SECONDS}
            ttl[resources.IDEMPOTENCY_TABLE] = resources.IDEMPOTENCY_TTL_SECONDS
            seconds = ttl.get(spec, resources.RECORD_RETENTION_DAYS * 86_400)
            self._shapes[table] = (
                keys,
                described.get("GlobalSecondaryIndexes", []),
                seconds / cost_model.SECONDS_PER_MONTH,
            )
        return self._shapes[table]

    def targets(self, operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
        """(table, key, transactional) of every item the call may write."""

        def key(table: str, item: dict[str, Any]) -> dict[str, Any]:
            return {name: item[name] for name in self.shape(table)[0]}

        if operation == "PutItem":
            return [(body["TableName"], key(body["TableName"], body["Item"]), False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(body["TableName"], body["Key"], False)]
        found = []
        for table, requests in body.get("RequestItems", {}).items():  # BatchWriteItem
            for request in requests:
                put = request.get("PutRequest")
                found.append(
                    (table, key(table, put["Item"]) if put else request["DeleteRequest"]["Key"], False)
                )
        for entry in body.get("TransactItems", []):  # TransactWriteItems
            (kind, spec), *_ = entry.items()
            found.append(
                (
                    spec["TableName"],
                    key(spec["TableName"], spec["Item"]) if kind == "Put" else spec["Key"],
                    True,
                )
            )
        return found

    def read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def write(
        self, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None, transact: bool
    ) -> Capacity:
        keys, indexes, months = self.shape(table)
        wcu = (2.0 if transact else 1.0) * write_units(max(item_size(before), item_size(after)))
        stored = stored_bytes(after) - stored_bytes(before)
        for index in indexes:
            old, new = projected(keys, index, before), projected(keys, index, after)
            stored += stored_bytes(new) - stored_bytes(old)
            wcu += index_write_units(index, old, new)
        return Capacity(wcu=wcu, gb_months=stored / cost_model.GIB * months)

    @staticmethod
    def reads(operation: str, body: dict[str, Any], parsed: dict[str, Any]) -> float:
        consistent = bool(body.get("ConsistentRead"))
        if operation == "GetItem":
            return read_units(item_size(parsed.get("Item")), consistent)
        if operation in ("Query", "Scan"):
            return read_units(sum(item_size(i) for i in parsed.get("Items", [])), consistent)
        if operation == "TransactGetItems":
            return sum(2 * read_units(item_size(r.get("Item")), True) for r in parsed.get("Responses", []))
        if operation == "BatchGetItem":
            return sum(
                read_units(item_size(i), False)
                for items in parsed.get("Responses", {}).values()
                for i in items
            )
        return 0.0


# ------------------------------------------------------------------------------------------------
# Recording the calls of each operation
# ------------------------------------------------------------------------------------------------
@dataclass
class Profile:
    """Per ONE execution of an operation (a worker record = its batch / the batch size)."""

    calls: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # "service/Operation"
    entries: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # events, messages
    capacity: Capacity = field(default_factory=Capacity)
    log_bytes: float = 0.0
    log_lines: float = 0.0
    handler_us: float = 0.0

    def calls_to(self, service: str) -> float:
        return sum(n for name, n in self.calls.items() if name.startswith(f"{service}/"))


class Recorder:
    """botocore ``before-call`` / ``after-call`` handlers on the app's clients."""

    def __init__(self, clients: dict[str, Any], estimator: CapacityEstimator) -> None:
        self.profile: Profile | None = None
        self._estimator = estimator
        self._pending: list[tuple[dict[str, Any], list[tuple[str, dict[str, Any], bool, Any]]]] = []
        for client in clients.values():
            client.meta.events.register("before-call.*.*", self._before, unique_id="bench-before")
            client.meta.events.register("after-call.*.*", self._after, unique_id="bench-after")

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        profile, self.profile = self.profile, None
        try:
            yield
        finally:
            self.profile = profile

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        raw = params.get("body") or b""
        body = json.loads(raw) if isinstance(raw, bytes | str) and raw[:1] in (b"{", "{") else {}
        targets = []
        if self.profile is not None and model.name in WRITES:
            for table, key, transact in self._estimator.targets(model.name, body):
                targets.append((table, key, transact, self._estimator.read(table, key)))
        self._pending.append((body, targets))

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        body, targets = self._pending.pop()
        if self.profile is None:
            return
        name = f"{model.service_model.endpoint_prefix}/{model.name}"
        self.profile.calls[name] += 1
        self.profile.entries[name] += len(body.get("Entries", [])) or 1
        capacity = self.profile.capacity
        capacity.rcu += self._estimator.reads(model.name, body, parsed)
        for table, key, transact, before in targets:
            one = self._estimator.write(table, before, self._estimator.read(table, key), transact)
            capacity.wcu, capacity.gb_months = capacity.wcu + one.wcu, capacity.gb_months + one.gb_months


@contextlib.contextmanager
def counted_stdout(profile: Profile) -> Iterator[None]:
    """What the app prints (Powertools' log and EMF lines go to fd 1), counted, not shown."""
    with tempfile.TemporaryFile() as sink:
        with stdout_to(sink.fileno()):
            yield
        sink.seek(0)
        lines = [line for line in sink.read().splitlines() if line.strip()]
        # chalicelib.service.events logs these only when a PutEvents failed: the figures would then
        # count a call that did not publish, and a warning production does not log.
        failed = (b"decision events not published", b"decision events refused")
        if any(warning in line for line in lines for warning in failed):
            raise RuntimeError("the app's decision events were not published")
        profile.log_bytes += sum(len(line) + 1 for line in lines)
        profile.log_lines += len(lines)


class Driver:
    """The operations, run against whatever ``dependencies.current()`` is."""

    def __init__(self) -> None:
        from app import app, process_application_queue
        from devstack.lambda_events import LocalLambdaContext
        from devstack.samples import sample_application

        self.app, self.worker = app, process_application_queue
        self.context = LocalLambdaContext(function_name="api_handler", region=resources.LOCAL_REGION)
        self.application = sample_application()
        self.unique = 0

    def call(self, event: dict[str, Any], expected: int) -> dict[str, Any]:
        response: dict[str, Any] = self.app(event, self.context)
        assert response["statusCode"] == expected, (event["path"], str(response.get("body"))[:300])
        body: dict[str, Any] = json.loads(response["body"])
        return body

    def decide(self, fresh: bool) -> None:
        self.unique += 1  # a scoring input no earlier request used: the decision cache misses
        payload = (
            {**self.application, "savings_balance": 2_000_000 + self.unique} if fresh else self.application
        )
        self.call(proxy_event("POST", "/v1/decisions", payload), 200)

    def submit(self) -> str:
        return str(
            self.call(proxy_event("POST", "/v1/applications", self.application), 202)["application_id"]
        )

    def poll(self, application_id: str) -> None:
        path = f"/v1/applications/{application_id}"
        resource, parameters = "/v1/applications/{application_id}", {"application_id": application_id}
        event = proxy_event("GET", path, resource=resource, path_parameters=parameters)
        assert self.call(event, 200)["status"] == "DECIDED"

    def list_page(self) -> None:
        page = self.call(proxy_event("GET", "/v1/decisions"), 200)
        assert len(page["items"]) == resources.LIST_DEFAULT_LIMIT, "the bench lists a full page"

    def process(self, records: list[dict[str, Any]]) -> None:
        from devstack.lambda_events import worker_context

        result = self.worker({"Records": records}, worker_context(fake_aws.STAGE, resources.LOCAL_REGION))
        assert result == {"batchItemFailures": []}, result


def queued_records(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """The queue's messages as Lambda's SQS event records, deleted from the queue (unrecorded)."""
    from devstack.lambda_events import sqs_event

    messages = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    arn = f"arn:aws:sqs:{resources.LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:queue"
    return list(sqs_event(messages, arn, resources.LOCAL_REGION)["Records"])


def operations(
    driver: Driver, sqs: Any, queue_url: str, untimed: Callable[[], contextlib.AbstractContextManager[None]]
) -> dict[str, tuple[Callable[[], Any], int]]:
    """Each operation as (one execution, executions it stands for); ``untimed`` is not counted."""
    batch = resources.APPLICATIONS_QUEUE.batch_size
    decided: list[str] = []

    def worker_batch() -> None:
        with untimed(), stdout_silenced():
            ids = [driver.submit() for _ in range(batch)]
            records = queued_records(sqs, queue_url)
        driver.process(records)
        decided.extend(ids)

    def status_poll() -> None:
        if not decided:
            worker_batch()
        driver.poll(decided[-1])

    return {
        "sync_miss": (lambda: driver.decide(fresh=True), 1),
        "sync_hit": (lambda: driver.decide(fresh=False), 1),
        "async_submit": (driver.submit, 1),
        "worker_record": (worker_batch, batch),
        "status_poll": (status_poll, 1),
        "list_page": (driver.list_page, 1),
    }


def count_calls(runs: int, names: tuple[str, ...] = OPERATIONS) -> dict[str, Profile]:
    """moto in-process: every AWS call of each operation, ``runs`` times after one warm-up."""
    from chalicelib.dal.clients import make_client

    profiles: dict[str, Profile] = {}
    with fake_aws.moto_dependencies() as deps, stdout_silenced():
        # Made before the recorder: a client copies the session's handlers when it is created.
        shadow_ddb, shadow_sqs = (
            make_client("dynamodb", deps.settings.region),
            make_client("sqs", deps.settings.region),
        )
        recorder = Recorder(deps.aws_clients, CapacityEstimator(shadow_ddb))
        driver = Driver()
        queue_url = shadow_sqs.get_queue_url(QueueName=deps.settings.applications_queue)["QueueUrl"]
        for name, (execute, per) in operations(driver, shadow_sqs, queue_url, recorder.paused).items():
            if name not in names:
                continue
            execute()  # warm-up: per-process work (queue URL lookup, cold start metric) is not per call
            queued_records(shadow_sqs, queue_url)
            profile = recorder.profile = Profile()
            with counted_stdout(profile):
                for _ in range(runs):
                    execute()
            recorder.profile = None
            queued_records(shadow_sqs, queue_url)
            profiles[name] = scaled(profile, 1 / (runs * per))
    return profiles


def scaled(profile: Profile, factor: float) -> Profile:
    def each(values: dict[str, float]) -> dict[str, float]:
        return defaultdict(float, {name: value * factor for name, value in values.items()})

    used = profile.capacity
    capacity = Capacity(used.wcu * factor, used.rcu * factor, used.gb_months * factor)
    return Profile(
        each(profile.calls),
        each(profile.entries),
        capacity,
        *(value * factor for value in (profile.log_bytes, profile.log_lines)),
    )


def time_handlers(profiles: dict[str, Profile], runs: int) -> None:
    """Median in-process µs per operation on the in-memory twin (no AWS emulator in the time)."""
    from chalicelib.service import dependencies
    from devstack.in_memory import InMemoryDependencies

    twin = InMemoryDependencies()
    dependencies.use(twin)
    driver = Driver()
    batch = resources.APPLICATIONS_QUEUE.batch_size

    def twin_records() -> list[dict[str, Any]]:
        from devstack.lambda_events import sqs_record

        arn = f"arn:aws:sqs:{resources.LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:queue"
        drained = twin.memory_queue.drain()
        messages = [
            {"MessageId": i, "ReceiptHandle": "-", "Body": body, "Attributes": {}} for i, body in drained
        ]
        return [sqs_record(message, arn, resources.LOCAL_REGION) for message in messages]

    def worker_batch() -> None:  # only the worker's batch is timed; the submits come before it
        driver.process(pending.pop())

    try:
        with stdout_silenced():
            pending = []
            for _ in range(runs // batch + 3):
                for _ in range(batch):
                    driver.submit()
                pending.append(twin_records())
            target = driver.submit()
            driver.process(twin_records())
            timed: dict[str, tuple[Callable[[], Any], int, int]] = {
                "sync_miss": (lambda: driver.decide(fresh=True), runs, 1),
                "sync_hit": (lambda: driver.decide(fresh=False), runs, 1),
                "async_submit": (driver.submit, runs, 1),
                "worker_record": (worker_batch, runs // batch, batch),
                "status_poll": (lambda: driver.poll(target), runs, 1),
                "list_page": (driver.list_page, runs, 1),
            }
            for name, profile in profiles.items():
                call, count, per = timed[name]
                profile.handler_us = statistics.median(time_each(call, count, warmup=2)) / per
                twin.memory_queue.drain()
    finally:
        dependencies.use(None)


def usage(name: str, profile: Profile) -> cost_model.Usage:
    worker = name == "worker_record"
    sqs_requests = profile.calls_to("sqs")
    if worker:  # the event source mapping's own receive and delete, per batch (not the app's calls)
        sqs_requests += 2 / resources.APPLICATIONS_QUEUE.batch_size
    return cost_model.Usage(
        api_requests=0.0 if worker else 1.0,
        invocations=1 / resources.APPLICATIONS_QUEUE.batch_size if worker else 1.0,
        memory_mb=(resources.WORKER_FUNCTION if worker else resources.API_FUNCTION).memory_mb,
        cpu_ms=profile.handler_us / 1000,
        calls={service: profile.calls_to(service) for service in ("dynamodb", "sqs", "events")},
        wru=profile.capacity.wcu,
        rru=profile.capacity.rcu,
        sqs_requests=sqs_requests,
        events=profile.entries.get("events/PutEvents", 0.0),
        log_bytes=profile.log_bytes,
        log_lines=profile.log_lines,
        gb_months=profile.capacity.gb_months,
    )


def print_calls(profiles: dict[str, Profile]) -> None:
    rows = [
        [
            LABELS[name],
            ", ".join(f"{call} {count:g}" for call, count in sorted(profile.calls.items())),
            f"{profile.capacity.wcu:g}",
            f"{profile.capacity.rcu:g}",
            f"{profile.handler_us:,.0f}",
            f"{profile.log_bytes:,.0f}",
        ]
        for name, profile in profiles.items()
    ]
    print_table(["operation", "AWS calls per execution", "WCU", "RCU", "handler µs", "log B"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted executions per operation")
    parser.add_argument("--timing-runs", type=int, default=300, help="timed executions per operation")
    args = parser.parse_args(argv)
    with fake_aws.noon_where_the_lender_is():  # a day's decisions, not a night's (FRD-ODD-HOURS)
        profiles = count_calls(args.runs)
        time_handlers(profiles, args.timing_runs)
    print(
        f"AWS calls per operation on moto in-process ({args.runs} runs each after a warm-up); "
        "WCU/RCU estimated;"
    )
    print(
        f"handler µs: median of {args.timing_runs} in-process on the in-memory twin; "
        "log B: stdout per execution"
    )
    print_calls(profiles)
    print()
    usages = {name: usage(name, profile) for name, profile in profiles.items()}
    cost_model.report(usages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
