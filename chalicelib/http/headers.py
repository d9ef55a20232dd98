"""Security headers and the CORS allow-list: pure functions of the request path and Origin.

The original system's headers (HSTS, nosniff, frame deny, CSP ``default-src 'self'``,
Referrer-Policy, ``Cache-Control: no-store`` on API paths). CORS answers only origins listed in the
environment variable ``CORS_ALLOWED_ORIGINS`` (comma-separated, exact ``scheme://host[:port]``);
for any other origin no CORS header is sent, so browsers refuse the cross-origin read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

CORS_ALLOWED_ORIGINS_ENV = "CORS_ALLOWED_ORIGINS"

SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
# Documentation and the static pages (docs, console) may be cached if revalidated; everything else
# carries decisions or state and must not be.
DOCUMENTATION_PATHS = ("/docs", "/docs/{name}", "/openapi.json", "/console", "/console/{name}")
API_CACHE_CONTROL = "no-store"
DOCUMENTATION_CACHE_CONTROL = "no-cache"

# What a browser may send and read cross-origin.
CORS_ALLOWED_REQUEST_HEADERS = ("Content-Type", "X-Api-Key", "Idempotency-Key", "X-Request-ID")
CORS_EXPOSED_RESPONSE_HEADERS = ("X-Request-ID", "Retry-After", "Location")
CORS_MAX_AGE_SECONDS = 600


def security_headers(path: str, content_security_policy: str | None = None) -> dict[str, str]:
    """Headers every response gets; ``content_security_policy`` replaces the default (``/docs``
    widens style-src for Swagger UI, chalicelib/http/static_files.py)."""
    headers = dict(SECURITY_HEADERS)
    if content_security_policy is not None:
        headers["Content-Security-Policy"] = content_security_policy
    headers["Cache-Control"] = (
        DOCUMENTATION_CACHE_CONTROL if path in DOCUMENTATION_PATHS else API_CACHE_CONTROL
    )
    return headers


def allowed_origins(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    environ = os.environ if environ is None else environ
    raw = environ.get(CORS_ALLOWED_ORIGINS_ENV, "")
    # A wildcard would defeat the allow-list; it is ignored rather than honoured.
    return frozenset(
        origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip() not in ("", "*")
    )


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """Headers for an actual (non-preflight) cross-origin response; empty for unlisted origins."""
    if not origin or origin not in allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ", ".join(CORS_EXPOSED_RESPONSE_HEADERS),
        "Vary": "Origin",
    }


def preflight_headers(
    origin: str | None, allowed: frozenset[str], route_methods: Iterable[str]
) -> dict[str, str]:
    """Headers answering an OPTIONS preflight; empty for unlisted origins."""
    if not origin or origin not in allowed:
        return {}
    methods = sorted({method.upper() for method in route_methods} | {"OPTIONS"})
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ", ".join(CORS_ALLOWED_REQUEST_HEADERS),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        "Vary": "Origin",
    }
