"""Token bucket, daily quota and the emulated gateway, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from chalicelib.http.edge import is_public_route
from chalicelib.http.gateway_responses import INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED, WAF_BLOCKED
from chalicelib.resources import (
    METHOD_THROTTLES,
    STAGE_THROTTLE,
    USAGE_PLANS,
    WAF_PER_IP_LIMIT,
    WAF_PER_IP_RATE_PER_SECOND,
    Throttle,
)
from devstack.gateway import (
    WAF_PER_IP_THROTTLE,
    LocalGateway,
    emulation_enabled,
    local_api_keys,
    local_dev_api_key,
    usage_plan,
)
from devstack.token_bucket import SECONDS_PER_DAY, DailyQuota, TokenBucket


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---------------------------------------------------------------------------- token bucket
def test_bucket_allows_burst_then_refuses() -> None:
    bucket = TokenBucket.full(Throttle(rate_per_second=2, burst=3), now=0.0)
    for _ in range(3):
        assert bucket.can_take(0.0)
        bucket.take(0.0)
    assert not bucket.can_take(0.0)
    assert bucket.seconds_until_token(0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        bucket.take(0.0)


def test_bucket_refills_at_rate_and_never_above_burst() -> None:
    bucket = TokenBucket.full(Throttle(rate_per_second=10, burst=5), now=0.0)
    for _ in range(5):
        bucket.take(0.0)
    assert not bucket.can_take(0.05)  # half a token
    assert bucket.can_take(0.1)  # one token back
    bucket.take(0.1)
    assert bucket.seconds_until_token(0.1) == pytest.approx(0.1)
    assert bucket.can_take(1_000.0)
    assert bucket.tokens == 5  # capped at the burst


def test_bucket_ignores_a_clock_going_backwards() -> None:
    bucket = TokenBucket.full(Throttle(rate_per_second=1, burst=1), now=10.0)
    bucket.take(10.0)
    assert not bucket.can_take(5.0)
    assert not bucket.can_take(10.5)
    assert bucket.can_take(11.0)


def test_sustained_rate_matches_refill_rate() -> None:
    bucket = TokenBucket.full(Throttle(rate_per_second=50, burst=100), now=0.0)
    admitted = 0
    # Offer 1,000 requests per second for 10 s of fake time.
    for step in range(10_000):
        now = step / 1_000
        if bucket.can_take(now):
            bucket.take(now)
            admitted += 1
    # burst + rate * elapsed (9.999 s): 100 + 499.95 -> 599 whole tokens
    assert admitted == 599


# ---------------------------------------------------------------------------- daily quota
def test_quota_resets_at_utc_midnight() -> None:
    quota = DailyQuota(limit=2)
    day_start = 20_000 * SECONDS_PER_DAY
    late = day_start + SECONDS_PER_DAY - 1
    quota.take(day_start)
    quota.take(late)
    assert not quota.can_take(late)
    assert quota.seconds_until_reset(late) == 1
    assert quota.can_take(late + 1)
    assert quota.remaining(late + 1) == 2


# ---------------------------------------------------------------------------- local keys
def test_default_local_keys_one_per_usage_plan() -> None:
    keys = local_api_keys({})
    assert sorted(keys.values()) == sorted(plan.name for plan in USAGE_PLANS)
    assert local_dev_api_key("standard", {}) == "local-dev-standard-key"


def test_local_keys_from_environment() -> None:
    environ = {"LOCAL_API_KEYS": "standard:abc, partner:def"}
    assert local_api_keys(environ) == {"abc": "standard", "def": "partner"}
    assert local_dev_api_key("partner", environ) == "def"


@pytest.mark.parametrize("value", ["standard", "gold:abc", "standard:"])
def test_bad_local_keys_are_configuration_errors(value: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        local_api_keys({"LOCAL_API_KEYS": value})


def test_emulation_only_in_local_stage() -> None:
    assert emulation_enabled({"STAGE": "local"})
    assert not emulation_enabled({"STAGE": "local", "LOCAL_GATEWAY_EMULATION": "off"})
    assert not emulation_enabled({"STAGE": "dev"})
    assert not emulation_enabled({"STAGE": "prod"})
    assert not emulation_enabled({})


def test_public_routes_follow_resources() -> None:
    assert is_public_route("/health")
    assert is_public_route("/health/ready")
    assert is_public_route("/docs/{name}")
    assert not is_public_route("/health/detailed")  # it names tables, queues and errors
    assert not is_public_route("/healthz")
    assert not is_public_route("/v1/decisions")


# ---------------------------------------------------------------------------- gateway
STANDARD_KEY = "std"
PARTNER_KEY = "ptn"
STANDARD = usage_plan("standard")


def make_gateway(clock: FakeClock, wall: FakeClock | None = None) -> LocalGateway:
    return LocalGateway(
        {STANDARD_KEY: "standard", PARTNER_KEY: "partner"}, clock=clock, wall_clock=wall or clock
    )


def admit(gateway: LocalGateway, *, key: str | None = STANDARD_KEY, path="/v1/decisions", ip="10.0.0.1"):
    return gateway.admit(resource_path=path, method="POST", api_key=key, source_ip=ip)


def test_missing_or_unknown_key_is_forbidden_but_public_routes_need_none() -> None:
    gateway = make_gateway(FakeClock())
    assert admit(gateway, key=None).response is INVALID_API_KEY
    assert admit(gateway, key="wrong").response is INVALID_API_KEY
    assert gateway.admit(resource_path="/health", method="GET", api_key=None, source_ip="1.1.1.1") is None
    assert admit(gateway) is None


def test_key_throttled_at_its_usage_plan_burst_and_recovers_at_its_rate() -> None:
    clock = FakeClock()
    gateway = make_gateway(clock)
    # The standard plan's burst is below the stage throttle's, so the key's bucket refuses first.
    assert STANDARD.throttle.burst < STAGE_THROTTLE.burst
    for _ in range(STANDARD.throttle.burst):
        assert admit(gateway) is None
    rejection = admit(gateway)
    assert rejection.response is THROTTLED
    assert rejection.wait_seconds == pytest.approx(1 / STANDARD.throttle.rate_per_second)
    clock.advance(1 / STANDARD.throttle.rate_per_second)
    assert admit(gateway) is None


def test_keys_have_separate_buckets() -> None:
    clock = FakeClock()
    gateway = make_gateway(clock)
    for _ in range(STANDARD.throttle.burst):
        admit(gateway, ip="10.0.0.1")
    assert admit(gateway, ip="10.0.0.1").response is THROTTLED
    assert admit(gateway, key=PARTNER_KEY, ip="10.0.0.1") is None


def test_stage_throttle_is_shared_by_all_keys_of_one_method() -> None:
    clock = FakeClock()
    gateway = make_gateway(clock)
    for _ in range(STAGE_THROTTLE.burst):
        assert admit(gateway, key=PARTNER_KEY) is None
    assert admit(gateway, key=PARTNER_KEY).response is THROTTLED
    # Another method has its own bucket.
    assert admit(gateway, key=PARTNER_KEY, path="/v1/applications") is None


def test_method_throttle_overrides_stage_throttle() -> None:
    clock = FakeClock()
    gateway = make_gateway(clock)
    health = METHOD_THROTTLES["/health/GET"]
    for index in range(health.burst):
        # Different IPs: only the method bucket is shared.
        assert (
            gateway.admit(resource_path="/health", method="GET", api_key=None, source_ip=f"ip{index}") is None
        )
    rejection = gateway.admit(resource_path="/health", method="GET", api_key=None, source_ip="other")
    assert rejection.response is THROTTLED


def test_default_limits_come_from_resources() -> None:
    assert WAF_PER_IP_THROTTLE.rate_per_second == WAF_PER_IP_RATE_PER_SECOND
    assert WAF_PER_IP_THROTTLE.burst == WAF_PER_IP_LIMIT


def test_per_ip_limit_applies_before_the_key_check() -> None:
    clock = FakeClock()
    gateway = LocalGateway(
        {PARTNER_KEY: "partner"}, clock=clock, wall_clock=clock, per_ip_throttle=Throttle(2, 3)
    )
    for _ in range(3):
        assert admit(gateway, key=PARTNER_KEY, ip="1.2.3.4") is None
    rejection = admit(gateway, key=None, ip="1.2.3.4")
    assert rejection.response is WAF_BLOCKED
    assert rejection.wait_seconds == pytest.approx(0.5)
    assert admit(gateway, key=None, ip="5.6.7.8").response is INVALID_API_KEY
    clock.advance(0.5)
    assert admit(gateway, key=PARTNER_KEY, ip="1.2.3.4") is None


def test_refused_requests_take_nothing_from_key_or_method_buckets() -> None:
    clock = FakeClock()
    gateway = make_gateway(clock)
    for _ in range(1_000):
        assert admit(gateway, key="wrong").response is INVALID_API_KEY
    for _ in range(STANDARD.throttle.burst):
        assert admit(gateway) is None


def test_requests_the_gateway_refuses_still_count_against_the_address() -> None:
    clock = FakeClock()
    gateway = LocalGateway({}, clock=clock, wall_clock=clock, per_ip_throttle=Throttle(1, 5))
    for _ in range(5):
        assert admit(gateway, key=None, ip="6.6.6.6").response is INVALID_API_KEY
    assert admit(gateway, key=None, ip="6.6.6.6").response is WAF_BLOCKED


def test_daily_quota_then_429_quota_exceeded_until_midnight() -> None:
    clock = FakeClock()
    wall = FakeClock(start=20_000 * SECONDS_PER_DAY)
    gateway = LocalGateway({STANDARD_KEY: "standard"}, clock=clock, wall_clock=wall)
    for _ in range(STANDARD.daily_quota):
        assert admit(gateway) is None
        clock.advance(1)  # refill the buckets; quota counts per UTC day, not per second
    rejection = admit(gateway)
    assert rejection.response is QUOTA_EXCEEDED
    wall.advance(SECONDS_PER_DAY)
    assert admit(gateway) is None


def test_preflights_need_no_key_but_are_still_counted() -> None:
    clock = FakeClock()
    gateway = LocalGateway({}, clock=clock, wall_clock=clock, per_ip_throttle=Throttle(1, 2))
    for _ in range(2):
        assert (
            gateway.admit(
                resource_path="/v1/decisions",
                method="OPTIONS",
                api_key=None,
                source_ip="9.9.9.9",
                api_key_required=False,
            )
            is None
        )
    rejection = gateway.admit(
        resource_path="/v1/decisions",
        method="OPTIONS",
        api_key=None,
        source_ip="9.9.9.9",
        api_key_required=False,
    )
    assert rejection.response is WAF_BLOCKED
