"""Decision -> webhook delivery latency through the local stack (issue 22's target: p50 <= 2 s).

``python -m devstack.bench_webhook_delivery [--decisions 40]`` starts its own local stack (moto
server, chalice local, the queue worker, the webhook delivery poller), a receiver on 127.0.0.1 that
verifies each delivery (``devstack.webhook_receiver``), registers it, then makes decisions one at a
time, each after the previous one's delivery arrived, and prints the percentiles of the time from
sending ``POST /v1/decisions`` to the verified delivery. Belongs with the benchmarks (bench/) once
their rewrite has landed; it lives here meanwhile so that nothing in bench/ changes under it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from devstack.client import ApiClient
from devstack.processes import free_port, wait_until
from devstack.samples import applications
from devstack.stack import DevStack, DevStackConfig
from devstack.webhook_receiver import WebhookReceiver


def measure(decisions: int, log_dir: Path) -> list[float]:
    receiver = WebhookReceiver(free_port(), require_reference=False).start()
    config = DevStackConfig.on_free_ports(workers=1, reconcile_every_seconds=None, log_dir=log_dir)
    with DevStack(config).start() as stack:
        api = ApiClient(stack.api_url, stack.api_headers("partner"))
        created = api.post("/v1/webhooks", {"url": receiver.url, "events": ["decision.made"]})
        created.raise_for_status()
        receiver.secrets.append(created.json()["secret"])
        latencies = []
        for application in applications(decisions, with_personal_data=False):
            seen = len(receiver.delivered)
            started = time.time()
            response = api.post("/v1/decisions", application)
            response.raise_for_status()

            def arrived(seen: int = seen) -> bool:
                return len(receiver.delivered) > seen

            wait_until(arrived, 60, "the delivery")
            latencies.append(receiver.delivered[-1].received_at - started)
    receiver.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs:
        latencies = measure(args.decisions, Path(logs))
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    print(
        f"decision -> delivery over {len(ordered)} decisions: p50 {statistics.median(ordered):.3f} s, "
        f"p95 {p95:.3f} s, max {ordered[-1]:.3f} s"
    )


if __name__ == "__main__":
    main()
