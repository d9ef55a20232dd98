"""The review desk's second-approval amount comes from the policy document of the version that made
the decision (issue 18: every lending number in the document), not from a constant in code; the
environment override stays for tests and demos and wins when set."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib import engine
from chalicelib.config import load_settings
from chalicelib.errors import ServiceError
from chalicelib.service import decisions, reviews, routing
from tests.support.review_cases import manual_review_application
from tests.support.versions import policy_v1, register, route

CLIENT = "client-key-id"
REVIEWER = "sub-reviewer-1"
PACKAGED_AMOUNT = engine.packaged_version().policy.second_approval_above_amount


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    twin = request.getfixturevalue(request.param)
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    return twin


def with_amount(amount: int) -> dict[str, Any]:
    """Policy version 1 with another second-approval amount (nothing else differs)."""
    document = copy.deepcopy(policy_v1())
    document["version"] = f"1-second-approval-{amount}"
    document["review_desk"]["second_approval_above_amount"] = amount
    return document


def referred(deps: Any) -> tuple[dict[str, Any], str]:
    """A manual_review decision claimed by REVIEWER: (the decision, its review id)."""
    made = decisions.make_decision(manual_review_application(), deps, CLIENT)
    assert made["outcome"] == "manual_review" and made["stored"] is True
    review_id = reviews.review_id_for(made["decision_id"])
    reviews.claim(deps, review_id, REVIEWER)
    return dict(made), review_id


def test_the_packaged_versions_amount_lets_an_ordinary_approval_close(deps: Any) -> None:
    made, review_id = referred(deps)
    assert made["decision_version"] == "v1" and manual_review_application()["loan_amount"] <= PACKAGED_AMOUNT

    closed = reviews.decide(deps, review_id, REVIEWER, {"outcome": "approved"})

    assert closed["status"] == "closed" and "second_approval" not in closed
    assert closed["decision_version"] == "v1"


def test_a_champion_with_a_lower_amount_makes_the_same_approval_wait_for_a_manager(deps: Any) -> None:
    loan = manual_review_application()["loan_amount"]
    strict = register(deps.versions, with_amount(loan - 1))
    route(deps.versions, strict)
    made, review_id = referred(deps)
    assert made["decision_version"] == strict

    pending = reviews.decide(deps, review_id, REVIEWER, {"outcome": "approved"})

    assert pending["status"] == "claimed"
    assert pending["second_approval"]["why"] == [f"amount {loan} above {loan - 1}"]


def test_the_amount_is_the_deciding_versions_even_after_the_champion_changed(deps: Any) -> None:
    loan = manual_review_application()["loan_amount"]
    strict = register(deps.versions, with_amount(loan - 1))
    route(deps.versions, strict)
    _, review_id = referred(deps)
    route(deps.versions, "v1")  # rolled back before the reviewer decides

    pending = reviews.decide(deps, review_id, REVIEWER, {"outcome": "approved"})

    assert pending["second_approval"]["why"] == [f"amount {loan} above {loan - 1}"]


def test_a_case_opened_before_cases_recorded_the_version_reads_the_decisions(
    memory: Any, monkeypatch
) -> None:
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))
    loan = manual_review_application()["loan_amount"]
    route(memory.memory_versions, register(memory.memory_versions, with_amount(loan - 1)))
    _, review_id = referred(memory)
    [(case, _)] = memory.memory_reviews.cases.values()
    del case["decision_version"]

    pending = reviews.decide(memory, review_id, REVIEWER, {"outcome": "approved"})

    assert pending["second_approval"]["why"] == [f"amount {loan} above {loan - 1}"]


def test_the_environment_override_wins_over_the_version(deps: Any) -> None:
    loan = manual_review_application()["loan_amount"]
    route(deps.versions, register(deps.versions, with_amount(loan - 1)))
    deps.settings = deps.settings._replace(second_approval_above_amount_override=10**12)
    _, review_id = referred(deps)

    closed = reviews.decide(deps, review_id, REVIEWER, {"outcome": "approved"})

    assert closed["status"] == "closed" and "second_approval" not in closed


def test_a_deciding_version_that_cannot_be_loaded_is_a_503_not_a_guess(memory: Any, monkeypatch) -> None:
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    loan = manual_review_application()["loan_amount"]
    strict = register(memory.memory_versions, with_amount(loan - 1))
    route(memory.memory_versions, strict)
    _, review_id = referred(memory)
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())  # another instance decides
    memory.memory_versions._versions[strict]["policy_document"]["review_desk"][
        "second_approval_above_amount"
    ] = 1

    with pytest.raises(ServiceError) as refused:
        reviews.decide(memory, review_id, REVIEWER, {"outcome": "approved"})

    assert refused.value.status == 503 and refused.value.details[0]["field"] == "versions"
    [(case, _)] = memory.memory_reviews.cases.values()
    assert case["status"] == "claimed" and "second_approval" not in case


def test_the_override_is_unset_unless_the_environment_sets_it() -> None:
    assert load_settings({"STAGE": "dev"}).second_approval_above_amount_override is None
    settings = load_settings({"STAGE": "dev", "SECOND_APPROVAL_ABOVE_AMOUNT": "500000"})
    assert settings.second_approval_above_amount_override == 500_000
