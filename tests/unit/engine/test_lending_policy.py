"""The lending policy as a document: version 1 is valid and typed, a document that fails names every
offending path, the checker agrees with jsonschema, and the numbers really come from the document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from engine_test_support import (
    MODEL,
    POLICY,
    decide_v1,
    edited,
    policy_v1_document,
    policy_with,
    strong_application,
    training_rows,
)

from chalicelib.engine import PolicyInvalid, decide, load_policy, policy_schema, validate_application
from chalicelib.engine.artifact import build_model, canonical_sha256
from chalicelib.engine.json_schema import assert_supported, schema_errors
from chalicelib.engine.lending_policy import POLICY_SCHEMA_PATH, POLICY_V1_PATH, policy_sha256
from chalicelib.engine.policy import RULE_IDS, RULE_SPECS

# One invalid value per kind of check the schema makes (JSON pointer -> value; None deletes the key).
MUTATIONS: list[tuple[str, Any]] = [
    ("/bands/approve", 1.5),  # maximum
    ("/bands/review", "high"),  # type
    ("/rules/POL-AGE-MIN/limit", 20.5),  # integer
    ("/rules/POL-FOIR-MAX/severity", "deny"),  # enum through $ref
    ("/rules/POL-FOIR-MAX/limit", 0),  # exclusiveMinimum
    ("/rate_card/base_annual_rate", 0.0001),  # minimum
    ("/rate_card/risk_premiums/F", 0.1),  # additionalProperties
    ("/rate_card/risk_premiums/E", None),  # required
    ("/counteroffer/max_tenure_months", 30),  # enum
    ("/policy_format", 2),  # const
    ("/policy_id", "Bad Id"),  # pattern
    ("/warnings_for_review", True),  # a boolean is not an integer
    ("/version", ""),  # minLength and pattern
    ("/suggestions/reapply_after_months", None),  # required, nested
]


RATE_CARD_V1: dict[str, Any] = policy_v1_document()["rate_card"]


def mutated(*mutations: tuple[str, Any]) -> dict[str, Any]:
    document = policy_v1_document()
    for path, value in mutations:
        if value is None:
            *parents, last = path.split("/")[1:]
            node = document
            for token in parents:
                node = node[token]
            del node[last]
        else:
            edited(document, {path: value})
    return document


def jsonschema_paths(document: object) -> list[str]:
    """jsonschema's errors as the pointers our checker reports: a missing or unexpected property is
    named by its own path (jsonschema names the object that holds it)."""
    paths: list[str] = []
    validator = jsonschema.Draft202012Validator(dict(policy_schema()))
    for error in validator.iter_errors(document):
        base = "".join(f"/{token}" for token in error.absolute_path)
        if error.validator == "required":
            paths += [f"{base}/{name}" for name in error.validator_value if name not in error.instance]
        elif error.validator == "additionalProperties":
            declared = error.schema.get("properties", {})
            paths += [f"{base}/{name}" for name in error.instance if name not in declared]
        else:
            paths.append(base)
    return sorted(paths)


def our_paths(document: object) -> list[str]:
    return sorted(error.path for error in schema_errors(policy_schema(), document))


def test_version_1_is_valid_by_the_json_schema_standard_and_loads() -> None:
    schema = json.loads(POLICY_SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    document = policy_v1_document()
    assert jsonschema_paths(document) == our_paths(document) == []
    assert (POLICY.policy_id, POLICY.version) == ("personal-loan", "1")
    assert POLICY.sha256 == policy_sha256(json.loads(POLICY_V1_PATH.read_text(encoding="utf-8")))


def test_the_document_has_exactly_the_rules_of_the_table_and_a_limit_where_a_rule_has_one() -> None:
    schema_rules = policy_schema()["properties"]["rules"]
    assert tuple(schema_rules["properties"]) == RULE_IDS == tuple(schema_rules["required"])
    for spec in RULE_SPECS:
        has_limit = "limit" in schema_rules["properties"][spec.id]["properties"]
        assert has_limit == (spec.limit is not None), spec.id
    assert tuple(rule.id for rule in POLICY.rules) == RULE_IDS


def test_version_1_holds_todays_numbers() -> None:
    assert POLICY.bands == (0.65, 0.45, 0.05)
    assert (POLICY.limits.max_foir, POLICY.limits.foir_review_above) == (0.6, 0.5)
    assert (POLICY.limits.min_age, POLICY.limits.min_monthly_income) == (21, 15_000)
    assert dict(POLICY.rate_card) == {"A": 0.10, "B": 0.12, "C": 0.14, "D": 0.16, "E": 0.16}
    assert POLICY.counteroffer == (25_000, 25_000, 60)
    assert POLICY.warnings_for_review == 3 and POLICY.second_approval_above_amount == 2_000_000


def test_a_policy_cannot_be_changed_after_loading() -> None:
    with pytest.raises(TypeError):
        POLICY.rate_card["A"] = 0.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        POLICY.bands.approve = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(("path", "value"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_the_checker_names_the_same_paths_as_jsonschema(path: str, value: Any) -> None:
    document = mutated((path, value))
    assert our_paths(document) == jsonschema_paths(document) != []
    assert path in our_paths(document)


def test_every_offending_path_is_named_at_once() -> None:
    document = mutated(*MUTATIONS)
    with pytest.raises(PolicyInvalid) as failure:
        load_policy(document)
    named = [error["path"] for error in failure.value.errors]
    assert sorted(named) == jsonschema_paths(document)
    assert {path for path, _ in MUTATIONS} <= set(named)
    assert all(error["problem"] for error in failure.value.errors)


def test_a_document_that_is_not_an_object_is_rejected_whole() -> None:
    with pytest.raises(PolicyInvalid) as failure:
        load_policy([])
    assert failure.value.errors == [{"path": "", "problem": "must be of type object, not array"}]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"/rules/POL-FOIR-REVIEW/limit": 0.65}, "/rules/POL-FOIR-REVIEW/limit"),
        ({"/rules/POL-DTI-HIGH/limit": 0.7}, "/rules/POL-DTI-HIGH/limit"),
        ({"/rules/POL-LOANS-HIGH/limit": 6}, "/rules/POL-LOANS-HIGH/limit"),
        ({"/bands/review": 0.7}, "/bands/review"),
    ],
)
def test_a_band_above_its_harder_limit_is_rejected(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(PolicyInvalid) as failure:
        policy_with(changes)
    assert [error["path"] for error in failure.value.errors] == [path]


def test_the_checker_refuses_a_keyword_it_does_not_implement() -> None:
    with pytest.raises(ValueError, match="oneOf"):
        assert_supported({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}})
    with pytest.raises(ValueError, match=r"\$ref"):
        assert_supported({"$ref": "https://example.invalid/other.json"})
    assert_supported(dict(policy_schema()))


# The numbers come from the document ------------------------------------------------------------------

FOIR_57 = {"loan_amount": 2_125_000}  # FOIR about 57% on the strong profile: inside version 1's review band


def _decision(policy: Any = POLICY) -> dict[str, Any]:
    return dict(decide_v1(validate_application(strong_application(**FOIR_57)), policy))


def test_a_lower_foir_limit_declines_what_version_1_refers() -> None:
    before = _decision()
    assert 0.55 < before["affordability"]["foir"] <= 0.60
    assert before["outcome"] == "manual_review"
    assert [r["code"] for r in before["reasons"]] == ["POL-FOIR-REVIEW"]
    after = _decision(policy_with({"/rules/POL-FOIR-MAX/limit": 0.55}))
    assert after["outcome"] == "declined" and after["decided_by"] == "policy"
    assert after["reasons"][0]["code"] == "POL-FOIR-MAX" and "the limit is 55%" in after["reasons"][0]["text"]
    assert after["counteroffer"] is not None and after["counteroffer"]["foir"] <= 0.55


def test_a_wider_review_band_approves_what_version_1_refers() -> None:
    after = _decision(policy_with({"/rules/POL-FOIR-REVIEW/limit": 0.6}))
    assert after["outcome"] == "approved" and after["reasons"] == []


def test_a_rule_takes_its_severity_from_the_document() -> None:
    application = validate_application(strong_application(has_defaults=True))
    assert decide_v1(application)["outcome"] == "manual_review"
    declining = policy_with({"/rules/POL-DEFAULT-REFER/severity": "fail"})
    result = decide_v1(application, declining)
    assert result["outcome"] == "declined" and result["reasons"][0]["code"] == "POL-DEFAULT-REFER"


@pytest.mark.parametrize("rate", [1e-300, 0.0001, 0.0399, 0, -0.1])
def test_a_base_rate_under_the_floor_is_refused_naming_its_pointer(rate: float) -> None:
    # A near-zero rate leaves the instalment formula dividing by zero: the schema refuses it before
    # any engine sees it (once only a registration's holdout run caught it, as an ArithmeticError).
    with pytest.raises(PolicyInvalid) as refused:
        load_policy(policy_v1_document() | {"rate_card": {**RATE_CARD_V1, "base_annual_rate": rate}})
    assert refused.value.errors == [
        {"path": "/rate_card/base_annual_rate", "problem": refused.value.errors[0]["problem"]}
    ]
    assert "0.04" in refused.value.errors[0]["problem"]


def test_the_lowest_rate_the_schema_admits_decides_every_row() -> None:
    floor = policy_schema()["properties"]["rate_card"]["properties"]["base_annual_rate"]["minimum"]
    cheapest = policy_with({"/rate_card/base_annual_rate": floor, "/rate_card/risk_premiums/A": 0.0})
    assert min(cheapest.rate_card.values()) == floor == 0.04
    outcomes = {decide_v1(application, cheapest)["outcome"] for application in _rows()}
    assert outcomes <= {"approved", "manual_review", "declined"} and "approved" in outcomes


def test_the_rate_card_and_bands_come_from_the_document() -> None:
    dearer = policy_with({"/rate_card/base_annual_rate": 0.12})
    before, after = _decision(), _decision(dearer)
    assert (before["pricing"]["annual_rate"], after["pricing"]["annual_rate"]) == (0.10, 0.12)
    assert after["affordability"]["foir"] > before["affordability"]["foir"]
    strict = policy_with({"/bands/approve": 0.99, "/bands/low_confidence_margin": 0.01})
    assert decide_v1(validate_application(strong_application()), strict)["thresholds"]["approve"] == 0.99


def _rows() -> Iterator[dict[str, Any]]:
    for application, _ in training_rows()[:1000]:
        yield application


def test_no_row_is_approved_or_referred_over_a_lowered_foir_limit() -> None:
    lowered = policy_with({"/rules/POL-FOIR-MAX/limit": 0.55, "/rules/POL-FOIR-REVIEW/limit": 0.45})
    changed = 0
    for application in _rows():
        before, after = decide_v1(application), decide_v1(application, lowered)
        foir = after["affordability"]["foir"]
        if foir > 0.55:
            assert after["outcome"] == "declined"
        if after["outcome"] == "approved":
            assert foir <= 0.45
        changed += before["outcome"] != after["outcome"]
    assert changed > 0


def test_the_model_is_an_argument_too() -> None:
    document = {**MODEL.document, "version": "9.9.9-test", "base_points": MODEL.base_points - 200}
    other = build_model({**document, "sha256": canonical_sha256(document)})
    application = validate_application(strong_application())
    packaged, with_other = decide_v1(application), decide(application, other, POLICY)
    assert packaged["model"] == MODEL.info() and with_other["model"]["version"] == "9.9.9-test"
    assert with_other["score"] == packaged["score"] - 200
