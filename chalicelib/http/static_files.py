"""The static pages the API serves without a key: ``/docs`` (Swagger UI) and ``/console``.

Each page is a folder under ``chalicelib/http/static/``: ``index.html`` at the page's path and every
other file of the folder at ``<page>/<name>``. Only names present in the folder when the module is
imported are served (the route's ``{name}`` never contains a slash, and anything else is a 404 in
the API's error shape), so no request can read outside it. Vendored third-party files come from
``make vendor`` (``devstack/vendor.py``) and are checked against ``vendor-manifest.json``.

The console also serves one generated file, ``config.js`` (``chalicelib/http/console_config.py``):
where staff sign in, built per request from the function's environment.

Content-Security-Policy: the console works under the API's default (``default-src 'self'``) plus
``connect-src`` to the staff pool's Cognito IdP endpoint alone (its sign-in form calls it); Swagger
UI's React components set ``style`` attributes and its stylesheet uses ``data:`` images, so ``/docs``
widens only style-src and img-src for itself. Scripts stay ``'self'`` everywhere: no inline script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalice.app import Response

from chalicelib.http import console_config
from chalicelib.http.errors import error_response
from chalicelib.http.middleware import current_request_id

STATIC_ROOT = Path(__file__).resolve().parent / "static"

DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'"
)

# nosniff is on every response, so each file must carry its real type.
CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE, NOTICE
}
INDEX = "index.html"


@dataclass(frozen=True)
class StaticPage:
    folder: str
    content_security_policy: str | None = None  # None: the API's default policy
    # Files made per request, not read from the folder: name -> what makes the body.
    generated: tuple[tuple[str, Callable[[], str]], ...] = ()

    @property
    def directory(self) -> Path:
        return STATIC_ROOT / self.folder


DOCS = StaticPage("swagger-ui", DOCS_CONTENT_SECURITY_POLICY)
CONSOLE = StaticPage("console", generated=((console_config.CONFIG_SCRIPT, console_config.config_script),))


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def served_names(page: StaticPage) -> frozenset[str]:
    files = frozenset(
        path.name
        for path in page.directory.iterdir()
        if path.is_file() and path.suffix in CONTENT_TYPES and not path.name.startswith(".")
    )
    return files | {name for name, _ in page.generated}


def file_response(
    page: StaticPage, name: str = INDEX, content_security_policy: str | None = None
) -> Response:
    """``content_security_policy``: this response's policy (None: the page's own, else the API's)."""
    if name not in served_names(page):
        return error_response(404, "not_found", "no such file", current_request_id())
    path = page.directory / name
    headers: dict[str, str | list[str]] = {"Content-Type": CONTENT_TYPES[path.suffix]}
    policy = content_security_policy or page.content_security_policy
    if policy is not None:
        headers["Content-Security-Policy"] = policy
    generated = dict(page.generated).get(name)
    body = generated() if generated is not None else _read(path)
    return Response(body=body, status_code=200, headers=headers)


def docs_page() -> Response:
    return file_response(DOCS)


def docs_file(name: str) -> Response:
    return file_response(DOCS, name)


def console_page() -> Response:
    # The policy governs what the page may fetch: it names the IdP endpoint of this deployment.
    return file_response(CONSOLE, content_security_policy=console_config.console_page_policy())


def console_file(name: str) -> Response:
    return file_response(CONSOLE, name)
