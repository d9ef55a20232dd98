"""The webhook delivery function's local poller: ``devstack.sqs_poller`` on the webhook queue.

What Lambda's SQS mapping does for ``app.deliver_webhooks`` (``chalicelib.resources.WEBHOOK_QUEUE``);
a module of its own so that the local stack's processes say which queue each one works. A one-second
long poll: an attempt due in a moment is not held up by an idle receive.
"""

from __future__ import annotations

import sys

from chalicelib.resources import WEBHOOK_QUEUE
from devstack import sqs_poller


def main(argv: list[str] | None = None) -> None:
    handler = f"app:{WEBHOOK_QUEUE.consumer.chalice_name}"
    arguments = ["--queue", WEBHOOK_QUEUE.logical_id, "--handler", handler, "--long-poll-seconds", "1"]
    sqs_poller.main([*(sys.argv[1:] if argv is None else argv), *arguments])


if __name__ == "__main__":
    main()
