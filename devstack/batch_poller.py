"""The batch scorer's local pollers: ``devstack.sqs_poller`` on the chunk queue and on its DLQ.

What Lambda's SQS mappings do for ``app.score_batch_chunks`` (``resources.BATCH_CHUNKS_QUEUE``)
and ``app.settle_failed_batch_chunks`` (its dead-letter queue, ``--dead-letters``). One process is
one execution environment; the local stack runs several scorer processes for concurrency.

TESTS ONLY: ``DEVSTACK_BATCH_FAULTS`` makes the scorer fail on purpose, in this local process alone
(``chalicelib.service.batches.after_part_written``, a seam nothing in the package sets): after a
chunk's result part is written and before it is counted, ``crash_once=<index>`` raises the first
time this process scores that chunk (the handler "dies mid-chunk": the message comes back after its
visibility timeout) and ``always=<index>`` raises every time (the chunk reaches the DLQ). Several
indices: ``crash_once=1,always=3``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from chalicelib import resources
from chalicelib.config import queue_name
from devstack import sqs_poller

FAULTS_ENV = "DEVSTACK_BATCH_FAULTS"
log = logging.getLogger("devstack.batch_poller")


class InjectedFault(RuntimeError):
    """The local fault tests' simulated death of a scorer mid-chunk."""


def fault_hook(spec: str) -> Callable[[str, int], None] | None:
    """The hook ``spec`` asks for (``crash_once=1,always=3``), or None for an empty spec."""
    crash_once: set[int] = set()
    always: set[int] = set()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, index = item.partition("=")
        {"crash_once": crash_once, "always": always}[kind].add(int(index))
    if not crash_once and not always:
        return None
    crashed: set[tuple[str, int]] = set()

    def hook(batch_id: str, index: int) -> None:
        if index in always or (index in crash_once and (batch_id, index) not in crashed):
            crashed.add((batch_id, index))
            log.warning("injected fault: chunk %d of %s dies after writing its part", index, batch_id)
            raise InjectedFault(f"injected fault in chunk {index}")

    return hook


def main(argv: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    spec = resources.BATCH_CHUNKS_QUEUE
    if "--dead-letters" in arguments:
        arguments.remove("--dead-letters")
        handler = f"app:{resources.BATCH_DLQ_FUNCTION.chalice_name}"
        # sqs_poller finds a queue by its spec's variable: point it at the DLQ for this process.
        os.environ[spec.env_var] = queue_name(spec, dead_letters=True)
    else:
        handler = f"app:{spec.consumer.chalice_name}"
        hook = fault_hook(os.environ.get(FAULTS_ENV, ""))
        if hook is not None:
            from chalicelib.service import batches

            batches.after_part_written = hook
    extra = ["--queue", spec.logical_id, "--handler", handler, "--long-poll-seconds", "1"]
    sqs_poller.main([*arguments, *extra])


if __name__ == "__main__":
    main()
