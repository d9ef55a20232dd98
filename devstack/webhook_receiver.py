"""A webhook receiver for the local stack: verifies every delivery, answers 204, keeps what came.

``python -m devstack.webhook_receiver --port 9000 --secret whsec_...`` (register
``http://127.0.0.1:9000/hooks`` with ``POST /v1/webhooks`` first: the answer holds the secret)
prints each delivery it verified. Verification uses the reference ``standardwebhooks`` library
(https://github.com/standard-webhooks/standard-webhooks) when it is installed (requirements-dev.txt),
else the same scheme in ``chalicelib.webhook_signing``. The tests run it in-process
(``WebhookReceiver``): stopping and starting it again on the same port is how they force retries.
Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _verifier(secret: str, require_reference: bool) -> Any:
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError:
        if require_reference:
            raise
        return None
    return Webhook(secret)


@dataclass
class Delivery:
    webhook_id: str
    payload: dict[str, Any]
    received_at: float  # time.time()


@dataclass
class WebhookReceiver:
    """An HTTP receiver on 127.0.0.1:``port`` verifying each delivery with ``secrets`` (any may sign)."""

    port: int
    secrets: list[str] = field(default_factory=list)
    require_reference: bool = True  # tests: the reference library or nothing
    answer_status: int = 204
    delivered: list[Delivery] = field(default_factory=list)  # verified and answered 2xx
    rejected: int = 0  # signature or timestamp wrong (answered 400)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        for secret in self.secrets:
            verifier = _verifier(secret, self.require_reference)
            try:
                if verifier is not None:
                    return dict(verifier.verify(body, headers))
                from chalicelib.webhook_signing import sign

                signature = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
                if signature in headers["webhook-signature"].split(" "):
                    return dict(json.loads(body))
            except Exception:  # any verification failure: try the next secret
                continue
        return None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                payload = receiver.verify(body, headers)
                with receiver._lock:
                    if payload is None:
                        receiver.rejected += 1
                    elif 200 <= receiver.answer_status < 300:
                        receiver.delivered.append(Delivery(headers["webhook-id"], payload, time.time()))
                status = 400 if payload is None else receiver.answer_status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # http.server's name
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: deliveries are refused until ``start()`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        with self._lock:
            return [delivery.webhook_id for delivery in self.delivered]

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.payload for delivery in self.delivered]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret", action="append", required=True, help="whsec_... (repeat during a rotation)"
    )
    args = parser.parse_args()
    receiver = WebhookReceiver(args.port, args.secret, require_reference=False).start()
    print(f"receiving on {receiver.url}; Ctrl-C stops", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for delivery in receiver.delivered[seen:]:
                print(f"{delivery.webhook_id} {json.dumps(delivery.payload)}", flush=True)
            seen = len(receiver.delivered)
            if receiver.rejected:
                print(f"{receiver.rejected} request(s) failed verification (wrong secret?)", flush=True)
                receiver.rejected = 0
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
