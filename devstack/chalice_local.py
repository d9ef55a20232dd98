"""``chalice local`` with a listen backlog that survives a burst of clients and without Nagle's
delay on kept-alive connections (local stack only).

Chalice's dev server is the standard library's ``ThreadingMixIn`` + ``HTTPServer``, which listens
with ``request_queue_size = 5``: when more connections arrive at once than the accept loop takes
off the queue, the kernel drops their SYNs (a one-second-plus retransmit) or resets them. Lambda
behind API Gateway has no such queue, so a local burst test would measure the dev server instead of
the service.

Chalice's request handler writes a response's headers and its body in two sends. With Nagle's
algorithm on, the body waits for the client to acknowledge the headers, and a client on a kept-alive
connection delays that ACK (Linux: 40 ms): every request after a connection's first took 44 ms
instead of 2 ms (requests.Session, schemathesis, every browser). API Gateway has no such wait.
``socketserver.StreamRequestHandler.disable_nagle_algorithm`` is the standard library's switch
(TCP_NODELAY on each accepted socket).

This module sets both on Chalice's classes, then runs exactly what ``chalice local`` runs (same
CLI, same options), so nothing else about the dev server changes.

    python -m devstack.chalice_local --host 127.0.0.1 --port 8000 --stage local --no-autoreload
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import Any

import chalice.local
from chalice.app import Chalice
from chalice.cli import main as chalice_main
from chalice.cli.factory import CLIFactory

# Well above the 64 simultaneous clients the tests use; the kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 128


def raise_listen_backlog(backlog: int = LISTEN_BACKLOG) -> None:
    # A class attribute, read by socketserver's server_activate() when the server binds: it must be
    # set before chalice creates LocalDevServer (whose default server_cls is this very class).
    chalice.local.ThreadedHTTPServer.request_queue_size = backlog


def disable_nagle() -> None:
    # Read by StreamRequestHandler.setup() on every accepted connection.
    chalice.local.ChaliceRequestHandler.disable_nagle_algorithm = True


# Comma-separated variable names whose value in our environment wins over .chalice/config.json
# (chalice local copies the stage's environment_variables over os.environ before importing the
# app). The integration tests give each run its own table and queue names this way.
KEEP_ENV = "DEVSTACK_KEEP_ENV"


def keep_environment_overrides() -> None:
    keep = {name for name in os.environ.get(KEEP_ENV, "").split(",") if name}
    if not keep:
        return
    load_chalice_app = CLIFactory.load_chalice_app

    def load_keeping_ours(
        self: CLIFactory, environment_variables: MutableMapping[str, Any] | None = None, *args: Any, **kw: Any
    ) -> Chalice:
        if environment_variables is not None:
            environment_variables = {k: v for k, v in environment_variables.items() if k not in keep}
        return load_chalice_app(self, environment_variables, *args, **kw)

    CLIFactory.load_chalice_app = load_keeping_ours  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    raise_listen_backlog()
    disable_nagle()
    keep_environment_overrides()
    # chalice's click group reads sys.argv; ours are the arguments of `chalice local`.
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
