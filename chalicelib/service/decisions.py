"""Synchronous decisions (POST /v1/decisions) and the quick eligibility check.

Flow: validate -> decision cache (DynamoDB) -> ``decide()`` on a miss -> store the decision record
(personal data masked) -> answer. If DynamoDB is unreachable the decision is still made and
returned, with ``"cache": "bypassed"`` and ``"stored": false``: a credit decision does not need the
cache, and the caller learns that no record was kept.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable, LoanStore
from chalicelib.engine.types import Application, Decision
from chalicelib.errors import validation_failed
from chalicelib.observability import count, count_decision, logger
from chalicelib.privacy import mask_personal_fields
from chalicelib.records import CacheState, DecisionRecord, DecisionResponse, DecisionSource
from chalicelib.service import clock
from chalicelib.service.dependencies import Dependencies

CACHE_HIT: CacheState = "hit"
CACHE_MISS: CacheState = "miss"
CACHE_BYPASSED: CacheState = "bypassed"
_CACHE_METRICS: dict[CacheState, str] = {
    CACHE_HIT: "CacheHits",
    CACHE_MISS: "CacheMisses",
    CACHE_BYPASSED: "CacheBypassed",
}


def validated_application(payload: Any) -> Application:
    try:
        return engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None


def cache_key(application: Application, model_sha256: str, code_version: str) -> str:
    """sha256 of the canonical scoring inputs + the model artifact's sha256 + the deployed code
    version: a new or retrained model (even one that kept its version number) never reuses a cached
    decision, and neither does a deploy that changed how reasons or suggestions are worded."""
    canonical = json.dumps(engine.scoring_inputs(application), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}|{model_sha256}|{code_version}".encode()).hexdigest()


def decision_record(
    decision_id: str,
    application: Application,
    decision: Decision,
    source: DecisionSource,
    *,
    cached: bool = False,
) -> DecisionRecord:
    return {
        "decision_id": decision_id,
        "created_at": clock.now_iso(),
        "source": source,
        "applicant": mask_personal_fields(application),
        "decision": decision,
        "cached": cached,
    }


def _decide_with_cache(application: Application, store: LoanStore, key: str) -> tuple[Decision, CacheState]:
    now = clock.now_epoch()
    try:
        cached = store.get_cached_decision(key, now)
    except DependencyUnavailable as error:
        logger.warning(
            "decision cache bypassed", extra={"dependency": error.dependency, "cause": error.cause}
        )
        return engine.decide(application), CACHE_BYPASSED
    if cached is not None:
        return cached, CACHE_HIT
    decision = engine.decide(application)
    try:
        store.put_cached_decision(key, decision, now + resources.DECISION_CACHE_TTL_SECONDS)
    except DependencyUnavailable as error:
        logger.warning(
            "decision cache write failed", extra={"dependency": error.dependency, "cause": error.cause}
        )
    return decision, CACHE_MISS


def make_decision(payload: Any, dependencies: Dependencies) -> DecisionResponse:
    """The response body for one synchronous decision (raises ServiceError 400 on invalid input)."""
    application = validated_application(payload)
    store = dependencies.store
    key = cache_key(application, engine.model_info()["sha256"], dependencies.settings.code_version)
    decision, cache_state = _decide_with_cache(application, store, key)
    decision_id = str(uuid.uuid4())
    stored = False
    # After a failed cache read DynamoDB is most likely down: do not wait for a second timeout.
    if cache_state != CACHE_BYPASSED:
        record = decision_record(decision_id, application, decision, "sync", cached=cache_state == CACHE_HIT)
        try:
            store.put_decision(record)
            stored = True
        except DependencyUnavailable as error:
            logger.warning(
                "decision not stored", extra={"dependency": error.dependency, "cause": error.cause}
            )
    count(_CACHE_METRICS[cache_state])
    count_decision(decision["outcome"], "sync")
    logger.info(
        "decision", extra={"decision_id": decision_id, "outcome": decision["outcome"], "cache": cache_state}
    )
    response: DecisionResponse = {
        "decision_id": decision_id,
        **decision,  # type: ignore[typeddict-item]
        "model_version": decision["model"]["version"],
        "cached": cache_state == CACHE_HIT,
        "cache": cache_state,
        "stored": stored,
    }
    return response


def quick_eligibility(payload: Any) -> dict[str, Any]:
    try:
        return dict(engine.quick_eligibility(payload))
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None
