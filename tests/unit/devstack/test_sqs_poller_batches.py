"""The local SQS poller gathers a batch as Lambda's event source mapping does: a message received a
second time within the batching window (its visibility timeout ended meanwhile) is in the batch once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from chalicelib.resources import APPLICATIONS_QUEUE
from devstack.sqs_poller import QueuePoller


class ScriptedSQS:
    """Answers each ReceiveMessage with the next scripted list of messages (then nothing)."""

    def __init__(self, answers: list[list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.meta = SimpleNamespace(region_name="us-east-1")
        self.receives = 0

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.receives += 1
        return {"Messages": self.answers.pop(0) if self.answers else []}


def message(message_id: str, receipt: str) -> dict[str, Any]:
    return {"MessageId": message_id, "ReceiptHandle": receipt, "Body": message_id, "Attributes": {}}


def test_a_message_received_again_within_the_window_is_in_the_batch_once_with_its_newer_handle() -> None:
    assert APPLICATIONS_QUEUE.batching_window_seconds >= 1 and APPLICATIONS_QUEUE.batch_size >= 3
    sqs = ScriptedSQS([[message("one", "r1")], [message("one", "r2"), message("two", "r3")]])
    poller = QueuePoller(handler=lambda event, context: {}, queue_name="q", stage="local", sqs_client=sqs)  # type: ignore[arg-type]

    batch = poller.gather_batch("http://queue")

    assert [(m["MessageId"], m["ReceiptHandle"]) for m in batch] == [("one", "r2"), ("two", "r3")]
    assert sqs.receives >= 2  # the window was used to top the batch up
