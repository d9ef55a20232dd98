"""One delivery attempt over real HTTP to a server on 127.0.0.1: no redirect followed, the timeout,
a refused port, and the address rule applied before any connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.dal import webhook_http

RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/hang":
            RELEASE.wait(30)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        else:
            self.send_response(204 if self.headers.get("webhook-id") == "msg_1" else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_2xx_is_answered_with_its_status_and_latency(server: str) -> None:
    answer = webhook_http.post(f"{server}/hooks", {"webhook-id": "msg_1"}, b"{}", 5, True)
    assert answer.status_code == 204 and answer.error is None and answer.latency_ms >= 0


def test_a_redirect_is_not_followed(server: str) -> None:
    answer = webhook_http.post(f"{server}/moved", {"webhook-id": "msg_1"}, b"{}", 5, True)
    assert answer.status_code == 302


def test_a_receiver_that_hangs_is_given_up_at_the_timeout(server: str) -> None:
    answer = webhook_http.post(f"{server}/hang", {"webhook-id": "msg_1"}, b"{}", 0.5, True)
    assert answer.status_code is None and answer.error is not None and "0.5" in answer.error


def test_a_closed_port_is_an_error_not_an_exception() -> None:
    answer = webhook_http.post(f"http://127.0.0.1:{closed_port()}/hooks", {}, b"{}", 5, True)
    assert answer.status_code is None and answer.error


@pytest.mark.parametrize(
    ("url", "loopback_allowed"),
    [
        ("http://10.0.0.1/hooks", True),
        ("https://169.254.169.254/latest", True),
        ("http://127.0.0.1:9/", False),
    ],
)
def test_refused_addresses_are_never_connected_to(url: str, loopback_allowed: bool) -> None:
    answer = webhook_http.post(url, {}, b"{}", 5, loopback_allowed)
    assert (
        answer.status_code is None and answer.error is not None and answer.error.startswith("not delivered")
    )
    assert webhook_http.refusal(url, loopback_allowed) is not None


def closed_port() -> int:
    """A port that was free a moment ago and has nobody listening now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
