"""The local SQS poller gathers a batch as Lambda's event source mapping does: the batching window
never holds a message past its visibility timeout, and a message received a second time within the
window all the same (a stalled machine) is in the batch once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from chalicelib.resources import APPLICATIONS_QUEUE
from devstack.sqs_poller import QueuePoller, ResolvedQueue


class ScriptedSQS:
    """Answers each ReceiveMessage with the next scripted list of messages (then nothing)."""

    def __init__(self, answers: list[list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.meta = SimpleNamespace(region_name="us-east-1")
        self.waits: list[int] = []  # WaitTimeSeconds of each receive

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.waits.append(request["WaitTimeSeconds"])
        return {"Messages": self.answers.pop(0) if self.answers else []}


def message(message_id: str, receipt: str) -> dict[str, Any]:
    return {"MessageId": message_id, "ReceiptHandle": receipt, "Body": message_id, "Attributes": {}}


def test_a_message_received_again_within_the_window_is_in_the_batch_once_with_its_newer_handle() -> None:
    assert APPLICATIONS_QUEUE.batching_window_seconds >= 1 and APPLICATIONS_QUEUE.batch_size >= 3
    sqs = ScriptedSQS([[message("one", "r1")], [message("one", "r2"), message("two", "r3")]])
    batch = poller_on(sqs).gather_batch(DEPLOYED_QUEUE)

    assert [(m["MessageId"], m["ReceiptHandle"]) for m in batch] == [("one", "r2"), ("two", "r3")]
    assert len(sqs.waits) >= 2  # the window was used to top the batch up


def test_with_the_deployed_visibility_the_window_long_polls_for_more() -> None:
    sqs = ScriptedSQS([[message("one", "r1")]])

    poller_on(sqs).gather_batch(DEPLOYED_QUEUE)

    assert sqs.waits[1:] and all(wait >= 1 for wait in sqs.waits[1:])


def test_with_a_one_second_visibility_the_top_up_does_not_wait_for_the_held_message_to_return() -> None:
    sqs = ScriptedSQS([[message("one", "r1")]])

    poller_on(sqs).gather_batch(ResolvedQueue("http://queue", "arn:queue", visibility_seconds=1))

    assert sqs.waits[1:] and all(wait == 0 for wait in sqs.waits[1:])  # short polls only


DEPLOYED_QUEUE = ResolvedQueue("http://queue", "arn:queue", APPLICATIONS_QUEUE.visibility_timeout_seconds)


def poller_on(sqs: ScriptedSQS) -> QueuePoller:
    return QueuePoller(handler=lambda event, context: {}, queue_name="q", stage="local", sqs_client=sqs)  # type: ignore[arg-type]
