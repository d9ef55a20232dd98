"""Test data shared by the unit and integration tests (import as ``tests.support.samples``).

Applications come from ``devstack.samples`` (the one reader of the data file); the identity below
is added to them where a test proves personal data never reaches a log or a stored record.
"""

from __future__ import annotations

import itertools
from typing import Any

from devstack.samples import iter_applications

# Distinctive personal data: none of these strings may ever appear in a log or a stored record.
PERSONAL_DATA = {
    "applicant_name": "Ottoline Vashti-Marchbanks",
    "pan": "OVMPK4826T",
    "aadhaar": "4826 1937 5064",
    "phone": "8264019375",
    "email": "ottoline.vashti@example.net",
}
# How each value may appear once normalised by a careless logger or serialiser.
PERSONAL_DATA_VARIANTS = (
    "Ottoline",
    "Vashti",
    "Marchbanks",
    "OVMPK4826T",
    "4826 1937 5064",
    "482619375064",
    "8264019375",
    "ottoline.vashti",
)


def application_row(index: int, with_personal_data: bool = True) -> dict[str, Any]:
    """Row ``index`` (0-based) of the data file as an API payload; the file is read up to that row."""
    return next(itertools.islice(iter_applications(with_personal_data), index, None))
