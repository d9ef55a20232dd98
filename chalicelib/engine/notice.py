"""The notice a lender sends for a declined, counter-offered or referred application, as JSON and text.

What it states, as lending rules ask (US Reg B's statement of specific reasons, the RBI Fair Practices
Code's written reasons for a rejection): the principal reasons (at most four, from what actually
decided: the decision's ``reasons``), the credit score used and its range, the key factors that
lowered the score, the counteroffer if there is one, and the date of the decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.engine.schema import APPLICATION_FIELDS
from chalicelib.engine.types import Counteroffer, CreditScoreUsed, Notice, NoticeReason, Reason

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
}


def _counteroffer_text(offer: Counteroffer) -> str:
    return (
        f"We can offer INR {offer['loan_amount']:,} over {offer['loan_tenure_months']} months at "
        f"{offer['annual_rate']:.2%} a year (EMI INR {offer['emi']:,.2f}); on these terms the "
        f"application is {_OUTCOME_TEXT[offer['outcome']]}."
    )


def render_notice(
    application: Mapping[str, Any],
    outcome: str,
    decided_by: str,
    reasons: list[Reason],
    key_factors: list[str],
    counteroffer: Counteroffer | None,
    decided_on: dt.date,
) -> Notice:
    """The notice for one decision (call it for a decision that is not a plain approval)."""
    kind = "counteroffer" if counteroffer else "review" if outcome == "manual_review" else "decline"
    principal: list[NoticeReason] = [{"code": r["code"], "text": r["text"]} for r in reasons]
    credit: CreditScoreUsed = {
        "name": CREDIT_SCORE_NAME,
        "value": int(application["cibil_score"]),
        "minimum": int(_CIBIL.minimum or 0),
        "maximum": int(_CIBIL.maximum or 0),
    }
    lines = [
        f"Decision on your loan application, {decided_on.isoformat()}",
        "",
        f"Your application for INR {application['loan_amount']:,} over {application['loan_tenure_months']} "
        f"months has been {_OUTCOME_TEXT[outcome]}, as decided by {_DECIDED_BY_TEXT[decided_by]}.",
        "",
        "Principal reasons:",
        *(f"{i}. {r['text']}" for i, r in enumerate(principal, start=1)),
        "",
        f"Credit score used: {credit['name']} {credit['value']} "
        f"(range {credit['minimum']}-{credit['maximum']}).",
    ]
    if key_factors:
        lines += ["Key factors that lowered your score:", *(f"- {factor}" for factor in key_factors)]
    if counteroffer:
        lines += ["", _counteroffer_text(counteroffer)]
    return {
        "kind": kind,  # type: ignore[typeddict-item]  # one of the notice kinds
        "date": decided_on.isoformat(),
        "outcome": outcome,  # type: ignore[typeddict-item]
        "decided_by": decided_by,  # type: ignore[typeddict-item]
        "principal_reasons": principal,
        "credit_score": credit,
        "key_factors": key_factors,
        "counteroffer": counteroffer,
        "text": "\n".join(lines) + "\n",
    }
