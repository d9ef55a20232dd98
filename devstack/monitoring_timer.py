"""The local monitoring run: what the Lambda schedule (``@app.schedule``, daily) does, for the local
stack, and ``make monitor``.

``python -m devstack.monitoring_timer --every SECONDS`` invokes the SAME handler Lambda runs
(``app.run_monitoring``, Chalice's schedule wrapper, middleware included) with a scheduled-event
payload and a Lambda context every SECONDS until SIGTERM/SIGINT (default: daily, as deployed). A run
that raises is logged and the timer goes on (the next run is the retry, as in AWS).

``python -m devstack.monitoring_timer --now [--window-days N]`` (``make monitor``) asks the running
stack for one run through the staff route ``POST /v1/monitoring/runs`` (as the demo ``modelrisk1``),
waits for its report (the run is fanned out over the stack's parts poller) and prints the report's
summary and alerts: exit status 0 with a report, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from chalicelib import resources
from devstack.schedule_timer import serve
from devstack.staff_token import DEFAULT_ENDPOINT

log = logging.getLogger("devstack.monitoring_timer")
DEFAULT_API = "http://127.0.0.1:8000"
DAY_SECONDS = 24 * 3600.0


def log_summary(summary: Any) -> None:
    log.info("monitoring: %s", json.dumps(summary))


def run_now(api: str, endpoint: str, stage: str, window_days: int, user_name: str) -> int:
    """One run through the staff route of the running stack; prints the summary and the alerts."""
    import requests

    from devstack.cognito import demo_user, find_staff_pool, id_token
    from devstack.staff_token import cognito_client

    user = demo_user(user_name)
    if user is None:
        print(f"{user_name} is not a demo staff user", file=sys.stderr)
        return 2
    client = cognito_client(endpoint)
    pool = find_staff_pool(stage, client)
    if pool is None:
        print(f"no staff pool at {endpoint}: is `make run` up?", file=sys.stderr)
        return 2
    token = id_token(client, pool, user.username, user.password)
    response = requests.post(
        f"{api}/v1/monitoring/runs",
        json={"window_days": window_days},
        headers={"Authorization": token},
        timeout=resources.MONITOR_FUNCTION.timeout_seconds,
    )
    body: dict[str, Any] = response.json()
    # 202: the run is fanned out over the window's partitions; wait for its report (or its failure).
    deadline = time.monotonic() + resources.MONITOR_PART_FUNCTION.timeout_seconds * 2
    while response.status_code == 202 or (response.ok and body.get("status") == "running"):
        if time.monotonic() > deadline:
            print(f"no report yet: {json.dumps(body)}", file=sys.stderr)
            return 1
        time.sleep(0.5)  # polling the run as a person would; not a test
        response = requests.get(
            f"{api}/v1/monitoring/reports/{body['report_id']}", headers={"Authorization": token}, timeout=30
        )
        body = response.json()
    if not response.ok or "sections" not in body:
        print(json.dumps(body, indent=2))
        return 1
    shown = {key: body[key] for key in ("report_id", "created_at", "window", "decisions")}
    shown["sections"] = [
        {
            "client_id": s["client_id"],
            "decision_version": s["decision_version"],
            "decisions": s["decisions"],
            "approval_rate": s["approval"]["rate"],
            "score_psi": s["score"]["psi"] if s["score"] else None,
        }
        for s in body["sections"]
    ]
    shown["alerts"] = body["alerts"]
    print(json.dumps(shown, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--every", type=float, default=DAY_SECONDS, help="seconds between runs")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--now", action="store_true", help="one run now through the running stack's API")
    parser.add_argument(
        "--window-days",
        type=int,
        choices=resources.MONITORING_WINDOW_DAYS,
        default=resources.MONITORING_DEFAULT_WINDOW_DAYS,
    )
    parser.add_argument("--api", default=os.environ.get("API_URL") or DEFAULT_API)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT)
    parser.add_argument("--user", default="modelrisk1")
    args = parser.parse_args(argv)
    if args.now:
        return run_now(args.api, args.endpoint, args.stage, args.window_days, args.user)
    serve(resources.MONITOR_FUNCTION, args.every, args.stage, log_summary, log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
