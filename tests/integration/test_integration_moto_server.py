"""The local moto server keeps DynamoDB's guarantee that a conditional write is atomic.

The application depends on it: of two workers handling the same redelivered message, only one may
put the decision-log record (``attribute_not_exists``) and only one may move the application from
PENDING to DECIDED; Powertools Idempotency's conditional PutItem must let one request in. Checked
against a real ``python -m devstack.moto_server`` process: many threads race conditional writes on
the same items, and exactly one write per item succeeds, the one whose data is stored. Serialising
DynamoDB must not hold up the other services, so an SQS long poll in flight does not block it.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import resources
from devstack.processes import ManagedProcess, free_port, start_moto_server, wait_until
from devstack.stage_env import FAKE_CREDENTIALS

pytestmark = pytest.mark.integration

RACING_THREADS = 8
ITEMS = 40
# Many attributes per item: moto builds the new item between reading the current one and writing,
# so a bigger item widens its check-then-write window. With two-attribute items plain ``moto_server``
# rarely loses the race; with this payload and these eight threads it lost it on 3-7 of the 40 items
# of each of four put runs and 2-5 of each of four update runs (sixteen threads cost twice the time).
PAYLOAD = {f"attribute_{n}": {"M": {"text": {"S": "x" * 20}, "number": {"N": str(n)}}} for n in range(100)}
LONG_POLL_SECONDS = 20  # SQS's maximum; the poll is ended early by a message

Attempt = Callable[[Any, str, str], bool]


# With an external endpoint (make localstack-test: LocalStack's DynamoDB Local and SQS) the same races
# run against it as well: the guarantee is DynamoDB's, so every emulator the service runs on must keep it.
EXTERNAL_ENDPOINT_URL = os.environ.get("INTEGRATION_AWS_ENDPOINT_URL") or None


@pytest.fixture(
    scope="module", params=["moto-server", "external"] if EXTERNAL_ENDPOINT_URL else ["moto-server"]
)
def endpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "external":
        assert EXTERNAL_ENDPOINT_URL is not None
        yield EXTERNAL_ENDPOINT_URL
        return
    log_path: Path = tmp_path_factory.mktemp("moto-server") / "moto.log"
    port = free_port()
    process: ManagedProcess = start_moto_server("127.0.0.1", port, dict(os.environ), log_path)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=resources.LOCAL_REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        # No retries: a retried write would hide which attempt the server let through.
        config=Config(read_timeout=LONG_POLL_SECONDS + 10, retries={"max_attempts": 0}),
    )


def create_table(endpoint: str) -> str:
    name = f"moto-server-test-{uuid.uuid4().hex[:8]}"
    client(endpoint, "dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


# LocalStack answers 500 InternalError when its connection to DynamoDB Local drops mid-write (seen
# once, 8 racing threads on a loaded machine): the write may or may not have been applied.
DROPPED_WRITE = "InternalError"


def conditional(write: Callable[[], Any], was_mine: Callable[[], bool] | None = None) -> bool:
    """True when the write went through, False when its condition failed (any other error raises).

    With ``was_mine`` (the external emulator only) a dropped write is sent again; when the retry's
    condition then fails, the stored item says whether the dropped write was the one applied. Two
    writers that both got through still both count, so the test still sees a broken guarantee."""
    dropped = False
    for _ in range(3):
        try:
            write()
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == DROPPED_WRITE and was_mine is not None:
                dropped = True
                continue
            if code != "ConditionalCheckFailedException":
                raise
            return dropped and was_mine is not None and was_mine()
        return True
    raise AssertionError("the emulator dropped the same write three times")


def stored_by(dynamodb: Any, table: str, item_id: str, writer: str) -> Callable[[], bool]:
    """Whether ``writer`` is the writer stored on the item (a strongly consistent read)."""

    def read() -> bool:
        item = dynamodb.get_item(TableName=table, Key={"id": {"S": item_id}}, ConsistentRead=True).get("Item")
        return item is not None and item.get("writer") == {"S": writer}

    return read


def put_if_absent(table: str, emulator_may_drop: bool = False) -> Attempt:
    """The decision log's and Powertools Idempotency's write: PutItem on attribute_not_exists."""

    def attempt(dynamodb: Any, item_id: str, writer: str) -> bool:
        return conditional(
            lambda: dynamodb.put_item(
                TableName=table,
                Item={"id": {"S": item_id}, "writer": {"S": writer}, **PAYLOAD},
                ConditionExpression="attribute_not_exists(id)",
            ),
            stored_by(dynamodb, table, item_id, writer) if emulator_may_drop else None,
        )

    return attempt


def decide_if_pending(table: str, emulator_may_drop: bool = False) -> Attempt:
    """The application's PENDING -> DECIDED transition: UpdateItem on a status condition."""

    def attempt(dynamodb: Any, item_id: str, writer: str) -> bool:
        return conditional(
            lambda: dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": item_id}},
                UpdateExpression="SET #status = :decided, writer = :writer",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":decided": {"S": "DECIDED"},
                    ":pending": {"S": "PENDING"},
                    ":writer": {"S": writer},
                },
            ),
            stored_by(dynamodb, table, item_id, writer) if emulator_may_drop else None,
        )

    return attempt


def race(endpoint: str, table: str, attempt: Attempt) -> dict[str, list[str]]:
    """Every thread tries every item, all starting together; returns the winning writers per item."""
    start = threading.Barrier(RACING_THREADS)

    def writer(name: str) -> list[str]:
        dynamodb = client(endpoint, "dynamodb")  # boto3 clients are not shared between threads
        start.wait()
        return [f"i{n}" for n in range(ITEMS) if attempt(dynamodb, f"i{n}", name)]

    names = [f"writer-{n}" for n in range(RACING_THREADS)]
    with ThreadPoolExecutor(RACING_THREADS) as pool:
        won = list(zip(names, pool.map(writer, names), strict=True))
    winners: dict[str, list[str]] = {f"i{n}": [] for n in range(ITEMS)}
    for name, items in won:
        for item_id in items:
            winners[item_id].append(name)
    return winners


def stored_writers(endpoint: str, table: str) -> dict[str, str]:
    paginator = client(endpoint, "dynamodb").get_paginator("scan")
    pages = paginator.paginate(TableName=table, ConsistentRead=True)
    return {item["id"]["S"]: item["writer"]["S"] for page in pages for item in page["Items"]}


def assert_one_winner_per_item(endpoint: str, table: str, winners: dict[str, list[str]]) -> None:
    assert {item_id: len(names) for item_id, names in winners.items() if len(names) != 1} == {}
    assert stored_writers(endpoint, table) == {item_id: names[0] for item_id, names in winners.items()}


def test_concurrent_puts_if_absent_let_exactly_one_writer_in(endpoint: str) -> None:
    table = create_table(endpoint)

    winners = race(endpoint, table, put_if_absent(table, emulator_may_drop=endpoint == EXTERNAL_ENDPOINT_URL))

    assert_one_winner_per_item(endpoint, table, winners)


def test_concurrent_pending_to_decided_updates_let_exactly_one_writer_in(endpoint: str) -> None:
    table = create_table(endpoint)
    dynamodb = client(endpoint, "dynamodb")
    for n in range(ITEMS):
        dynamodb.put_item(TableName=table, Item={"id": {"S": f"i{n}"}, "status": {"S": "PENDING"}, **PAYLOAD})

    winners = race(
        endpoint, table, decide_if_pending(table, emulator_may_drop=endpoint == EXTERNAL_ENDPOINT_URL)
    )

    assert_one_winner_per_item(endpoint, table, winners)


def _waiting_for_an_answer(thread: threading.Thread) -> bool:
    """Whether ``thread`` has sent its HTTP request and is reading the status line of the answer."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "_read_status" and frame.f_code.co_filename.endswith("client.py"):
            return True
        frame = frame.f_back
    return False


def test_dynamodb_answers_while_an_sqs_long_poll_is_in_flight(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    queue_url = sqs.create_queue(QueueName=f"moto-server-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    received: list[dict[str, Any]] = []
    polling = threading.Thread(
        target=lambda: received.extend(
            client(endpoint, "sqs")
            .receive_message(QueueUrl=queue_url, WaitTimeSeconds=LONG_POLL_SECONDS)
            .get("Messages", [])
        )
    )
    polling.start()
    try:
        # The long poll must be at the server first, or the test proves nothing: its request sent,
        # the thread waits for the answer (a condition, not a pause that a loaded machine outruns).
        wait_until(lambda: _waiting_for_an_answer(polling), 60, "the long poll to be sent")
        table = create_table(endpoint)
        assert put_if_absent(table)(client(endpoint, "dynamodb"), "while-polling", "main")
        assert polling.is_alive()  # the DynamoDB calls did not wait for the long poll to end
    finally:
        sqs.send_message(QueueUrl=queue_url, MessageBody="ends the long poll")
        polling.join()
    assert [message["Body"] for message in received] == ["ends the long poll"]


def test_racing_workers_through_the_real_store_decide_each_application_once(endpoint: str) -> None:
    """The service's own code (DynamoDBLoanStore.record_application_decision), not a copy of its
    writes: threads deliver the same applications at once, each with a different decision."""
    from chalicelib import engine
    from chalicelib.config import load_settings
    from chalicelib.dal.aws import DynamoDBLoanStore
    from chalicelib.records import AsyncDecision
    from chalicelib.service.applications import pending_record
    from chalicelib.service.worker import decision_id_for
    from devstack.bootstrap import create_tables_and_queues
    from tests.support.aws import document
    from tests.support.samples import application_row

    stage = f"race{uuid.uuid4().hex[:6]}"
    create_tables_and_queues(stage, client(endpoint, "dynamodb"), client(endpoint, "sqs"))
    settings = load_settings({"STAGE": stage})
    cleaned = engine.validate_application(application_row(0))
    decision = engine.decide(cleaned, *engine.packaged_version())
    application_ids = [f"app-{n}" for n in range(ITEMS // 4)]
    setup = DynamoDBLoanStore.for_settings(client(endpoint, "dynamodb"), settings)
    for application_id in application_ids:
        setup.create_pending_application(
            pending_record(application_id, "client-a", cleaned, "2026-12-01T00:00:00.000Z", 86_400)
        )
    start = threading.Barrier(RACING_THREADS)

    def worker(name: str) -> list[str]:
        store = DynamoDBLoanStore.for_settings(client(endpoint, "dynamodb"), settings)
        start.wait()
        won = []
        for application_id in application_ids:
            mine = AsyncDecision(
                application_id=application_id,
                client_id="client-a",
                expires_at=2_000_000_000,
                decision_id=decision_id_for(application_id),
                created_at="2026-12-01T00:00:01.000Z",
                decision={**decision, "model": {**decision["model"], "version": name}},
                applicant={"applicant_ref": "ref"},
                submitted_at="2026-12-01T00:00:00.000Z",
                decision_version="v1",
                arm="champion",
            )
            if store.record_application_decision(mine):
                won.append(application_id)
        return won

    names = [f"worker-{n}" for n in range(RACING_THREADS)]
    with ThreadPoolExecutor(RACING_THREADS) as pool:
        results = dict(zip(names, pool.map(worker, names), strict=True))

    for application_id in application_ids:
        winners = [name for name, won in results.items() if application_id in won]
        assert len(winners) == 1, (application_id, winners)
        status = setup.get_application(application_id)
        logged = client(endpoint, "dynamodb").get_item(
            TableName=settings.decisions_table, Key={"decision_id": {"S": decision_id_for(application_id)}}
        )["Item"]
        # The application carries the decision-log record's decision: the first one written.
        assert status["status"] == "DECIDED"
        assert status["decision"]["model"]["version"] == document(logged["decision"])["model"]["version"]


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


@pytest.mark.parametrize("stored_is_mine", [True, False])
def test_a_dropped_write_is_settled_by_what_the_store_holds(stored_is_mine: bool) -> None:
    answers = iter([_client_error(DROPPED_WRITE), _client_error("ConditionalCheckFailedException")])

    def write() -> None:
        raise next(answers)

    assert conditional(write, lambda: stored_is_mine) is stored_is_mine

    def dropped() -> None:
        raise _client_error(DROPPED_WRITE)

    with pytest.raises(ClientError):  # the moto server gets no allowance: a 500 fails the race
        conditional(dropped)
