"""Why ``devstack.moto_server`` serialises moto's SQS deletes: without it, a deleted message comes back.

Two DeleteMessage requests reach the moto server app (its WSGI application, as ``python -m
devstack.moto_server`` serves it) at once. moto's ``Queue.delete_message`` builds the queue's new
message list from the old one, then assigns it: the test holds the first delete between the two
(it has built its list, which still holds the second message) until the second delete has either
finished or is waiting for the queue's lock, then lets it go. No timing: each step waits for a
condition. Unpatched, the first assignment brings the second message back (received again once its
visibility timeout, 0 s here, has passed); patched, the second delete waits for the lock and both
messages stay deleted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.models import Queue, sqs_backends
from werkzeug.test import Client

from chalicelib.resources import LOCAL_REGION
from devstack.moto_server import SerialiseDynamoDB, locked_delete

QUEUE = "delete-race"
DEADLINE_SECONDS = 60.0  # generous: every wait ends as soon as its condition holds


def sqs_call(client: Client, target: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "X-Amz-Target": f"AmazonSQS.{target}",
        "Content-Type": "application/x-amz-json-1.0",
        "Host": f"sqs.{LOCAL_REGION}.amazonaws.com",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{LOCAL_REGION}/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    answer: dict[str, Any] = json.loads(
        client.post("/", data=json.dumps(body), headers=headers).get_data() or b"{}"
    )
    return answer


class ObservedLock:
    """The queue's RLock, telling when a thread other than the first delete's asks for it."""

    def __init__(self, first: Callable[[], bool], asked: threading.Event) -> None:
        self._lock = threading.RLock()
        self._first, self._asked = first, asked

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._first():
            self._asked.set()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()

    def __getattr__(self, name: str) -> Any:  # _is_owned, _release_save, _acquire_restore
        return getattr(self._lock, name)


class HeldAfterCopy(list[Any]):
    """The queue's message list; the first delete's full pass over it stops at its end until ``go``."""

    def __init__(self, messages: list[Any], first: Callable[[], bool], go: Callable[[], bool]) -> None:
        super().__init__(messages)
        self._first, self._go, self.held = first, go, threading.Event()

    def __iter__(self) -> Iterator[Any]:
        yield from super().__iter__()
        if self._first() and not self.held.is_set():
            self.held.set()
            wait_for(self._go, "the second delete finished or waiting for the queue's lock")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    done = threading.Event()
    deadline = threading.Timer(DEADLINE_SECONDS, done.set)
    deadline.start()
    try:
        while not condition():
            if done.wait(0.01):
                raise AssertionError(f"not within {DEADLINE_SECONDS:.0f} s: {what}")
    finally:
        deadline.cancel()


def race_two_deletes() -> set[str]:
    """Two messages deleted by two concurrent requests; the bodies received again afterwards."""
    app = SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
    client = Client(app)
    url = sqs_call(client, "CreateQueue", {"QueueName": QUEUE})["QueueUrl"]
    for body in ("first", "second"):
        sqs_call(client, "SendMessage", {"QueueUrl": url, "MessageBody": body})
    received = sqs_call(
        client, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0}
    )["Messages"]
    handles = {message["Body"]: message["ReceiptHandle"] for message in received}
    assert set(handles) == {"first", "second"}

    first_thread: list[threading.Thread] = []
    second_done, second_asked_lock = threading.Event(), threading.Event()

    def is_first() -> bool:
        return bool(first_thread) and threading.current_thread() is first_thread[0]

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].queues[QUEUE]
    queue._messages_lock = threading.Condition(ObservedLock(is_first, second_asked_lock))  # type: ignore[arg-type]
    # "first" is sent first: the first delete's existence check stops at it, the gate is its full pass.
    messages = HeldAfterCopy(
        queue._messages, is_first, lambda: second_done.is_set() or second_asked_lock.is_set()
    )
    queue._messages = messages

    def delete(body: str, finished: threading.Event | None = None) -> None:
        answer = sqs_call(Client(app), "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": handles[body]})
        assert "__type" not in answer, answer
        if finished is not None:
            finished.set()

    first_thread.append(threading.Thread(target=delete, args=("first",)))
    first_thread[0].start()
    wait_for(messages.held.is_set, "the first delete holding its copy")
    second = threading.Thread(target=delete, args=("second", second_done))
    second.start()
    first_thread[0].join(DEADLINE_SECONDS)
    second.join(DEADLINE_SECONDS)
    assert second_done.is_set() and not first_thread[0].is_alive()
    again = sqs_call(client, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
    return {message["Body"] for message in again.get("Messages", [])}


@pytest.fixture(autouse=True)
def fresh_moto_sqs() -> Iterator[None]:
    sqs_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].queues.pop(QUEUE, None)
    yield
    sqs_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].queues.pop(QUEUE, None)


def test_unpatched_moto_brings_a_deleted_message_back(monkeypatch: pytest.MonkeyPatch) -> None:
    unpatched = getattr(Queue.delete_message, "__wrapped__", Queue.delete_message)
    monkeypatch.setattr(Queue, "delete_message", unpatched)

    assert race_two_deletes() == {"second"}


def test_with_the_lock_fix_both_deleted_messages_stay_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Queue, "delete_message", locked_delete(Queue.delete_message))
    assert locked_delete(Queue.delete_message) is Queue.delete_message  # patching twice is a no-op

    assert race_two_deletes() == set()
