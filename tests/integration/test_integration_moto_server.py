"""The local moto server's DynamoDB keeps AWS's guarantees that plain ``moto_server`` breaks.

``devstack.moto_server`` serialises DynamoDB requests and rolls back a cancelled transaction item
by item (moto restores whole-table copies, reverting other clients' writes). Checked against the
real server process: a cancelled transaction leaves no trace, and writes made while other clients'
transactions keep being cancelled all survive.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"moto-server-test-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def put_if_absent(table: str, item_id: str, state: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"id": {"S": item_id}, "state": {"S": state}},
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }


def flip_if(table: str, item_id: str, expected: str, new: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"id": {"S": item_id}},
            "UpdateExpression": "SET #s = :new",
            "ConditionExpression": "#s = :expected",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":new": {"S": new}, ":expected": {"S": expected}},
        }
    }


def state_of(dynamodb: Any, table: str, item_id: str) -> str | None:
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": item_id}}, ConsistentRead=True).get("Item")
    return None if item is None else str(item["state"]["S"])


def test_a_cancelled_transaction_leaves_no_trace(dynamodb: Any, table: str) -> None:
    dynamodb.put_item(TableName=table, Item={"id": {"S": "existing"}, "state": {"S": "DECIDED"}})

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                put_if_absent(table, "new", "written"),  # would succeed on its own
                flip_if(table, "existing", "PENDING", "DECIDED"),  # fails its condition
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert state_of(dynamodb, table, "new") is None
    assert state_of(dynamodb, table, "existing") == "DECIDED"


def test_a_committed_transaction_writes_every_item(dynamodb: Any, table: str) -> None:
    dynamodb.put_item(TableName=table, Item={"id": {"S": "app"}, "state": {"S": "PENDING"}})

    dynamodb.transact_write_items(
        TransactItems=[
            flip_if(table, "app", "PENDING", "DECIDED"),
            put_if_absent(table, "decision", "stored"),
        ]
    )

    assert state_of(dynamodb, table, "app") == "DECIDED"
    assert state_of(dynamodb, table, "decision") == "stored"


def test_cancelled_transactions_never_revert_other_clients_writes(aws_stack: Any, table: str) -> None:
    writers, cancellers, per_writer = 4, 4, 40
    stop = threading.Event()
    client = aws_stack.client("dynamodb")
    client.put_item(TableName=table, Item={"id": {"S": "decided"}, "state": {"S": "DECIDED"}})

    def cancel_transactions() -> None:
        # A redelivered message: its PENDING condition fails, the transaction is cancelled.
        own_client = aws_stack.client("dynamodb")
        while not stop.is_set():
            with pytest.raises(ClientError):
                own_client.transact_write_items(
                    TransactItems=[
                        flip_if(table, "decided", "PENDING", "DECIDED"),
                        put_if_absent(table, f"never-{uuid.uuid4().hex}", "x"),
                    ]
                )

    def write(writer: int) -> None:
        own_client = aws_stack.client("dynamodb")
        for n in range(per_writer):
            own_client.transact_write_items(TransactItems=[put_if_absent(table, f"w{writer}-{n}", "kept")])

    threads = [threading.Thread(target=cancel_transactions) for _ in range(cancellers)]
    for thread in threads:
        thread.start()
    try:
        write_threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in write_threads:
            thread.start()
        for thread in write_threads:
            thread.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    kept = {item["id"]["S"] for item in items if item["state"]["S"] == "kept"}
    assert kept == {f"w{w}-{n}" for w in range(writers) for n in range(per_writer)}
    assert not [item for item in items if item["id"]["S"].startswith("never-")]
