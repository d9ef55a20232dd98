"""``make run`` end to end: ``python -m devstack.run`` starts the stack, serves a decision, and Ctrl-C
stops all of it.

The front door is started the way a terminal starts a foreground job: in its own process group,
with SIGINT at its default disposition (a non-interactive shell would leave it ignored), and Ctrl-C
is SIGINT to that process group. The orchestrator must then exit by itself and take every child
with it: no process it started survives and the ports it used are free again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from devstack.processes import PROJECT_ROOT, free_port, port_is_open, wait_until
from devstack.samples import sample_application

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
START_SECONDS = 180  # moto, bootstrap, chalice local importing the app, one worker: slow machines
STOP_SECONDS = 60  # generous: each child gets a SIGTERM grace period before SIGKILL
RESTART_SECONDS = 30  # the first restart is due 0.5 s after a death; slack for a loaded machine
DECIDED_SECONDS = 90  # a restarted worker imports the app again before it polls
BANNER_END = "Ctrl-C stops everything."
API_LINE = re.compile(r"API:\s+(\S+)")
API_KEY_LINE = re.compile(r"Local API key:\s+(\S+)")


@dataclass
class FrontDoor:
    """The running ``devstack.run`` process and everything it printed so far."""

    popen: subprocess.Popen[bytes]
    api_port: int
    aws_port: int
    output: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.output)


def _as_a_terminal_starts_a_foreground_job() -> None:  # runs in the child between fork and exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_output(door: FrontDoor) -> None:
    assert door.popen.stdout is not None
    for line in iter(door.popen.stdout.readline, b""):
        door.output.append(line.decode("utf-8", errors="replace"))


def _environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # An endpoint in the environment would make devstack.run use it instead of starting moto.
    for name in [name for name in env if name.startswith(ENDPOINT_VARIABLE)]:  # and AWS_ENDPOINT_URL_*
        del env[name]
    return env


def descendants(pid: int) -> set[tuple[int, str]]:
    """Every live process below ``pid``, as (pid, start time) so a reused pid is not mistaken for it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found: set[tuple[int, str]] = set()
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        if (stat := _stat(child)) is not None:
            found.add((child, stat[19]))
            pending.extend(children.get(child, []))
    return found


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name (index 0 is the state, 1 the parent pid)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def still_alive(process: tuple[int, str]) -> bool:
    stat = _stat(process[0])
    return stat is not None and stat[19] == process[1] and stat[0] != "Z"


def members_of_groups(pgids: set[int]) -> list[int]:
    """Live processes whose process group is one of ``pgids``."""
    members = []
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and int(stat[2]) in pgids and stat[0] != "Z":
            members.append(int(entry.name))
    return members


KILLED_RECEIVE_VISIBILITY_SECONDS = 5
# The applications' queue worker (devstack.stack.DevStack.start_workers), stage local.
QUEUE_WORKER = ("-m", "devstack.sqs_poller", "--stage", "local")


@pytest.fixture
def front_door() -> Iterator[FrontDoor]:
    api_port, aws_port = free_port(HOST), free_port(HOST)
    argv = [sys.executable, "-m", "devstack.run", "--host", HOST, "--workers", "1"]
    argv += ["--api-port", str(api_port), "--aws-port", str(aws_port)]
    # A worker killed during its long poll can still be handed a message by the server, as SQS does;
    # that message then stays invisible for the visibility timeout (the real one is 3 minutes).
    argv += ["--visibility-timeout", str(KILLED_RECEIVE_VISIBILITY_SECONDS)]
    popen = subprocess.Popen(
        argv,
        cwd=PROJECT_ROOT,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a foreground job in a terminal
        preexec_fn=_as_a_terminal_starts_a_foreground_job,
    )
    door = FrontDoor(popen, api_port, aws_port)
    threading.Thread(target=_read_output, args=(door,), daemon=True).start()
    started: set[tuple[int, str]] = set()
    try:
        wait_until(
            lambda: BANNER_END in door.text() or popen.poll() is not None, START_SECONDS, "the banner", 0.5
        )
        assert popen.poll() is None, f"devstack.run exited with {popen.returncode}:\n{door.text()}"
        started = descendants(popen.pid)
        yield door
    finally:
        # Whatever the test left running (a failed assertion, a stop that hung) is killed here;
        # restarted workers are new descendants, so look again.
        started |= descendants(popen.pid)
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
        for process in started:
            if still_alive(process):
                os.killpg(process[0], signal.SIGKILL)  # every child of devstack.run leads its own group


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child_running(door: FrontDoor, *arguments: str) -> tuple[int, str] | None:
    """The live direct child of the front door whose command, after the interpreter, starts with
    ``arguments`` (``-m devstack.reconciler_timer``). Several children run one module (the queue
    worker and the monitoring pollers are all ``devstack.sqs_poller``), so ``QUEUE_WORKER`` is the
    whole command of the applications' worker."""
    for process in descendants(door.popen.pid):
        stat = _stat(process[0])
        command = command_line(process[0]).split()[1:]
        whole = arguments == QUEUE_WORKER
        matches = command == list(arguments) if whole else command[: len(arguments)] == list(arguments)
        if stat is not None and int(stat[1]) == door.popen.pid and matches:
            return process
    return None


def test_run_serves_a_decision_and_ctrl_c_stops_every_process(front_door: FrontDoor) -> None:
    banner = front_door.text()
    api_url = f"http://{HOST}:{front_door.api_port}"
    printed_api, key = API_LINE.search(banner), API_KEY_LINE.search(banner)
    assert printed_api is not None and key is not None, banner
    assert printed_api.group(1) == api_url

    health = requests.get(f"{api_url}/health/ready", timeout=30)
    response = requests.post(
        f"{api_url}/v1/decisions",
        json=sample_application(with_personal_data=False),
        headers={"x-api-key": key.group(1)},
        timeout=30,
    )

    assert health.status_code == 200, health.text
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] in {"approved", "manual_review", "declined"}

    children = descendants(front_door.popen.pid)
    names = {command_line(pid) for pid, _ in children}
    assert any("devstack.moto_server" in name for name in names), names
    assert any("devstack.chalice_local" in name for name in names), names
    assert any("devstack.sqs_poller" in name for name in names), names
    pgid = os.getpgid(front_door.popen.pid)
    assert pgid == front_door.popen.pid  # the front door leads its own group

    os.killpg(pgid, signal.SIGINT)  # what a terminal sends the foreground group on Ctrl-C

    assert front_door.popen.wait(timeout=STOP_SECONDS) == 0, front_door.text()
    assert "Stopped." in front_door.text()
    # The children lead groups of their own: none of them, nor anything in their groups, survives.
    assert [process for process in children if still_alive(process)] == []
    assert members_of_groups({pgid} | {pid for pid, _ in children}) == []
    assert not port_is_open(HOST, front_door.api_port)
    assert not port_is_open(HOST, front_door.aws_port)


def test_a_killed_worker_or_reconciler_is_restarted_and_work_goes_on(front_door: FrontDoor) -> None:
    key = API_KEY_LINE.search(front_door.text())
    assert key is not None, front_door.text()
    api_url = f"http://{HOST}:{front_door.api_port}"
    worker = child_running(front_door, *QUEUE_WORKER)
    reconciler = child_running(front_door, "-m", "devstack.reconciler_timer")
    assert worker is not None and reconciler is not None, front_door.text()

    os.kill(worker[0], signal.SIGKILL)
    os.kill(reconciler[0], signal.SIGKILL)

    wait_until(
        lambda: "sqs-poller-0 restarted" in front_door.text() and "reconciler restarted" in front_door.text(),
        RESTART_SECONDS,
        "both restarts printed",
        0.25,
    )
    text = front_door.text()
    assert "sqs-poller-0 exited with -9" in text and "reconciler exited with -9" in text, text
    assert "sqs-poller-0 restarted (pid" in text and "restart 1)" in text, text
    new_worker = wait_until(lambda: child_running(front_door, *QUEUE_WORKER), 30, "a new worker")
    assert new_worker != worker
    assert front_door.popen.poll() is None  # the stack itself kept running

    # The restarted worker takes the queue over: an application submitted now gets decided.
    headers = {"x-api-key": key.group(1)}
    accepted = requests.post(
        f"{api_url}/v1/applications",
        json=sample_application(with_personal_data=False),
        headers=headers,
        timeout=30,
    )
    assert accepted.status_code == 202, accepted.text
    status_url = f"{api_url}/v1/applications/{accepted.json()['application_id']}"

    def decided() -> dict[str, object] | None:
        body: dict[str, object] = requests.get(status_url, headers=headers, timeout=30).json()
        return body if body.get("status") == "DECIDED" else None

    assert wait_until(decided, DECIDED_SECONDS, "the application DECIDED", 0.5)["decision_id"]


def test_the_api_dying_stops_the_stack_with_a_message(front_door: FrontDoor) -> None:
    api = child_running(front_door, "-m", "devstack.chalice_local")
    assert api is not None, front_door.text()
    children = descendants(front_door.popen.pid)

    os.kill(api[0], signal.SIGKILL)

    assert front_door.popen.wait(timeout=STOP_SECONDS) == 1, front_door.text()
    text = front_door.text()
    assert "chalice-local (the API) exited with -9" in text, text
    assert "stopping everything" in text and "Stopped." in text, text
    assert [process for process in children if still_alive(process)] == []
    assert not port_is_open(HOST, front_door.aws_port)  # moto went down with it
