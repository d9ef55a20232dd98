"""What ``make run`` prints: every API key the local gateway accepts, with its usage plan and the client
it identifies (the README's tour uses both keys: two clients, each seeing only its own records)."""

from __future__ import annotations

import re

import pytest

from devstack.gateway import local_api_key_id, local_api_keys
from devstack.run import banner
from devstack.stack import DevStack, DevStackConfig

KEY_LINE = re.compile(
    r"^  (?:Local|Other) API key:\s+(\S+)\s+\(usage plan (\w+); client (\w+)\)$", re.MULTILINE
)


def printed_keys(text: str) -> dict[str, tuple[str, str]]:
    return {key: (plan, client) for key, plan, client in KEY_LINE.findall(text)}


def test_banner_prints_every_seeded_key_with_its_plan_and_client() -> None:
    stack = DevStack(DevStackConfig.on_free_ports())  # nothing started: the banner is text only
    text = banner(stack)

    seeded = local_api_keys(stack.env())
    assert set(seeded.values()) == {"standard", "partner"}
    assert printed_keys(text) == {key: (plan, local_api_key_id(key)) for key, plan in seeded.items()}
    # The sample curls and the first key line use the same key (the integration test reads that line).
    first = re.search(r"Local API key:\s+(\S+)", text)
    assert first is not None and first.group(1) == stack.api_key()
    assert f"x-api-key: {stack.api_key()}" in text


def test_banner_prints_the_keys_set_in_local_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_API_KEYS", "partner:lender-b,standard:lender-a")
    stack = DevStack(DevStackConfig.on_free_ports())

    assert printed_keys(banner(stack)) == {
        "lender-a": ("standard", local_api_key_id("lender-a")),
        "lender-b": ("partner", local_api_key_id("lender-b")),
    }
    assert re.search(r"Local API key:\s+lender-a\s", banner(stack))


def test_banner_without_gateway_emulation_prints_no_key() -> None:
    text = banner(DevStack(DevStackConfig.on_free_ports(gateway_emulation=False)))

    assert printed_keys(text) == {}
    assert "x-api-key" not in text
