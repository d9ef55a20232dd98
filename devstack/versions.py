"""``python -m devstack.versions``: the decision-version registry from a terminal, through the same
staff routes the console uses (``make register``, ``make promote``, ``make approve``,
``make rollback``).

Signs in a demo staff user of the local pool (``devstack.staff_token``), calls the running stack's
API and prints the answer as JSON. Exit status 0 on a 2xx answer, 1 otherwise (the error body is
printed: the failing gate and its figures, the offending JSON pointers, ...).

    make register LABEL="FOIR 55%" POLICY=my_policy.json      # as modelrisk1
    make register LABEL=... POLICY=... HOLDOUT=<backtest id>  # reported on that backtest's file
    make promote VERSION=v2 ROLE=challenger SHARE=10          # as modelrisk1: a proposal
    make approve CHANGE=<change_id>                           # as manager1
    make rollback REASON="complaints up"                      # as manager1: applied at once, flagged
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests

from devstack.cognito import demo_user, find_staff_pool, id_token
from devstack.staff_token import DEFAULT_ENDPOINT, cognito_client

DEFAULT_API = "http://127.0.0.1:8000"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default=os.environ.get("API_URL") or DEFAULT_API)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--user", help="demo staff user (default: modelrisk1 proposes, manager1 approves)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the versions and today's routing")
    show = commands.add_parser("show", help="a version with its policy and report")
    show.add_argument("version")
    register = commands.add_parser("register", help="register a policy document and/or model artifact")
    register.add_argument("--label", required=True)
    register.add_argument("--notes", default="")
    register.add_argument("--policy", type=Path, help="a lending-policy JSON document")
    register.add_argument("--model", type=Path, help="a model artifact (make train)")
    register.add_argument("--holdout", help="report on the labelled file uploaded to this backtest id")
    promote = commands.add_parser("promote", help="propose a routing change")
    promote.add_argument("version")
    promote.add_argument("--role", required=True, choices=("champion", "challenger", "shadow", "retire"))
    promote.add_argument("--share", type=int)
    promote.add_argument("--reason", default="")
    approve = commands.add_parser("approve", help="approve a proposed change (a manager, not the maker)")
    approve.add_argument("change")
    rollback = commands.add_parser("rollback", help="back to the previous champion")
    rollback.add_argument("--reason", required=True)
    return parser.parse_args(argv)


def request_of(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None, str]:
    """(method, path, body, default user) of a command."""
    if args.command == "list":
        return "GET", "/v1/versions", None, "modelrisk1"
    if args.command == "show":
        return "GET", f"/v1/versions/{args.version}", None, "modelrisk1"
    if args.command == "register":
        body: dict[str, Any] = {"label": args.label, "notes": args.notes}
        if args.policy:
            body["policy"] = json.loads(args.policy.read_text(encoding="utf-8"))
        if args.model:
            body["model"] = json.loads(args.model.read_text(encoding="utf-8"))
        if args.holdout:
            body["holdout"] = {"backtest_id": args.holdout}
        return "POST", "/v1/versions", body, "modelrisk1"
    if args.command == "promote":
        body = {"role": args.role, "reason": args.reason}
        if args.share is not None:
            body["share"] = args.share
        return "POST", f"/v1/versions/{args.version}/promote", body, "modelrisk1"
    if args.command == "approve":
        return "POST", f"/v1/versions/changes/{args.change}/approve", None, "manager1"
    return "POST", "/v1/versions/rollback", {"reason": args.reason}, "manager1"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    method, path, body, default_user = request_of(args)
    user = demo_user(args.user or default_user)
    if user is None:
        print(f"{args.user} is not a demo staff user", file=sys.stderr)
        return 2
    client = cognito_client(args.endpoint)
    pool = find_staff_pool(args.stage, client)
    if pool is None:
        print(f"no staff pool at {args.endpoint}: is `make run` up?", file=sys.stderr)
        return 2
    token = id_token(client, pool, user.username, user.password)
    response = requests.request(
        method, f"{args.api}{path}", json=body, headers={"Authorization": token}, timeout=60
    )
    print(json.dumps(response.json(), indent=2))
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
