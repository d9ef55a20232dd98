"""moto's server, as ``moto_server`` runs it, with DynamoDB requests served one at a time.

Real DynamoDB applies a conditional write atomically: of many concurrent
``PutItem ... attribute_not_exists`` (or ``UpdateItem ... status = PENDING``) on one item, exactly
one succeeds. moto's threaded server evaluates the condition and then writes, without a lock, so
two requests can both pass the check (with 16 threads on 100-attribute items, 2-6 PutItems won on
about a third of the items; a concurrent UpdateItem even failed with a 500, an item changing while
moto deep-copied it). The application relies on that guarantee (the decision log's
put-if-absent, the PENDING -> DECIDED update, Powertools Idempotency's conditional PutItem), so
DynamoDB requests are serialised here; SQS and everything else stay concurrent (long polls).

Run: ``python -m devstack.moto_server -H 127.0.0.1 -p 4566``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

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
