"""Fraud and velocity signals around a decision: count the submission, then apply the policy's rules.

``counter_keys`` turns an application's identity and session values into keyed hashes
(``chalicelib.privacy.hash_identity``: HMAC with the service key, never in clear), ``check`` counts
the submission (one write, one consistent read: ``chalicelib.dal.fraud``) and ``with_signals`` gives
the final decision: the cached or fresh decision when no rule over counts fires, else the decision
re-made with what the counters saw (a high or critical flag refers an approval). If the counters
cannot be read or written the decision is still made, flagged ``FRD-UNCHECKED`` and referred: fail
closed for approvals, counted (``FraudUnchecked``) and alarmed.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.fraud import CounterKey
from chalicelib.engine.decision import DecisionLogic
from chalicelib.engine.fraud import (
    COUNTED_SIGNALS,
    IDENTITY_SIGNALS,
    FraudPolicy,
    Submissions,
    submission_flags,
)
from chalicelib.engine.types import Application, Decision
from chalicelib.observability import count, logger
from chalicelib.privacy import hash_identity
from chalicelib.service.dependencies import Dependencies

# Stored with the masked applicant of an asynchronous application, so that the worker (which never
# sees personal fields) counts the same keyed hashes.
SIGNAL_REFS = "signal_refs"


def bucket_seconds(signal: str, policy: FraudPolicy) -> int:
    """A signal's counter bucket: its longest window (a window is read from two buckets)."""
    windows = [rule.window_seconds for rule in policy.count_rules if rule.signal == signal]
    if signal in IDENTITY_SIGNALS:
        windows.append(policy.reapply.window_seconds)
    return max(windows)


def signal_refs(application: Mapping[str, object]) -> dict[str, str]:
    """Keyed hashes of the counted values present on the application (identity and session)."""
    return {
        signal: hash_identity(signal, value)
        for signal in COUNTED_SIGNALS
        if isinstance(value := application.get(signal), str) and value.strip()
    }


def counter_keys(refs: Mapping[str, object], policy: FraudPolicy) -> list[CounterKey]:
    return [
        CounterKey(signal, value, bucket_seconds(signal, policy))
        for signal, value in refs.items()
        if signal in COUNTED_SIGNALS and isinstance(value, str)
    ]


def unchecked(at: int) -> Submissions:
    count(resources.FRAUD_UNCHECKED_METRIC)
    return Submissions(at, {}, unchecked=True)


def check(
    dependencies: Dependencies,
    client_id: str,
    refs: Mapping[str, object],
    submission: str,
    at: int,
    declined: bool,
    policy: FraudPolicy,
) -> Submissions:
    """Count one submission of ``client_id``'s (idempotent per ``submission`` and ``at``), in the
    windows of ``policy`` (the fraud section of the policy of the version that decides)."""
    keys = counter_keys(refs, policy)
    if not keys:  # nothing to count (no identity or session value): no round trip, no velocity flag
        return Submissions(at, {})
    try:
        counted = dependencies.fraud_counters.count(client_id, keys, submission, at, declined)
    except DependencyUnavailable as error:
        logger.warning(
            "fraud counters unavailable", extra={"dependency": error.dependency, "cause": error.cause}
        )
        return unchecked(at)
    return Submissions(at, counted.seen, counted.declined)


def with_signals(
    application: Application, decision: Decision, submissions: Submissions, logic: DecisionLogic
) -> Decision:
    """The final decision: ``decision`` (made by ``logic`` without counts) unless a rule over counts
    fires; then ``logic`` decides again with the counts."""
    if not submission_flags(submissions, logic.policy.fraud):
        return decision
    return engine.decide(application, *logic, submissions=submissions)


def observe(decision: Decision) -> None:
    """Metrics of a final decision's flags (no personal data: codes and severities only)."""
    flags = decision["risk_flags"]
    if not flags:
        return
    count("FraudFlagged")
    critical = sum(flag["severity"] == "critical" for flag in flags)
    if critical:
        count(resources.FRAUD_CRITICAL_METRIC, critical)
    logger.info("fraud flags", extra={"codes": [flag["code"] for flag in flags]})
