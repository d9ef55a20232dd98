"""POST /v1/decisions (synchronous) and POST /v1/eligibility.

Flow: validate -> decision cache (DynamoDB) -> ``decide()`` on a miss -> store the decision record
(personal data masked) -> answer. If DynamoDB is unreachable the decision is still made and
returned, with ``"cache": "bypassed"`` and ``"stored": false``: a credit decision does not need the
cache, and the caller learns that no record was kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from typing import Any

from chalice.app import Request, Response

from chalicelib import dal, engine, resources
from chalicelib.api import clock, idempotency
from chalicelib.api.errors import JSON_HEADERS, validation_failed
from chalicelib.api.requests import json_body
from chalicelib.dal import DependencyUnavailable
from chalicelib.observability import count, count_decision, logger
from chalicelib.privacy import mask_personal_fields

CACHE_HIT, CACHE_MISS, CACHE_BYPASSED = "hit", "miss", "bypassed"
DECISIONS_ROUTE = "POST /v1/decisions"


def validated_application(payload: Any) -> dict[str, Any]:
    try:
        return engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None


def cache_key(application: dict[str, Any], model_sha256: str, code_version: str) -> str:
    """sha256 of the canonical scoring inputs + the model artifact's sha256 + the deployed code
    version: a new or retrained model (even one that kept its version number) never reuses a cached
    decision, and neither does a deploy that changed how reasons or suggestions are worded."""
    canonical = json.dumps(engine.scoring_inputs(application), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}|{model_sha256}|{code_version}".encode()).hexdigest()


def current_cache_key(application: dict[str, Any]) -> str:
    # Lambda sets AWS_LAMBDA_FUNCTION_VERSION; every deploy publishes a new version (AutoPublishAlias).
    code_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    return cache_key(application, engine.model_info()["sha256"], code_version)


def decision_record(
    decision_id: str, application: dict[str, Any], decision: dict[str, Any], source: str, **extra: Any
) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "created_at": clock.now_iso(),
        "source": source,
        "applicant": mask_personal_fields(application),
        "decision": decision,
        **extra,
    }


def _decide_with_cache(application: dict[str, Any], store: dal.LoanStore) -> tuple[dict[str, Any], str]:
    key = current_cache_key(application)
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


def make_decision(payload: Any) -> dict[str, Any]:
    """The response body for one synchronous decision (raises ApiError 400 on invalid input)."""
    application = validated_application(payload)
    store = dal.get_store()
    decision, cache_state = _decide_with_cache(application, store)
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
    count({CACHE_HIT: "CacheHits", CACHE_MISS: "CacheMisses", CACHE_BYPASSED: "CacheBypassed"}[cache_state])
    count_decision(decision["outcome"], "sync")
    logger.info(
        "decision", extra={"decision_id": decision_id, "outcome": decision["outcome"], "cache": cache_state}
    )
    return {
        "decision_id": decision_id,
        **decision,
        "model_version": decision["model"]["version"],
        "cached": cache_state == CACHE_HIT,
        "cache": cache_state,
        "stored": stored,
    }


idempotency.register(DECISIONS_ROUTE, make_decision)


def handle_decision(request: Request) -> Response:
    body, replayed = idempotency.run(
        DECISIONS_ROUTE,
        request.headers.get(idempotency.IDEMPOTENCY_HEADER),
        json_body(request),
        request.lambda_context,
        degrade_without_store=True,
    )
    headers = {**JSON_HEADERS, idempotency.REPLAYED_HEADER: "true"} if replayed else dict(JSON_HEADERS)
    return Response(body=json.dumps(body), status_code=200, headers=headers)


def handle_eligibility(request: Request) -> Response:
    payload = json_body(request)
    try:
        result = engine.quick_eligibility(payload)
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None
    return Response(body=json.dumps(result), status_code=200, headers=dict(JSON_HEADERS))
