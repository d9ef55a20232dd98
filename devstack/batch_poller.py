"""The batch scorer's local pollers: ``devstack.sqs_poller`` on the chunk queue and on its DLQ.

What Lambda's SQS mappings do for ``app.score_batch_chunks`` (``resources.BATCH_CHUNKS_QUEUE``)
and ``app.settle_failed_batch_chunks`` (its dead-letter queue, ``--dead-letters``). One process is
one execution environment; the local stack runs several scorer processes for concurrency.

TESTS ONLY: ``DEVSTACK_BATCH_FAULTS`` makes the scorer fail on purpose, in this local process alone
(:class:`PartFaults` wraps the batch service's object store; nothing in the package changes): after
a chunk's result part is written and before it is counted, ``crash_once=<index>`` raises the first
time this process scores that chunk (the handler "dies mid-chunk": the message comes back after its
visibility timeout) and ``always=<index>`` raises every time (the chunk reaches the DLQ). Several
indices: ``crash_once=1,always=3``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, cast

from chalicelib import resources
from chalicelib.config import queue_name
from chalicelib.dal.batches import BatchObjects, part_key
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


class PartFaults:
    """A batch object store that calls ``hook(batch_id, index)`` after it wrote a chunk's result
    part (``chalicelib.dal.batches.part_key``); everything else goes to ``objects`` unchanged."""

    def __init__(self, objects: BatchObjects, hook: Callable[[str, int], None]) -> None:
        self.objects = objects
        self._hook = hook

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects.put(key, body, content_type)
        match key.split("/"):
            case ["batches", batch_id, "parts", name] if key == part_key(batch_id, int(name[:6])):
                self._hook(batch_id, int(name[:6]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.objects, name)


def with_part_faults(objects: BatchObjects, hook: Callable[[str, int], None]) -> BatchObjects:
    return cast(BatchObjects, PartFaults(objects, hook))


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
            from chalicelib.service import dependencies

            scorer = dependencies.current().batches  # the one the handler runs on in this process
            if scorer is None:
                raise RuntimeError("this process's dependencies have no batch service")
            scorer.objects = with_part_faults(scorer.objects, hook)
    extra = ["--queue", spec.logical_id, "--handler", handler, "--long-poll-seconds", "1"]
    sqs_poller.main([*arguments, *extra])


if __name__ == "__main__":
    main()
