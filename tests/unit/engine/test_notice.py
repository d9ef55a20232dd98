"""notice: the statement a lender can send, as JSON and plain text."""

from __future__ import annotations

from engine_test_support import DECISION_DATE, decided


def test_a_decline_with_a_counteroffer() -> None:
    result = decided(loan_amount=3_000_000, loan_tenure_months=24)
    notice = result["notice"]
    assert notice is not None and notice["kind"] == "counteroffer"
    assert notice["date"] == DECISION_DATE.isoformat() == "2026-12-01"
    assert notice["principal_reasons"] == [{"code": r["code"], "text": r["text"]} for r in result["reasons"]]
    assert notice["credit_score"] == {"name": "CIBIL", "value": 790, "minimum": 300, "maximum": 900}
    assert notice["counteroffer"] == result["counteroffer"]
    text = notice["text"]
    assert "2026-12-01" in text and "declined" in text and "CIBIL 790 (range 300-900)" in text
    assert result["reasons"][0]["text"] in text
    assert f"INR {result['counteroffer']['loan_amount']:,}" in text


def test_a_model_decline_lists_the_key_factors() -> None:
    result = decided(cibil_score=600, late_payments_last_2_years=5, years_at_current_job=0)
    notice = result["notice"]
    assert notice is not None and notice["kind"] == "decline" and notice["counteroffer"] is None
    assert notice["key_factors"] and notice["key_factors"][0] in notice["text"]
    assert "Credit score (CIBIL)" in notice["key_factors"][0] or notice["key_factors"]


def test_an_approval_has_no_notice() -> None:
    assert decided()["notice"] is None
