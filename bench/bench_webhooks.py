"""How soon after a decision does a lender's webhook get it? (issue 22's target: p50 <= 2 s locally)

``python -m bench.bench_webhooks [--decisions 40]``: its own local stack (moto server, chalice local, a
queue worker, the webhook delivery poller) and a receiver on 127.0.0.1 that verifies each delivery's
signature (``devstack.webhook_receiver``), registered for ``decision.made``; then decisions one at a
time, each timed from sending ``POST /v1/decisions`` to its verified delivery. Baselines in the same
run: the decision request alone, and a signed delivery POSTed straight to the receiver with the
delivery function's HTTP call (``chalicelib.dal.webhook_http.post``). The difference is what the
webhook path adds: the queue hops (poller waits included) and the fan-out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import percentile, print_table
from chalicelib import resources
from chalicelib.dal.webhook_http import post
from chalicelib.webhook_signing import delivery_headers, new_secret
from devstack.client import ApiClient
from devstack.processes import free_port, wait_until
from devstack.samples import applications
from devstack.stack import DevStack, DevStackConfig
from devstack.webhook_receiver import WebhookReceiver

TARGET_P50_SECONDS = 2.0


def signed_posts(receiver: WebhookReceiver, count: int) -> list[float]:
    """Seconds of each signed delivery POSTed straight to the receiver, until its 2xx."""
    secret = new_secret()
    receiver.secrets.append(secret)
    samples = []
    for _ in range(count):
        body = json.dumps({"type": resources.WEBHOOK_PING, "timestamp": "", "data": {}}).encode()
        headers = delivery_headers([secret], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
        started = time.perf_counter()
        answer = post(receiver.url, headers, body, float(resources.WEBHOOK_TIMEOUT_SECONDS), True)
        samples.append(time.perf_counter() - started)
        if answer.status_code is None or not 200 <= answer.status_code < 300:
            raise RuntimeError(f"the receiver answered {answer.status_code}: {answer.error}")
    return samples


def measure(decisions: int, log_dir: Path) -> dict[str, list[float]]:
    receiver = WebhookReceiver(free_port(), require_reference=False).start()
    config = DevStackConfig.on_free_ports(workers=1, reconcile_every_seconds=None, log_dir=log_dir)
    try:
        with DevStack(config).start() as stack:
            api = ApiClient(stack.api_url, stack.api_headers("partner"))
            created = api.post("/v1/webhooks", {"url": receiver.url, "events": [resources.DECISION_MADE]})
            created.raise_for_status()
            receiver.secrets.append(created.json()["secret"])
            delivered, decided = [], []
            for application in applications(decisions, with_personal_data=False):
                seen, started = len(receiver.delivered), time.time()
                api.post("/v1/decisions", application).raise_for_status()
                decided.append(time.time() - started)
                arrived = wait_until(lambda: receiver.delivered[seen:], 60, "the delivery")  # noqa: B023 (waited for here)
                delivered.append(arrived[0].received_at - started)
            return {  # the receiver's baseline measured while the stack runs, as the deliveries were
                "baseline: signed POST straight to the receiver": signed_posts(receiver, decisions),
                "baseline: the decision request alone": decided,
                "decision -> verified delivery": delivered,
            }
    finally:
        receiver.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=40, help="decisions made, one at a time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as logs:
        measured = measure(args.decisions, Path(logs))
    print(f"decision -> webhook delivery, local stack, {args.decisions} decisions one at a time (seconds)")
    print_table(
        ["case", "p50", "p95", "max"],
        [[name, *(f"{percentile(s, q):.3f}" for q in (0.5, 0.95, 1.0))] for name, s in measured.items()],
    )
    p50 = percentile(measured["decision -> verified delivery"], 0.5)
    verdict = "met" if p50 <= TARGET_P50_SECONDS else "MISSED"
    print(f"target p50 <= {TARGET_P50_SECONDS:g} s: {verdict} ({p50:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
