"""Cost per million decisions at AWS list prices, from the measured calls (``bench.bench_aws_calls``).

``python -m bench.cost_model`` measures the app in-process (moto for the calls, the in-memory twin for
the handler time) and prints: the cost per million synchronous and asynchronous decisions by line
item, the levers (arm64 against x86, memory size, writes per decision), the fixed monthly costs of
both deployments, the monthly totals at 1, 10 and 100 million decisions against the original's
always-on stack, the crossover volume and whether the aim of issue 9 (<= $5 per million synchronous
decisions) is met. ``--markdown`` prints the tables as Markdown; ``--from-json FILE`` reuses a saved
``python -m bench.bench_aws_calls --json FILE`` measurement.

Prices: the ones in ../shared/FACTS.md (us-east-1: API Gateway REST, Lambda, DynamoDB on-demand,
SQS, EventBridge, CloudWatch Logs ingestion) are used as they are; every other price, the instance
sizes of the always-on stack, the network latency and Lambda's CPU scaling are ASSUMPTIONS, named
in ``Prices``/``ALWAYS_ON``/``Assumptions`` and printed with the tables.

The arithmetic (everything above ``main``) imports neither the app nor moto, so it is unit-tested
on its own (tests/unit/bench/test_cost_model.py).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from infra.events import WEBHOOK_CONDITION

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GIB = 1024**3
MILLION = 1_000_000
AIM_PER_MILLION_SYNC = 5.00  # issue 9: <= $5 per million synchronous decisions


# ------------------------------------------------------------------------------------------------
# Prices and assumptions
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prices:
    """us-east-1 list prices in USD. ``# FACTS`` = from ../shared/FACTS.md; the rest are assumed
    (AWS price pages as of 2026, not checked here)."""

    api_gateway_rest_per_million: float = 3.50  # FACTS (first 333 M a month)
    api_gateway_http_per_million: float = 1.00  # FACTS (no usage plans: a lever we cannot pull)
    lambda_requests_per_million: float = 0.20  # FACTS
    lambda_gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # FACTS
    )
    lambda_provisioned_gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000041667, "arm64": 0.0000033334}  # assumed
    )
    dynamodb_wru_per_million: float = 0.625  # FACTS
    dynamodb_rru_per_million: float = 0.125  # FACTS
    dynamodb_storage_gb_month: float = 0.25  # assumed (Standard table class)
    dynamodb_pitr_gb_month: float = 0.20  # assumed (continuous backups, table size, not GSIs)
    sqs_per_million: float = 0.40  # FACTS (per 64 KB chunk)
    eventbridge_per_million: float = 1.00  # FACTS (custom events, per 64 KB chunk)
    api_destination_per_million: float = 0.20  # assumed (EventBridge API destination invocations)
    logs_ingestion_gb: float = 0.50  # FACTS
    logs_storage_gb_month: float = 0.03  # assumed (billed compressed: upper bound here)
    waf_web_acl_month: float = 5.00  # assumed
    waf_rule_month: float = 1.00  # assumed (a managed rule group counts as one rule)
    waf_per_million: float = 0.60  # assumed
    alarm_metric_month: float = 0.10  # assumed (standard resolution, per metric in the alarm)
    alarm_high_resolution_metric_month: float = 0.30  # assumed
    dashboard_month: float = 3.00  # assumed (the account's first 3 dashboards are free: not counted)
    custom_metric_month: float = 0.30  # assumed (first 10,000 metrics)
    secret_month: float = 0.40  # assumed
    xray_per_million_traces: float = 5.00  # assumed (recorded; first 100,000 a month free: ignored)
    route53_health_check_month: float = 2.75  # assumed: non-AWS endpoint $0.75 + HTTPS option $2.00


@dataclass(frozen=True)
class Assumptions:
    """What this machine cannot measure."""

    # In-region round trip per AWS call (the bench's ASSUMED_LATENCY_MS is passed in).
    latency_ms: dict[str, float] = field(
        default_factory=lambda: {"dynamodb": 4.0, "sqs": 8.0, "events": 12.0}
    )
    other_latency_ms: float = 10.0
    # Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB; the
    # handler is single-threaded, so more memory than that does not speed it up. The CPU part of
    # the measured time (one full core here, taken as equal to a Lambda vCPU) scales with
    # 1769 / min(memory, 1769); waiting for the network does not scale.
    full_vcpu_memory_mb: int = 1769
    # Lambda's own log lines per invocation (START, END, REPORT, XRAY TraceId), bytes.
    platform_log_bytes_per_invocation: int = 350
    platform_log_events_per_invocation: int = 4
    # CloudWatch Logs counts 26 bytes per event on top of the message (the PutLogEvents size rule).
    log_event_overhead_bytes: int = 26
    log_retention_months: float = 90 / 30.44  # resources.LOG_RETENTION_DAYS["prod"]
    # Clients poll GET /v1/applications/{id} this often per async application (0 with the webhook).
    status_polls_per_application: float = 1.0
    sync_cache_hit_ratio: float = 0.0  # unique applicants: every decision a miss (worst case)
    # X-Ray default sampling: the first request each second, then 5% (reservoir 1/s, rate 0.05);
    # traffic taken as uniform over the month (diurnal traffic records fewer traces).
    xray_reservoir_per_second: float = 1.0
    xray_rate: float = 0.05
    # Route 53 health checkers probing /health/ready every 30 s (about 16 checkers, assumed).
    health_probes_per_month: float = 16 * 2 * 60 * HOURS_PER_MONTH
    # The SQS event source mapping's idle long polls: 5 pollers, one 20-s receive each.
    idle_receives_per_month: float = 5 * 3 * 60 * HOURS_PER_MONTH
    # The reconciler (every resources.RECONCILE_EVERY_MINUTES): one Query and ~200 ms each (not measured).
    reconciler_runs_per_month: float = 12 * HOURS_PER_MONTH
    reconciler_duration_ms: float = 200.0
    reconciler_memory_mb: int = 256
    # Metrics Insights alarms are billed per metric they analyse (assumed 10 each).
    metrics_per_insights_alarm: int = 10
    lender_webhook: bool = False  # the API destination exists only when a URL is configured


# ------------------------------------------------------------------------------------------------
# Usage of one operation, and its cost
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    """What one execution of an operation bills (a worker record is a tenth of a 10-record batch)."""

    name: str
    function: str  # "api" or "worker": whose memory size prices the duration
    api_requests: float
    lambda_invocations: float
    cpu_ms: float  # on one full core: handler + botocore client
    calls: dict[str, float]  # AWS calls by service, for the network wait
    wru: float
    rru: float
    sqs_requests: float  # billable 64 KB chunks
    events: float  # EventBridge events
    log_bytes: float  # application + EMF + access log lines (platform lines are added)
    log_events: float
    byte_months: float = 0.0  # retained DynamoDB bytes x months (table + indexes)
    table_byte_months: float = 0.0  # the table alone (what PITR and the original's database keep)

    def scaled(self, weight: float) -> Usage:
        return replace(
            self,
            api_requests=self.api_requests * weight,
            lambda_invocations=self.lambda_invocations * weight,
            cpu_ms=self.cpu_ms * weight,
            calls={k: v * weight for k, v in self.calls.items()},
            wru=self.wru * weight,
            rru=self.rru * weight,
            sqs_requests=self.sqs_requests * weight,
            events=self.events * weight,
            log_bytes=self.log_bytes * weight,
            log_events=self.log_events * weight,
            byte_months=self.byte_months * weight,
            table_byte_months=self.table_byte_months * weight,
        )


@dataclass(frozen=True)
class LambdaConfig:
    memory_mb: dict[str, int]  # by function ("api", "worker")
    architecture: str = "x86_64"


def duration_ms(usage: Usage, memory_mb: int, assumptions: Assumptions) -> float:
    """Wall time of the operation on Lambda: CPU scaled by the memory's CPU share, plus I/O."""
    cpu_share = min(memory_mb, assumptions.full_vcpu_memory_mb) / assumptions.full_vcpu_memory_mb
    io = sum(
        count * assumptions.latency_ms.get(service, assumptions.other_latency_ms)
        for service, count in usage.calls.items()
    )
    return usage.cpu_ms / cpu_share + io


def billed_gb_seconds(usage: Usage, memory_mb: int, assumptions: Assumptions) -> float:
    """Lambda bills each invocation's duration rounded up to the millisecond."""
    if usage.lambda_invocations <= 0:
        return 0.0
    per_invocation = math.ceil(duration_ms(usage, memory_mb, assumptions) / usage.lambda_invocations)
    return usage.lambda_invocations * per_invocation / 1000 * memory_mb / 1024


def cost_lines(
    usage: Usage, prices: Prices, config: LambdaConfig, assumptions: Assumptions, *, storage: bool = True
) -> dict[str, float]:
    """USD for one execution, by line item (X-Ray is per month, see ``xray_monthly``)."""
    memory = config.memory_mb[usage.function]
    log_bytes = (
        usage.log_bytes
        + usage.lambda_invocations * assumptions.platform_log_bytes_per_invocation
        + (usage.log_events + usage.lambda_invocations * assumptions.platform_log_events_per_invocation)
        * assumptions.log_event_overhead_bytes
    )
    lines = {
        "API Gateway REST requests": usage.api_requests * prices.api_gateway_rest_per_million / MILLION,
        "WAF requests": usage.api_requests * prices.waf_per_million / MILLION,
        "Lambda requests": usage.lambda_invocations * prices.lambda_requests_per_million / MILLION,
        "Lambda duration (GB-s)": billed_gb_seconds(usage, memory, assumptions)
        * prices.lambda_gb_second[config.architecture],
        "DynamoDB writes (WRU)": usage.wru * prices.dynamodb_wru_per_million / MILLION,
        "DynamoDB reads (RRU)": usage.rru * prices.dynamodb_rru_per_million / MILLION,
        "SQS requests": usage.sqs_requests * prices.sqs_per_million / MILLION,
        "EventBridge events": usage.events * prices.eventbridge_per_million / MILLION,
        "CloudWatch Logs (ingestion + storage)": log_bytes
        / GIB
        * (prices.logs_ingestion_gb + prices.logs_storage_gb_month * assumptions.log_retention_months),
    }
    if assumptions.lender_webhook:
        lines["Lender webhook (API destination)"] = (
            usage.events * prices.api_destination_per_million / MILLION
        )
    if storage:
        lines["DynamoDB storage + PITR, retained records"] = (
            usage.byte_months / GIB * prices.dynamodb_storage_gb_month
            + usage.table_byte_months / GIB * prices.dynamodb_pitr_gb_month
        )
    return lines


def total_usage(parts: Iterable[tuple[Usage, float]], name: str) -> Usage:
    """A path (e.g. an async decision = submit + poll + worker record) as one Usage per decision.
    Parts on different functions keep their own memory: price them separately (``path_cost``)."""
    parts = list(parts)
    first = parts[0][0]
    out = first.scaled(0.0)
    for usage, weight in parts:
        scaled = usage.scaled(weight)
        calls = dict(out.calls)
        for service, count in scaled.calls.items():
            calls[service] = calls.get(service, 0.0) + count
        out = replace(
            out,
            name=name,
            api_requests=out.api_requests + scaled.api_requests,
            lambda_invocations=out.lambda_invocations + scaled.lambda_invocations,
            cpu_ms=out.cpu_ms + scaled.cpu_ms,
            calls=calls,
            wru=out.wru + scaled.wru,
            rru=out.rru + scaled.rru,
            sqs_requests=out.sqs_requests + scaled.sqs_requests,
            events=out.events + scaled.events,
            log_bytes=out.log_bytes + scaled.log_bytes,
            log_events=out.log_events + scaled.log_events,
            byte_months=out.byte_months + scaled.byte_months,
            table_byte_months=out.table_byte_months + scaled.table_byte_months,
        )
    return out


Path = list[tuple[Usage, float]]


def path_cost(
    path: Path, prices: Prices, config: LambdaConfig, assumptions: Assumptions, *, storage: bool = True
) -> dict[str, float]:
    """USD per decision along ``path`` (weights = executions per decision), by line item."""
    lines: dict[str, float] = {}
    for usage, weight in path:
        for line, value in cost_lines(usage, prices, config, assumptions, storage=storage).items():
            # Scale the USD, not the usage: Lambda rounds each invocation's duration up.
            lines[line] = lines.get(line, 0.0) + value * weight
    return lines


def per_million(lines: dict[str, float]) -> float:
    return sum(lines.values()) * MILLION


# ------------------------------------------------------------------------------------------------
# X-Ray, fixed monthly costs, the always-on stack, the crossover
# ------------------------------------------------------------------------------------------------
def xray_traces(requests_per_month: float, assumptions: Assumptions) -> float:
    """Traces recorded a month under the default sampling rule, for Poisson traffic: each second
    keeps its first request (reservoir) and 5% of the rest."""
    if requests_per_month <= 0:
        return 0.0
    rate = requests_per_month / SECONDS_PER_MONTH
    reservoir = assumptions.xray_reservoir_per_second
    # Expected requests taken by a reservoir of r per second = E[min(N, r)], N ~ Poisson(rate);
    # for r = 1 that is 1 - e^-rate.
    if reservoir == 1:
        taken = 1 - math.exp(-rate)
    elif reservoir == 0:
        taken = 0.0
    else:  # other reservoirs: a cap per second (upper bound of E[min(N, r)])
        taken = min(rate, reservoir)
    return SECONDS_PER_MONTH * (taken + assumptions.xray_rate * (rate - taken))


def xray_monthly(
    path: Path, decisions: float, prices: Prices, assumptions: Assumptions, other_api_requests: float = 0.0
) -> float:
    """One trace per API request and per worker invocation (each starts its own trace). The
    sampling reservoir is shared by every API request, the health-check probes included."""
    api = sum(u.api_requests * w for u, w in path) * decisions + other_api_requests
    worker = sum(u.lambda_invocations * w for u, w in path if u.function == "worker") * decisions
    traces = xray_traces(api, assumptions) + xray_traces(worker, assumptions)
    return traces * prices.xray_per_million_traces / MILLION


@dataclass(frozen=True)
class TemplateCounts:
    """What the generated template bills monthly (counted by ``template_counts``)."""

    alarm_metrics: int
    alarm_high_resolution_metrics: int
    alarms: int
    dashboards: int
    secrets: int
    web_acls: int
    waf_rules: int
    health_checks: int
    metric_filters: int
    source: str = "infra.template.build_merge_template"


def template_counts(template: dict[str, Any], assumptions: Assumptions) -> TemplateCounts:
    """Billable resources in a merge template; the optional lender webhook's resources (under
    ``WEBHOOK_CONDITION``) are counted only when ``assumptions.lender_webhook``."""
    counts = {"alarm": 0, "metrics": 0, "high": 0, "dash": 0, "secret": 0, "acl": 0, "rules": 0, "hc": 0}
    filters = 0
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type")
        # Only the webhook's resources are optional in cost: the console's web ACL is conditional
        # too, but where the stack does not create it one made in us-east-1 is passed in instead.
        if resource.get("Condition") == WEBHOOK_CONDITION and not assumptions.lender_webhook:
            continue
        properties = resource.get("Properties", {})
        if kind == "AWS::CloudWatch::Alarm":
            counts["alarm"] += 1
            metrics, high = _alarm_metrics(properties, assumptions)
            counts["metrics"] += metrics
            counts["high"] += high
        elif kind == "AWS::CloudWatch::Dashboard":
            counts["dash"] += 1
        elif kind in ("AWS::SecretsManager::Secret", "AWS::Events::Connection"):
            # An EventBridge connection keeps its credentials in a Secrets Manager secret.
            counts["secret"] += 1
        elif kind == "AWS::WAFv2::WebACL":
            counts["acl"] += 1
            counts["rules"] += len(properties.get("Rules", []))
        elif kind == "AWS::Route53::HealthCheck":
            counts["hc"] += 1
        elif kind == "AWS::Logs::MetricFilter":
            filters += len(properties.get("MetricTransformations", [1]))
    return TemplateCounts(
        alarm_metrics=counts["metrics"],
        alarm_high_resolution_metrics=counts["high"],
        alarms=counts["alarm"],
        dashboards=counts["dash"],
        secrets=counts["secret"],
        web_acls=counts["acl"],
        waf_rules=counts["rules"],
        health_checks=counts["hc"],
        metric_filters=filters,
    )


def _alarm_metrics(properties: dict[str, Any], assumptions: Assumptions) -> tuple[int, int]:
    """(standard, high-resolution) billed metrics of one alarm: each metric it reads; a metric math
    expression is free; a Metrics Insights query counts the metrics it analyses."""
    if "Metrics" not in properties:
        return (0, 1) if properties.get("Period", 60) < 60 else (1, 0)
    standard = high = 0
    for metric in properties["Metrics"]:
        if "MetricStat" in metric:
            period = metric["MetricStat"].get("Period", 60)
            count = 1
        elif "SELECT" in str(metric.get("Expression", "")).upper():
            period = metric.get("Period", 60)
            count = assumptions.metrics_per_insights_alarm
        else:
            continue
        if period < 60:
            high += count
        else:
            standard += count
    return standard, high


def serverless_fixed(
    counts: TemplateCounts,
    prices: Prices,
    config: LambdaConfig,
    assumptions: Assumptions,
    *,
    provisioned: int,
    api_memory_mb: int,
    custom_metric_series: int,
    health_probe: Usage | None,
) -> dict[str, float]:
    """Monthly USD the serverless deployment costs with no traffic."""
    arch = config.architecture
    lines = {
        f"WAF web ACLs ({counts.web_acls}) + rules": counts.web_acls * prices.waf_web_acl_month
        + counts.waf_rules * prices.waf_rule_month,
        f"CloudWatch alarms ({counts.alarms})": counts.alarm_metrics * prices.alarm_metric_month
        + counts.alarm_high_resolution_metrics * prices.alarm_high_resolution_metric_month,
        "CloudWatch dashboard": counts.dashboards * prices.dashboard_month,
        f"Custom metrics (EMF, {custom_metric_series} series + {counts.metric_filters} metric filters)": (
            custom_metric_series + counts.metric_filters
        )
        * prices.custom_metric_month,
        f"Secrets Manager ({counts.secrets} secret{'' if counts.secrets == 1 else 's'})": counts.secrets
        * prices.secret_month,
        f"Provisioned concurrency ({provisioned} x {api_memory_mb} MB)": provisioned
        * api_memory_mb
        / 1024
        * SECONDS_PER_MONTH
        * prices.lambda_provisioned_gb_second[arch],
        "Route 53 health check": counts.health_checks * prices.route53_health_check_month,
        "SQS idle long polls (event source mapping)": assumptions.idle_receives_per_month
        * prices.sqs_per_million
        / MILLION,
        "Reconciler schedule (Lambda)": assumptions.reconciler_runs_per_month
        * (
            prices.lambda_requests_per_million / MILLION
            + math.ceil(assumptions.reconciler_duration_ms)
            / 1000
            * assumptions.reconciler_memory_mb
            / 1024
            * prices.lambda_gb_second[arch]
        ),
    }
    if health_probe is not None:
        # The probes go through API Gateway, WAF and the function like any request.
        probe = cost_lines(health_probe, prices, config, assumptions, storage=False)
        lines["Health-check probes of /health/ready"] = (
            sum(probe.values()) * assumptions.health_probes_per_month
        )
        # (Their X-Ray traces are in xray_monthly: the sampling reservoir is shared with the API.)
    return lines


@dataclass(frozen=True)
class AlwaysOnItem:
    what: str
    count: int
    hourly: float = 0.0  # USD per hour each
    monthly: float = 0.0  # USD per month each (storage, addresses)


# The original's docker-compose stack on AWS at a realistic minimal production sizing (ASSUMED,
# us-east-1 on-demand list prices, Linux): the three API replicas (0.5 CPU / 1 GB each in
# docker-compose) on their own small instances across AZs, nginx in front, PostgreSQL Multi-AZ,
# Redis with one replica, Prometheus + Grafana on one instance. Enough for 100 M decisions a month
# (39/s on average; the original's 4 ms of CPU per decision: ~125/s per 0.5-vCPU replica).
ALWAYS_ON: tuple[AlwaysOnItem, ...] = (
    AlwaysOnItem("API replicas: EC2 t3.small (2 vCPU, 2 GiB), $0.0208/h", 3, hourly=0.0208),
    AlwaysOnItem("nginx load balancer: EC2 t3.micro, $0.0104/h", 1, hourly=0.0104),
    AlwaysOnItem("PostgreSQL: RDS db.t4g.medium Multi-AZ, $0.130/h", 1, hourly=0.130),
    AlwaysOnItem("PostgreSQL storage: 50 GB gp3 Multi-AZ, $0.23/GB-month", 1, monthly=50 * 0.23),
    AlwaysOnItem("Redis: ElastiCache cache.t4g.small, primary + replica, $0.032/h", 2, hourly=0.032),
    AlwaysOnItem("Prometheus + Grafana: EC2 t3.medium, $0.0416/h", 1, hourly=0.0416),
    AlwaysOnItem("EBS gp3: 5 x 20 GB + 50 GB metrics, $0.08/GB-month", 1, monthly=150 * 0.08),
    AlwaysOnItem("public IPv4 address (nginx), $0.005/h", 1, hourly=0.005),
)
# Retained decision records on the always-on side: RDS gp3 Multi-AZ per GB-month, with 10% for
# PostgreSQL's indexes (B-trees on keys, not full copies like DynamoDB's ALL-projected GSIs).
ALWAYS_ON_STORAGE_GB_MONTH = 0.23
ALWAYS_ON_INDEX_OVERHEAD = 1.10


def always_on_fixed(items: Iterable[AlwaysOnItem] = ALWAYS_ON) -> dict[str, float]:
    return {f"{i.count} x {i.what}": i.count * (i.hourly * HOURS_PER_MONTH + i.monthly) for i in items}


def always_on_storage_per_decision(path: Path) -> float:
    """USD per decision for keeping its records in PostgreSQL for the retention period."""
    table_byte_months = sum(u.table_byte_months * w for u, w in path)
    return table_byte_months * ALWAYS_ON_INDEX_OVERHEAD / GIB * ALWAYS_ON_STORAGE_GB_MONTH


def crossover(
    cheaper_at_zero: Callable[[float], float], other: Callable[[float], float], high: float = 1e12
) -> float | None:
    """The volume where ``cheaper_at_zero(n) == other(n)`` (bisection; the difference is taken as
    monotone), or None if the first is not cheaper at 0 or still cheaper at ``high``."""

    def gap(n: float) -> float:
        return cheaper_at_zero(n) - other(n)

    if gap(0.0) >= 0 or gap(high) < 0:
        return None
    low = 0.0
    for _ in range(200):
        middle = (low + high) / 2
        if gap(middle) < 0:
            low = middle
        else:
            high = middle
        if high - low < 1.0:
            break
    return (low + high) / 2


def monthly_serverless(
    decisions: float,
    path: Path,
    fixed: float,
    prices: Prices,
    config: LambdaConfig,
    assumptions: Assumptions,
    *,
    storage: bool,
) -> float:
    variable = sum(path_cost(path, prices, config, assumptions, storage=storage).values())
    probes = assumptions.health_probes_per_month
    return fixed + decisions * variable + xray_monthly(path, decisions, prices, assumptions, probes)


# ------------------------------------------------------------------------------------------------
# From a measurement (bench.bench_aws_calls) to usages
# ------------------------------------------------------------------------------------------------
def usage_from_profile(profile: Any, access_log_bytes: int, extra_sqs: float = 0.0) -> Usage:
    """A measured OperationProfile (duck-typed: no import of the bench here) as a Usage."""
    calls: dict[str, float] = {}
    sqs_chunks = 0.0
    events = 0.0
    for call in profile.calls:
        calls[call.service] = calls.get(call.service, 0.0) + call.calls
        if call.service == "sqs":
            # Each 64 KB of a request is one billable request.
            per_call = call.request_bytes / call.calls if call.calls else 0.0
            sqs_chunks += call.calls * max(1, math.ceil(per_call / 65536))
        if call.service == "events" and call.operation == "PutEvents":
            events += call.entries
    return Usage(
        name=profile.name,
        function=profile.function,
        api_requests=profile.api_requests,
        lambda_invocations=profile.lambda_invocations,
        cpu_ms=(profile.handler_us + profile.client_cpu_us) / 1000,
        calls=calls,
        wru=profile.wcu,
        rru=profile.rcu,
        sqs_requests=sqs_chunks + extra_sqs,
        events=events,
        log_bytes=profile.log_bytes + profile.emf_bytes + profile.api_requests * access_log_bytes,
        log_events=profile.log_lines + profile.emf_lines + profile.api_requests,
        byte_months=profile.byte_months,
        table_byte_months=profile.table_byte_months,
    )


def worker_sqs_share(batch_size: int, message_bytes: float) -> float:
    """The event source mapping's own SQS requests per record: one ReceiveMessage per batch (per
    64 KB of the batch's messages) and one DeleteMessageBatch per batch (not made by the app)."""
    receive_chunks = max(1, math.ceil(batch_size * message_bytes / 65536))
    return (receive_chunks + 1) / batch_size


@dataclass
class Model:
    usages: dict[str, Usage]
    counts: TemplateCounts
    custom_metric_series: int
    provisioned: int
    config: LambdaConfig
    prices: Prices = field(default_factory=Prices)
    assumptions: Assumptions = field(default_factory=Assumptions)
    notes: list[str] = field(default_factory=list)
    # Measured alternatives for a sync cache miss: WRU per decision with other item shapes, and the
    # retained byte-months with large attributes compressed.
    wcu_levers: dict[str, float] = field(default_factory=dict)
    compressed_byte_months: dict[str, float] = field(default_factory=dict)

    def sync_path(self, hit_ratio: float | None = None) -> Path:
        hit = self.assumptions.sync_cache_hit_ratio if hit_ratio is None else hit_ratio
        return [(self.usages["sync_miss"], 1 - hit), (self.usages["sync_hit"], hit)]

    def async_path(self, polls: float | None = None) -> Path:
        polls = self.assumptions.status_polls_per_application if polls is None else polls
        return [
            (self.usages["async_submit"], 1.0),
            (self.usages["worker_record"], 1.0),
            (self.usages["status_poll"], polls),
        ]

    def fixed(self, config: LambdaConfig | None = None) -> dict[str, float]:
        config = config or self.config
        return serverless_fixed(
            self.counts,
            self.prices,
            config,
            self.assumptions,
            provisioned=self.provisioned,
            api_memory_mb=config.memory_mb["api"],
            custom_metric_series=self.custom_metric_series,
            health_probe=self.usages.get("health_ready"),
        )


def build_model(measurement: Any, template: dict[str, Any] | None) -> Model:
    from chalicelib import resources

    assumptions = Assumptions(latency_ms=dict(measurement.assumed_latency_ms))
    notes = list(measurement.notes)
    usages = {}
    for name, profile in measurement.operations.items():
        extra = (
            worker_sqs_share(measurement.batch_size, measurement.sqs_message_bytes)
            if name == "worker_record"
            else 0.0
        )
        usages[name] = usage_from_profile(profile, measurement.access_log_line_bytes, extra)
    if template is None:
        counts = TemplateCounts(0, 0, 0, 0, 0, 0, 0, 0, 0, source="unavailable")
        notes.append("the merge template could not be built: alarms, WAF, dashboard and secrets not counted")
    else:
        counts = template_counts(template, assumptions)
    config = LambdaConfig(
        {"api": resources.API_FUNCTION.memory_mb, "worker": resources.WORKER_FUNCTION.memory_mb}, "x86_64"
    )
    miss = measurement.operations["sync_miss"]
    return Model(
        usages=usages,
        counts=counts,
        custom_metric_series=measurement.custom_metric_series,
        provisioned=resources.API_FUNCTION.provisioned_concurrency.get("prod", 0),
        config=config,
        assumptions=assumptions,
        notes=notes,
        wcu_levers={
            "large attributes zlib-compressed (binary)": miss.wcu_compressed,
            "GSIs project keys only": miss.wcu_keys_only_indexes,
            "both": miss.wcu_compressed_keys_only,
        },
        compressed_byte_months={name: p.byte_months_compressed for name, p in measurement.operations.items()},
    )


def merge_template(stage: str = "prod") -> dict[str, Any] | None:
    """The generated merge template (what ``python -m infra.package`` merges), built in-process
    without packaging; None if infra cannot build it right now."""
    try:
        from infra.template import build_merge_template

        template: dict[str, Any] = build_merge_template(stage, {})
        return template
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------------
def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(out + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*row) for row in [header, *rows])


def money(value: float) -> str:
    return f"${value:,.2f}" if abs(value) >= 0.995 or value == 0 else f"${value:,.3f}"


def report(model: Model, markdown: bool = False) -> str:
    prices, assumptions, config = model.prices, model.assumptions, model.config
    sections: list[str] = []

    def heading(text: str) -> None:
        sections.append(f"\n### {text}\n" if markdown else f"\n== {text} ==")

    # 1. per million decisions, by line item
    heading("Cost per million decisions, by line item (AWS list prices, us-east-1)")
    sync_miss = model.sync_path(0.0)
    sync_hit = model.sync_path(1.0)
    async_path = model.async_path()
    columns = [
        ("sync, cache miss", sync_miss),
        ("sync, cache hit", sync_hit),
        (f"async ({assumptions.status_polls_per_application:g} status poll)", async_path),
    ]
    costs = [path_cost(path, prices, config, assumptions) for _, path in columns]
    lines = list(costs[0])
    rows = [[line, *[money(c.get(line, 0.0) * MILLION) for c in costs]] for line in lines]
    request_driven = [sum(v for k, v in c.items() if not k.startswith("DynamoDB storage")) for c in costs]
    rows.append(
        ["= request-driven (without retained storage)", *[money(v * MILLION) for v in request_driven]]
    )
    rows.append(["= with retained storage", *[money(per_million(c)) for c in costs]])
    for volume in (1e6, 10e6, 100e6):
        rows.append(
            [
                f"X-Ray at {volume / 1e6:g} M/month (default sampling, per million)",
                *[
                    money(xray_monthly(path, volume, prices, assumptions) / volume * MILLION)
                    for _, path in columns
                ],
            ]
        )
    sections.append(table(["line item", *[c[0] for c in columns]], rows, markdown))
    memory = ", ".join(f"{f} {m} MB" for f, m in config.memory_mb.items())
    latency = ", ".join(f"{s} {v:g} ms" for s, v in assumptions.latency_ms.items())
    durations = ", ".join(
        f"{name} {duration_ms(u, config.memory_mb[u.function], assumptions):.1f} ms"
        for name, u in model.usages.items()
    )
    sections.append(
        f"\nLambda: {config.architecture}, {memory}; duration = measured CPU x "
        f"{assumptions.full_vcpu_memory_mb}/min(memory, {assumptions.full_vcpu_memory_mb}) + calls x latency "
        f"({latency}), billed per ms per invocation: {durations}."
    )

    # 2. the aim
    miss_cost = request_driven[0] * MILLION
    verdict = "MEETS" if miss_cost <= AIM_PER_MILLION_SYNC else "DOES NOT MEET"
    floor = (
        prices.api_gateway_rest_per_million
        + prices.waf_per_million
        + prices.lambda_requests_per_million
        + model.usages["sync_miss"].events * prices.eventbridge_per_million
    )
    sections.append(
        f"\nAim (issue 9): <= ${AIM_PER_MILLION_SYNC:.2f} per million synchronous decisions. Request-driven "
        f"cost of a cache miss: {money(miss_cost)} -> the model {verdict} the aim. The floor before any "
        f"compute or storage (API Gateway REST + WAF + Lambda request + {model.usages['sync_miss'].events:g} "
        f"EventBridge event): {money(floor)}."
    )

    # 3. levers
    heading("Levers: cost per million synchronous decisions (cache miss, request-driven)")
    rows = []
    base_total = request_driven[0] * MILLION
    for arch in ("x86_64", "arm64"):
        for mb in (256, 512, 1024):
            lever_config = LambdaConfig({"api": mb, "worker": mb}, arch)
            lever = path_cost(sync_miss, prices, lever_config, assumptions, storage=False)
            ms = duration_ms(model.usages["sync_miss"], mb, assumptions)
            rows.append(
                [
                    f"{arch}, {mb} MB",
                    f"{ms:.1f} ms",
                    money(lever["Lambda duration (GB-s)"] * MILLION),
                    money(per_million(lever)),
                    f"{per_million(lever) - base_total:+.2f}",
                ]
            )
    sections.append(table(["Lambda", "duration", "GB-s cost", "total", "vs now"], rows, markdown))
    miss = model.usages["sync_miss"]
    rows = []
    wcu_levers = _wcu_levers(model)
    for label, wru in wcu_levers:
        lever_path = [(replace(miss, wru=wru), 1.0)]
        total = per_million(path_cost(lever_path, prices, config, assumptions, storage=False))
        rows.append([label, f"{wru:g}", money(wru * prices.dynamodb_wru_per_million), money(total)])
    for hit in (0.5, 0.9):
        total = per_million(path_cost(model.sync_path(hit), prices, config, assumptions, storage=False))
        wru = sum(u.wru * w for u, w in model.sync_path(hit))
        rows.append(
            [
                f"cache hit ratio {hit:.0%}",
                f"{wru:g}",
                money(wru * prices.dynamodb_wru_per_million),
                money(total),
            ]
        )
    no_waf = per_million(
        path_cost(sync_miss, replace(prices, waf_per_million=0.0), config, assumptions, storage=False)
    )
    http_api = replace(prices, api_gateway_rest_per_million=prices.api_gateway_http_per_million)
    http_total = per_million(path_cost(sync_miss, http_api, config, assumptions, storage=False))
    rows.append(["without WAF per-request charge", f"{miss.wru:g}", "", money(no_waf)])
    rows.append(
        ["HTTP API instead of REST (loses usage plans/API keys)", f"{miss.wru:g}", "", money(http_total)]
    )
    best = LambdaConfig({"api": 256, "worker": 256}, "arm64")
    best_wru = model.wcu_levers.get("both", miss.wru)
    best_path = [(replace(miss, wru=best_wru), 1.0)]
    best_total = per_million(path_cost(best_path, prices, best, assumptions, storage=False))
    rows.append(
        ["all of: arm64, 256 MB, compressed + keys-only GSIs", f"{best_wru:g}", "", money(best_total)]
    )
    sections.append(table(["writes per decision", "WRU", "WRU cost", "total"], rows, markdown))
    rows = []
    for polls, webhook in ((0.0, True), (1.0, False), (3.0, False)):
        lever_assumptions = replace(assumptions, lender_webhook=webhook)
        total = per_million(
            path_cost(model.async_path(polls), prices, config, lever_assumptions, storage=False)
        )
        label = f"{polls:g} status poll{'' if polls == 1 else 's'}"
        label += " + lender webhook (API destination)" if webhook else ""
        rows.append([label, money(total)])
    sections.append("\nAsynchronous path, request-driven, per million decisions:\n")
    sections.append(table(["async results delivered by", "total"], rows, markdown))
    rows = []
    probes = assumptions.health_probes_per_month
    sampled = replace(assumptions, xray_reservoir_per_second=0.0, xray_rate=0.01)
    for volume in (1e6, 10e6, 100e6):
        default = xray_monthly(sync_miss, volume, prices, assumptions, probes)
        low = xray_monthly(sync_miss, volume, prices, sampled, probes)
        rows.append([f"{volume / 1e6:g} M sync/month", money(default), money(low)])
    sections.append("\nX-Ray per month (health-check probes included):\n")
    sections.append(
        table(["volume", "default rule (1/s + 5%)", "custom rule: 1%, no reservoir"], rows, markdown)
    )
    storage_rows = []
    for label, attribute in (("as stored now", "byte_months"), ("large attributes compressed", "compressed")):
        bm = _byte_months(model, "sync_miss", attribute)
        table_bm = model.usages["sync_miss"].table_byte_months * (
            bm / model.usages["sync_miss"].byte_months if model.usages["sync_miss"].byte_months else 1
        )
        value = bm / GIB * prices.dynamodb_storage_gb_month + table_bm / GIB * prices.dynamodb_pitr_gb_month
        storage_rows.append([label, f"{bm / 1e3 / _retention_months(model):,.1f} KB", money(value * MILLION)])
    sections.append(
        "\nRetained storage per million synchronous decisions (DynamoDB Standard + PITR, kept for the "
        f"record retention, ~{_retention_months(model):.0f} months; "
        "steady-state monthly cost of 1 M/month):\n"
    )
    sections.append(
        table(["stored as", "bytes per decision (table + GSIs)", "storage cost"], storage_rows, markdown)
    )

    # 4. fixed costs
    heading("Fixed monthly costs")
    fixed = model.fixed()
    always = always_on_fixed()
    rows = [["serverless: " + k, money(v)] for k, v in fixed.items()]
    rows.append(["= serverless fixed", money(sum(fixed.values()))])
    rows += [["always-on: " + k, money(v)] for k, v in always.items()]
    rows.append(["= always-on fixed", money(sum(always.values()))])
    sections.append(table(["item", "USD/month"], rows, markdown))

    # 5. monthly totals and crossover
    heading("Monthly totals against the original's always-on stack")
    fixed_total, always_total = sum(fixed.values()), sum(always.values())
    rows = []
    for volume in (1e6, 10e6, 100e6):
        row = [f"{volume / 1e6:g} M decisions/month"]
        for _, path in (columns[0], columns[2]):
            row.append(
                money(
                    monthly_serverless(volume, path, fixed_total, prices, config, assumptions, storage=False)
                )
            )
            row.append(
                money(
                    monthly_serverless(volume, path, fixed_total, prices, config, assumptions, storage=True)
                )
            )
        row.append(money(always_total))
        row.append(money(always_total + volume * always_on_storage_per_decision(columns[0][1])))
        rows.append(row)
    sections.append(
        table(
            [
                "volume",
                "sync (miss)",
                "sync + storage",
                "async",
                "async + storage",
                "always-on",
                "always-on + storage",
            ],
            rows,
            markdown,
        )
    )
    crossings = []
    for label, path in (("sync (cache miss)", columns[0][1]), ("async", columns[2][1])):
        for storage in (False, True):

            def serverless(n: float, path: Path = path, storage: bool = storage) -> float:
                return monthly_serverless(n, path, fixed_total, prices, config, assumptions, storage=storage)

            def original(n: float, path: Path = path, storage: bool = storage) -> float:
                return always_total + (n * always_on_storage_per_decision(path) if storage else 0.0)

            point = crossover(serverless, original)
            what = "with retained storage on both sides" if storage else "request-driven"
            crossings.append(
                f"Crossover, {label}, {what}: "
                + (
                    f"{point / 1e6:,.2f} M decisions/month"
                    if point is not None
                    else "none (serverless never cheaper)"
                )
            )
    bullet = "- " if markdown else ""
    sections.append("\n" + "\n".join(bullet + line for line in crossings))
    sections.append("\n" + assumption_text(model))
    # Markdown needs a blank line between two tables, or it reads them as one.
    if markdown:
        return "\n\n".join(section.strip("\n") for section in sections)
    return "\n".join(sections)


def _retention_months(model: Model) -> float:
    try:
        from chalicelib import resources

        return float(getattr(resources, "RECORD_RETENTION_DAYS", 762)) / 30.44
    except ImportError:
        return 25.0


def _byte_months(model: Model, name: str, attribute: str) -> float:
    if attribute == "compressed":
        return model.compressed_byte_months.get(name, model.usages[name].byte_months)
    return model.usages[name].byte_months


def _wcu_levers(model: Model) -> list[tuple[str, float]]:
    return [("as written now", model.usages["sync_miss"].wru), *model.wcu_levers.items()]


def assumption_text(model: Model) -> str:
    a, p = model.assumptions, model.prices
    latency = ", ".join(f"{s} {v:g} ms" for s, v in a.latency_ms.items())
    probes_per_minute = a.health_probes_per_month / HOURS_PER_MONTH / 60
    parts = [
        f"latency per call {latency}",
        f"CPU scales with memory up to one vCPU at {a.full_vcpu_memory_mb} MB, network wait does not",
        "this machine's core = one Lambda vCPU; arm64 as fast as x86",
        f"Lambda platform log lines {a.platform_log_bytes_per_invocation} B per invocation",
        f"{a.status_polls_per_application:g} status poll per async application",
        "X-Ray default sampling on uniform (Poisson) traffic",
        f"Route 53 health check ~{probes_per_minute:.0f} probes a minute",
        "requests on provisioned concurrency priced at the on-demand duration price (upper bound)",
        f"provisioned concurrency ${p.lambda_provisioned_gb_second['x86_64']}/GB-s (x86)",
        f"WAF ${p.waf_web_acl_month:g}/ACL + ${p.waf_rule_month:g}/rule + ${p.waf_per_million:g}/M requests",
        f"alarms ${p.alarm_metric_month:g}/metric, dashboard ${p.dashboard_month:g}",
        f"custom metrics ${p.custom_metric_month:g}, secrets ${p.secret_month:g}",
        f"X-Ray ${p.xray_per_million_traces:g}/M traces",
        f"DynamoDB storage ${p.dynamodb_storage_gb_month:g}/GB-month + PITR ${p.dynamodb_pitr_gb_month:g}",
        f"log storage ${p.logs_storage_gb_month:g}/GB-month",
        "the always-on sizes and prices listed above (us-east-1 on-demand, 730 h/month)",
        "PostgreSQL storage without TOAST compression (in serverless' favour)",
        "data transfer out is the same on both sides and left out",
        "the always-on side's log shipping and backups are left out (in its favour)",
    ]
    return "\n".join(
        [
            "Assumptions (not in FACTS.md): " + "; ".join(parts) + ".",
            f"Template counted from {model.counts.source} (stage prod, lender webhook "
            f"{'on' if a.lender_webhook else 'off'}). DynamoDB capacity units are estimated from item "
            "sizes (bench.bench_aws_calls), not reported by DynamoDB.",
            *[f"Note: {note}" for note in model.notes],
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--from-json", help="a saved `python -m bench.bench_aws_calls --json` measurement")
    parser.add_argument("--runs", type=int, default=5, help="counted executions per operation")
    parser.add_argument("--timing-runs", type=int, default=300, help="timed executions per operation")
    args = parser.parse_args(argv)
    # Imported here: the arithmetic above must stay importable without the app (unit tests).
    from bench import bench_aws_calls

    if args.from_json:
        with open(args.from_json) as handle:
            measurement = bench_aws_calls.Measurement.from_json(handle.read())
    else:
        measurement = bench_aws_calls.measure(args.runs, args.timing_runs)
    model = build_model(measurement, merge_template("prod"))
    if args.markdown:
        print("### Measured AWS calls per operation\n")
    else:
        print("== AWS calls per operation (measured in-process, moto) ==")
    print(bench_aws_calls.calls_table(measurement, args.markdown))
    print()
    print(bench_aws_calls.timing_table(measurement, args.markdown))
    print(report(model, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
