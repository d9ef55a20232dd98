"""API Gateway + WAF emulation for the ``local`` stage (``chalice local`` enforces neither).

Local-only code: never in the Lambda package. The local stage's ``LOCAL_EDGE_MODULE`` names this
module, and ``chalicelib.http.edge.install_edge`` calls ``install(app)``, which puts the emulation
inside the headers middleware (so its answers get the security headers too) and before the API.

Built from the same configuration that feeds the CloudFormation usage plans, stage/method throttles
and WAF rule (``chalicelib/resources.py``), applied in the order AWS applies them:

1. WAF rate-based rule per client IP (``WAF_PER_IP_RATE_PER_SECOND``; WAF counts requests over an
   evaluation window, emulated as a bucket refilling at that rate and holding one window's worth);
2. API key required on every route outside ``PUBLIC_ROUTES`` (403 without a valid key);
3. the key's usage plan: token bucket (rate, burst) and daily quota (429 THROTTLED / QUOTA_EXCEEDED);
4. stage/method throttle: one bucket per method, ``METHOD_THROTTLES`` or else ``STAGE_THROTTLE``.

A request the gateway refuses takes nothing from the key's or the method's counters (they are all
checked before any is taken); it does count against its address in the WAF rule, which runs first.
Production never runs this: it relies on API Gateway and WAF. State is per process, like one gateway.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from chalice.app import Chalice, Request, Response

from chalicelib.config import LOCAL_STAGE
from chalicelib.http.edge import API_KEY_HEADER, is_public_route, resource_path
from chalicelib.http.gateway_responses import (
    INVALID_API_KEY,
    QUOTA_EXCEEDED,
    THROTTLED,
    WAF_BLOCKED,
    GatewayResponseSpec,
    gateway_error_body,
    gateway_response_headers,
)
from chalicelib.http.middleware import request_id_of
from chalicelib.resources import (
    METHOD_THROTTLES,
    STAGE_THROTTLE,
    USAGE_PLANS,
    WAF_PER_IP_LIMIT,
    WAF_PER_IP_RATE_PER_SECOND,
    Throttle,
    UsagePlanSpec,
)
from devstack.token_bucket import DailyQuota, TokenBucket

__all__ = ["API_KEY_HEADER", "LocalGateway", "install", "local_api_keys", "local_dev_api_key"]

# "tier:key,tier:key" overrides the documented development keys below.
LOCAL_API_KEYS_ENV = "LOCAL_API_KEYS"
# Set to "off" to run the local stack without the emulation (e.g. to benchmark the worker alone).
LOCAL_GATEWAY_EMULATION_ENV = "LOCAL_GATEWAY_EMULATION"
# Fixed, documented development keys: one per usage plan, e.g. "local-dev-standard-key".
DEFAULT_LOCAL_KEY_PATTERN = "local-dev-{tier}-key"

WAF_PER_IP_THROTTLE = Throttle(rate_per_second=WAF_PER_IP_RATE_PER_SECOND, burst=WAF_PER_IP_LIMIT)


def usage_plan(name: str, plans: Sequence[UsagePlanSpec] = USAGE_PLANS) -> UsagePlanSpec:
    for plan in plans:
        if plan.name == name:
            return plan
    raise KeyError(f"no usage plan named {name!r}; known: {[plan.name for plan in plans]}")


def local_api_keys(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The local stage's API keys: ``{api_key: usage plan name}``.

    ``LOCAL_API_KEYS="standard:abc,partner:def"`` sets them; otherwise one fixed development key per
    usage plan, ``local-dev-<plan>-key``. ``make run`` prints these."""
    environ = os.environ if environ is None else environ
    configured = environ.get(LOCAL_API_KEYS_ENV, "").strip()
    if not configured:
        return {DEFAULT_LOCAL_KEY_PATTERN.format(tier=plan.name): plan.name for plan in USAGE_PLANS}
    keys: dict[str, str] = {}
    for item in configured.split(","):
        tier, sep, key = item.strip().partition(":")
        if not sep or not key.strip():
            raise ValueError(f"{LOCAL_API_KEYS_ENV} entries look like 'standard:my-key', got {item!r}")
        usage_plan(tier.strip())  # an unknown tier is a configuration error, not a silent default
        keys[key.strip()] = tier.strip()
    return keys


def local_dev_api_key(tier: str = "standard", environ: Mapping[str, str] | None = None) -> str:
    """The local key of one usage plan (what clients, tests and ``make run`` use)."""
    for key, plan_name in local_api_keys(environ).items():
        if plan_name == tier:
            return key
    raise KeyError(f"no local API key for usage plan {tier!r}")


def emulation_enabled(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return (
        environ.get("STAGE") == LOCAL_STAGE
        and environ.get(LOCAL_GATEWAY_EMULATION_ENV, "on").lower() != "off"
    )


@dataclass(frozen=True)
class Rejection:
    """Why the gateway answers instead of the API."""

    response: GatewayResponseSpec
    wait_seconds: float  # how long until the counter that refused would admit (information only)


class LocalGateway:
    """The emulated gateway's counters for one process. Thread-safe (chalice local is threaded)."""

    def __init__(
        self,
        api_keys: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        per_ip_throttle: Throttle = WAF_PER_IP_THROTTLE,
        stage_throttle: Throttle = STAGE_THROTTLE,
        method_throttles: Mapping[str, Throttle] = METHOD_THROTTLES,
        usage_plans: Sequence[UsagePlanSpec] = USAGE_PLANS,
    ) -> None:
        self._per_ip_throttle = per_ip_throttle
        self._stage_throttle = stage_throttle
        self._method_throttles = method_throttles
        self._plans = {key: usage_plan(plan_name, usage_plans) for key, plan_name in api_keys.items()}
        self.api_keys = frozenset(self._plans)
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._ip_buckets: dict[str, TokenBucket] = {}
        self._key_buckets: dict[str, TokenBucket] = {}
        self._key_quotas: dict[str, DailyQuota] = {}
        self._method_buckets: dict[str, TokenBucket] = {}

    def admit(
        self,
        *,
        resource_path: str,
        method: str,
        api_key: str | None,
        source_ip: str,
        api_key_required: bool | None = None,
    ) -> Rejection | None:
        """None if the request may reach the API, else the gateway's answer. ``api_key_required``
        None: required outside ``PUBLIC_ROUTES``."""
        if api_key_required is None:
            api_key_required = not is_public_route(resource_path)
        with self._lock:
            now = self._clock()
            today = self._wall_clock()
            ip_bucket = self._bucket(self._ip_buckets, source_ip, self._per_ip_throttle, now)
            if not ip_bucket.can_take(now):
                return Rejection(WAF_BLOCKED, ip_bucket.seconds_until_token(now))
            # WAF sits in front of API Gateway: it counts every request it lets through, including
            # those the gateway then refuses (a keyless flood is still rate-limited per address).
            ip_bucket.take(now)
            key_bucket: TokenBucket | None = None
            quota: DailyQuota | None = None
            if api_key_required:
                plan = self._plans.get(api_key) if api_key else None
                if plan is None or api_key is None:
                    return Rejection(INVALID_API_KEY, 0.0)
                key_bucket = self._bucket(self._key_buckets, api_key, plan.throttle, now)
                if not key_bucket.can_take(now):
                    return Rejection(THROTTLED, key_bucket.seconds_until_token(now))
                quota = self._key_quotas.setdefault(api_key, DailyQuota(limit=plan.daily_quota))
                if not quota.can_take(today):
                    return Rejection(QUOTA_EXCEEDED, quota.seconds_until_reset(today))
            method_key = f"{resource_path}/{method.upper()}"
            method_throttle = self._method_throttles.get(method_key, self._stage_throttle)
            method_bucket = self._bucket(self._method_buckets, method_key, method_throttle, now)
            if not method_bucket.can_take(now):
                return Rejection(THROTTLED, method_bucket.seconds_until_token(now))
            method_bucket.take(now)
            if key_bucket is not None and quota is not None:
                key_bucket.take(now)
                quota.take(today)
            return None

    @staticmethod
    def _bucket(buckets: dict[str, TokenBucket], name: str, throttle: Throttle, now: float) -> TokenBucket:
        bucket = buckets.get(name)
        if bucket is None:
            bucket = buckets[name] = TokenBucket.full(throttle, now)
        return bucket


# --------------------------------------------------------------------------------------------
# The emulation as Chalice middleware
# --------------------------------------------------------------------------------------------
_gateway_lock = threading.Lock()
_gateway: LocalGateway | None = None


def local_gateway() -> LocalGateway:
    """This process's emulated gateway, created on first use from the stage's local API keys."""
    global _gateway
    with _gateway_lock:
        if _gateway is None:
            _gateway = LocalGateway(local_api_keys())
        return _gateway


def reset_local_gateway(gateway: LocalGateway | None = None) -> None:
    """Start from fresh counters (tests), or use a given gateway (e.g. one with a fake clock)."""
    global _gateway
    with _gateway_lock:
        _gateway = gateway


def _source_ip(request: Request) -> str:
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")


# The app ``install`` put the emulation in front of: its routes say which methods need a key.
_installed_app: Chalice | None = None


def _api_key_required(request: Request) -> bool | None:
    """The route's own ``api_key_required`` (what Chalice writes into API Gateway, e.g. False on the
    staff routes, which a Cognito authorizer guards instead); None for a path or method the app does
    not define (then the ``PUBLIC_ROUTES`` rule decides)."""
    # Browsers send no API key on a CORS preflight; its route never requires one.
    if request.method == "OPTIONS":
        return False
    routes = _installed_app.routes if _installed_app is not None else {}
    entry = routes.get(resource_path(request), {}).get(request.method)
    return None if entry is None else bool(entry.api_key_required)


def gateway_rejection(request: Request) -> Response | None:
    """The emulated gateway's answer, or None when the request may reach the API."""
    if not emulation_enabled():
        return None
    rejection = local_gateway().admit(
        resource_path=resource_path(request),
        method=request.method,
        api_key=request.headers.get(API_KEY_HEADER),
        source_ip=_source_ip(request),
        api_key_required=_api_key_required(request),
    )
    if rejection is None:
        return None
    rid = request_id_of(request)
    headers: dict[str, str | list[str]] = {
        **gateway_response_headers(rejection.response),
        "X-Request-ID": rid,
    }
    return Response(
        body=gateway_error_body(rejection.response, rid),
        status_code=rejection.response.status_code,
        headers=headers,
    )


def local_api_key_id(api_key: str) -> str:
    """The id API Gateway would give a key (``requestContext.identity.apiKeyId``): stable per key,
    ten characters like AWS's, and not the key itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:10]


def gateway_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    rejection = gateway_rejection(request)
    if rejection is not None:
        return rejection
    api_key = request.headers.get(API_KEY_HEADER)
    if emulation_enabled() and api_key in local_gateway().api_keys:
        # What API Gateway puts in the event of a method that requires a key: the caller's identity.
        identity = request.context.setdefault("identity", {})
        identity["apiKeyId"] = local_api_key_id(api_key)
    return get_response(request)


def install(app: Chalice) -> None:
    """Put the emulation in front of everything ``install_edge`` registered so far, and right inside
    it the Cognito authorizer emulation (``devstack.staff_auth``: staff tokens verified for real)."""
    from devstack import staff_auth  # local-only, like this module; imports PyJWT

    global _installed_app
    _installed_app = app
    app.middleware_handlers.insert(0, (gateway_middleware, "http"))
    staff_auth.install(app, position=1)
