"""The local queue worker: what Lambda's SQS event source mapping does, for ``chalice local``.

``python -m devstack.sqs_poller`` long-polls the applications queue, gathers a batch (batch size and
batching window from ``chalicelib.resources.APPLICATIONS_QUEUE``), invokes the SAME handler Lambda
runs (``app.process_application_queue``, Chalice's ``on_sqs_message`` wrapper) with a Lambda-shaped
event and context, then settles the batch as a mapping with ``ReportBatchItemFailures`` does:

* the handler returns ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` -> every other
  message is deleted; the failed ones stay and reappear after the visibility timeout;
* it returns nothing / an empty list -> the whole batch is deleted;
* it raises, or names an identifier that is not in the batch -> nothing is deleted.

The queue's RedrivePolicy then moves a message that keeps failing to the dead-letter queue after
``maxReceiveCount`` receives, exactly as in AWS. One process is one Lambda execution environment
(invocations run one after another); run several processes for concurrency (the local analogue of
the mapping's MaximumConcurrency).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.resources import APPLICATIONS_QUEUE, QUEUES, QueueSpec, resource_name
from devstack.lambda_events import sqs_event, worker_context

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        ReceiveMessageRequestTypeDef,
    )

log = logging.getLogger("devstack.sqs_poller")

SQS_MAX_MESSAGES_PER_RECEIVE = 10
SQS_MAX_ENTRIES_PER_DELETE = 10
LONG_POLL_SECONDS = 5  # short enough for a prompt shutdown, long enough to be cheap when idle
RETRY_PAUSE_SECONDS = 1.0  # after the endpoint failed (e.g. the moto server is stopped)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class BatchOutcome:
    received: int = 0
    deleted: int = 0
    failed: int = 0  # left on the queue for redelivery (or the DLQ)
    handler_raised: bool = False


def load_handler(spec: str) -> Handler:
    """``module:attribute`` -> the callable (default ``app:process_application_queue``)."""
    module_name, _, attribute = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def failed_message_ids(response: Any, batch_ids: set[str]) -> set[str] | None:
    """The ids the handler reported as failed; ``None`` means "treat the whole batch as failed".

    Mirrors the mapping's rules: no response or no/empty ``batchItemFailures`` is full success; an
    identifier that is empty or not in the batch invalidates the response (whole batch retried).
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return None
        failed.add(identifier)
    return failed


@dataclass(frozen=True)
class ResolvedQueue:
    url: str
    arn: str
    visibility_seconds: int  # what a receive hides a message for (the override, else the queue's)


def _add_to_batch(batch: list[MessageTypeDef], more: list[MessageTypeDef]) -> None:
    """A message received again while the batch was being gathered is in the batch once, with the
    newer receipt handle: SQS takes only the latest one for the delete. (The window is cut to half
    the visibility timeout, so only a machine stalled for longer than that meets this.)"""
    position = {message["MessageId"]: index for index, message in enumerate(batch)}
    for message in more:
        index = position.get(message["MessageId"])
        if index is None:
            position[message["MessageId"]] = len(batch)
            batch.append(message)
        else:
            batch[index] = message


class QueuePoller:
    def __init__(
        self,
        handler: Handler,
        queue_name: str,
        stage: str,
        spec: QueueSpec = APPLICATIONS_QUEUE,
        visibility_timeout_override: int | None = None,
        long_poll_seconds: int = LONG_POLL_SECONDS,
        sqs_client: SQSClient | None = None,
    ) -> None:
        self.handler = handler
        self.stage = stage
        self.spec = spec
        self.visibility_timeout_override = visibility_timeout_override
        self.long_poll_seconds = long_poll_seconds
        # Timeouts a bit above the long poll so a stopped endpoint is noticed, never hangs forever.
        read_timeout = long_poll_seconds + 5
        client_config = Config(connect_timeout=2, read_timeout=read_timeout, retries={"mode": "standard"})
        self.sqs: SQSClient = sqs_client or boto3.client("sqs", config=client_config)
        self.region = self.sqs.meta.region_name
        self.queue_name = queue_name
        self._queue: ResolvedQueue | None = None

    def _resolve_queue(self) -> ResolvedQueue:
        if self._queue is None:
            url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout"]
            )["Attributes"]
            visibility = self.visibility_timeout_override or int(attributes["VisibilityTimeout"])
            self._queue = ResolvedQueue(url, attributes["QueueArn"], visibility)
        return self._queue

    def _receive(self, queue_url: str, max_messages: int, wait_seconds: int) -> list[MessageTypeDef]:
        request: ReceiveMessageRequestTypeDef = {
            "QueueUrl": queue_url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": wait_seconds,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self.visibility_timeout_override is not None:
            request["VisibilityTimeout"] = self.visibility_timeout_override
        return self.sqs.receive_message(**request).get("Messages", [])

    def gather_batch(self, queue: ResolvedQueue) -> list[MessageTypeDef]:
        """Long-poll for the first messages, then top up until the batch is full or the window ends.

        The window never outlasts half the visibility timeout of the messages already held: past it
        they would turn visible and be received a second time before the handler saw the first
        receive (AWS sizes a mapped queue's visibility far above the window; the tests' 1 s does not).
        """
        batch = self._receive(
            queue.url, min(self.spec.batch_size, SQS_MAX_MESSAGES_PER_RECEIVE), self.long_poll_seconds
        )
        hold_seconds = queue.visibility_seconds / 2
        window_ends = time.monotonic() + min(float(self.spec.batching_window_seconds), hold_seconds)
        while batch and len(batch) < self.spec.batch_size:
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wanted = min(self.spec.batch_size - len(batch), SQS_MAX_MESSAGES_PER_RECEIVE)
            wait_seconds = min(max(1, int(remaining)), int(hold_seconds))  # 0: a short poll
            more = self._receive(queue.url, wanted, wait_seconds)
            if not more and remaining < 1:
                break
            _add_to_batch(batch, more)
        return batch

    def poll_once(self) -> BatchOutcome:
        queue = self._resolve_queue()
        messages = self.gather_batch(queue)
        outcome = BatchOutcome(received=len(messages))
        if not messages:
            return outcome
        event = sqs_event(messages, queue.arn, self.region)
        batch_ids = {message["MessageId"] for message in messages}
        try:
            response = self.handler(event, worker_context(self.stage, self.region))
        except Exception:
            # Lambda: a failed invocation returns the whole batch to the queue.
            log.exception("handler raised; leaving all %d messages on the queue", len(messages))
            outcome.handler_raised = True
            outcome.failed = len(messages)
            return outcome
        failed = failed_message_ids(response, batch_ids)
        if failed is None:
            log.error("invalid batchItemFailures %r; leaving the whole batch on the queue", response)
            outcome.failed = len(messages)
            return outcome
        done = [message for message in messages if message["MessageId"] not in failed]
        outcome.deleted = self._delete(queue.url, done)
        outcome.failed = len(failed)
        return outcome

    def _delete(self, queue_url: str, messages: list[MessageTypeDef]) -> int:
        deleted = 0
        for start in range(0, len(messages), SQS_MAX_ENTRIES_PER_DELETE):
            chunk = messages[start : start + SQS_MAX_ENTRIES_PER_DELETE]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            result = self.sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            deleted += len(result.get("Successful", []))
            for failure in result.get("Failed", []):
                # The message comes back after the visibility timeout; the handler is idempotent.
                log.warning("delete failed: %s", failure)
        return deleted

    def run(self, stop: threading.Event) -> None:
        log.info(
            "polling %s (batch %d, window %ss, visibility %s)",
            self.queue_name,
            self.spec.batch_size,
            self.spec.batching_window_seconds,
            self.visibility_timeout_override or "queue default",
        )
        while not stop.is_set():
            try:
                outcome = self.poll_once()
            except (BotoCoreError, ClientError) as error:
                # Endpoint down or queue missing (moto restarted): keep trying, like the mapping does.
                log.warning("queue not reachable (%s); retrying", error)
                self._queue = None
                stop.wait(RETRY_PAUSE_SECONDS)
                continue
            if outcome.received:
                log.info(
                    "batch: %d received, %d deleted, %d left on the queue",
                    outcome.received,
                    outcome.deleted,
                    outcome.failed,
                )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    parser.add_argument("--handler", default="app:process_application_queue", help="module:attribute")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=_int_env("DEVSTACK_VISIBILITY_TIMEOUT"),
        help="TESTS ONLY: override the queue's visibility timeout on receive so redelivery and the "
        "DLQ are reached in seconds (env DEVSTACK_VISIBILITY_TIMEOUT). Default: the queue's own.",
    )
    parser.add_argument("--long-poll-seconds", type=int, default=LONG_POLL_SECONDS)
    parser.add_argument(
        "--dead-letters", action="store_true", help="poll the queue's dead-letter queue (its DLQ handler)"
    )
    parser.add_argument(
        "--queue",
        default=APPLICATIONS_QUEUE.logical_id,
        choices=[spec.logical_id for spec in QUEUES],
        help="the queue (its logical id in chalicelib/resources.py), e.g. WebhookDeliveriesQueue "
        "with --handler app:deliver_webhooks",
    )
    return parser.parse_args(argv)


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sqs-poller[%(process)d] %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # no "Found credentials..." per client
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the current batch, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    spec = next(spec for spec in QUEUES if spec.logical_id == args.queue)
    poller = QueuePoller(
        handler=load_handler(args.handler),
        queue_name=(
            os.environ.get(spec.dlq_env_var) or resource_name(args.stage, spec.dlq_suffix)
            if args.dead_letters
            else os.environ.get(spec.env_var) or resource_name(args.stage, spec.suffix)
        ),
        stage=args.stage,
        spec=spec,
        visibility_timeout_override=args.visibility_timeout,
        long_poll_seconds=args.long_poll_seconds,
    )
    poller.run(stop)


if __name__ == "__main__":
    main()
