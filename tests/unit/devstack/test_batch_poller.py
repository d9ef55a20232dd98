"""The local fault tests' wrapper: it fires after a chunk's result part is written, and only then."""

from __future__ import annotations

import pytest

from chalicelib.dal.batches import aggregates_key, input_key, part_key, summary_key
from devstack.batch_poller import InjectedFault, fault_hook, with_part_faults
from devstack.in_memory_batches import InMemoryBatchObjects


def test_the_hook_sees_each_written_part_after_it_is_stored_and_nothing_else() -> None:
    stored = InMemoryBatchObjects()
    seen: list[tuple[str, int, bool]] = []
    faulty = with_part_faults(
        stored,
        lambda batch_id, index: seen.append((batch_id, index, part_key(batch_id, index) in stored.objects)),
    )
    for key in (
        input_key("b1"),
        aggregates_key("b1", 3),
        summary_key("b1"),
        part_key("b1", 3),
        part_key("b2", 12),
    ):
        faulty.put(key, b"x", "application/octet-stream")
    assert seen == [("b1", 3, True), ("b2", 12, True)]
    assert faulty.get(input_key("b1")) == b"x"  # everything else reaches the store unchanged


def test_crash_once_dies_the_first_time_and_always_every_time() -> None:
    hook = fault_hook("crash_once=1,always=3")
    assert hook is not None and fault_hook("") is None
    with pytest.raises(InjectedFault):
        hook("b1", 1)
    hook("b1", 1)  # the redelivery goes through
    hook("b1", 2)
    for _ in range(2):
        with pytest.raises(InjectedFault):
            hook("b1", 3)
