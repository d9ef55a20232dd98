"""Process helpers for the infra tests that run real processes (a moto server, a packaged handler)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

REGION = "us-east-1"
FAKE_KEY = "test"  # credentials a moto server accepts and no real account does


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen, deadline_seconds: float = 90) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto server did not listen on {port}")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server process on a free port; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(service: str, endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.session.Session(
        region_name=REGION, aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_KEY
    ).client(service, endpoint_url=endpoint)
