"""``make package STAGE=...``: one deployable SAM template in build/<stage>/.

    python -m infra.package --stage prod

1. Load the Chalice app (as ``chalice package`` does, with the stage's environment variables) to
   list its routes; 2. generate the merge template from chalicelib/resources.py; 3. run
   ``chalice package --stage S --merge-template <generated> build/<stage>/``; 4. check the
   deployment package against Lambda's size limit (the serverless form of the original's
   "disk < 10%" alert). Needs only AWS_DEFAULT_REGION (no credentials).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib import resources
from infra import names
from infra.template import Routes, build_merge_template

BUILD_DIR = names.PROJECT_ROOT / "build"
DEFAULT_REGION = "us-east-1"
# Lambda's limit on a function's unzipped code (AWS quota); alert at 90% used, like "disk < 10%".
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
PACKAGE_SIZE_ALERT_RATIO = 0.90


def output_dir(stage: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / stage


def merge_template_path(stage: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / f"{stage}.merge-template.json"


def load_routes(stage: str) -> Routes:
    """The app's routes, loaded the way ``chalice package`` loads the app for ``stage``."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(names.PROJECT_ROOT))
    app = factory.create_config_obj(chalice_stage_name=stage).chalice_app
    return {path: sorted(methods) for path, methods in app.routes.items()}


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def check_package_size(zip_path: Path) -> int:
    size = unzipped_size(zip_path)
    if size > PACKAGE_SIZE_ALERT_RATIO * LAMBDA_UNZIPPED_LIMIT_BYTES:
        raise SystemExit(
            f"{zip_path}: {size / 2**20:.1f} MB unzipped is over {PACKAGE_SIZE_ALERT_RATIO:.0%} of Lambda's "
            f"{LAMBDA_UNZIPPED_LIMIT_BYTES / 2**20:.0f} MB limit"
        )
    return size


# Already in the Lambda Python runtime (boto3 and its dependencies). aws-xray-sdk (Powertools'
# Tracer) drags botocore in; shipping a second copy would make the package ~8x larger and the
# cold start slower, and would shadow the runtime's botocore.
RUNTIME_PROVIDED_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python_dateutil",
    "six",
)
RUNTIME_PROVIDED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


def is_runtime_provided(member: str) -> bool:
    top = member.split("/", 1)[0]
    if top in RUNTIME_PROVIDED_MODULES:
        return True
    return top.endswith(".dist-info") and top.split("-", 1)[0] in RUNTIME_PROVIDED_DISTRIBUTIONS


def strip_runtime_provided(zip_path: Path) -> list[str]:
    """Rewrite the deployment package without what the Lambda runtime already provides."""
    stripped_path = zip_path.with_suffix(".stripped.zip")
    removed: list[str] = []
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(stripped_path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if is_runtime_provided(info.filename):
                removed.append(info.filename)
            else:
                target.writestr(info, source.read(info))
    stripped_path.replace(zip_path)
    return removed


def chalice_executable() -> str:
    beside_python = Path(sys.executable).parent / "chalice"
    return str(beside_python) if beside_python.exists() else "chalice"


def package(stage: str, build_dir: Path = BUILD_DIR) -> Path:
    """Build <build_dir>/<stage>/sam.json (+ deployment.zip); returns the template path."""
    routes = load_routes(stage)
    build_dir.mkdir(parents=True, exist_ok=True)
    merge_file = merge_template_path(stage, build_dir)
    merge_file.write_text(json.dumps(build_merge_template(stage, routes), indent=2) + "\n")
    out = output_dir(stage, build_dir)
    shutil.rmtree(out, ignore_errors=True)
    # STAGE: chalice imports app.py WITHOUT the stage's environment variables, and app.py derives
    # the SQS worker's queue name (and MaximumConcurrency) from STAGE (default "dev").
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION),
        "STAGE": stage,
    }
    subprocess.run(
        [chalice_executable(), "package", "--stage", stage, "--merge-template", str(merge_file), str(out)],
        cwd=names.PROJECT_ROOT,
        env=env,
        check=True,
    )
    strip_runtime_provided(out / "deployment.zip")
    size = check_package_size(out / "deployment.zip")
    print(
        f"{out / 'sam.json'}: {stage} template; deployment.zip {size / 2**20:.1f} MB unzipped "
        f"({size / LAMBDA_UNZIPPED_LIMIT_BYTES:.0%} of Lambda's limit)"
    )
    return out / "sam.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=resources.DEPLOYED_STAGES)
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR, help="default: build/")
    args = parser.parse_args(argv)
    package(args.stage, args.build_dir.resolve())


if __name__ == "__main__":
    main()
