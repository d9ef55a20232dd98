"""Calling a lender's webhook receiver: resolve once, check the address, connect to that address.

DNS rebinding: a name that resolved to a public address at registration may resolve to 169.254.169.254
or 10.x later, so every attempt resolves again, refuses the private answers
(``webhook_signing.address_problem``) and connects to the address it checked (TLS still verifies
the certificate for the host name, sent as SNI). ``http.client`` follows no redirects: a 3xx is
simply an answer that is not 2xx. Standard library only: nothing added to the Lambda package.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urlsplit

from chalicelib.dal.webhooks import Answer
from chalicelib.webhook_signing import address_problem

USER_AGENT = "loan-decisions-webhooks/1"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, IPv4 first (an IP literal is itself: no DNS)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = dict.fromkeys(str(info[4][0]) for info in infos)
    return sorted(addresses, key=lambda address: ":" in address)


def refusal(url: str, allow_loopback: bool) -> str | None:
    """Why the receiver at ``url`` may not be called now, or None. Resolves the host (DNS)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return "the host name does not resolve"
    for address in addresses:
        if problem := address_problem(address, allow_loopback):
            return problem
    return None


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, headers: dict[str, str], body: bytes, timeout: float, allow_loopback: bool) -> Answer:
    """POST ``body`` to ``url`` once: resolve, check, connect to the checked address, no redirects."""
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return Answer(None, elapsed(), "the host name does not resolve")
    for address in addresses:
        if problem := address_problem(address, allow_loopback):
            return Answer(None, elapsed(), f"not delivered: {problem}")
    address = addresses[0]
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(host, address, port, timeout)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = {**headers, "host": parts.netloc.rsplit("@", 1)[-1], "user-agent": USER_AGENT}
    try:
        connection.request("POST", path, body=body, headers=request_headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not kept; read a little so the socket closes cleanly
        return Answer(response.status, elapsed(), None)
    except TimeoutError:
        return Answer(None, elapsed(), f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, elapsed(), type(error).__name__)
    finally:
        connection.close()
