"""The local API answers a burst of 64 simultaneous clients: none reset, none left without an answer.

``chalice local`` alone listens with a backlog of 5 (the standard library's default); the stack
starts it through ``devstack.chalice_local``, which raises it. The emulated gateway throttles
``/health/live`` (429 past its burst), so an answer is any HTTP response: a 429 proves the
connection was accepted and served, which is what this checks, not the throttle.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from urllib.parse import urlsplit

import pytest
import requests

from devstack.chalice_local import LISTEN_BACKLOG
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

CLIENTS = 64


def _burst(url: str, clients: int) -> tuple[list[int], list[str]]:
    """``clients`` threads released at the same moment, one fresh connection and request each."""
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait(timeout=30)
        try:
            # A fresh connection each (no session pool): every client goes through the listen queue.
            response = requests.get(url, headers={"Connection": "close"}, timeout=60)
        except requests.RequestException as error:
            with lock:
                errors.append(repr(error))
            return
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses, errors


def test_64_simultaneous_clients_all_get_an_http_answer(stack: DevStack) -> None:
    statuses, errors = _burst(f"{stack.api_url}/health/live", CLIENTS)

    assert errors == []  # no reset, no refused or timed-out connection
    assert len(statuses) == CLIENTS
    assert set(statuses) <= {200, 429}, statuses  # served, or throttled by the emulated gateway


def test_the_api_listens_with_a_backlog_for_64_clients(stack: DevStack) -> None:
    # The kernel reports a listening socket's backlog as its Send-Q: 5 for plain `chalice local`.
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to read the listen backlog")
    port = urlsplit(stack.api_url).port
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    assert listing[:1] == ["LISTEN"], listing
    assert int(listing[2]) >= min(LISTEN_BACKLOG, CLIENTS), listing
