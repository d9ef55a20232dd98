"""``chalice local`` with a listen backlog that survives a burst of clients (local stack only).

Chalice's dev server is the standard library's ``ThreadingMixIn`` + ``HTTPServer``, which listens
with ``request_queue_size = 5``: when more connections arrive at once than the accept loop takes
off the queue, the kernel drops their SYNs (a one-second-plus retransmit) or resets them. Lambda
behind API Gateway has no such queue, so a local burst test would measure the dev server instead of
the service. This module raises the backlog on Chalice's server class, then runs exactly what
``chalice local`` runs (same CLI, same options), so nothing else about the dev server changes.

    python -m devstack.chalice_local --host 127.0.0.1 --port 8000 --stage local --no-autoreload
"""

from __future__ import annotations

import sys

import chalice.local
from chalice.cli import main as chalice_main

# Well above the 64 simultaneous clients the tests use; the kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 128


def raise_listen_backlog(backlog: int = LISTEN_BACKLOG) -> None:
    # A class attribute, read by socketserver's server_activate() when the server binds: it must be
    # set before chalice creates LocalDevServer (whose default server_cls is this very class).
    chalice.local.ThreadedHTTPServer.request_queue_size = backlog


def main(argv: list[str] | None = None) -> int:
    raise_listen_backlog()
    # chalice's click group reads sys.argv; ours are the arguments of `chalice local`.
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
