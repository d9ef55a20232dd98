"""``make package STAGE=...``: one deployable SAM template in build/<stage>/.

    python -m infra.package --stage prod

1. Load the Chalice app (as ``chalice package`` does, with the stage's environment variables) to
   list its routes; 2. generate the merge template from chalicelib/resources.py; 3. run
   ``chalice package --stage S --merge-template <generated> build/<stage>/``, then point the staff
   routes' Cognito authorizer at the stack's own user pool; 4. strip from the deployment package
   what the Lambda runtime provides or never reads, and check it against Lambda's size limit (the
   serverless form of the original's "disk < 10%" alert). Needs only AWS_DEFAULT_REGION (no credentials).
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
from typing import Any

from chalicelib import resources
from infra import names, staff_pool
from infra.template import Routes, build_merge_template

BUILD_DIR = names.PROJECT_ROOT / "build"
# Lambda's limit on a function's unzipped code (AWS quota); alert at 90% used, like "disk < 10%".
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
PACKAGE_SIZE_ALERT_RATIO = 0.90


def output_dir(stage: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / stage


def merge_template_path(stage: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / f"{stage}.merge-template.json"


def load_app_shape(stage: str) -> tuple[Routes, list[str]]:
    """The app's routes and its Lambda functions' Chalice names (``api_handler`` when it has
    routes, then every event handler's), loaded the way ``chalice package`` loads the app."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(names.PROJECT_ROOT))
    app = factory.create_config_obj(chalice_stage_name=stage).chalice_app
    routes = {path: sorted(methods) for path, methods in app.routes.items()}
    functions = ([resources.API_FUNCTION.chalice_name] if routes else []) + [
        source.name for source in app.event_sources
    ]
    return routes, functions


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
# Per-distribution folders of an unpacked wheel: metadata (``.dist-info``) and install-time data
# such as console scripts (``.data``, e.g. jmespath's ``jp.py``).
DISTRIBUTION_FOLDER_SUFFIXES = (".dist-info", ".data")


def is_runtime_provided(member: str) -> bool:
    top = member.split("/", 1)[0]
    if top in RUNTIME_PROVIDED_MODULES:
        return True
    distribution = top.split("-", 1)[0]
    return top.endswith(DISTRIBUTION_FOLDER_SUFFIXES) and distribution in RUNTIME_PROVIDED_DISTRIBUTIONS


# What the Lambda runtime never reads. ``import app``, every route and the worker are run from the
# stripped package in tests/infra/test_infra_package.py (with tracing on, as dev and prod deploy).
#
# Bytecode caches of the packaging machine's own tree (a stale or other-version .pyc is ignored
# anyway), typing stubs (read by type checkers only), C sources shipped beside their compiled
# extension (wrapt's ``_wrappers.c``).
NEVER_READ_SUFFIXES = (".pyc", ".pyo", ".pyi", ".c", ".h")
NEVER_READ_FOLDERS = ("__pycache__",)
# PEP 561 stub-only packages (``wrapt-stubs``): never importable, for type checkers.
STUB_PACKAGE_SUFFIX = "-stubs"
# Powertools utilities the code never imports (it uses Logger, Metrics, Tracer, batch, idempotency
# and the SQS data class; the rest of ``utilities`` is imported by those and stays).
UNUSED_POWERTOOLS_UTILITIES = (
    "auth_alpha",
    "circuit_breaker",
    "data_masking",
    "feature_flags",
    "kafka",
    "metadata",
    "parameters",
    "streaming",
    "validation",
)
# X-Ray SDK integrations for libraries the package does not contain (importing one would fail);
# the Tracer patches botocore only (chalicelib/observability).
XRAY_INTEGRATIONS_OF_ABSENT_LIBRARIES = (
    "aiobotocore",
    "aiohttp",
    "bottle",
    "django",
    "flask",
    "flask_sqlalchemy",
    "httpx",
    "mysql",
    "pg8000",
    "psycopg",
    "psycopg2",
    "pymongo",
    "pymysql",
    "pynamodb",
    "requests",
    "sqlalchemy",
    "sqlalchemy_core",
)
NEVER_READ_PREFIXES = (
    # Powertools' copy of Swagger UI (1.7 MB): served only by its own resolvers' enable_swagger();
    # this is a Chalice app whose /docs page is its own (chalicelib/http/openapi.py).
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css",
    *(f"aws_lambda_powertools/utilities/{name}/" for name in UNUSED_POWERTOOLS_UTILITIES),
    *(f"aws_xray_sdk/ext/{name}/" for name in XRAY_INTEGRATIONS_OF_ABSENT_LIBRARIES),
)


def is_never_read(member: str) -> bool:
    parts = member.split("/")
    return (
        member.endswith(NEVER_READ_SUFFIXES)
        or any(folder in parts[:-1] for folder in NEVER_READ_FOLDERS)
        or parts[0].endswith(STUB_PACKAGE_SUFFIX)
        or member.startswith(NEVER_READ_PREFIXES)
    )


def should_strip(member: str) -> bool:
    return is_runtime_provided(member) or is_never_read(member)


def strip_package(zip_path: Path) -> list[str]:
    """Rewrite the deployment package without what the runtime provides or never reads."""
    stripped_path = zip_path.with_suffix(".stripped.zip")
    removed: list[str] = []
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(stripped_path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if should_strip(info.filename):
                removed.append(info.filename)
            else:
                target.writestr(info, source.read(info))
    stripped_path.replace(zip_path)
    return removed


def compile_package(zip_path: Path, runtime: str) -> int:
    """Add bytecode for every module of the package, compiled by this interpreter for the function's
    runtime. Lambda's /var/task is read-only, so Python cannot cache bytecode there: without it every
    cold start compiles every module again (measured: ``import app`` 357-400 ms without, 251-264 ms
    with). ``unchecked-hash`` pycs are used without a check against the source's mtime, which the
    zip does not keep. Returns how many modules were compiled; refuses another Python version."""
    import importlib.util
    import sys

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if version != runtime:
        raise SystemExit(f"bytecode for {runtime} cannot be compiled by {version}: package with {runtime}")
    compiled_path = zip_path.with_suffix(".compiled.zip")
    count = 0
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(compiled_path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            code = compile(data, f"/var/task/{info.filename}", "exec", dont_inherit=True)
            pyc = importlib.util.cache_from_source(info.filename)
            source_hash = importlib.util.source_hash(data)
            target.writestr(pyc, _hash_pyc(code, source_hash))
            count += 1
    compiled_path.replace(zip_path)
    return count


def _hash_pyc(code: Any, source_hash: bytes) -> bytes:
    """A PEP 552 hash-based, unchecked pyc (what ``compileall --invalidation-mode unchecked-hash``
    writes)."""
    import importlib.util
    import marshal

    flags = 0b01  # hash-based, check_source = 0: unchecked
    return importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + source_hash + marshal.dumps(code)


# The swagger Chalice writes for a CognitoUserPoolAuthorizer (chalice.app.CognitoUserPoolAuthorizer).
COGNITO_AUTH_TYPE = "cognito_user_pools"
AUTHORIZER_KEY = "x-amazon-apigateway-authorizer"


def point_staff_authorizer_at_the_stack_pool(template: dict[str, Any]) -> int:
    """Point the staff routes' Cognito authorizer at this stack's own user pool.

    app.py declares the authorizer with ``os.environ["STAFF_USER_POOL_ARN"]`` or, while packaging
    (no stack exists yet), ``resources.STAFF_POOL_ARN_PLACEHOLDER``; Chalice writes that string into
    the REST API's swagger (``securityDefinitions.<name>.x-amazon-apigateway-authorizer.
    providerARNs``). The merge template cannot fix it: it is a recursive dict merge, so the list is
    only reachable by restating Chalice's swagger, which would silently break when Chalice changes.
    Whatever the packaging shell had in STAFF_USER_POOL_ARN, a deployed stage's authorizer must
    trust exactly its own pool, so every value is replaced. Returns how many authorizers were
    rewritten; fails on a Cognito authorizer this template does not create a pool for, and if the
    placeholder is still anywhere in the template afterwards.
    """
    api = template["Resources"].get(names.REST_API_LOGICAL_ID, {})
    definitions = api.get("Properties", {}).get("DefinitionBody", {}).get("securityDefinitions", {})
    rewritten = 0
    for name, definition in definitions.items():
        if definition.get("x-amazon-apigateway-authtype") != COGNITO_AUTH_TYPE:
            continue
        if name != resources.STAFF_POOL.authorizer_name:
            raise SystemExit(
                f"Cognito authorizer {name!r} in app.py: the template has a pool for "
                f"{resources.STAFF_POOL.authorizer_name!r} only"
            )
        definition[AUTHORIZER_KEY]["providerARNs"] = [staff_pool.pool_arn()]
        rewritten += 1
    if resources.STAFF_POOL_ARN_PLACEHOLDER in json.dumps(template):
        raise SystemExit(f"{resources.STAFF_POOL_ARN_PLACEHOLDER} left in the packaged template")
    return rewritten


def postprocess_template(template_path: Path) -> None:
    template = json.loads(template_path.read_text())
    point_staff_authorizer_at_the_stack_pool(template)
    # The layout chalice package writes (chalice.utils.serialize_to_json).
    template_path.write_text(json.dumps(template, indent=2, separators=(",", ": ")) + "\n")


def function_runtime(template_path: Path) -> str:
    """The Lambda runtime Chalice chose for the functions (one for all of them)."""
    template = json.loads(template_path.read_text())
    runtimes = {
        resource["Properties"]["Runtime"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    (runtime,) = runtimes
    return str(runtime)


def chalice_executable() -> str:
    beside_python = Path(sys.executable).parent / "chalice"
    return str(beside_python) if beside_python.exists() else "chalice"


def package(stage: str, build_dir: Path = BUILD_DIR, index_limit: int | None = None) -> Path:
    """Build <build_dir>/<stage>/sam.json (+ deployment.zip); returns the template path."""
    routes, app_functions = load_app_shape(stage)
    build_dir.mkdir(parents=True, exist_ok=True)
    merge_file = merge_template_path(stage, build_dir)
    template = build_merge_template(stage, routes, app_functions, index_limit)
    merge_file.write_text(json.dumps(template, indent=2) + "\n")
    out = output_dir(stage, build_dir)
    shutil.rmtree(out, ignore_errors=True)
    # STAGE: chalice imports app.py WITHOUT the stage's environment variables, and app.py derives
    # the SQS worker's queue name (and MaximumConcurrency) from STAGE (default "dev").
    # Without the staff pool's variables: a pool id in the packaging shell (another stage's, a
    # local one) must not end up in the template; the placeholder is replaced below instead.
    staff_variables = {
        resources.STAFF_POOL_ARN_ENV,
        resources.STAFF_POOL_ID_ENV,
        resources.STAFF_POOL_CLIENT_ID_ENV,
    }
    env = {
        **{name: value for name, value in os.environ.items() if name not in staff_variables},
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", resources.LOCAL_REGION),
        "STAGE": stage,
    }
    subprocess.run(
        [chalice_executable(), "package", "--stage", stage, "--merge-template", str(merge_file), str(out)],
        cwd=names.PROJECT_ROOT,
        env=env,
        check=True,
    )
    postprocess_template(out / "sam.json")
    strip_package(out / "deployment.zip")
    compile_package(out / "deployment.zip", function_runtime(out / "sam.json"))
    size = check_package_size(out / "deployment.zip")
    zipped = (out / "deployment.zip").stat().st_size
    print(
        f"{out / 'sam.json'}: {stage} template; deployment.zip {size / 2**20:.2f} MB unzipped "
        f"({size / LAMBDA_UNZIPPED_LIMIT_BYTES:.0%} of Lambda's limit), {zipped / 2**20:.2f} MB zipped"
    )
    return out / "sam.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=resources.DEPLOYED_STAGES)
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR, help="default: build/")
    # CloudFormation creates at most one GSI per table in one stack update: a stack deployed before
    # the tables had indexes is brought to the full set with --index-limit 1, 2, ... (one deploy each).
    parser.add_argument(
        "--index-limit",
        type=int,
        default=int(os.environ["INDEX_LIMIT"]) if os.environ.get("INDEX_LIMIT") else None,
        help="declare at most N GSIs per table (default: all; env INDEX_LIMIT)",
    )
    args = parser.parse_args(argv)
    if args.index_limit is not None and args.index_limit < 0:
        parser.error("--index-limit must be 0 or more")
    package(args.stage, args.build_dir.resolve(), args.index_limit)


if __name__ == "__main__":
    main()
