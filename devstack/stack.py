"""The whole local stack as one object: ``make run``, the integration tests and the burst bench use it.

Order of start: AWS endpoint (a moto server process, or an endpoint that is already running, e.g.
LocalStack) -> tables, queues and the staff user pool -> ``chalice local`` -> queue workers. Stop
runs the other way round. ``stop_aws()`` / ``start_aws()`` stop and restart the real moto server
process on the same port for the outage tests (moto keeps state in memory, so a restart re-creates
empty tables, queues and a new staff pool, which processes started before it do not know).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources
from chalicelib.config import PENDING_MAX_AGE_ENV
from devstack.bootstrap import create_event_bus, create_tables_and_queues, create_webhook_key
from devstack.chalice_local import KEEP_ENV
from devstack.cognito import StaffPool
from devstack.gateway import (
    API_KEY_HEADER,
    LOCAL_API_KEYS_ENV,
    LOCAL_GATEWAY_EMULATION_ENV,
    local_dev_api_key,
)
from devstack.processes import (
    Backoff,
    ManagedProcess,
    free_port,
    http_answers,
    start_chalice_local,
    start_moto_server,
)
from devstack.stage_env import (
    FAKE_CREDENTIALS,
    WORKER_FUNCTION_NAME,
    child_environment,
    stage_variables,
)


@dataclass
class DevStackConfig:
    stage: str = "local"
    host: str = "127.0.0.1"
    api_port: int = 8000
    aws_port: int = 4566
    # An endpoint that is already running (LocalStack, or a moto server someone else started).
    external_endpoint: str | None = None
    # A port for a second moto server that serves SQS alone (AWS_ENDPOINT_URL_SQS), so the outage
    # tests can stop SQS and DynamoDB independently. None: one endpoint serves both.
    sqs_port: int | None = None
    workers: int = 1
    # TESTS ONLY: makes redelivery and the DLQ happen in seconds instead of minutes.
    visibility_timeout_override: int | None = None
    # None: children write to this terminal (make run); a directory: one log file per child.
    log_dir: Path | None = None
    # The local stage emulates API Gateway (API keys, throttles, quota; devstack/gateway.py). The
    # burst bench turns it off to measure the service rather than the emulated stage throttle.
    gateway_emulation: bool = True
    # The reconciler (a Lambda schedule in AWS) on a timer; None: not started.
    reconcile_every_seconds: float | None = resources.RECONCILE_EVERY_MINUTES * 60
    # TESTS ONLY, with visibility_timeout_override: how old a PENDING application must be before
    # the reconciler takes it over (default: from the real queue's numbers).
    pending_max_age_override: int | None = None
    # The stage in the tables', queues', bus's and staff pool's names (None: ``stage``). The
    # integration tests use a fresh one per run, e.g. "local-it3f9a2c", so a second run against a
    # long-lived endpoint (or one after `make run`'s sample curl) starts from empty tables and queues;
    # the processes still run as ``stage`` (STAGE=local: the gateway emulation, local identity).
    resource_stage: str | None = None
    # Webhooks (issue 22): multiplies the delivery retry schedule (tests shorten it).
    webhook_retry_scale: float = 1.0
    # The monitoring run (issue 20; a daily Lambda schedule in AWS) on a timer; None: not started.
    monitor_every_seconds: float | None = 24 * 3600.0
    # Batches (issue 19): scorer processes (the local analogue of the mapping's MaximumConcurrency),
    # and variables for the API and the scorers (tests: BATCH_ROWS_PER_CHUNK, BATCH_MAX_BYTES,
    # devstack.batch_poller's fault switch).
    batch_workers: int = 1
    batch_env: dict[str, str] = field(default_factory=dict)
    # TESTS ONLY: the children's AWS SDK read timeout (resources.SDK_READ_TIMEOUT_ENV); None: the
    # deployed stages' resources.SDK_READ_TIMEOUT_SECONDS.
    sdk_read_timeout: float | None = None
    # The gateway emulation's API keys (``LOCAL_API_KEYS``, "plan:key,..."); None: one per plan.
    local_api_keys: str | None = None

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> DevStackConfig:
        return cls(api_port=free_port(), aws_port=free_port(), **overrides)


class DevStack:
    def __init__(self, config: DevStackConfig) -> None:
        self.config = config
        self.moto: ManagedProcess | None = None
        self.moto_sqs: ManagedProcess | None = None
        self.api: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self.reconciler: ManagedProcess | None = None
        self.webhook_poller: ManagedProcess | None = None  # the webhook delivery function's poller
        self.monitor: ManagedProcess | None = None  # the daily monitoring run's timer (issue 20)
        self.batch_pollers: list[ManagedProcess] = []  # the batch scorer's and its DLQ's (issue 19)
        self.monitoring_pollers: list[ManagedProcess] = []  # monitoring runs' parts and their DLQ (issue 20)
        self._workers_started = 0  # numbers worker logs uniquely across stop/start
        # The staff user pool (set by the bootstrap; None on an endpoint without Cognito).
        self.staff_pool: StaffPool | None = None
        # Supervision (see supervise()): restarts per child name, and when a dead one is due again.
        self.restarts: dict[str, int] = {}
        self._backoff: dict[str, Backoff] = {}
        self._restart_due: dict[str, float] = {}

    # ------------------------------------------------------------------ addresses and names
    @property
    def endpoint_url(self) -> str:
        return self.config.external_endpoint or f"http://{self.config.host}:{self.config.aws_port}"

    @property
    def sqs_endpoint_url(self) -> str:
        if self.config.sqs_port is None or self.config.external_endpoint:
            return self.endpoint_url
        return f"http://{self.config.host}:{self.config.sqs_port}"

    def endpoint_for(self, service: str) -> str:
        return self.sqs_endpoint_url if service == "sqs" else self.endpoint_url

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    @property
    def resource_stage(self) -> str:
        return self.config.resource_stage or self.config.stage

    def resource_name(self, suffix: str) -> str:
        """The physical name of one of this stack's tables/queues (``resources.resource_name``)."""
        return resources.resource_name(self.resource_stage, suffix)

    def _resource_names(self) -> dict[str, str]:
        """The name variables for ``resource_stage`` (none when it is the stage: config.json has them)."""
        if self.resource_stage == self.config.stage:
            return {}
        names = {table.env_var: self.resource_name(table.suffix) for table in resources.TABLES}
        for queue in resources.QUEUES:
            names[queue.env_var] = self.resource_name(queue.suffix)
            names[queue.dlq_env_var] = self.resource_name(queue.dlq_suffix)
        bus = resources.DECISION_EVENTS_BUS
        names[bus.env_var] = self.resource_name(bus.suffix)
        for bucket in resources.BUCKETS:  # decision versions (issue 18)
            names[bucket.env_var] = self.resource_name(bucket.suffix)
        # The webhook secrets' KMS key by its alias (devstack.bootstrap.create_webhook_key).
        names[resources.WEBHOOK_SECRETS_KEY_ENV] = "alias/" + self.resource_name(
            resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX
        )
        return names

    @property
    def names(self) -> dict[str, str]:
        """The stage's variables (table and queue names) as ``chalice local`` sees them."""
        return {**stage_variables(self.config.stage), **self._resource_names()}

    def env(self, function_name: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
        # Explicit both ways: the unit tests' environment (tests/conftest.py) turns it off.
        variables = {LOCAL_GATEWAY_EMULATION_ENV: "on" if self.config.gateway_emulation else "off"}
        if names := self._resource_names():
            variables.update(names)
            # chalice local would put config.json's names back: devstack.chalice_local keeps these.
            variables[KEEP_ENV] = ",".join(sorted(names))
        if self.sqs_endpoint_url != self.endpoint_url:
            variables["AWS_ENDPOINT_URL_SQS"] = self.sqs_endpoint_url
        if self.staff_pool is not None:
            variables.update(self.staff_pool.environment())
        if self.config.sdk_read_timeout is not None:
            variables[resources.SDK_READ_TIMEOUT_ENV] = str(self.config.sdk_read_timeout)
        if self.config.local_api_keys is not None:
            variables[LOCAL_API_KEYS_ENV] = self.config.local_api_keys
        variables.update(extra or {})
        return child_environment(self.endpoint_url, self.config.stage, function_name, variables)

    def api_key(self, usage_plan: str = "standard") -> str:
        """The local development API key of a usage plan (what the emulated gateway accepts)."""
        return local_dev_api_key(usage_plan, self.env())

    def api_headers(self, usage_plan: str = "standard") -> dict[str, str]:
        return {API_KEY_HEADER: self.api_key(usage_plan), "Content-Type": "application/json"}

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's endpoint that leaves this process's environment alone."""
        return self._client_at(service, self.endpoint_for(service))

    def _events_sqs_client(self) -> Any:
        """SQS on the endpoint that serves EventBridge, where the decision events' local queue is.

        moto delivers a rule's events to an SQS target inside its own process, so the target queue
        must live on the server that serves EventBridge, not on the SQS-only one (``sqs_port``, the
        outage tests' stack): there, every PutEvents failed with QueueDoesNotExist. Without
        ``sqs_port`` (``make run``) this is the one endpoint that serves both."""
        return self._client_at("sqs", self.endpoint_for("events"))

    def _client_at(self, service: str, endpoint_url: str) -> Any:
        # boto3-stubs types only clients made with a literal service name.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint_url,
            region_name=os.environ.get("AWS_DEFAULT_REGION", resources.LOCAL_REGION),
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2}),
        )

    def _log(self, name: str) -> Path | None:
        return None if self.config.log_dir is None else self.config.log_dir / f"{name}.log"

    # ------------------------------------------------------------------ lifecycle
    def start(self, with_workers: bool = True) -> DevStack:
        try:
            self.start_aws()
            self.start_api()
            if with_workers:
                self.start_workers()
                self.start_reconciler()
                self.start_monitor()
        except BaseException:
            self.stop()
            raise
        return self

    def start_aws(self) -> None:
        """Start the moto server(s) that are not running, then create the tables and queues."""
        if self.config.external_endpoint:
            if not http_answers(self.config.external_endpoint):
                raise RuntimeError(f"AWS_ENDPOINT_URL={self.config.external_endpoint} does not answer")
        else:
            if self.moto is None or not self.moto.running():
                self.moto = start_moto_server(
                    self.config.host, self.config.aws_port, os.environ, self._log("moto-server")
                )
            if self.config.sqs_port is not None and (self.moto_sqs is None or not self.moto_sqs.running()):
                self.moto_sqs = start_moto_server(
                    self.config.host, self.config.sqs_port, os.environ, self._log("moto-server-sqs")
                )
        self.create_tables_and_queues()

    def create_tables_and_queues(self) -> dict[str, Any]:
        # Explicit clients: this process (pytest, the bench) keeps its own environment untouched.
        created = create_tables_and_queues(
            self.resource_stage, self.client("dynamodb"), self.client("sqs"), None, self._cognito_client()
        )
        # Webhooks (issue 22): the signing secrets' KMS key.
        created["webhook_secrets_key"] = create_webhook_key(self.resource_stage, self.client("kms"))
        # The bus's target queue next to EventBridge (see _events_sqs_client), which is not the
        # service queues' server when SQS has its own (the outage tests).
        created["events"] = create_event_bus(
            self.resource_stage, self.client("events"), self._events_sqs_client()
        )
        # Started after this, the API, workers and reconciler get the pool in their environment.
        self.staff_pool = created.get("staff_pool")
        return created

    def _cognito_client(self) -> Any | None:
        """moto always has Cognito; an external endpoint may not (LocalStack's community edition has
        no Cognito IdP): then there is no staff pool and every staff route answers 401."""
        client = self.client("cognito-idp")
        if not self.config.external_endpoint:
            return client
        try:
            client.list_user_pools(MaxResults=1)
        except (ClientError, BotoCoreError) as error:
            print(f"{self.endpoint_url} has no Cognito IdP ({error}); no staff sign-in.", file=sys.stderr)
            return None
        return client

    def stop_aws(self, service: str | None = None) -> None:
        """Stop the moto server that serves ``service`` ("sqs", "dynamodb"), or all of them.

        moto keeps everything in memory: ``start_aws()`` afterwards brings back empty tables/queues.
        """
        for server in self._servers_for(service):
            server.stop()

    def _servers_for(self, service: str | None) -> list[ManagedProcess]:
        """The moto server(s) serving ``service`` ("sqs", "dynamodb"; None: all of them)."""
        by_service = {"dynamodb": self.moto, "sqs": self.moto_sqs or self.moto}
        chosen = by_service.values() if service is None else [by_service[service]]
        servers: list[ManagedProcess] = []
        for server in chosen:
            if server is not None and server not in servers:
                servers.append(server)
        return servers

    def pause_aws(self, service: str | None = None) -> None:
        """SIGSTOP the moto server of ``service``: it hangs (timeouts) but keeps its data."""
        for server in self._servers_for(service):
            server.pause()

    def resume_aws(self, service: str | None = None) -> None:
        for server in self._servers_for(service):
            server.resume()

    def start_api(self) -> None:
        env = self.env(None, self.config.batch_env)
        self.api = start_chalice_local(
            self.config.host, self.config.api_port, self.config.stage, env, self._log("chalice-local")
        )

    def start_workers(self, count: int | None = None) -> None:
        extra = {}
        if self.config.visibility_timeout_override is not None:
            extra["DEVSTACK_VISIBILITY_TIMEOUT"] = str(self.config.visibility_timeout_override)
        env = self.env(WORKER_FUNCTION_NAME, extra)
        for _ in range(self.config.workers if count is None else count):
            index = self._workers_started
            self._workers_started += 1
            self.workers.append(
                ManagedProcess(
                    f"sqs-poller-{index}",
                    [sys.executable, "-m", "devstack.sqs_poller", "--stage", self.config.stage],
                    env=env,
                    log_path=self._log(f"sqs-poller-{index}"),
                )
            )
        self.start_webhook_poller()
        self.start_batch_pollers()
        self.start_monitoring_pollers()

    def start_batch_pollers(self, count: int | None = None) -> None:
        """The batch scorer's pollers (``count``, default ``batch_workers``) and one on its DLQ."""
        if self.batch_pollers:
            return
        extra = dict(self.config.batch_env)
        if self.config.visibility_timeout_override is not None:
            extra["DEVSTACK_VISIBILITY_TIMEOUT"] = str(self.config.visibility_timeout_override)
        scorers = self.config.batch_workers if count is None else count
        for index in range(scorers):
            self.batch_pollers.append(
                ManagedProcess(
                    f"batch-poller-{index}",
                    [sys.executable, "-m", "devstack.batch_poller", "--stage", self.config.stage],
                    env=self.env(resources.BATCH_FUNCTION.chalice_name, extra),
                    log_path=self._log(f"batch-poller-{index}"),
                )
            )
        if scorers:
            self.batch_pollers.append(
                ManagedProcess(
                    "batch-dlq-poller",
                    [
                        sys.executable,
                        "-m",
                        "devstack.batch_poller",
                        "--stage",
                        self.config.stage,
                        "--dead-letters",
                    ],
                    env=self.env(resources.BATCH_DLQ_FUNCTION.chalice_name, extra),
                    log_path=self._log("batch-dlq-poller"),
                )
            )

    def start_monitoring_pollers(self) -> None:
        """Monitoring runs' parts (``app.run_monitoring_parts``) and their DLQ's handler: one each."""
        if self.monitoring_pollers:
            return
        extra: dict[str, str] = {}
        if self.config.visibility_timeout_override is not None:
            extra["DEVSTACK_VISIBILITY_TIMEOUT"] = str(self.config.visibility_timeout_override)
        queue = resources.MONITORING_PARTS_QUEUE
        for name, spec, flags in (
            ("monitoring-parts-poller", resources.MONITOR_PART_FUNCTION, []),
            ("monitoring-parts-dlq-poller", resources.MONITOR_PARTS_DLQ_FUNCTION, ["--dead-letters"]),
        ):
            command = [sys.executable, "-m", "devstack.sqs_poller", "--stage", self.config.stage]
            command += ["--queue", queue.logical_id, "--handler", f"app:{spec.chalice_name}", *flags]
            self.monitoring_pollers.append(
                ManagedProcess(
                    name,
                    [*command, "--long-poll-seconds", "1"],
                    env=self.env(spec.chalice_name, extra),
                    log_path=self._log(name),
                )
            )

    def stop_batch_pollers(self) -> None:
        for poller in self.batch_pollers:
            poller.stop()
        self.batch_pollers = []

    def start_webhook_poller(self) -> None:
        """The webhook delivery function's poller (issue 22): one, whatever the worker count."""
        if self.webhook_poller is not None and self.webhook_poller.running():
            return
        spec = resources.WEBHOOK_QUEUE
        extra = {resources.WEBHOOK_RETRY_SCALE_ENV: str(self.config.webhook_retry_scale)}
        self.webhook_poller = ManagedProcess(
            "webhook-poller",
            [sys.executable, "-m", "devstack.webhook_poller", "--stage", self.config.stage],
            env=self.env(spec.consumer.chalice_name, extra),
            log_path=self._log("webhook-poller"),
        )

    def _pending_max_age(self) -> dict[str, str]:
        if self.config.pending_max_age_override is None:
            return {}
        return {PENDING_MAX_AGE_ENV: str(self.config.pending_max_age_override)}

    def start_reconciler(self) -> None:
        if self.config.reconcile_every_seconds is None:
            return
        env = self.env(resources.RECONCILER_FUNCTION.chalice_name, self._pending_max_age())
        self.reconciler = ManagedProcess(
            "reconciler",
            [
                sys.executable,
                "-m",
                "devstack.reconciler_timer",
                "--stage",
                self.config.stage,
                "--every",
                str(self.config.reconcile_every_seconds),
            ],
            env=env,
            log_path=self._log("reconciler"),
        )

    def start_monitor(self) -> None:
        if self.config.monitor_every_seconds is None:
            return
        self.monitor = ManagedProcess(
            "monitor",
            [
                sys.executable,
                "-m",
                "devstack.monitoring_timer",
                "--stage",
                self.config.stage,
                "--every",
                str(self.config.monitor_every_seconds),
            ],
            env=self.env(resources.MONITOR_FUNCTION.chalice_name, {}),
            log_path=self._log("monitor"),
        )

    def stop_workers(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None
        for worker in self.workers:
            worker.stop()
        self.workers = []
        if self.reconciler is not None:
            self.reconciler.stop()
            self.reconciler = None
        if self.webhook_poller is not None:
            self.webhook_poller.stop()
            self.webhook_poller = None
        self.stop_batch_pollers()
        for poller in self.monitoring_pollers:
            poller.stop()
        self.monitoring_pollers = []

    def stop(self) -> None:
        self.stop_workers()
        if self.api is not None:
            self.api.stop()
            self.api = None
        self.stop_aws()
        self.moto = self.moto_sqs = None

    def processes(self) -> list[ManagedProcess]:
        children = (
            self.moto,
            self.moto_sqs,
            self.api,
            *self.workers,
            self.reconciler,
            self.webhook_poller,
            self.monitor,
            *self.batch_pollers,
            *self.monitoring_pollers,
        )
        return [p for p in children if p is not None]

    def vital(self) -> list[ManagedProcess]:
        """The children the stack cannot work without: the AWS endpoint(s) and the API."""
        return [p for p in (self.moto, self.moto_sqs, self.api) if p is not None]

    def supervise(self) -> ManagedProcess | None:
        """One supervision step (call it every fraction of a second): a queue worker or the reconciler
        that died on its own is restarted after a backoff, logged and counted in ``restarts``, as
        Lambda would run the poller or the schedule again. Returns a vital child that died (moto
        keeps every table in memory, and without the API nothing comes in): the caller stops the
        stack. Children stopped on purpose (``stop()``) are left alone."""
        if dead := next((p for p in self.vital() if not p.running() and not p.stopped), None):
            return dead
        now = time.monotonic()
        for process in [
            *self.workers,
            self.reconciler,
            self.webhook_poller,
            self.monitor,
            *self.batch_pollers,
            *self.monitoring_pollers,
        ]:
            if process is None or process.stopped or process.running():
                continue
            due = self._restart_due.get(process.name)
            if due is None:
                backoff = self._backoff.setdefault(process.name, Backoff())
                delay = backoff.delay_after(process.ran_for())
                self._restart_due[process.name] = now + delay
                where = f"log {process.log_path}" if process.log_path else "its output is above"
                print(
                    f"{process.name} exited with {process.popen.returncode} after {process.ran_for():.1f}s; "
                    f"restarting in {delay:.1f}s ({where})",
                    file=sys.stderr,
                    flush=True,
                )
            elif now >= due:
                del self._restart_due[process.name]
                process.restart()
                self.restarts[process.name] = self.restarts.get(process.name, 0) + 1
                print(
                    f"{process.name} restarted (pid {process.pid}; restart {self.restarts[process.name]})",
                    file=sys.stderr,
                    flush=True,
                )
        return None

    def first_exited(self) -> ManagedProcess | None:
        """A child that died on its own (the orchestrator then stops the rest)."""
        return next((p for p in self.processes() if not p.running()), None)

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
