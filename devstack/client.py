"""A small HTTP client for the running local stack (tests and the burst benchmark)."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class ApiClient:
    """HTTP client for the API, sending the local development API key, on kept-alive connections
    (the stack's ``chalice local`` sends without Nagle's delay: devstack/chalice_local.py)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
        self.session.headers.update(headers)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.post(self.base_url + path, json=body, **kwargs)

    def post_raw(self, path: str, data: bytes, content_type: str) -> requests.Response:
        return self.session.post(
            self.base_url + path, data=data, headers={"Content-Type": content_type}, timeout=self.timeout
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.get(self.base_url + path, **kwargs)
