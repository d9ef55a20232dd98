"""The manual-review desk: cases, claims, human decisions with maker-checker, the audit trail.

- Every ``manual_review`` outcome opens one case (sync: written with the decision; async: a
  conditional put by the worker, keyed by a review id derived from the decision id, so a
  redelivered message never opens a second one). Due ``review_sla_business_days`` business days
  (Mon-Fri) after it opens.
- One reviewer at a time: claim and release are conditional on the case's version, so of twenty
  simultaneous claims exactly one wins; the others get 409 naming the holder.
- Only the claiming reviewer decides: ``approved``, ``declined`` (needs a reason code) or
  ``counteroffer`` (the engine's counteroffer, re-decided by the engine; only when there is one).
  Reason codes come from the engine's catalogue. The reviewer's outcome is recorded beside the
  engine's (``final_outcome``), never over it.
- Maker-checker: an approval (or counteroffer) above the second-approval amount of the version that
  made the decision (its policy document's ``review_desk.second_approval_above_amount``) or against a
  failed blocking rule waits for a manager's second approval; the maker cannot be the checker.
- Every step is an entry of the subject's hash-chained audit trail (``chalicelib.audit_chain``).
- The notice of the action taken: a reviewer's outcome comes with the notice of it (the officer's
  reason codes, the engine's credit score and key factors), stored with the final outcome and served
  by ``GET /v1/decisions/{id}/notice``; its ``notice_issued`` audit entry carries the sha256 of the
  text served. The engine's own declines get their ``notice_issued`` entry with the decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import engine, resources
from chalicelib.audit_chain import chain, verify
from chalicelib.dal import DependencyUnavailable, NewTrail
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.engine.fraud import FRAUD_CODES
from chalicelib.engine.notice import render_reviewed_notice
from chalicelib.engine.types import Notice, NoticeReason
from chalicelib.errors import ErrorDetail, ServiceError, dependency_unavailable, not_found
from chalicelib.observability import count, logger
from chalicelib.records import (
    AuditDetail,
    AuditStep,
    AuditTrail,
    DecisionEvent,
    DecisionRecord,
    FinalRecord,
    ReviewCase,
    ReviewDetail,
    ReviewList,
    ReviewOutcome,
    ReviewSummary,
)
from chalicelib.service import clock, cursors, events, listing, routing
from chalicelib.service.decision_versions import PACKAGED
from chalicelib.service.dependencies import Dependencies

_REVIEW_NAMESPACE = uuid.UUID("1b9b3c1e-8a55-4e7d-9c0e-5f3d2a7b6c41")
STATUSES = ("open", "claimed", "closed")
OUTCOMES: tuple[ReviewOutcome, ...] = ("approved", "declined", "counteroffer")
ENGINE_ACTOR = "engine"


def review_id_for(decision_id: str) -> str:
    return str(uuid.uuid5(_REVIEW_NAMESPACE, decision_id))


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def due_at(opened_at: str, business_days: int) -> str:
    """``business_days`` working days (Mon-Fri) after ``opened_at``, same time of day."""
    moment = _parse(opened_at)
    remaining = business_days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return _iso(moment)


# --------------------------------------------------------------------------------------------
# A decision's trail, and its case when it goes to review
# --------------------------------------------------------------------------------------------
def _decision_steps(record: DecisionRecord, submitted_at: str) -> list[AuditStep]:
    decision = record["decision"]
    steps: list[AuditStep] = [
        ("submitted", record["client_id"], submitted_at, {"source": record["source"]}),
        (
            "decided",
            ENGINE_ACTOR,
            record["created_at"],
            {
                "decision_id": record["decision_id"],
                "outcome": decision["outcome"],
                "decided_by": decision["decided_by"],
                "model_version": decision["model"]["version"],
                "decision_version": record["decision_version"],
                "reason_codes": [reason["code"] for reason in decision["reasons"]],
            },
        ),
    ]
    if decision["outcome"] == "manual_review":
        steps.append(
            (
                "case_opened",
                ENGINE_ACTOR,
                record["created_at"],
                {"review_id": review_id_for(record["decision_id"])},
            )
        )
    elif decision["notice"] is not None:
        # The engine's decline (or counteroffer) is the action taken: its notice is issued now.
        # A referral's notice is not: the reviewer's outcome is, with a notice of its own.
        notice = decision["notice"]
        steps.append(("notice_issued", ENGINE_ACTOR, record["created_at"], notice_issued(record, notice)))
    return steps


def notice_issued(record: DecisionRecord, notice: Notice) -> dict[str, AuditDetail]:
    """A ``notice_issued`` entry's details: what the notice says, and the sha256 of its text, so the
    trail proves which text was issued (``GET /v1/decisions/{id}/notice`` serves that text)."""
    return {
        "decision_id": record["decision_id"],
        "kind": notice["kind"],
        "outcome": notice["outcome"],
        "decided_by": notice["decided_by"],
        "reason_codes": [reason["code"] for reason in notice["principal_reasons"]],
        "text_sha256": hashlib.sha256(notice["text"].encode()).hexdigest(),
    }


def reviewed_notice(record: DecisionRecord, final_outcome: str, codes: list[str], decided_at: str) -> Notice:
    """The notice of a reviewer's outcome on the referred decision ``record``: the officer's coded
    reasons (from the engine's catalogue: never the free-text note), the engine's credit score."""
    decision = record["decision"]
    referred = decision["notice"]
    if referred is None:  # every referral has a notice (engine.decide): a record that does not is broken
        raise ValueError(f"decision {record['decision_id']} has no notice to review")
    catalogue = engine.reason_catalogue(PACKAGED.policy)
    reasons: list[NoticeReason] = [{"code": code, "text": catalogue[code]} for code in codes]
    return render_reviewed_notice(
        referred,
        record["applicant"],
        final_outcome,
        reasons,
        decision["counteroffer"],
        dt.date.fromisoformat(decided_at[:10]),
    )


def new_case(record: DecisionRecord, subject_id: str, sla_business_days: int, loan_amount: int) -> ReviewCase:
    decision = record["decision"]
    case: ReviewCase = {
        "review_id": review_id_for(record["decision_id"]),
        "decision_id": record["decision_id"],
        "subject_id": subject_id,
        "client_id": record["client_id"],
        "status": "open",
        "opened_at": record["created_at"],
        "due_at": due_at(record["created_at"], sla_business_days),
        "loan_amount": loan_amount,
        "reasons": list(decision["reasons"]),
        "failed_blocking_rules": [
            check["id"]
            for check in decision["policy"]
            if not check["passed"] and check["severity"] == "block"
        ],
        "model": {
            "outcome": decision["outcome"],
            "decided_by": decision["decided_by"],
            "probability": decision["probability"],
            "model_probability": decision["model_probability"],
            "model_risk_band": decision["model_risk_band"],
        },
        "counteroffer": decision["counteroffer"],
        "decision_version": record["decision_version"],
        "expires_at": record["expires_at"],
    }
    if decision.get("risk_flags"):
        case["risk_flags"] = list(decision["risk_flags"])
    if "application_id" in record:
        case["application_id"] = record["application_id"]
    return case


def trail_for_new_decision(
    record: DecisionRecord, submitted_at: str, loan_amount: int, sla_business_days: int
) -> NewTrail:
    """What a fresh synchronous decision writes with itself: its trail, and its case if any."""
    subject = record["decision_id"]
    entries = chain(subject, _decision_steps(record, submitted_at))
    case = None
    if record["decision"]["outcome"] == "manual_review":
        case = new_case(record, subject, sla_business_days, loan_amount)
        count("ReviewsOpened")
    return NewTrail(entries, case)


def record_async_decision(
    dependencies: Dependencies, record: DecisionRecord, submitted_at: str, loan_amount: int
) -> None:
    """The trail and (for manual_review) the case of a queued application's decision. Computed
    from the stored decision and written only where absent: a redelivery repeats it harmlessly."""
    subject = record["application_id"]
    entries = chain(subject, _decision_steps(record, submitted_at))
    reviews = dependencies.reviews
    reviews.put_audit_entries(entries, record["expires_at"])
    if record["decision"]["outcome"] == "manual_review":
        case = new_case(record, subject, dependencies.settings.review_sla_business_days, loan_amount)
        if reviews.open_case(case, []):
            count("ReviewsOpened")


# --------------------------------------------------------------------------------------------
# Staff: list, read, claim, release, decide, second approval
# --------------------------------------------------------------------------------------------
def _summary(case: ReviewCase, now: datetime) -> ReviewSummary:
    summary: ReviewSummary = {
        "review_id": case["review_id"],
        "decision_id": case["decision_id"],
        "status": case["status"],
        "opened_at": case["opened_at"],
        "due_at": case["due_at"],
        "age_seconds": int((now - _parse(case["opened_at"])).total_seconds()),
        "seconds_to_sla": int((_parse(case["due_at"]) - now).total_seconds()),
        "loan_amount": case["loan_amount"],
        "model_outcome": case["model"]["outcome"],
        "awaiting_second_approval": "second_approval" in case,
    }
    if "claimed_by" in case:
        summary["claimed_by"] = case["claimed_by"]
    if case.get("risk_flags"):
        summary["risk_flags"] = [flag["code"] for flag in case["risk_flags"]]
    return summary


def list_cases(
    dependencies: Dependencies,
    *,
    status: str | None,
    limit: str | None,
    cursor: str | None,
    flag: str | None = None,
) -> ReviewList:
    """One page of cases in ``status``; with ``flag`` (a fraud code), only the cases carrying it: the
    page is filtered after the index read (as a FilterExpression would), so it may hold fewer than
    ``limit`` cases while ``next_cursor`` goes on."""
    problems = listing.Problems()
    page_size = listing.page_size(limit, problems)
    status = status or "open"
    if status not in STATUSES:
        problems.add("status", f"one of {', '.join(STATUSES)}")
    if flag is not None and flag not in FRAUD_CODES:
        problems.add("flag", "a fraud flag code (FRD-...)")
    problems.raise_if_any()
    query = {"status": status} if flag is None else {"status": status, "flag": flag}
    # Staff share one desk: the cursor is bound to the list, not to a client.
    start = cursors.decode(cursor, "review-desk", query)
    try:
        cases, last = dependencies.reviews.query_cases(status, page_size, start)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    now = datetime.now(UTC)
    if flag is not None:
        cases = [case for case in cases if any(f["code"] == flag for f in case.get("risk_flags", []))]
    return {
        "items": [_summary(case, now) for case in cases],
        "next_cursor": cursors.encode(last, "review-desk", query),
    }


def _case(dependencies: Dependencies, review_id: str) -> tuple[ReviewCase, int]:
    if not listing.is_uuid(review_id):
        raise not_found("review")
    try:
        found = dependencies.reviews.get_case(review_id)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if found is None:
        raise not_found("review")
    return found


def trail(dependencies: Dependencies, subject_id: str) -> AuditTrail:
    try:
        return verify(dependencies.reviews.audit_entries(subject_id))
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None


def case_detail(dependencies: Dependencies, review_id: str) -> ReviewDetail:
    case, _ = _case(dependencies, review_id)
    try:
        record = dependencies.store.get_decision(case["decision_id"])
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if record is None:
        raise not_found("review")
    detail: ReviewDetail = {
        **case,
        "decision": record["decision"],
        "applicant": record["applicant"],  # masked when stored: never the raw personal data
        "audit": trail(dependencies, case["subject_id"]),
    }
    return detail


def application_trail(dependencies: Dependencies, application_id: str) -> AuditTrail:
    if not listing.is_uuid(application_id):
        raise not_found("application")
    audit = trail(dependencies, application_id)
    if not audit["entries"]:
        raise not_found("application")
    return audit


def _conflict(case: ReviewCase, message: str) -> ServiceError:
    details: list[ErrorDetail] = [{"field": "status", "problem": f"the case is {case['status']}"}]
    if "claimed_by" in case:
        details.append({"field": "claimed_by", "problem": f"claimed by {case['claimed_by']}"})
    return ServiceError(409, "review_conflict", message, details)


def _save(dependencies: Dependencies, case: ReviewCase, version: int, step: AuditStep) -> ReviewCase:
    """Write the changed case if nobody changed it meanwhile, then append the step to the trail."""
    try:
        if not dependencies.reviews.replace_case(case, version):
            current, _ = _case(dependencies, case["review_id"])
            raise _conflict(current, "the case changed meanwhile")
        dependencies.reviews.append_audit(case["subject_id"], [step], case["expires_at"])
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    return case


def claim(dependencies: Dependencies, review_id: str, staff: str) -> ReviewCase:
    case, version = _case(dependencies, review_id)
    if case["status"] != "open":
        raise _conflict(case, "the case is not open")
    claimed_at = clock.now_iso()
    case["status"], case["claimed_by"], case["claimed_at"] = "claimed", staff, claimed_at
    return _save(dependencies, case, version, ("claimed", staff, claimed_at, {"review_id": review_id}))


def release(dependencies: Dependencies, review_id: str, staff: str) -> ReviewCase:
    case, version = _case(dependencies, review_id)
    if case["status"] != "claimed" or case.get("claimed_by") != staff:
        raise _conflict(case, "only the reviewer who claimed the case can release it")
    if "second_approval" in case:
        raise _conflict(case, "the case waits for a second approval")
    case["status"] = "open"
    case.pop("claimed_by", None)
    case.pop("claimed_at", None)
    return _save(dependencies, case, version, ("released", staff, clock.now_iso(), {"review_id": review_id}))


def _decision_request(payload: Any, case: ReviewCase) -> tuple[ReviewOutcome, list[str], str]:
    problems = listing.Problems()
    if not isinstance(payload, dict):
        problems.add("(body)", "a JSON object with outcome, reason_codes and note")
        problems.raise_if_any()
    unknown = sorted(set(payload) - {"outcome", "reason_codes", "note"})
    for name in unknown:
        problems.add(name, "unknown field")
    outcome = next((known for known in OUTCOMES if known == payload.get("outcome")), None)
    if outcome is None:
        problems.add("outcome", f"one of {', '.join(OUTCOMES)}")
    # null is taken as absent for the optional fields (the document marks them nullable).
    codes = [] if payload.get("reason_codes") is None else payload["reason_codes"]
    catalogue = engine.reason_catalogue(PACKAGED.policy)
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        problems.add("reason_codes", "a list of reason codes")
        codes = []
    elif [code for code in codes if code not in catalogue]:
        problems.add("reason_codes", f"unknown code(s): {', '.join(c for c in codes if c not in catalogue)}")
    elif len(codes) > 4:
        problems.add("reason_codes", "at most four principal reasons")
    if outcome == "declined" and not codes:
        problems.add("reason_codes", "a decline needs at least one reason code")
    note = "" if payload.get("note") is None else payload["note"]
    if not isinstance(note, str) or len(note) > 2000:
        problems.add("note", "text of at most 2,000 characters")
        note = ""
    problems.raise_if_any()
    assert outcome is not None  # raise_if_any raised otherwise
    # A well-formed request this case cannot take: a conflict with its state, not a bad request.
    if outcome == "counteroffer" and case.get("counteroffer") is None:
        raise _conflict(case, "this decision has no counteroffer to offer")
    return outcome, list(codes), note


def second_approval_above_amount(dependencies: Dependencies, case: ReviewCase) -> int:
    """The amount above which this case's approval needs a manager: the deployment's override if set
    (tests, demos), else that of the version that decided it, from its policy document (a 503 when the
    version cannot be loaded: maker-checker never guesses)."""
    override = dependencies.settings.second_approval_above_amount_override
    if override is not None:
        return override
    version_id = case.get("decision_version")
    try:
        if version_id is None:  # a case opened before cases recorded it: the decision has it
            record = dependencies.store.get_decision(case["decision_id"])
            version_id = record["decision_version"] if record is not None else PACKAGED_VERSION_ID
        policy = routing.version_logic(version_id, dependencies.versions).policy
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from error
    except (routing.VersionNotFound, ValueError) as error:
        logger.error("decision version unavailable", extra={"version": version_id, "problem": str(error)})
        raise dependency_unavailable("versions") from error
    return policy.second_approval_above_amount


def _needs_second_approval(dependencies: Dependencies, case: ReviewCase, outcome: ReviewOutcome) -> list[str]:
    if outcome == "declined":
        return []
    amount = case["loan_amount"]
    offer = case["counteroffer"]
    if outcome == "counteroffer" and offer is not None:
        amount = offer["loan_amount"]
    why = []
    limit = second_approval_above_amount(dependencies, case)
    if amount > limit:
        why.append(f"amount {amount} above {limit}")
    why += [f"against blocking rule {rule}" for rule in case["failed_blocking_rules"]]
    return why


def decide(dependencies: Dependencies, review_id: str, staff: str, payload: Any) -> ReviewCase:
    case, version = _case(dependencies, review_id)
    if case["status"] != "claimed":
        raise _conflict(case, "claim the case before deciding it")
    if case.get("claimed_by") != staff:
        raise _conflict(case, "only the reviewer who claimed the case can decide it")
    if "second_approval" in case:
        raise _conflict(case, "the case already waits for a second approval")
    outcome, codes, note = _decision_request(payload, case)
    now = clock.now_iso()
    why = _needs_second_approval(dependencies, case, outcome)
    if why:
        case["second_approval"] = {
            "maker": staff,
            "proposed": outcome,
            "reason_codes": codes,
            "note": note,
            "proposed_at": now,
            "why": why,
        }
        step: AuditStep = (
            "second_approval_requested",
            staff,
            now,
            {"proposed": outcome, "reason_codes": codes, "why": why},
        )
        return _save(dependencies, case, version, step)
    return _close(dependencies, case, version, staff, outcome, codes, note, checker=None)


def second_approval(dependencies: Dependencies, review_id: str, manager: str, payload: Any) -> ReviewCase:
    case, version = _case(dependencies, review_id)
    pending = case.get("second_approval")
    if pending is None:
        raise _conflict(case, "the case does not wait for a second approval")
    if pending["maker"] == manager:
        raise ServiceError(
            403, "maker_checker", "the reviewer who proposed the outcome cannot also approve it", []
        )
    problems = listing.Problems()
    approve = payload.get("approve") if isinstance(payload, dict) else None
    if not isinstance(approve, bool):
        problems.add("approve", "true or false")
    note = payload.get("note") if isinstance(payload, dict) else None
    note = "" if note is None else note
    if not isinstance(note, str) or len(note) > 2000:
        problems.add("note", "text of at most 2,000 characters")
    problems.raise_if_any()
    if not approve:
        case.pop("second_approval")
        step: AuditStep = (
            "second_approval_refused",
            manager,
            clock.now_iso(),
            {"proposed": pending["proposed"]},
        )
        return _save(dependencies, case, version, step)
    return _close(
        dependencies,
        case,
        version,
        pending["maker"],
        pending["proposed"],
        pending["reason_codes"],
        pending["note"],
        checker=manager,
    )


def _close(
    dependencies: Dependencies,
    case: ReviewCase,
    version: int,
    reviewer: str,
    outcome: ReviewOutcome,
    codes: list[str],
    note: str,
    *,
    checker: str | None,
) -> ReviewCase:
    now = clock.now_iso()
    case.pop("second_approval", None)
    case["status"], case["final_outcome"], case["final_reason_codes"] = "closed", outcome, codes
    case["final_note"], case["reviewed_by"], case["closed_at"] = note, reviewer, now
    details: dict[str, AuditDetail] = {
        "outcome": outcome,
        "model_outcome": case["model"]["outcome"],
        "reason_codes": codes,
    }
    steps: list[AuditStep] = []
    if checker is not None:
        case["checked_by"] = checker
        steps.append(("second_approval", checker, now, {"outcome": outcome}))
    steps.append(("reviewed", reviewer, now, details))
    try:
        record = dependencies.store.get_decision(case["decision_id"])
        if record is None:
            raise not_found("review")
        # The action taken, with the notice of it: the one the client's notice route serves.
        notice = reviewed_notice(record, outcome, codes, now)
        steps.append(("notice_issued", reviewer, now, notice_issued(record, notice)))
        final: FinalRecord = {
            "final_outcome": outcome,
            "final_decided_by": "reviewer",
            "final_reason_codes": codes,
            "final_decided_at": now,
            "notice": notice,
        }
        if not dependencies.reviews.replace_case(case, version):
            current, _ = _case(dependencies, case["review_id"])
            raise _conflict(current, "the case changed meanwhile")
        dependencies.reviews.append_audit(case["subject_id"], steps, case["expires_at"])
        dependencies.store.set_final_outcome(case["decision_id"], case.get("application_id"), final)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    _completed_metrics(dependencies, case, outcome, now)
    return case


def _completed_metrics(dependencies: Dependencies, case: ReviewCase, outcome: str, closed_at: str) -> None:
    count("ReviewsCompleted")
    model_view = "approved" if case["model"]["model_probability"] >= 0.5 else "declined"
    if outcome != model_view and not (outcome == "counteroffer" and model_view == "declined"):
        count("ReviewOverrides")
    seconds = (_parse(closed_at) - _parse(case["opened_at"])).total_seconds()
    count("ReviewTimeToDecideSeconds", seconds)
    REVIEW_COUNTERS.completed(outcome != model_view, seconds)
    logger.info("review completed", extra={"review_id": case["review_id"], "outcome": outcome})
    events.publish(
        dependencies,
        [
            DecisionEvent(
                decision_id=case["decision_id"],
                client_id=case["client_id"],
                outcome=outcome,
                decided_by="reviewer",
                model_version="",
                source="async" if "application_id" in case else "sync",
                decided_at=closed_at,
                application_id=case.get("application_id"),
                detail_type=resources.REVIEW_COMPLETED,
            )
        ],
    )


# --------------------------------------------------------------------------------------------
# Oversight figures
# --------------------------------------------------------------------------------------------
class ReviewCounters:
    """This instance's review counters for /metrics (fleet-wide figures: EMF in CloudWatch)."""

    def __init__(self) -> None:
        self.completed_total = 0
        self.overrides_total = 0
        self.time_to_decide_seconds_sum = 0.0

    def completed(self, overridden: bool, seconds_to_decide: float) -> None:
        self.completed_total += 1
        self.overrides_total += int(overridden)
        self.time_to_decide_seconds_sum += seconds_to_decide


REVIEW_COUNTERS = ReviewCounters()


def backlog(dependencies: Dependencies, now: datetime | None = None) -> dict[str, float]:
    """Open and claimed cases, the oldest open case's age, and how many are past their SLA."""
    now = now or datetime.now(UTC)
    open_cases: list[ReviewCase] = []
    for status in ("open", "claimed"):
        cases, _ = dependencies.reviews.query_cases(status, resources.LIST_MAX_LIMIT, None)
        open_cases += cases
    ages = [(now - _parse(case["opened_at"])).total_seconds() for case in open_cases]
    breached = sum(1 for case in open_cases if _parse(case["due_at"]) < now)
    return {
        "open": float(len(open_cases)),
        "oldest_open_age_seconds": max(ages, default=0.0),
        "sla_breached": float(breached),
    }


def emit_backlog_metrics(dependencies: Dependencies) -> dict[str, float]:
    figures = backlog(dependencies)
    count("ReviewsOpen", figures["open"])
    count("ReviewOldestOpenAgeSeconds", figures["oldest_open_age_seconds"])
    count("ReviewSlaBreached", figures["sla_breached"])
    return figures
