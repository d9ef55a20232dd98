"""The checks every JSON request body shares: an object, and no field the route does not know.

Each service checks its own fields after these and raises one ``errors.validation_failed`` naming
every field at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.errors import ErrorDetail, validation_failed


def json_object(body: object) -> dict[str, Any]:
    """A request body that must be a JSON object: the object, else a 400 for the whole body."""
    if not isinstance(body, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    return body


def unknown_fields(
    body: Mapping[str, object], known: Iterable[str], of: str = "this body"
) -> list[ErrorDetail]:
    """A detail for each field of ``body`` that is not ``known`` (sorted): ``not a field of <of>``."""
    return [{"field": name, "problem": f"not a field of {of}"} for name in sorted(set(body) - set(known))]
