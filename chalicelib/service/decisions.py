"""Synchronous decisions (POST /v1/decisions) and the quick eligibility check.

Flow: validate -> the version that serves this applicant (``routing``: champion or challenger,
from the cached routing document) -> decision cache (DynamoDB, keyed by the inputs and the version)
-> ``decide()`` with that version on a miss -> the shadows' decisions -> store the decision record
(personal data masked, stamped with its version and arm, the shadows beside it) -> answer. If
DynamoDB is unreachable the decision is still made and returned, with ``"cache": "bypassed"`` and
``"stored": false``: a credit decision does not need the cache, and the caller learns that no record
was kept. A process that has never read the routing document and cannot read it decides with the
packaged version, and keeps nothing (``"stored": false``): no record claims a version the routing
may not have chosen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import cast

from chalicelib import engine, resources
from chalicelib.dal import CacheEntry, DependencyUnavailable, LoanStore
from chalicelib.dal.versions import PACKAGED_VERSION_ID, Routing
from chalicelib.engine.types import Application, Decision, Notice
from chalicelib.errors import ServiceError, dependency_unavailable, not_found, validation_failed
from chalicelib.observability import count, count_decision, logger
from chalicelib.privacy import mask_personal_fields
from chalicelib.records import (
    Arm,
    CacheState,
    DecisionEvent,
    DecisionList,
    DecisionOnRecord,
    DecisionRecord,
    DecisionRerun,
    DecisionResponse,
    DecisionSource,
    MaskedApplicant,
    ShadowDecision,
    add_final_outcome,
)
from chalicelib.service import clock, cursors, events, fraud, listing, reviews, routing
from chalicelib.service.decision_versions import PACKAGED
from chalicelib.service.dependencies import Dependencies

CACHE_HIT: CacheState = "hit"
CACHE_MISS: CacheState = "miss"
CACHE_BYPASSED: CacheState = "bypassed"
_CACHE_METRICS: dict[CacheState, str] = {
    CACHE_HIT: "CacheHits",
    CACHE_MISS: "CacheMisses",
    CACHE_BYPASSED: "CacheBypassed",
}


def validated_application(payload: object) -> Application:
    try:
        return engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None


def cache_key(application: Application, version_key: str, code_version: str) -> str:
    """sha256 of the canonical scoring inputs + the decision version (``version_key``: its id and the
    sha256 of its model artifact and policy document) + the deployed code version: another version,
    or a retrained model that kept its version number, never reuses a cached decision, and neither
    does a deploy that changed how reasons or suggestions are worded."""
    canonical = json.dumps(engine.scoring_inputs(application), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}|{version_key}|{code_version}".encode()).hexdigest()


def version_key(served: routing.Served) -> str:
    """The decision version in the cache key: its id and its content's hashes."""
    return f"{served.version_id}:{served.logic.model.sha256}:{served.logic.policy.sha256}"


def decision_record(
    decision_id: str,
    client_id: str,
    application: Application,
    decision: Decision,
    source: DecisionSource,
    retention_seconds: int,
    *,
    cached: bool = False,
    decision_version: str = PACKAGED_VERSION_ID,
    arm: Arm = routing.CHAMPION,
    shadows: list[ShadowDecision] | None = None,
    applicant: MaskedApplicant | None = None,
) -> DecisionRecord:
    """The decision-log record of a synchronous decision (``applicant``: the application already
    masked, when the caller has it)."""
    record: DecisionRecord = {
        "decision_id": decision_id,
        "client_id": client_id,
        "created_at": clock.now_iso(),
        "source": source,
        "applicant": applicant if applicant is not None else mask_personal_fields(application),
        "decision": decision,
        "cached": cached,
        "expires_at": clock.now_epoch() + retention_seconds,
        "decision_version": decision_version,
        "arm": arm,
    }
    if shadows:
        record["shadows"] = shadows
    return record


def _decide_with_cache(
    application: Application, logic: engine.DecisionLogic, store: LoanStore, key: str
) -> tuple[Decision, CacheState, CacheEntry | None]:
    """The decision, where it came from, and the cache entry to write with the decision record."""
    now = clock.now_epoch()
    try:
        cached = store.get_cached_decision(key, now)
    except DependencyUnavailable as error:
        logger.warning(
            "decision cache bypassed", extra={"dependency": error.dependency, "cause": error.cause}
        )
        return engine.decide(application, *logic), CACHE_BYPASSED, None
    if cached is not None:
        return cached, CACHE_HIT, None
    decision = engine.decide(application, *logic)
    return decision, CACHE_MISS, CacheEntry(key, decision, now + resources.DECISION_CACHE_TTL_SECONDS)


def _served(
    dependencies: Dependencies, client_id: str, identity: str
) -> tuple[routing.Served, Routing | None]:
    """The version serving this applicant and the routing that chose it; None for the routing when
    the registry cannot be read (then the packaged version decides, and nothing is stored)."""
    try:
        return routing.serve(dependencies.versions, client_id, identity)
    except DependencyUnavailable as error:
        count(resources.ROUTING_FALLBACKS_METRIC)
        logger.warning(
            "routing unavailable: the packaged version decides, unstored",
            extra={"dependency": error.dependency, "cause": error.cause},
        )
        return routing.Served(PACKAGED_VERSION_ID, routing.CHAMPION, PACKAGED), None


def make_decision(payload: object, dependencies: Dependencies, client_id: str) -> DecisionResponse:
    """The response body for one synchronous decision (raises ServiceError 400 on invalid input).

    AWS calls: a cache read, the velocity counters (an UpdateItem per counted value and one
    BatchGetItem, sent together; none when the application carries no identity or session value),
    then one BatchWriteItem with the decision record (and, on a miss, the cache entry), then one
    PutEvents. The routing document adds a read once per cache interval and process, a version's
    blobs once per process, the client's webhook subscriptions a Query once per process, client and
    subscription interval (sent on a background thread as the decision begins, so that it overlaps
    the calls above); shadows add none (their decisions are in the same record)."""
    application = validated_application(payload)
    events.prepare(dependencies, client_id)
    store = dependencies.store
    applicant = mask_personal_fields(application)
    identity = routing.identity_key(applicant["applicant_ref"], application)
    served, routed_by = _served(dependencies, client_id, identity)
    key = cache_key(application, version_key(served), dependencies.settings.code_version)
    submitted_at = clock.now_iso()
    if routed_by is None:
        decision, cache_state, cache_entry = engine.decide(application, *served.logic), CACHE_BYPASSED, None
    else:
        decision, cache_state, cache_entry = _decide_with_cache(application, served.logic, store, key)
    shadows: list[ShadowDecision] = []
    if routed_by is not None and cache_state != CACHE_BYPASSED:  # only a record that is kept has them
        shadows = routing.score_shadows(
            dependencies.versions, routed_by, served.version_id, client_id, identity, application
        )
    decision_id = str(uuid.uuid4())
    # Velocity: this submission counts even on a cache hit (the cache is about the scoring inputs).
    at = clock.now_epoch()
    if cache_state == CACHE_BYPASSED:  # DynamoDB is most likely down: do not wait for it again
        submissions = fraud.unchecked(at)
    else:
        refs = fraud.signal_refs(application)
        submissions = fraud.check(
            dependencies,
            client_id,
            refs,
            decision_id,
            at,
            decision["outcome"] == "declined",
            served.logic.policy.fraud,
        )
    decision = fraud.with_signals(application, decision, submissions, served.logic)
    fraud.observe(decision)
    stored = False
    record = decision_record(
        decision_id,
        client_id,
        application,
        decision,
        "sync",
        dependencies.settings.record_retention_seconds,
        cached=cache_state == CACHE_HIT,
        decision_version=served.version_id,
        arm=served.arm,
        shadows=shadows,
        applicant=applicant,
    )
    # After a failed cache read DynamoDB is most likely down: do not wait for a second timeout.
    if cache_state != CACHE_BYPASSED:
        trail = reviews.trail_for_new_decision(
            record, submitted_at, application["loan_amount"], dependencies.settings.review_sla_business_days
        )
        try:
            store.put_decision(record, cache_entry, trail)
            stored = True
        except DependencyUnavailable as error:
            logger.warning(
                "decision not stored", extra={"dependency": error.dependency, "cause": error.cause}
            )
    count(_CACHE_METRICS[cache_state])
    count_decision(decision["outcome"], "sync")
    logger.info(
        "decision",
        extra={
            "decision_id": decision_id,
            "outcome": decision["outcome"],
            "cache": cache_state,
            "decision_version": served.version_id,
            "arm": served.arm,
        },
    )
    published = [DecisionEvent.made(record)]
    if decision["risk_flags"]:
        published.append(DecisionEvent.fraud_flagged(record))
    events.publish(dependencies, published)
    response: DecisionResponse = {
        "decision_id": decision_id,
        **decision,
        "model_version": decision["model"]["version"],
        "decision_version": served.version_id,
        "arm": served.arm,
        "cached": cache_state == CACHE_HIT,
        "cache": cache_state,
        "stored": stored,
    }
    return response


def _own_record(decision_id: str, dependencies: Dependencies, client_id: str) -> DecisionRecord:
    """The caller's decision record; another client's record is answered exactly as an unknown id."""
    if not listing.is_uuid(decision_id):
        raise not_found("decision")
    try:
        record = dependencies.store.get_decision(decision_id)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if record is None or not record["client_id"] or record["client_id"] != client_id:
        raise not_found("decision")
    return record


def decision_on_record(decision_id: str, dependencies: Dependencies, client_id: str) -> DecisionOnRecord:
    record = _own_record(decision_id, dependencies, client_id)
    # Every required key is here; the optional ones (application_id, final_*) are added below.
    body = cast(
        DecisionOnRecord,
        {
            "decision_id": record["decision_id"],
            **record["decision"],
            "model_version": record["decision"]["model"]["version"],
            "decision_version": record["decision_version"],
            "arm": record["arm"],
            "created_at": record["created_at"],
            "source": record["source"],
        },
    )
    if "application_id" in record:
        body["application_id"] = record["application_id"]
    if "final" in record:
        add_final_outcome(body, record["final"])
    if "loan_outcome" in record:  # issue 20: the latest reported loan outcome
        body["loan_outcome"] = record["loan_outcome"]
    return body


def decision_notice(decision_id: str, dependencies: Dependencies, client_id: str) -> Notice:
    """The lender's notice of the action taken: a reviewer's outcome once a referred decision is
    reviewed (the notice stored with it, or rendered from it for a review closed before notices were
    stored), else the engine's notice of a declined, counter-offered or referred decision."""
    record = _own_record(decision_id, dependencies, client_id)
    final = record.get("final")
    if final is not None:
        return final.get("notice") or reviews.reviewed_notice(
            record, final["final_outcome"], final["final_reason_codes"], final["final_decided_at"]
        )
    notice = record["decision"]["notice"]
    if notice is None:
        raise ServiceError(404, "no_notice", "an approved decision has no notice")
    return notice


# --------------------------------------------------------------------------------------------
# Re-deciding a stored decision with another version (not a decision of record)
# --------------------------------------------------------------------------------------------
_VERSION_ID = re.compile(r"^v[1-9][0-9]{0,8}$")


def _rerun_version(payload: object) -> str:
    """The ``version`` of a rerun body (ServiceError 400 naming every bad field)."""
    if not isinstance(payload, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    problems = [
        {"field": str(name), "problem": "is not a known field"} for name in payload if name != "version"
    ]
    version = payload.get("version")
    if not isinstance(version, str) or not _VERSION_ID.match(version):
        problems.insert(0, {"field": "version", "problem": "is required: a version id such as v2"})
    if problems:
        raise validation_failed(problems)
    return str(version)


def stored_inputs(record: DecisionRecord) -> Application:
    """The application a decision record keeps, without its personal fields (masked in the record,
    and never scored): the fields the decision was made from. ServiceError 409 if they no longer
    validate (a record older than a field it now needs)."""
    kept = {
        name: value
        for name, value in record["applicant"].items()
        if name in engine.APPLICATION_FIELDS and name not in engine.PERSONAL_FIELDS
    }
    try:
        return engine.validate_application(kept)
    except engine.ValidationFailed as failure:
        fields = ", ".join(error["field"] for error in failure.errors)
        raise ServiceError(
            409, "inputs_unavailable", f"the record's inputs do not validate: {fields}"
        ) from None


def _differences(on_record: Mapping[str, object], rerun: Mapping[str, object]) -> list[str]:
    # The notice is dated and worded from the rest; the model's id is in decision_version.
    return sorted(
        name for name in on_record if name not in ("notice", "model") and on_record[name] != rerun.get(name)
    )


def rerun_decision(
    decision_id: str, payload: object, dependencies: Dependencies, client_id: str
) -> DecisionRerun:
    """The caller's stored decision beside the same inputs decided by ``payload["version"]`` (400 bad
    body; 404 unknown or another client's decision, or an unknown version; 503 registry down)."""
    version_id = _rerun_version(payload)
    record = _own_record(decision_id, dependencies, client_id)
    try:
        logic = routing.version_logic(version_id, dependencies.versions)
    except routing.VersionNotFound:
        raise not_found("version") from None
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    decided_on = dt.date.fromisoformat(record["created_at"][:10])  # the notice as it would have been dated
    rerun = engine.decide(stored_inputs(record), *logic, decided_on=decided_on)
    count("Reruns")
    return {
        "decision_id": record["decision_id"],
        "on_record": {"decision_version": record["decision_version"], "decision": record["decision"]},
        "arm": record["arm"],
        "rerun": {"decision_version": version_id, "decision": rerun},
        "differences": _differences(record["decision"], rerun),
    }


_OUTCOMES = ("approved", "manual_review", "declined")


def list_decisions(
    dependencies: Dependencies,
    client_id: str,
    *,
    outcome: str | None,
    created_from: str | None,
    created_to: str | None,
    limit: str | None,
    cursor: str | None,
) -> DecisionList:
    """The caller's decisions, newest first, one page (ServiceError 400 naming a bad parameter)."""
    problems = listing.Problems()
    page_size = listing.page_size(limit, problems)
    if outcome is not None and outcome not in _OUTCOMES:
        problems.add("outcome", f"one of {', '.join(_OUTCOMES)}")
    created_range = listing.time_range(created_from, created_to, problems)
    problems.raise_if_any()
    query = {"outcome": outcome, "from": created_from, "to": created_to}
    start = cursors.decode(cursor, client_id, query)
    try:
        records, last = dependencies.store.query_decisions(
            client_id, outcome, created_range, page_size, start
        )
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    return {
        "items": records,
        "next_cursor": cursors.encode(last, client_id, query),
    }


def quick_eligibility(payload: object) -> engine.QuickEligibility:
    try:
        return engine.quick_eligibility(payload, PACKAGED.policy)
    except engine.ValidationFailed as failure:
        raise validation_failed(failure.errors) from None
