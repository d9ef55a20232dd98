"""Reading a JSON request body: size limit (413), content type (415), syntax (400).

Routes are registered with ``content_types=["*/*"]`` so that Chalice never answers 415 in its own
format; the check lives here instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib import resources
from chalicelib.errors import ServiceError

if TYPE_CHECKING:
    from chalicelib.http.routes import Route

ANY_CONTENT_TYPE = ["*/*"]


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body(request: Request) -> object:
    """The parsed body, or ServiceError 413 / 415 / 400 (never an unhandled exception).

    Whatever JSON value was sent, typed object: the service validates it before reading a field."""
    raw = request.raw_body or b""
    if len(raw) > resources.MAX_BODY_BYTES:
        raise ServiceError(
            413,
            "payload_too_large",
            f"request body is larger than {resources.MAX_BODY_BYTES} bytes",
            [{"field": "(body)", "problem": f"at most {resources.MAX_BODY_BYTES} bytes"}],
        )
    # A missing Content-Type is taken as JSON (as Chalice does); anything else must say JSON.
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise ServiceError(
            415,
            "unsupported_media_type",
            "request body must be application/json",
            [{"field": "Content-Type", "problem": "must be application/json"}],
        )
    if not raw:
        raise ServiceError(
            400, "malformed_json", "request body is empty", [{"field": "(body)", "problem": "required"}]
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        problem = "not UTF-8"
    except json.JSONDecodeError as error:
        problem = f"line {error.lineno} column {error.colno}: {error.msg}"
    except (ValueError, RecursionError) as error:
        problem = str(error) if isinstance(error, ValueError) else "nested too deeply"
    raise ServiceError(
        400, "malformed_json", "request body is not valid JSON", [{"field": "(body)", "problem": problem}]
    )


def query_parameter(request: Request, name: str) -> str | None:
    """One query-string parameter (the last one when repeated), or None."""
    if request.query_params is None:
        return None
    value: str | None = request.query_params.get(name)
    return value


# The service's keyword for a query parameter whose name is a Python keyword.
_ARGUMENT_NAMES = {"from": "created_from", "to": "created_to"}


def query_arguments(request: Request, route: Route) -> dict[str, str | None]:
    """Every query parameter ``route`` declares, keyed as the service's list function names it."""
    return {_ARGUMENT_NAMES.get(p.name, p.name): query_parameter(request, p.name) for p in route.query}
