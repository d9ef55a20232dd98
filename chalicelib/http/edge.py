"""The edge of every response: security headers, CORS, preflights, and which routes need a key.

``install_edge(app)`` (call once, after the last route) registers, outermost first:

1. the headers middleware: every response, including the app's own 4xx/5xx and errors raised by
   inner middleware, gets the security headers and, for allowed origins, the CORS headers;
2. in the ``local`` stage only, the gateway emulation named by ``LOCAL_EDGE_MODULE``
   (``devstack.gateway``: API keys, throttles, WAF, which ``chalice local`` does not enforce). It is
   local-only code, never in the Lambda package; production relies on API Gateway and WAF;
3. the preflight middleware: CORS preflights (OPTIONS) are answered for allowed origins only.
   ``install_edge`` adds an OPTIONS route to every path so that ``chalice local`` and API Gateway
   hand preflights to the Lambda instead of answering them themselves (Chalice's built-in CORS
   allows a single origin).

Routes outside ``PUBLIC_ROUTES`` get ``api_key_required`` (production's API key check).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

from chalice.app import Chalice, Request, Response

from chalicelib import resources
from chalicelib.config import LOCAL_STAGE
from chalicelib.http.errors import error_response
from chalicelib.http.headers import allowed_origins, cors_headers, preflight_headers, security_headers
from chalicelib.http.middleware import request_id_of
from chalicelib.observability import logger

API_KEY_HEADER = "x-api-key"

GetResponse = Callable[[Request], Response]


def is_public_route(path: str) -> bool:
    """``path``: a route template (API Gateway's resourcePath, a key of ``Chalice.routes``)."""
    return path in resources.PUBLIC_ROUTES


def resource_path(request: Request) -> str:
    return str((request.context or {}).get("resourcePath") or request.path)


def _internal_error(request: Request) -> Response:
    # Only reached when an inner middleware itself fails (the API's middleware renders every
    # route error); log the exception type and where, never its message (it may carry input).
    logger.error("unhandled exception in request pipeline", extra={"error_type": _exception_type()})
    rid = request_id_of(request)
    return error_response(500, "internal_error", "internal error", rid, headers={"X-Request-ID": rid})


def _exception_type() -> str:
    exception_type = sys.exc_info()[0]
    return exception_type.__name__ if exception_type is not None else "unknown"


def _apply_headers(request: Request, response: Response) -> Response:
    path = resource_path(request)
    existing = {name.lower(): name for name in response.headers}
    route_csp = response.headers.get(existing.get("content-security-policy", ""), None)
    if not isinstance(route_csp, str):
        route_csp = None
    for name, value in security_headers(path, route_csp).items():
        response.headers.pop(existing.get(name.lower(), name), None)
        response.headers[name] = value
    response.headers.update(cors_headers(request.headers.get("origin"), allowed_origins()))
    # Responses made before the API's middleware (preflights, gateway answers) have no id yet.
    if "x-request-id" not in existing:
        response.headers["X-Request-ID"] = request_id_of(request)
    return response


def headers_middleware(request: Request, get_response: GetResponse) -> Response:
    try:
        response = get_response(request)
    except Exception:
        response = _internal_error(request)
    return _apply_headers(request, response)


def make_preflight_middleware(app: Chalice) -> Callable[[Request, GetResponse], Response]:
    def preflight_middleware(request: Request, get_response: GetResponse) -> Response:
        if request.method != "OPTIONS":
            return get_response(request)
        methods = [method for method in app.routes.get(resource_path(request), {}) if method != "OPTIONS"]
        headers = preflight_headers(request.headers.get("origin"), allowed_origins(), methods)
        return Response(body="", status_code=204, headers=dict(headers))

    return preflight_middleware


def _preflight_view() -> Response:
    # Never reached: the preflight middleware answers every OPTIONS request before the route runs.
    return Response(body="", status_code=204)


def _add_preflight_routes(app: Chalice) -> None:
    for index, path in enumerate(sorted(app.routes)):
        if "OPTIONS" not in app.routes[path]:
            app.route(path, methods=["OPTIONS"], name=f"edge_preflight_{index}", content_types=["*/*"])(
                _preflight_view
            )


def require_api_keys(app: Chalice) -> None:
    """``api_key_required`` on every client route (not public, not staff): what Chalice writes
    into the API Gateway definition (the usage plans only meter and throttle keyed methods), and the
    same rule the local emulation applies. Preflights never need a key (browsers send none)."""
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            # Staff routes are signed in through the Cognito authorizer instead: an API key (a
            # client's identity) never opens them.
            staff = entry.authorizer is not None
            entry.api_key_required = method != "OPTIONS" and not staff and not is_public_route(path)


def _install_local_edge(app: Chalice) -> None:
    module_name = os.environ.get(resources.LOCAL_EDGE_MODULE_ENV)
    if module_name and os.environ.get("STAGE") == LOCAL_STAGE:
        importlib.import_module(module_name).install(app)


def install_edge(app: Chalice) -> None:
    """Register the edge middleware (outermost) and the OPTIONS routes. Call after the last route."""
    _add_preflight_routes(app)
    require_api_keys(app)
    app.middleware_handlers.insert(0, (make_preflight_middleware(app), "http"))
    _install_local_edge(app)
    app.middleware_handlers.insert(0, (headers_middleware, "http"))
