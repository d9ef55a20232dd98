"""``make run``: the whole service on this machine, no Docker and no AWS account.

1. a moto server on 127.0.0.1:4566 — unless ``AWS_ENDPOINT_URL`` already points at a running
   endpoint (LocalStack, DynamoDB Local behind a proxy, another moto), which is then used as is;
2. the stage's tables and queues (``devstack.bootstrap``, from ``chalicelib/resources.py``) and the
   staff user pool with its demo staff (``devstack.cognito``);
3. ``chalice local --stage local`` on 127.0.0.1:8000;
4. the local queue worker(s) (``devstack.sqs_poller``), which invoke the app's SQS handler the way
   Lambda's event source mapping does.

A queue worker or the reconciler that dies is restarted with a backoff (0.5 s doubling to 30 s,
reset after a minute of running), each restart printed and counted. Only the moto server or
``chalice local`` dying stops the stack (everything would fail without them), with a message naming
it. Ctrl-C (or SIGTERM) stops everything in reverse order.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from devstack.cognito import DEMO_STAFF
from devstack.gateway import local_api_key_id, local_api_keys
from devstack.processes import PROJECT_ROOT, ManagedProcess, http_answers
from devstack.samples import sample_application
from devstack.stack import DevStack, DevStackConfig
from devstack.staff_token import DEFAULT_ENDPOINT

# How often the front door looks for dead children: the first restart is due 0.5 s after a death.
SUPERVISE_EVERY_SECONDS = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "4566")))
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("DEVSTACK_WORKERS", "2")),
        help="queue worker processes (the local analogue of the mapping's MaximumConcurrency)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        help="TESTS/DEMOS ONLY: shorter visibility timeout so retries and the DLQ happen in seconds",
    )
    parser.add_argument(
        "--no-gateway-emulation",
        action="store_true",
        help="serve without the local API Gateway emulation (no API key, no throttling)",
    )
    return parser.parse_args(argv)


def _raise_keyboard_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _python() -> str:
    """This interpreter as a command to type in the project folder (``.venv/bin/python``)."""
    try:
        return str(Path(sys.executable).relative_to(PROJECT_ROOT))
    except ValueError:
        return "python"


def staff_lines(stack: DevStack) -> str:
    """How staff sign in: the pool, the demo users and their development passwords, a token."""
    pool = stack.staff_pool
    if pool is None:
        return "\nStaff sign-in:   none (this endpoint has no Cognito IdP)\n"
    users = "".join(f"    {user.username:<10} {user.group:<9} {user.password}\n" for user in DEMO_STAFF)
    token_command = f"{_python()} -m devstack.staff_token reviewer1"
    if stack.endpoint_url != DEFAULT_ENDPOINT:
        token_command += f" --endpoint {stack.endpoint_url}"
    if stack.config.stage != "local":
        token_command += f" --stage {stack.config.stage}"
    return (
        "\nStaff sign-in (Cognito user pool, tokens verified locally as API Gateway would):\n"
        f"  User pool:       {pool.pool_id}   app client {pool.client_id}\n"
        f"  Issuer / JWKS:   {pool.issuer}\n"
        f"                   {pool.jwks_url}\n"
        "  Demo staff (user, group, development password; local only):\n"
        f"{users}"
        f"  ID token:        {token_command}   (prints the token as its last line)\n"
        f'  Try:             curl -s {stack.api_url}/v1/reviews -H "Authorization: $({token_command})"\n'
    )


def api_key_lines(stack: DevStack) -> str:
    """Every API key the emulated gateway accepts, each with its usage plan and the client id it
    stands for (what API Gateway would put in ``apiKeyId``): each key is a client that sees only its
    own records. The first line is the key the sample curls use."""
    first = stack.api_key()
    keys = sorted(local_api_keys(stack.env()).items(), key=lambda item: item[0] != first)
    width = max(len(key) for key, _ in keys)
    lines = ""
    for index, (key, plan) in enumerate(keys):
        label = "Local API key:" if index == 0 else "Other API key:"
        lines += f"  {label:<17}{key:<{width}}   (usage plan {plan}; client {local_api_key_id(key)})\n"
    return lines + f"  {'':<17}header x-api-key; each key is one client and sees only its own records\n"


def webhook_lines(stack: DevStack, curl_headers: list[str]) -> str:
    """How to receive this stack's webhooks (issue 22): register a loopback receiver, run it."""
    body = '{"url":"http://127.0.0.1:9000/hooks","events":["decision.made","application.decided"]}'
    register = shlex.join(
        ["curl", "-s", "-X", "POST", f"{stack.api_url}/v1/webhooks", *curl_headers, "-d", body]
    )
    return (
        "\nWebhooks (signed deliveries to a receiver you run; loopback only on this stage):\n"
        f"  {register}\n"
        "  python -m devstack.webhook_receiver --port 9000 --secret <the secret it returned>\n"
    )


def banner(stack: DevStack) -> str:
    curl_headers = ["-H", "Content-Type: application/json"]
    key_lines = ""
    if stack.config.gateway_emulation:
        key = stack.api_key()
        curl_headers += ["-H", f"x-api-key: {key}"]
        key_lines = api_key_lines(stack)
    body = json.dumps(sample_application(with_personal_data=False), separators=(",", ":"))
    decision_curl = shlex.join(
        ["curl", "-s", "-X", "POST", f"{stack.api_url}/v1/decisions", *curl_headers, "-d", body]
    )
    names = stack.names
    endpoint_kind = "external, AWS_ENDPOINT_URL" if stack.config.external_endpoint else "moto server"
    return (
        "\nLocal stack is up.\n"
        f"  API:             {stack.api_url}   (chalice local, stage {stack.config.stage})\n"
        f"  Health:          {stack.api_url}/health/ready\n"
        f"  Console:         {stack.api_url}/console   (API docs: {stack.api_url}/docs)\n"
        f"  AWS endpoint:    {stack.endpoint_url}   ({endpoint_kind})\n"
        f"  Queue:           {names.get('APPLICATIONS_QUEUE')} -> DLQ {names.get('APPLICATIONS_DLQ')}\n"
        f"  Queue workers:   {len(stack.workers)} process(es), restarted if they die\n"
        f"{key_lines}"
        "\nTry a decision:\n"
        f"  {decision_curl}\n"
        "\nSubmit to the queue (same body), then poll the status URL it returns:\n"
        f"  {decision_curl.replace('/v1/decisions', '/v1/applications')}\n"
        f"  AWS_ENDPOINT_URL={stack.endpoint_url} to reach the local tables/queues with the AWS CLI.\n"
        f"{staff_lines(stack)}"
        f"{webhook_lines(stack, curl_headers)}"
        "\nCtrl-C stops everything.\n"
    )


def vital_death_message(stack: DevStack, dead: ManagedProcess) -> str:
    role = "the API" if dead is stack.api else "the AWS endpoint (tables and queues in memory)"
    where = f"its log: {dead.log_path}" if dead.log_path else "its output is above in this terminal"
    return (
        f"\n{dead.name} ({role}) exited with {dead.popen.returncode}; the stack cannot work without it, "
        f"stopping everything ({where})."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    external = os.environ.get("AWS_ENDPOINT_URL") or None
    if external and not http_answers(external):
        print(f"AWS_ENDPOINT_URL={external} does not answer: start it or unset it.", file=sys.stderr)
        return 2
    stack = DevStack(
        DevStackConfig(
            stage=args.stage,
            host=args.host,
            api_port=args.api_port,
            aws_port=args.aws_port,
            external_endpoint=external,
            workers=args.workers,
            visibility_timeout_override=args.visibility_timeout,
            gateway_emulation=not args.no_gateway_emulation,
        )
    )
    # Explicit for SIGINT too: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    exit_code = 0
    try:
        stack.start()
        print(banner(stack), flush=True)
        while (dead := stack.supervise()) is None:
            time.sleep(SUPERVISE_EVERY_SECONDS)
        print(vital_death_message(stack, dead), file=sys.stderr, flush=True)
        exit_code = 1
    except KeyboardInterrupt:
        print("\nStopping the local stack...", flush=True)
    finally:
        # A second Ctrl-C must not leave half the children running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    print("Stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
