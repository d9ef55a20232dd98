"""devstack.chalice_local: Chalice's dev server as the local stack runs it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import chalice.local
import pytest
import requests
from chalice import Chalice
from chalice.config import Config

from devstack import chalice_local


@pytest.fixture
def nodelay_of_accepted_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """TCP_NODELAY of every connection the handler accepts, read after the handler's own setup()."""
    seen: list[int] = []
    setup = chalice.local.ChaliceRequestHandler.setup

    def recording_setup(handler: Any) -> None:
        setup(handler)
        seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(chalice.local.ChaliceRequestHandler, "setup", recording_setup)
    monkeypatch.setattr(chalice.local.ChaliceRequestHandler, "disable_nagle_algorithm", False)
    yield seen


def serve_two_requests_on_one_connection() -> list[str]:
    app = Chalice(app_name="nodelay-check")

    @app.route("/")
    def index() -> dict[str, str]:
        return {"ok": "yes"}

    server = chalice.local.LocalDevServer(app, Config.create(), "127.0.0.1", 0)
    port = server.server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with requests.Session() as session:  # one kept-alive connection
            return [session.get(f"http://127.0.0.1:{port}/", timeout=10).text for _ in range(2)]
    finally:
        server.shutdown()
        server.server.server_close()


def test_plain_chalice_local_leaves_nagle_on(nodelay_of_accepted_sockets: list[int]) -> None:
    assert serve_two_requests_on_one_connection() == ['{"ok":"yes"}'] * 2
    assert nodelay_of_accepted_sockets == [0]


def test_the_local_stacks_server_sends_without_nagles_delay(nodelay_of_accepted_sockets: list[int]) -> None:
    chalice_local.disable_nagle()

    assert serve_two_requests_on_one_connection() == ['{"ok":"yes"}'] * 2
    assert nodelay_of_accepted_sockets != [] and all(nodelay_of_accepted_sockets)
