"""Realistic examples for the OpenAPI document (shown and sent by Swagger UI's "try it out").

The request example is the README's sample application. The two decision examples are GENERATED
when the document is built, by ``engine.decide`` on that application (approved) and on the same
applicant asking over 12 months (declined by policy, with a counteroffer): they cannot drift from
what the engine answers. Ids and the date are fixed so that the document is the same on every
build. Error examples are built with the same constructors the handlers raise
(``chalicelib.errors``, ``gateway_responses``), so each shows a real code, message and details.
``tests/unit/http/test_openapi_examples.py`` validates every example against its schema.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from chalicelib import engine, resources
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError, dependency_unavailable, error_body, not_found, validation_failed
from chalicelib.http.gateway_responses import INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED, UNAUTHORIZED
from chalicelib.service.decision_versions import PACKAGED

Example = dict[str, Any]

# The README's sample (and devstack.samples' first row, without personal data).
APPLICATION_EXAMPLE: dict[str, Any] = {
    "age": 39,
    "gender": "Male",
    "city": "Jaipur",
    "education": "High School",
    "marital_status": "Married",
    "num_dependents": 1,
    "employment_type": "Salaried",
    "industry": "Healthcare",
    "years_at_current_job": 3,
    "monthly_income": 80455,
    "existing_emi": 0,
    "num_existing_loans": 0,
    "cibil_score": 754,
    "credit_history_years": 0,
    "late_payments_last_2_years": 0,
    "has_defaults": False,
    "owns_property": True,
    "savings_balance": 423512,
    "years_with_bank": 0,
    "loan_amount": 1250000,
    "loan_tenure_months": 48,
    "loan_purpose": "Home Renovation",
}
# The same applicant over 12 months: the instalment alone would be 137% of income.
DECLINED_APPLICATION_EXAMPLE: dict[str, Any] = {**APPLICATION_EXAMPLE, "loan_tenure_months": 12}

EXAMPLE_DATE = dt.date(2026, 11, 2)
EXAMPLE_REQUEST_ID = "c0a8012e-7d3b-4f5e-9a61-3f1c2b4d5e6f"
APPROVED_DECISION_ID = "5b8f3c1e-2a4d-4e6f-8b9a-0c1d2e3f4a5b"
DECLINED_DECISION_ID = "9e7d6c5b-4a3f-4e2d-8c1b-0a9f8e7d6c5b"
APPLICATION_ID = "d707c045-3b2a-4c1d-9e8f-7a6b5c4d3e2f"


@lru_cache(maxsize=1)
def _decisions() -> tuple[Example, Example]:
    approved = engine.decide(
        engine.validate_application(APPLICATION_EXAMPLE), *PACKAGED, decided_on=EXAMPLE_DATE
    )
    declined = engine.decide(
        engine.validate_application(DECLINED_APPLICATION_EXAMPLE), *PACKAGED, decided_on=EXAMPLE_DATE
    )
    return dict(approved), dict(declined)


def _response(decision: Example, decision_id: str) -> Example:
    # What chalicelib.service.decisions.make_decision adds to the engine's decision.
    return {
        "decision_id": decision_id,
        **decision,
        "model_version": decision["model"]["version"],
        "decision_version": PACKAGED_VERSION_ID,  # an empty registry's champion
        "arm": "champion",
        "cached": False,
        "cache": "miss",
        "stored": True,
    }


def decision_response_examples() -> dict[str, Example]:
    approved, declined = _decisions()
    return {
        "approved": {
            "summary": "Approved (the README's sample application)",
            "value": _response(approved, APPROVED_DECISION_ID),
        },
        "declinedWithCounteroffer": {
            "summary": "Declined by policy over 12 months, with a counteroffer that is approved",
            "value": _response(declined, DECLINED_DECISION_ID),
        },
    }


def decision_on_record_examples() -> dict[str, Example]:
    examples = {}
    for name, example in decision_response_examples().items():
        value = {k: v for k, v in example["value"].items() if k not in ("cached", "cache", "stored")}
        value.update(created_at=f"{EXAMPLE_DATE.isoformat()}T09:30:00Z", source="sync")
        examples[name] = {"summary": example["summary"], "value": value}
    return examples


def notice_examples() -> dict[str, Example]:
    _, declined = _decisions()
    return {
        "counteroffer": {
            "summary": "Notice of the declined, counter-offered decision",
            "value": declined["notice"],
        }
    }


def notice_text_example() -> str:
    return str(_decisions()[1]["notice"]["text"])


def request_examples() -> dict[str, Example]:
    return {
        "approved": {"summary": "Approved: the README's sample", "value": APPLICATION_EXAMPLE},
        "declinedWithCounteroffer": {
            "summary": "Declined over 12 months (a counteroffer is made)",
            "value": DECLINED_APPLICATION_EXAMPLE,
        },
    }


def application_accepted_example() -> Example:
    return {
        "application_id": APPLICATION_ID,
        "status": "PENDING",
        "status_url": f"/v1/applications/{APPLICATION_ID}",
    }


def _error(error: ServiceError) -> Example:
    return dict(error_body(error.code, error.message, EXAMPLE_REQUEST_ID, error.details))


def _invalid_fields() -> ServiceError:
    try:
        engine.validate_application({**APPLICATION_EXAMPLE, "age": "forty", "cibil_score": 1000})
    except engine.ValidationFailed as failure:
        return validation_failed([{"field": e["field"], "problem": e["problem"]} for e in failure.errors])
    raise AssertionError("the invalid example validated")  # pragma: no cover


def _gateway(spec: Any) -> Example:
    return dict(error_body(spec.code, spec.message, EXAMPLE_REQUEST_ID))


def error_examples() -> dict[str, dict[str, Example]]:
    """Component response name -> its examples (each an error body as the API sends it)."""
    max_bytes = resources.MAX_BODY_BYTES
    return {
        "BadRequest": {
            "invalidFields": {"summary": "Invalid fields, each named", "value": _error(_invalid_fields())},
            "malformedJson": {
                "summary": "Malformed JSON",
                "value": error_body(
                    "malformed_json",
                    "request body is not valid JSON",
                    EXAMPLE_REQUEST_ID,
                    [
                        {
                            "field": "(body)",
                            "problem": "line 1 column 2: Expecting property name enclosed in double quotes",
                        }
                    ],
                ),
            },
        },
        "Forbidden": {"missingApiKey": {"value": _gateway(INVALID_API_KEY)}},
        "Unauthorized": {"missingToken": {"value": _gateway(UNAUTHORIZED)}},
        "StaffForbidden": {
            "notInGroup": {
                "value": error_body(
                    "forbidden",
                    "this needs one of the staff groups: manager",
                    EXAMPLE_REQUEST_ID,
                    [{"field": "cognito:groups", "problem": "one of manager"}],
                )
            }
        },
        "NotFound": {"notFound": {"value": _error(not_found("decision"))}},
        "PayloadTooLarge": {
            "tooLarge": {
                "value": error_body(
                    "payload_too_large",
                    f"request body is larger than {max_bytes} bytes",
                    EXAMPLE_REQUEST_ID,
                    [{"field": "(body)", "problem": f"at most {max_bytes} bytes"}],
                )
            }
        },
        "UnsupportedMediaType": {
            "notJson": {
                "value": error_body(
                    "unsupported_media_type",
                    "request body must be application/json",
                    EXAMPLE_REQUEST_ID,
                    [{"field": "Content-Type", "problem": "must be application/json"}],
                )
            }
        },
        "TooManyRequests": {
            "throttled": {"value": _gateway(THROTTLED)},
            "quotaExceeded": {"value": _gateway(QUOTA_EXCEEDED)},
        },
        "ServiceUnavailable": {"dependencyDown": {"value": _error(dependency_unavailable("dynamodb"))}},
        "Conflict": {
            "idempotencyInProgress": {
                "value": error_body(
                    "idempotency_key_in_progress",
                    "a request with this Idempotency-Key is still being processed",
                    EXAMPLE_REQUEST_ID,
                    [{"field": "Idempotency-Key", "problem": "request in progress"}],
                )
            },
            "reviewClaimed": {
                "value": error_body(
                    "review_conflict",
                    "the case is claimed by another reviewer",
                    EXAMPLE_REQUEST_ID,
                    [
                        {"field": "status", "problem": "the case is claimed"},
                        {"field": "claimed_by", "problem": "claimed by reviewer2"},
                    ],
                )
            },
        },
        "UnprocessableEntity": {
            "keyReused": {
                "value": error_body(
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used with a different request body",
                    EXAMPLE_REQUEST_ID,
                    [{"field": "Idempotency-Key", "problem": "already used with a different body"}],
                )
            }
        },
    }
