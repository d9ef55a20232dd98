"""The notice a lender sends for a declined, counter-offered or referred application, as JSON and text,
and the notice of the action a credit officer took on a referred one (``render_reviewed_notice``).

What it states, as lending rules ask (US Reg B's statement of specific reasons, the RBI Fair Practices
Code's written reasons for a rejection): the principal reasons (at most four, from what actually
decided: the decision's ``reasons``), the credit score used and its range, the key factors that
lowered the score, the counteroffer if there is one, and the date of the decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal, cast

from chalicelib.engine.schema import APPLICATION_FIELDS
from chalicelib.engine.types import (
    Application,
    Counteroffer,
    CreditScoreUsed,
    DecidedBy,
    Notice,
    NoticeKind,
    NoticeReason,
    Outcome,
    Reason,
)

CREDIT_SCORE_NAME = "CIBIL"
_CIBIL = APPLICATION_FIELDS["cibil_score"]
_OUTCOME_TEXT = {
    "declined": "declined",
    "manual_review": "referred to a credit officer",
    "approved": "approved",
}
_DECIDED_BY_TEXT = {
    "policy": "our lending policy",
    "model": "our credit model",
    "policy+model": "our lending policy and our credit model",
    "reviewer": "a credit officer who reviewed it",
}
# A reviewer's final outcome -> the notice's kind and the application's outcome on its own terms
# (a counteroffer declines the terms applied for and offers others).
_REVIEWED: dict[str, tuple[NoticeKind, Outcome]] = {
    "approved": ("approval", "approved"),
    "declined": ("decline", "declined"),
    "counteroffer": ("counteroffer", "declined"),
}


def _counteroffer_text(offer: Counteroffer) -> str:
    return (
        f"We can offer INR {offer['loan_amount']:,} over {offer['loan_tenure_months']} months at "
        f"{offer['annual_rate']:.2%} a year (EMI INR {offer['emi']:,.2f}); on these terms the "
        f"application is {_OUTCOME_TEXT[offer['outcome']]}."
    )


def render_notice(
    application: Application,
    outcome: str,
    decided_by: str,
    reasons: list[Reason],
    key_factors: list[str],
    counteroffer: Counteroffer | None,
    decided_on: dt.date,
) -> Notice:
    """The notice for one decision (call it for a decision that is not a plain approval)."""
    kind: NoticeKind = (
        "counteroffer" if counteroffer else "review" if outcome == "manual_review" else "decline"
    )
    principal: list[NoticeReason] = [{"code": r["code"], "text": r["text"]} for r in reasons]
    credit: CreditScoreUsed = {
        "name": CREDIT_SCORE_NAME,
        "value": int(application["cibil_score"]),
        "minimum": int(_CIBIL.minimum or 0),
        "maximum": int(_CIBIL.maximum or 0),
    }
    engine_outcome, engine_decided_by = cast(Outcome, outcome), cast(DecidedBy, decided_by)
    return _notice(
        application,
        kind,
        engine_outcome,
        engine_decided_by,
        principal,
        credit,
        key_factors,
        counteroffer,
        decided_on,
    )


def render_reviewed_notice(
    referred: Notice,
    application: Mapping[str, object],
    final_outcome: str,
    reasons: list[NoticeReason],
    counteroffer: Counteroffer | None,
    decided_on: dt.date,
) -> Notice:
    """The notice of the action a credit officer took on a referred application (``referred`` is the
    engine's notice of the referral: the credit score used and its key factors are the same), with
    the officer's coded reasons. ``application`` needs only the amount and tenure applied for."""
    kind, outcome = _REVIEWED[final_outcome]
    return _notice(
        application,
        kind,
        outcome,
        "reviewer",
        reasons,
        referred["credit_score"],
        [] if kind == "approval" else referred["key_factors"],
        counteroffer if kind == "counteroffer" else None,
        decided_on,
    )


def _notice(
    application: Mapping[str, object],
    kind: NoticeKind,
    outcome: Outcome,
    decided_by: DecidedBy | Literal["reviewer"],
    principal: list[NoticeReason],
    credit: CreditScoreUsed,
    key_factors: list[str],
    counteroffer: Counteroffer | None,
    decided_on: dt.date,
) -> Notice:
    lines = [
        f"Decision on your loan application, {decided_on.isoformat()}",
        "",
        f"Your application for INR {application['loan_amount']:,} over {application['loan_tenure_months']} "
        f"months has been {_OUTCOME_TEXT[outcome]}, as decided by {_DECIDED_BY_TEXT[decided_by]}.",
    ]
    if principal or kind != "approval":
        lines += ["", "Principal reasons:", *(f"{i}. {r['text']}" for i, r in enumerate(principal, start=1))]
    lines += [
        "",
        f"Credit score used: {credit['name']} {credit['value']} "
        f"(range {credit['minimum']}-{credit['maximum']}).",
    ]
    if key_factors:
        lines += ["Key factors that lowered your score:", *(f"- {factor}" for factor in key_factors)]
    if counteroffer:
        lines += ["", _counteroffer_text(counteroffer)]
    return {
        "kind": kind,
        "date": decided_on.isoformat(),
        "outcome": outcome,
        "decided_by": decided_by,
        "principal_reasons": principal,
        "credit_score": credit,
        "key_factors": key_factors,
        "counteroffer": counteroffer,
        "text": "\n".join(lines) + "\n",
    }
