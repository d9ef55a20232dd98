"""The edge: what API Gateway and WAF do in production, emulated for the ``local`` stage, plus the
security headers and CORS every response gets.

- ``install_edge(app)``: wires the edge middleware and preflight routes into the Chalice app (call
  once, after the last route);
- ``local_api_keys()`` / ``local_dev_api_key(tier)``: the local stage's API keys (``make run``
  prints them);
- ``gateway_responses``: the gateway's error bodies, shared with ``infra/``.

Importing this package stays cheap and free of Chalice/Powertools: the middleware module is only
imported by ``install_edge``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.edge.gateway import API_KEY_HEADER, local_api_keys, local_dev_api_key

if TYPE_CHECKING:
    from chalice import Chalice


def install_edge(app: Chalice) -> None:
    """Register the edge middleware (outermost) and CORS preflight routes on ``app``."""
    from chalicelib.edge.middleware import install_edge as install

    install(app)


__all__ = ["API_KEY_HEADER", "install_edge", "local_api_keys", "local_dev_api_key"]
