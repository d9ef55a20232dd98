"""The README's architecture diagram is true to ``chalicelib/resources.py``: every table, queue and
dead-letter queue, function, bucket, event bus, user pool and the reconciler's schedule declared
there is in the diagram, and every one the diagram names exists. The docs point at nothing outside the
repository, and the counts they state are the stack's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib import resources
from infra import alarms

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def architecture_diagram(text: str) -> str:
    """The first fenced block under the README's "## Architecture" heading."""
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert match is not None, "no diagram under ## Architecture"
    return match.group(1)


DIAGRAM = architecture_diagram(README.read_text(encoding="utf-8"))


def named(kind: str, diagram: str = DIAGRAM) -> set[str]:
    """The names the diagram gives after ``kind`` (e.g. "table decisions" -> "decisions")."""
    return set(re.findall(rf"(?<![\w-]){kind} ([a-z][\w-]*)", diagram))


def test_the_diagram_shows_every_table_and_only_tables_that_exist() -> None:
    assert {"decisions", "audit"} <= named("table")  # the parse finds tables at all
    assert named("table") == {table.suffix for table in resources.TABLES}


def test_the_diagram_shows_every_queue_and_dead_letter_queue() -> None:
    assert named("queue") == {queue.suffix for queue in resources.QUEUES}
    assert named("DLQ") == {queue.dlq_suffix for queue in resources.QUEUES}


def test_the_diagram_shows_every_function() -> None:
    assert named("Lambda") == {function.chalice_name for function in resources.FUNCTIONS}


def test_the_diagram_shows_every_bucket() -> None:
    # "S3 bucket: the console's files" (infra/console_hosting.py) is not a resources.BUCKETS entry.
    assert named("bucket") == {bucket.suffix for bucket in resources.BUCKETS}


def test_the_diagram_shows_the_bus_its_events_and_the_staff_pool() -> None:
    assert named("bus") == {resources.DECISION_EVENTS_BUS.suffix}
    for detail_type in resources.DECISION_EVENTS_BUS.detail_types:
        assert detail_type in DIAGRAM, detail_type
    assert named("user pool") == {resources.STAFF_POOL.suffix}
    for group in resources.STAFF_POOL.groups:
        assert group in DIAGRAM, group


def test_the_diagram_shows_the_schedule_the_edge_and_the_alarms() -> None:
    assert f"schedule every {resources.RECONCILE_EVERY_MINUTES} minutes" in DIAGRAM
    assert f"stage {resources.API_GATEWAY_STAGE}" in DIAGRAM
    for plan in resources.USAGE_PLANS:
        assert plan.name in DIAGRAM, plan.name
    for part in ("API Gateway", "WAF", "CloudFront", "S3", "Cognito", "SNS"):
        assert part in DIAGRAM, part
    assert f"{len(alarms.alarms('prod'))} alarms" in DIAGRAM


def test_named_reads_names_and_ignores_longer_words() -> None:
    # What the checks above rely on: a kind word followed by a name, not a word containing it.
    assert named("table", "table decisions\n subtable audit\n") == {"decisions"}
    assert named("queue", "queue applications ──► x\nqueue_depth\n") == {"applications"}


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces to "-"."""
    headings = re.findall(
        r"^#+ (.+)$", re.sub(r"^```.*?^```$", "", text, flags=re.DOTALL | re.MULTILINE), re.MULTILINE
    )
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda path: path.name)
def test_docs_point_at_nothing_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # Any path the text names that climbs out of its folder must still land inside the repository.
    for mention in re.findall(r"(?:\.\./)+[\w.-]+", text):
        climbed = (path.parent / mention).resolve()
        assert climbed.is_relative_to(ROOT), f"{path.name} names a path outside the repository: {mention}"
    for target, anchor in re.findall(r"\]\(([^)#]*)(?:#([^)]*))?\)", text):
        if "://" in target:
            continue
        linked = (path.parent / target).resolve() if target else path
        assert linked.is_relative_to(ROOT), f"{path.name} links outside the repository: {target}"
        assert linked.exists(), f"{path.name} links to a missing file: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in heading_anchors(linked.read_text(encoding="utf-8")), (
                f"{path.name}: {target}#{anchor}"
            )


def test_heading_anchors_follow_githubs_rule() -> None:
    assert heading_anchors("## 2. Scale: the `up --scale api=5` knob\n```\n# not a heading\n```\n") == {
        "2-scale-the-up---scale-api5-knob"
    }


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda path: path.name)
def test_docs_state_the_stacks_counts(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for count in re.findall(r"\b(\d+) (?:CloudWatch )?alarms\b", text):
        assert int(count) == len(alarms.alarms("prod")), f"{path.name}: {count} alarms"
    for count in re.findall(r"\b(\d+|\w+) DynamoDB tables\b", text):
        number = int(count) if count.isdigit() else NUMBER_WORDS.get(count)
        assert number in (None, len(resources.TABLES)), f"{path.name}: {count} DynamoDB tables"


NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
