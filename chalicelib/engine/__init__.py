"""Decision engine: validation, scoring, pricing, policy, reasons, counteroffers, suggestions and the
notice. Imports nothing from AWS or HTTP, and nothing outside the standard library at run time.

The contract is typed: :mod:`chalicelib.engine.types` declares what every public function returns
(``Application``, ``Decision``, ``QuickEligibility``, ``Notice``, ...). ``validate_application`` raises
``ValidationFailed`` (``errors``: one ``{"field", "problem"}`` per offending field). ``scoring_inputs``
is the canonical subset of fields that can change a decision (the cache key's content, no personal
data).

``decide(application, model, policy)`` reads nothing but its arguments. The packaged decision version
(``packaged_version()``: the shipped model artifact and lending-policy version 1) is read lazily on
first use and cached for the life of the process; ``load_policy`` checks and types any other policy
document (``PolicyInvalid`` names every offending path).
"""

from typing import Any

from chalicelib.engine.artifact import Model
from chalicelib.engine.decision import DecisionLogic, decide, model_info, packaged_version
from chalicelib.engine.eligibility import QUICK_FIELDS, quick_eligibility
from chalicelib.engine.explain import reason_catalogue
from chalicelib.engine.lending_policy import Policy, PolicyInvalid, load_policy, policy_schema
from chalicelib.engine.schema import (
    APPLICATION_FIELDS,
    PERSONAL_FIELDS,
    ValidationFailed,
    application_json_schema,
    fields_json_schema,
    scoring_inputs,
    validate_application,
)
from chalicelib.engine.types import Application, Decision, Notice, QuickEligibility


def quick_eligibility_json_schema() -> dict[str, Any]:
    """JSON Schema of a quick-eligibility request body."""
    return fields_json_schema(QUICK_FIELDS)


__all__ = [
    "APPLICATION_FIELDS",
    "PERSONAL_FIELDS",
    "Application",
    "Decision",
    "DecisionLogic",
    "Model",
    "Notice",
    "Policy",
    "PolicyInvalid",
    "QuickEligibility",
    "ValidationFailed",
    "application_json_schema",
    "decide",
    "load_policy",
    "model_info",
    "packaged_version",
    "policy_schema",
    "quick_eligibility",
    "quick_eligibility_json_schema",
    "reason_catalogue",
    "scoring_inputs",
    "validate_application",
]
