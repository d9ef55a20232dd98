"""moto's server, as ``moto_server`` runs it, with two fixes that make its DynamoDB behave like AWS's.

moto's ``TransactWriteItems`` deep-copies every table it touches before it starts and, when a
condition fails, puts those copies back. Two consequences, both seen in the burst benchmark:

1. **lost writes**: in the threaded server, a transaction cancelled on one thread reverts whatever
   other threads wrote to those tables meanwhile (an application decided by one worker went back to
   PENDING when another worker's redelivered message failed its PENDING condition). Conditional
   writes are check-then-write without a lock too. Fix: DynamoDB requests are served one at a
   time (real DynamoDB isolates transactions and conditional writes); SQS and everything else stay
   concurrent (long polls).
2. **cost grows with the table**: a transaction copies whole tables, 33 ms per call at 1,000 items,
   175 ms at 6,000. Fix: since requests are serialised, remembering just the items the transaction
   touches is enough to roll it back; the table-wide copy is skipped.

Run: ``python -m devstack.moto_server -H 127.0.0.1 -p 4566``.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DYNAMODB_TARGET_PREFIX = "DynamoDB_"  # X-Amz-Target of every DynamoDB API call


class SerialiseDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, the whole response built inside the lock."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET_PREFIX):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class _CopyWithoutTables:
    """Replaces ``copy`` inside moto's DynamoDB backend: ``deepcopy(table)`` returns the table itself."""

    enabled = True

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if self.enabled and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


_COPY = _CopyWithoutTables()
_ORIGINAL_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items
TouchedItem = tuple[Table, DynamoType, DynamoType | None, Item | None]


def _touched_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[TouchedItem]:
    touched: list[TouchedItem] = []
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = backend.tables[operation["TableName"]]
        key = operation.get("Key") or operation["Item"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        before = copy.deepcopy(table.get_item(hash_value, range_value))
        touched.append((table, hash_value, range_value, before))
    return touched


def _restore(touched: list[TouchedItem]) -> None:
    for table, hash_value, range_value, item in reversed(touched):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            if hash_value in table.items:
                table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's transaction, rolled back item by item (only valid with requests serialised)."""
    try:
        touched = _touched_items(self, transact_items)
    except Exception:  # malformed request: moto's own code reports it the way AWS does
        _COPY.enabled = False
        try:
            return _ORIGINAL_TRANSACT_WRITE_ITEMS(self, transact_items)
        finally:
            _COPY.enabled = True
    try:
        return _ORIGINAL_TRANSACT_WRITE_ITEMS(self, transact_items)
    except Exception:
        _restore(touched)
        raise


def patch_moto_transactions() -> None:
    dynamodb_models.copy = _COPY  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--access-log", action="store_true", help="log every request (werkzeug)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does
    # Exit at once: moto keeps nothing worth flushing, and a graceful werkzeug shutdown would wait
    # for in-flight SQS long polls (up to 20 s each).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    if not args.access_log:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    patch_moto_transactions()
    moto_app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialiseDynamoDB(moto_app),  # type: ignore[arg-type]
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
