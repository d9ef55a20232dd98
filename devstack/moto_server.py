"""moto's server, as ``moto_server`` runs it, with DynamoDB requests served one at a time.

Real DynamoDB applies a conditional write atomically: of many concurrent
``PutItem ... attribute_not_exists`` (or ``UpdateItem ... status = PENDING``) on one item, exactly
one succeeds. moto's threaded server evaluates the condition and then writes, without a lock, so
two requests can both pass the check (with 16 threads on 100-attribute items, 2-6 PutItems won on
about a third of the items; a concurrent UpdateItem even failed with a 500, an item changing while
moto deep-copied it). The application relies on that guarantee (the decision log's
put-if-absent, the PENDING -> DECIDED update, Powertools Idempotency's conditional PutItem), so
DynamoDB requests are serialised here; SQS and everything else stay concurrent (long polls).

moto's SQS has a lost update of its own: ``Queue.delete_message`` rebuilds the queue's message list
from a copy and assigns it back without a lock, so of two deletes running at once (the queue workers'
DeleteMessageBatch calls) the later assignment brings back the messages the other one removed. Both
deletes answer Successful, the message stays in flight and is delivered again when its visibility
timeout ends (180 s): with several queue workers (``make run --workers N``, the integration suite)
a decided application's message was delivered again. A send that lands between the rebuild and the
assignment can be lost outright. ``serialise_sqs_deletes`` makes a delete take the queue's own lock
(the one ``add_message`` already appends under): per queue and only for the rebuild, so sends,
PutEvents' deliveries and long polls are not held up. Kept because a test shows the loss:
``tests/unit/devstack/test_moto_server_sqs_deletes.py`` holds one delete between its copy and its
assignment while another runs; unpatched (moto 5.2.5) the other's message is received again after
its visibility timeout, patched both stay deleted.

Run: ``python -m devstack.moto_server -H 127.0.0.1 -p 4566``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs.models import Queue
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


def locked_delete(delete: Callable[[Queue, str], None]) -> Callable[[Queue, str], None]:
    """``Queue.delete_message`` under the queue's ``_messages_lock`` (a Condition on an RLock: the
    same thread may take it again, and ``add_message`` appends under it)."""
    if getattr(delete, "serialised", False):
        return delete

    @functools.wraps(delete)
    def serialised(queue: Queue, receipt_handle: str) -> None:
        with queue._messages_lock:
            delete(queue, receipt_handle)

    serialised.serialised = True  # type: ignore[attr-defined]
    return serialised


def serialise_sqs_deletes() -> None:
    """Patch moto's ``Queue.delete_message`` in this process (idempotent)."""
    Queue.delete_message = locked_delete(Queue.delete_message)  # type: ignore[method-assign,assignment]


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
    serialise_sqs_deletes()
    moto_app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialiseDynamoDB(moto_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
