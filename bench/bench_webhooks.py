"""Decision -> webhook delivery latency through the local stack (issue 22's target: p50 <= 2 s).

``python -m bench.bench_webhooks [--decisions 40]`` starts its own local stack (moto server, chalice
local, the queue worker, the webhook delivery poller), a receiver on 127.0.0.1 that verifies each
delivery's signature (``devstack.webhook_receiver``), registers it, then makes decisions one at a
time, each after the previous one's delivery arrived, and prints the percentiles of the time from
sending ``POST /v1/decisions`` to the verified delivery.

Baselines measured in the same run, on the same machine: the decision request alone (``POST
/v1/decisions`` until its answer) and the receiver's own round trip (a signed delivery POSTed
straight to it with the delivery function's HTTP call, ``chalicelib.dal.webhook_http.post``). What
the webhook path adds is the difference: the queue hops (poller waits included) and the fan-out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

from bench.common import percentile
from chalicelib import resources
from chalicelib.dal.webhook_http import post
from chalicelib.webhook_signing import delivery_headers, new_secret
from devstack.client import ApiClient
from devstack.processes import free_port, wait_until
from devstack.samples import applications
from devstack.stack import DevStack, DevStackConfig
from devstack.webhook_receiver import WebhookReceiver


class Measured(NamedTuple):
    delivery: list[float]  # seconds from sending the decision request to the verified delivery
    decision: list[float]  # seconds of the decision request alone
    receiver: list[float]  # seconds of one signed POST straight to the receiver


def receiver_round_trips(receiver: WebhookReceiver, count: int) -> list[float]:
    """The baseline: a signed delivery POSTed to the receiver directly, until its 2xx."""
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
    receiver.secrets.remove(secret)
    return samples


def measure(decisions: int, log_dir: Path) -> Measured:
    receiver = WebhookReceiver(free_port(), require_reference=False).start()
    config = DevStackConfig.on_free_ports(workers=1, reconcile_every_seconds=None, log_dir=log_dir)
    try:
        with DevStack(config).start() as stack:
            api = ApiClient(stack.api_url, stack.api_headers("partner"))
            created = api.post("/v1/webhooks", {"url": receiver.url, "events": [resources.DECISION_MADE]})
            created.raise_for_status()
            receiver.secrets.append(created.json()["secret"])
            delivery, decision = [], []
            for application in applications(decisions, with_personal_data=False):
                seen = len(receiver.delivered)
                started = time.time()
                response = api.post("/v1/decisions", application)
                decision.append(time.time() - started)
                response.raise_for_status()

                def arrived(seen: int = seen) -> bool:
                    return len(receiver.delivered) > seen

                wait_until(arrived, 60, "the delivery")
                delivery.append(receiver.delivered[-1].received_at - started)
            baseline = receiver_round_trips(receiver, decisions)
    finally:
        receiver.stop()
    return Measured(delivery, decision, baseline)


def line(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<44} p50 {percentile(samples, 0.5):7.3f} s   p95 {percentile(samples, 0.95):7.3f} s"
        f"   max {max(samples):7.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs:
        measured = measure(args.decisions, Path(logs))
    print(f"decision -> webhook delivery, local stack, {len(measured.delivery)} decisions one at a time")
    print(line("baseline: signed POST straight to the receiver", measured.receiver))
    print(line("baseline: the decision request alone", measured.decision))
    print(line("decision -> verified delivery", measured.delivery))
    p50 = percentile(measured.delivery, 0.5)
    print(f"  target p50 <= 2 s: {'met' if p50 <= 2.0 else 'MISSED'} ({p50:.3f} s)")


if __name__ == "__main__":
    main()
