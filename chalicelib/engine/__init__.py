"""Decision engine: validation, scoring, pricing, policy, reasons, counteroffers, suggestions and the
notice. Imports nothing from AWS or HTTP, and nothing outside the standard library at run time.

The contract is typed: :mod:`chalicelib.engine.types` declares what every public function returns
(``Application``, ``Decision``, ``QuickEligibility``, ``Notice``, ...). ``validate_application`` raises
``ValidationFailed`` (``errors``: one ``{"field", "problem"}`` per offending field). ``scoring_inputs``
is the canonical subset of fields that can change a decision (the cache key's content, no personal
data). The model artifact is read lazily on first use and cached for the life of the process.
"""

from chalicelib.engine.decision import decide, model_info
from chalicelib.engine.eligibility import QUICK_FIELDS, quick_eligibility
from chalicelib.engine.explain import reason_catalogue
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


def quick_eligibility_json_schema() -> dict:
    """JSON Schema of a quick-eligibility request body."""
    return fields_json_schema(QUICK_FIELDS)


__all__ = [
    "APPLICATION_FIELDS",
    "PERSONAL_FIELDS",
    "Application",
    "Decision",
    "Notice",
    "QuickEligibility",
    "ValidationFailed",
    "application_json_schema",
    "decide",
    "model_info",
    "quick_eligibility",
    "quick_eligibility_json_schema",
    "reason_catalogue",
    "scoring_inputs",
    "validate_application",
]
