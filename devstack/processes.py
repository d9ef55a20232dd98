"""Child processes of the local stack: start them, wait until they answer, stop them without orphans.

Every child runs in its own session (process group), so a terminal Ctrl-C reaches only the
orchestrator, which then stops the children in order, and ``stop()`` can signal the whole group
(``chalice local`` or moto may have threads or helpers). On Linux the children also get
``PR_SET_PDEATHSIG`` so they die with the orchestrator even if it is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it; tiny race until the child binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_answers(url: str, timeout: float = 2.0) -> bool:
    """True when something answers HTTP at ``url`` (any status code counts: it is up)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy (returned); TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {result!r})")
        time.sleep(interval)
    return result


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One child process in its own process group, with its output in a log file or the terminal."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path | None = None,
        cwd: Path = PROJECT_ROOT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env)
        self._cwd = cwd
        self._log_file: IO[bytes] | None = None
        self._stopped = False
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = log_path.open("ab")
        self.popen = self._spawn()
        self.started_at = time.monotonic()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT if self._log_file else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called: it did not die on its own, so nobody restarts it."""
        return self._stopped

    def ran_for(self) -> float:
        """Seconds since the current run started (until now: call it when the exit is noticed)."""
        return time.monotonic() - self.started_at

    def restart(self) -> None:
        """Start the same command again after it exited on its own (same env, same log, appended)."""
        if self._stopped or self.running():
            raise RuntimeError(f"{self.name}: restart() is for a child that died, not a running/stopped one")
        # The old group is gone with its leader (a worker has no helpers); reap any straggler anyway.
        self._signal_group(signal.SIGKILL)
        self.popen = self._spawn()
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_seconds: float = 10.0) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL whatever is left. Returns the exit code."""
        if self._stopped:  # never signal a process group id twice: the id may belong to another by now
            return self.popen.returncode
        self._stopped = True
        if self.running():
            self._signal_group(signal.SIGTERM)
            self._signal_group(signal.SIGCONT)  # a paused process acts on SIGTERM only once continued
            try:
                self.popen.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout=grace_seconds)
        # The leader may be gone while group members linger: make sure nothing of it survives.
        self._signal_group(signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.popen.returncode

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (an endpoint that hangs, state kept)."""
        if self.running():
            self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running():
            self._signal_group(signal.SIGCONT)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def log_tail(self, max_bytes: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        data = self.log_path.read_bytes()[-max_bytes:]
        return data.decode("utf-8", errors="replace")


class Backoff:
    """Restart delays for a child that keeps dying: ``initial`` doubling up to ``maximum``.

    Like Lambda retrying a failed poller, but without a hot loop when the failure is permanent
    (a syntax error, a missing table). A child that ran ``stable_after`` seconds before dying is
    treated as a fresh failure, so one crash a day is always restarted after ``initial``.
    """

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, stable_after: float = 60.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.stable_after = stable_after
        self._next = initial

    def delay_after(self, ran_for: float) -> float:
        """The wait before the next restart of a child that died after running ``ran_for`` seconds."""
        if ran_for >= self.stable_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay


def start_moto_server(host: str, port: int, env: Mapping[str, str], log_path: Path | None) -> ManagedProcess:
    # devstack.moto_server: moto_server with DynamoDB requests serialised (see its docstring).
    process = ManagedProcess(
        "moto",
        [sys.executable, "-m", "devstack.moto_server", "-H", host, "-p", str(port)],
        env=env,
        log_path=log_path,
    )
    url = f"http://{host}:{port}"
    # Generous: importing moto takes seconds of CPU, many more on a machine busy with other work.
    _wait_for_http(process, f"{url}/moto-api/", timeout=90)
    return process


def start_chalice_local(
    host: str, port: int, stage: str, env: Mapping[str, str], log_path: Path | None
) -> ManagedProcess:
    # devstack.chalice_local: `chalice local` with a listen backlog of 128 instead of 5, so a burst
    # of clients is answered rather than reset. --no-autoreload: with autoreload, chalice forks a
    # child that keeps the port after we stop it.
    argv = [sys.executable, "-m", "devstack.chalice_local", "--host", host, "--port", str(port)]
    argv += ["--stage", stage, "--no-autoreload"]
    process = ManagedProcess("chalice-local", argv, env=env, log_path=log_path)
    # Importing the app (engine model, Powertools, boto3) takes a few seconds on a small machine.
    _wait_for_http(process, f"http://{host}:{port}/health/live", timeout=90)
    return process


def _wait_for_http(process: ManagedProcess, url: str, timeout: float) -> None:
    def up() -> bool:
        if not process.running():
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode} before answering {url}\n"
                f"{process.log_tail()}"
            )
        return http_answers(url, timeout=1.0)

    try:
        wait_until(up, timeout=timeout, what=f"{process.name} at {url}")
    except BaseException:
        process.stop()
        raise
