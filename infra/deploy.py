"""``make deploy STAGE=...``: upload and deploy build/<stage>/sam.json with the AWS CLI.

    python -m infra.deploy --stage prod --bucket my-artifacts-bucket [--alarm-email ops@example.com]
        [--lender-webhook-url https://lender.example.com/hooks/decisions [--lender-webhook-header X-Key]]

Needs the AWS CLI v2 (``aws``) and credentials for the target account: only deploying does. The
artifact bucket comes from --bucket or DEPLOY_BUCKET. Runs
``aws cloudformation package`` (uploads deployment.zip, rewrites CodeUri) and
``aws cloudformation deploy`` (change set; CAPABILITY_IAM for the roles, CAPABILITY_AUTO_EXPAND
for the SAM transform).

Stack parameters not passed keep their current value on an existing stack (``aws cloudformation
deploy``), so the lender webhook stays on until it is switched off with an empty URL
(``LENDER_WEBHOOK_URL= make deploy``: set but empty is passed, unset is not).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from chalicelib import resources
from infra import events
from infra.package import output_dir


def stack_name(stage: str) -> str:
    return f"{resources.SERVICE}-{stage}"


def parameter_overrides(
    alarm_email: str | None, lender_webhook_url: str | None, lender_webhook_header: str | None
) -> list[str]:
    overrides = []
    if alarm_email:
        overrides.append(f"AlarmEmail={alarm_email}")
    # An empty URL is passed on purpose: it is how forwarding is switched off again.
    if lender_webhook_url is not None:
        overrides.append(f"{events.WEBHOOK_URL_PARAMETER}={lender_webhook_url}")
    if lender_webhook_header:
        overrides.append(f"{events.WEBHOOK_HEADER_PARAMETER}={lender_webhook_header}")
    return overrides


def deploy_commands(
    stage: str,
    bucket: str,
    alarm_email: str | None,
    *,
    lender_webhook_url: str | None = None,
    lender_webhook_header: str | None = None,
) -> list[list[str]]:
    out = output_dir(stage)
    packaged = out / "packaged.yaml"
    deploy = [
        "aws", "cloudformation", "deploy",
        "--stack-name", stack_name(stage),
        "--template-file", str(packaged),
        "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
        "--no-fail-on-empty-changeset",
        "--tags", f"service={resources.SERVICE}", f"stage={stage}",
    ]  # fmt: skip
    overrides = parameter_overrides(alarm_email, lender_webhook_url, lender_webhook_header)
    if overrides:
        deploy += ["--parameter-overrides", *overrides]
    return [
        [
            "aws", "cloudformation", "package",
            "--template-file", str(out / "sam.json"),
            "--s3-bucket", bucket,
            "--s3-prefix", stack_name(stage),
            "--output-template-file", str(packaged),
        ],
        deploy,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=resources.DEPLOYED_STAGES)
    parser.add_argument("--bucket", default=os.environ.get("DEPLOY_BUCKET"), help="S3 bucket for artifacts")
    parser.add_argument("--alarm-email", default=os.environ.get("ALARM_EMAIL"))
    parser.add_argument(
        "--lender-webhook-url",
        default=os.environ.get("LENDER_WEBHOOK_URL"),
        help="HTTPS endpoint receiving every decision event; empty switches forwarding off",
    )
    parser.add_argument("--lender-webhook-header", default=os.environ.get("LENDER_WEBHOOK_HEADER"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    if not (output_dir(args.stage) / "sam.json").exists():
        raise SystemExit(f"no template for {args.stage}: run `make package STAGE={args.stage}` first")
    if not args.bucket:
        raise SystemExit("an S3 artifact bucket is needed: --bucket NAME or DEPLOY_BUCKET=NAME")
    if args.lender_webhook_url and not args.lender_webhook_url.startswith("https://"):
        raise SystemExit("the lender webhook must be an https:// URL (EventBridge API destinations)")
    commands = deploy_commands(
        args.stage,
        args.bucket,
        args.alarm_email,
        lender_webhook_url=args.lender_webhook_url,
        lender_webhook_header=args.lender_webhook_header,
    )
    if args.dry_run:
        for command in commands:
            print(" ".join(command))
        return
    if shutil.which("aws") is None:
        raise SystemExit("the AWS CLI (`aws`, v2) is required to deploy: https://aws.amazon.com/cli/")
    for command in commands:
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
