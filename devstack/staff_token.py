"""``python -m devstack.staff_token USER``: an ID token for a staff user of the local stack.

Signs in to the stage's staff user pool on the local endpoint (found by name, the way ``make run``
created it) with USER_PASSWORD_AUTH, as a staff console would, and prints the ID token as the LAST
line of output (everything else goes to stderr), so that

    curl -s http://127.0.0.1:8000/v1/reviews -H "Authorization: $(python -m devstack.staff_token reviewer1)"

works while ``make run`` is up on its default ports, with no environment variables set. The demo
staff (``reviewer1``, ``reviewer2``, ``manager1``) need no password; any other user needs
``--password``. Always fake credentials: this can only ever talk to a local endpoint's pool.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from devstack.cognito import DEMO_STAFF, SignInFailed, demo_user, find_staff_pool, id_token, pool_name
from devstack.stage_env import FAKE_CREDENTIALS

# make run's moto server (devstack.run's --aws-port default).
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "user", help=f"staff user name (demo: {', '.join(user.username for user in DEMO_STAFF)})"
    )
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"the local AWS endpoint (default: AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    parser.add_argument("--stage", default="local")
    parser.add_argument("--password", help="the user's password (default: the demo user's documented one)")
    return parser.parse_args(argv)


def cognito_client(endpoint: str) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=resources.LOCAL_REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    password = args.password
    if password is None:
        demo = demo_user(args.user)
        if demo is None:
            print(f"{args.user} is not a demo staff user: pass --password.", file=sys.stderr)
            return 2
        password = demo.password
    client = cognito_client(args.endpoint)
    try:
        pool = find_staff_pool(args.stage, client)
    except (BotoCoreError, ClientError) as error:
        print(f"cannot reach the staff pool at {args.endpoint} ({error}); is `make run` up?", file=sys.stderr)
        return 2
    if pool is None:
        print(f"no user pool {pool_name(args.stage)} at {args.endpoint}; is `make run` up?", file=sys.stderr)
        return 2
    try:
        token = id_token(client, pool, args.user, password)
    except SignInFailed as error:
        print(f"sign-in failed: {error}", file=sys.stderr)
        return 1
    minutes = resources.STAFF_POOL.id_token_validity_minutes
    print(
        f"ID token of {args.user} (pool {pool.pool_id}, valid {minutes} min), for the Authorization header:",
        file=sys.stderr,
        flush=True,
    )
    print(token, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
