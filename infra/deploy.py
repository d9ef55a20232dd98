"""``make deploy STAGE=...``: upload and deploy build/<stage>/sam.json with the AWS CLI.

    python -m infra.deploy --stage prod --bucket my-artifacts-bucket [--alarm-email ops@example.com]
        [--console-web-acl-arn arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>]

Needs the AWS CLI v2 (``aws``) and credentials for the target account: only deploying does. The
artifact bucket comes from --bucket or DEPLOY_BUCKET. Runs
``aws cloudformation package`` (uploads deployment.zip, rewrites CodeUri) and
``aws cloudformation deploy`` (change set; CAPABILITY_IAM for the roles, CAPABILITY_AUTO_EXPAND
for the SAM transform), then uploads the console (``chalicelib/http/static/console/``, with the
vendored Chart.js) to the stack's console bucket and invalidates its paths on CloudFront; the bucket
and distribution are read from the stack's outputs (``console_hosting.outputs``).

Stack parameters not passed keep their current value on an existing stack (``aws cloudformation
deploy``): set but empty is passed, unset is not. So for the console's CLOUDFRONT web ACL
(--console-web-acl-arn or CONSOLE_WEB_ACL_ARN, the stack parameter ``ConsoleWebAclArn``): required
outside us-east-1, where the stack cannot create one (the template's rule refuses the deploy without
it); an explicitly empty value lets a us-east-1 stack create its own.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

from chalicelib import resources
from chalicelib.http.static_files import CONSOLE, INDEX
from infra import console_hosting
from infra.package import output_dir

CONSOLE_SOURCE: Path = CONSOLE.directory
# Short: CloudFront's CachingOptimized policy honours it, and the invalidation covers a deploy anyway.
CONSOLE_FILE_CACHE_CONTROL = "max-age=300"


def stack_name(stage: str) -> str:
    return f"{resources.SERVICE}-{stage}"


def parameter_overrides(alarm_email: str | None, *, console_web_acl_arn: str | None = None) -> list[str]:
    overrides = []
    if alarm_email:
        overrides.append(f"AlarmEmail={alarm_email}")
    # Empty is passed too: it switches a us-east-1 stack back to a web ACL of its own.
    if console_web_acl_arn is not None:
        overrides.append(f"{console_hosting.WEB_ACL_ARN_PARAMETER}={console_web_acl_arn}")
    return overrides


def deploy_commands(
    stage: str,
    bucket: str,
    alarm_email: str | None,
    *,
    console_web_acl_arn: str | None = None,
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
    overrides = parameter_overrides(alarm_email, console_web_acl_arn=console_web_acl_arn)
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


def stack_output_command(stage: str, output_key: str) -> list[str]:
    """Prints one output of the deployed stack (``--output text``: the bare value)."""
    return [
        "aws", "cloudformation", "describe-stacks",
        "--stack-name", stack_name(stage),
        "--query", f"Stacks[0].Outputs[?OutputKey=='{output_key}'].OutputValue",
        "--output", "text",
    ]  # fmt: skip


def console_upload_commands(
    bucket_name: str, distribution_id: str, source: Path = CONSOLE_SOURCE
) -> list[list[str]]:
    """The console's files at the keys the distribution serves: ``console`` (index.html, the page
    at /console) and ``console/<name>`` (what its relative links ask for), the same paths as locally."""
    prefix = console_hosting.CONSOLE_PREFIX
    return [
        [
            "aws", "s3", "sync", f"{source}/", f"s3://{bucket_name}/{prefix}/",
            # --delete: a file removed from the console stops being served; excluded keys are kept.
            "--delete", "--exclude", INDEX, "--exclude", ".*",
            "--cache-control", CONSOLE_FILE_CACHE_CONTROL,
        ],
        [
            "aws", "s3", "cp", str(source / INDEX), f"s3://{bucket_name}/{prefix}",
            # The key has no extension: the CLI cannot guess the type (nosniff needs the real one).
            "--content-type", "text/html; charset=utf-8",
            "--cache-control", "no-cache",
        ],
        [
            "aws", "cloudfront", "create-invalidation",
            "--distribution-id", distribution_id,
            "--paths", f"/{prefix}", f"/{prefix}/*",
        ],
    ]  # fmt: skip


def stack_output(stage: str, output_key: str) -> str:
    done = subprocess.run(stack_output_command(stage, output_key), check=True, capture_output=True, text=True)
    value = done.stdout.strip()
    if not value or value == "None":
        raise SystemExit(f"the stack {stack_name(stage)} has no output {output_key}")
    return value


def upload_console(stage: str) -> None:
    bucket_name = stack_output(stage, "ConsoleBucketName")
    distribution_id = stack_output(stage, "ConsoleDistributionId")
    for command in console_upload_commands(bucket_name, distribution_id):
        subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=resources.DEPLOYED_STAGES)
    parser.add_argument("--bucket", default=os.environ.get("DEPLOY_BUCKET"), help="S3 bucket for artifacts")
    parser.add_argument("--alarm-email", default=os.environ.get("ALARM_EMAIL"))
    parser.add_argument(
        "--console-web-acl-arn",
        default=os.environ.get("CONSOLE_WEB_ACL_ARN"),
        help="ARN of a CLOUDFRONT-scope web ACL (made in us-east-1) for the console's distribution; "
        "required outside us-east-1",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    if not (output_dir(args.stage) / "sam.json").exists():
        raise SystemExit(f"no template for {args.stage}: run `make package STAGE={args.stage}` first")
    if not args.bucket:
        raise SystemExit("an S3 artifact bucket is needed: --bucket NAME or DEPLOY_BUCKET=NAME")
    # The parameter's own AllowedPattern, checked before anything is uploaded.
    if args.console_web_acl_arn is not None and not re.fullmatch(
        console_hosting.WEB_ACL_ARN_PATTERN, args.console_web_acl_arn
    ):
        raise SystemExit(
            f"{args.console_web_acl_arn!r} is not a CLOUDFRONT-scope web ACL ARN "
            f"(arn:aws:wafv2:{console_hosting.CLOUDFRONT_WAF_REGION}:<account>:global/webacl/<name>/<id>)"
        )
    commands = deploy_commands(
        args.stage,
        args.bucket,
        args.alarm_email,
        console_web_acl_arn=args.console_web_acl_arn,
    )
    if args.dry_run:
        # The console's bucket and distribution exist only once the stack is deployed.
        upload = console_upload_commands("<ConsoleBucketName>", "<ConsoleDistributionId>")
        for command in [*commands, *upload]:
            print(" ".join(command))
        return
    if shutil.which("aws") is None:
        raise SystemExit("the AWS CLI (`aws`, v2) is required to deploy: https://aws.amazon.com/cli/")
    for command in commands:
        subprocess.run(command, check=True)
    upload_console(args.stage)


if __name__ == "__main__":
    main()
