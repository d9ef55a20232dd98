"""Chalice HTTP middleware for the edge: gateway emulation (local stage), CORS, security headers.

``install_edge(app)`` puts one middleware OUTSIDE every other one, so that:
- in the ``local`` stage the emulated gateway answers 403/429 before any app code runs (in
  production those requests never reach the Lambda either);
- every response, including the app's own 4xx/5xx and errors raised by inner middleware, gets the
  security headers and, for allowed origins, the CORS headers;
- routes outside ``PUBLIC_ROUTE_PREFIXES`` get ``api_key_required`` (production's API key check);
- CORS preflights (OPTIONS) are answered here for allowed origins only. ``install_edge`` adds an
  OPTIONS route to every path so that ``chalice local`` and API Gateway hand preflights to the
  Lambda instead of answering them themselves (Chalice's built-in CORS allows a single origin).

Call ``install_edge(app)`` once, after the last route is defined.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.api.errors import error_response
from chalicelib.edge.gateway import (
    API_KEY_HEADER,
    LocalGateway,
    emulation_enabled,
    is_public_route,
    local_api_keys,
)
from chalicelib.edge.gateway_responses import gateway_error_body, gateway_response_headers
from chalicelib.edge.headers import allowed_origins, cors_headers, preflight_headers, security_headers
from chalicelib.observability import logger, request_id_of

GetResponse = Callable[[Request], Response]

_gateway_lock = threading.Lock()
_gateway: LocalGateway | None = None


def local_gateway() -> LocalGateway:
    """This process's emulated gateway, created on first use from the stage's local API keys."""
    global _gateway
    with _gateway_lock:
        if _gateway is None:
            _gateway = LocalGateway(local_api_keys())
        return _gateway


def reset_local_gateway(gateway: LocalGateway | None = None) -> None:
    """Start from fresh counters (tests), or use a given gateway (e.g. one with a fake clock)."""
    global _gateway
    with _gateway_lock:
        _gateway = gateway


def _source_ip(request: Request) -> str:
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")


def _resource_path(request: Request) -> str:
    return str((request.context or {}).get("resourcePath") or request.path)


def _gateway_rejection(request: Request) -> Response | None:
    if not emulation_enabled():
        return None
    rejection = local_gateway().admit(
        resource_path=_resource_path(request),
        method=request.method,
        api_key=request.headers.get(API_KEY_HEADER),
        source_ip=_source_ip(request),
        # Browsers send no API key on a CORS preflight; its route never requires one.
        api_key_required=False if request.method == "OPTIONS" else None,
    )
    if rejection is None:
        return None
    rid = request_id_of(request)
    headers = gateway_response_headers(rejection.response)
    headers["X-Request-ID"] = rid
    return Response(
        body=gateway_error_body(rejection.response, rid),
        status_code=rejection.response.status_code,
        headers=headers,
    )


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
    path = _resource_path(request)
    existing = {name.lower(): name for name in response.headers}
    route_csp = response.headers.get(existing.get("content-security-policy", ""), None)
    for name, value in security_headers(path, route_csp).items():
        response.headers.pop(existing.get(name.lower(), name), None)
        response.headers[name] = value
    response.headers.update(cors_headers(request.headers.get("origin"), allowed_origins()))
    # Responses made here (preflights, gateway answers) never pass the API's middleware.
    if "x-request-id" not in existing:
        response.headers["X-Request-ID"] = request_id_of(request)
    return response


def _preflight(app: Chalice, request: Request) -> Response:
    methods = [method for method in app.routes.get(_resource_path(request), {}) if method != "OPTIONS"]
    headers = preflight_headers(request.headers.get("origin"), allowed_origins(), methods)
    return Response(body="", status_code=204, headers=headers)


def make_edge_middleware(app: Chalice) -> Callable[[Request, GetResponse], Response]:
    def edge_middleware(request: Request, get_response: GetResponse) -> Response:
        try:
            response = _gateway_rejection(request)
            if response is None:
                response = _preflight(app, request) if request.method == "OPTIONS" else get_response(request)
        except Exception:
            response = _internal_error(request)
        return _apply_headers(request, response)

    return edge_middleware


def _preflight_view() -> Response:
    # Never reached: the edge middleware answers every OPTIONS request before the route runs.
    return Response(body="", status_code=204)


def _add_preflight_routes(app: Chalice) -> None:
    for index, path in enumerate(sorted(app.routes)):
        if "OPTIONS" not in app.routes[path]:
            app.route(
                path,
                methods=["OPTIONS"],
                name=f"edge_preflight_{index}",
                content_types=["*/*"],
            )(_preflight_view)


def require_api_keys(app: Chalice) -> None:
    """``api_key_required`` on every route outside ``PUBLIC_ROUTE_PREFIXES``: what Chalice writes
    into the API Gateway definition (the usage plans only meter and throttle keyed methods), and the
    same rule the local emulation applies. Preflights never need a key (browsers send none)."""
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            entry.api_key_required = method != "OPTIONS" and not is_public_route(path)


def install_edge(app: Chalice) -> None:
    """Register the edge middleware (outermost) and the OPTIONS routes. Call after the last route."""
    _add_preflight_routes(app)
    require_api_keys(app)
    app.middleware_handlers.insert(0, (make_edge_middleware(app), "http"))
