"""The registry's audit trail as a staff list (``versions.audit_page``): newest first, paged with the
signed cursors every list uses, verified over the whole trail on every page; on the in-memory twin
and on moto in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.engine.lending_policy import POLICY_V1_PATH
from chalicelib.errors import ServiceError
from chalicelib.service import cursors, versions
from chalicelib.service.dependencies import Dependencies

MAKER = "model-risk-1"


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest) -> Dependencies:
    twin: Dependencies = request.getfixturevalue(request.param)
    return twin


def foir_55() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    document["version"] = "1.1-foir-55"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    return document


def five_steps(deps: Dependencies) -> None:
    """A registration and four proposals: five entries on the registry's trail."""
    versions.register(deps, MAKER, {"label": "FOIR 55%", "policy": foir_55()})
    for share in (10, 20, 30, 40):
        versions.propose(deps, MAKER, "v2", {"role": "shadow", "share": share, "reason": f"sample {share}%"})


def test_an_empty_trail_is_one_empty_verified_page(deps: Dependencies) -> None:
    assert versions.audit_page(deps, limit=None, cursor=None) == {
        "verified": True,
        "first_broken_seq": None,
        "entries": [],
        "next_cursor": None,
    }


def test_pages_walk_the_whole_trail_newest_first(deps: Dependencies) -> None:
    five_steps(deps)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = versions.audit_page(deps, limit="2", cursor=cursor)
        assert page["verified"] and page["first_broken_seq"] is None
        assert len(page["entries"]) <= 2
        seen += [entry["seq"] for entry in page["entries"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == ([5, 4, 3, 2, 1], 3)
    whole = versions.audit_page(deps, limit=None, cursor=None)["entries"]
    assert [entry["action"] for entry in whole] == ["routing_proposed"] * 4 + ["version_registered"]
    assert whole[0]["actor"] == MAKER and whole[0]["details"]["reason"] == "sample 40%"
    assert whole == [entry for entry in reversed(versions.audit_trail(deps)["entries"])]


def test_a_page_of_exactly_the_rest_has_no_next_cursor(deps: Dependencies) -> None:
    five_steps(deps)
    first = versions.audit_page(deps, limit="3", cursor=None)
    rest = versions.audit_page(deps, limit="2", cursor=first["next_cursor"])
    assert [entry["seq"] for entry in rest["entries"]] == [2, 1] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("limit", "cursor", "field"),
    [
        ("0", None, "limit"),
        ("101", None, "limit"),
        ("two", None, "limit"),
        (None, "bm90LWEtY3Vyc29y.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "cursor"),
        # Signed, but for the review desk's list: not this one's.
        (None, cursors.encode({"before_seq": "3"}, "review-desk", {"status": "open"}), "cursor"),
        # This list's signature over a page key it never issues.
        (None, cursors.encode({"due_at": "x"}, versions.AUDIT_CURSOR_LIST, {}), "cursor"),
        (None, cursors.encode({"before_seq": "0"}, versions.AUDIT_CURSOR_LIST, {}), "cursor"),
    ],
)
def test_a_bad_limit_or_cursor_is_a_400_naming_it(
    memory: Dependencies, limit: str | None, cursor: str | None, field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        versions.audit_page(memory, limit=limit, cursor=cursor)
    assert refused.value.status == 400
    assert [detail["field"] for detail in refused.value.details] == [field]


def test_an_edited_entry_shows_on_every_page_as_the_first_broken_link(memory: Any) -> None:
    five_steps(memory)
    memory.reviews.audit[versions.AUDIT_SUBJECT][2]["actor"] = "someone-else"

    first = versions.audit_page(memory, limit="2", cursor=None)
    last = versions.audit_page(memory, limit="10", cursor=first["next_cursor"])

    for page in (first, last):
        assert page["verified"] is False and page["first_broken_seq"] == 2
    assert [entry["seq"] for entry in last["entries"]] == [3, 2, 1]


def test_the_registry_unreachable_is_a_503(memory: Any) -> None:
    five_steps(memory)
    memory.reviews.outages.fail("dynamodb")

    with pytest.raises(ServiceError) as refused:
        versions.audit_page(memory, limit=None, cursor=None)

    assert refused.value.status == 503 and refused.value.headers["Retry-After"]
