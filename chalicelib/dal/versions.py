"""The decision-version registry: versions, the routing document and proposed routing changes.

A decision version is a model artifact (by sha256) and a lending-policy document (by sha256), with a
label, notes, who registered it and when, and its validation report. The blobs themselves live in an
S3 bucket, content-addressed (``blobs/<sha256>.json``, the canonical JSON the sha256 is computed
over), and a version's policy document is also inline in its record (``policy_document``); the
records live in one DynamoDB table keyed by ``kind`` (``version`` | ``routing`` | ``change``)
and ``item_id``, so listing the versions is one Query, never a Scan.

The routing document says which version decides: the champion, optionally a challenger serving a
share of applications, optionally shadows scored beside the served decision. An EMPTY registry (no
routing item stored) is the packaged version :data:`PACKAGED_VERSION_ID` as champion, alone
(:func:`empty_routing`): a fresh deployment decides exactly as before. Every change to the routing
document is a conditional write on its ``revision`` (one of two concurrent promotions wins).

Implementations: :mod:`chalicelib.dal.versions_aws` (DynamoDB + S3) and the in-memory twin
:mod:`devstack.in_memory_versions`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Protocol, TypedDict

from chalicelib.dal import DependencyCheck
from chalicelib.engine.validation_types import ValidationReport
from chalicelib.records import ChallengerArm as ChallengerArm
from chalicelib.records import Routing as Routing

# The packaged decision version (the shipped model artifact and lending-policy version 1): the
# champion of an empty registry. It is never stored; ``get_version`` answers it all the same.
PACKAGED_VERSION_ID = "v1"

Role = Literal["champion", "challenger", "shadow", "retired"]
ROLES: tuple[Role, ...] = ("champion", "challenger", "shadow", "retired")
ChangeState = Literal["proposed", "applied", "superseded"]


def empty_routing() -> Routing:
    """The routing of an empty registry: the packaged version decides everything."""
    return {
        "revision": 0,
        "champion": PACKAGED_VERSION_ID,
        "challenger": None,
        "shadows": [],
        "shadow_share": 100,
        "previous_champions": [],
        "updated_at": None,
        "updated_by": None,
    }


class VersionRecord(TypedDict):
    """One registered decision version with its validation report on the labelled holdout."""

    version_id: str  # "v2", "v3", ... (v1 is the packaged version)
    label: str
    notes: str
    model_sha256: str  # S3 blobs/<model_sha256>.json: the model artifact's JSON
    policy_sha256: str  # S3 blobs/<policy_sha256>.json: the policy document's canonical JSON
    model_id: str
    model_version: str
    policy_id: str
    policy_version: str
    registered_by: str  # staff subject ("packaged" for v1)
    registered_at: str  # ISO 8601 UTC
    report: ValidationReport | None  # None for the packaged version (its figures: the champion's)
    # The policy document itself (a few KB), inline so that resolving a policy-only version is the
    # one GetItem of its record: no S3 client, no S3 read on a cold start. Checked against
    # policy_sha256 on loading like a blob; the S3 blob stays the content-addressed archive.
    # Absent in records registered before it existed (and for the packaged policy): read the blob.
    policy_document: NotRequired[dict[str, Any]]


class VersionContent(TypedDict):
    """What deciding with a version needs: its id, its blobs' sha256 and its inline policy document
    (a :class:`VersionRecord` without its label, provenance and report)."""

    version_id: str
    model_sha256: str
    policy_sha256: str
    policy_document: NotRequired[dict[str, Any]]


def version_content(record: VersionContent) -> VersionContent:
    content: VersionContent = {
        "version_id": record["version_id"],
        "model_sha256": record["model_sha256"],
        "policy_sha256": record["policy_sha256"],
    }
    if "policy_document" in record:
        content["policy_document"] = record["policy_document"]
    return content


def routed_version_ids(routing: Routing) -> list[str]:
    """The registered versions a routing document sends applications to (champion, challenger,
    shadows), without the packaged one."""
    challenger = routing["challenger"]
    routed = [routing["champion"], *([challenger["version_id"]] if challenger else []), *routing["shadows"]]
    return [version_id for version_id in dict.fromkeys(routed) if version_id != PACKAGED_VERSION_ID]


class RoutingChange(TypedDict):
    """A proposed routing change (maker-checker): applied when a manager other than the maker
    approves it, against the revision it was proposed on."""

    change_id: str
    action: Literal["promote", "rollback"]
    version_id: str  # the version promoted (rollback: the champion it returns to)
    role: Role
    share: int | None  # challenger share, or the shadows' sampled share
    reason: str
    proposed_by: str
    proposed_at: str
    base_revision: int  # the routing revision it was proposed on
    routing_after: Routing  # what the routing document becomes
    state: ChangeState
    approved_by: NotRequired[str]
    approved_at: NotRequired[str]
    emergency: NotRequired[bool]  # a manager's rollback alone, without a second person


class VersionStore(Protocol):
    """The registry's storage (DynamoDB table + S3 bucket)."""

    def get_routing(self) -> Routing:
        """The routing document (``empty_routing()`` when none is stored). One GetItem, strongly
        consistent; callers on the request path cache it (<= resources.ROUTING_CACHE_SECONDS)."""

    def put_routing(self, routing: Routing, expected_revision: int) -> bool:
        """Write ``routing`` (whose revision must be expected_revision + 1) if the stored revision is
        still ``expected_revision`` (0: none stored); False when someone changed it meanwhile."""

    def get_version(self, version_id: str) -> VersionRecord | None:
        """A registered version; None when unknown. (The packaged v1 is answered by the service.)"""

    def get_content(self, version_id: str) -> VersionContent | None:
        """What deciding with a registered version needs; None when unknown. Read with the routing
        document when that names the version (no call of its own), else with its record."""

    def list_versions(self) -> list[VersionRecord]:
        """Every registered version (without v1), oldest first."""

    def next_version_id(self) -> str:
        """A fresh version id ("v2", "v3", ...), never handed out twice."""

    def put_version(self, record: VersionRecord) -> bool:
        """Store a new version; False when the id exists."""

    def put_blob(self, sha256: str, body: bytes) -> None:
        """Store a content-addressed blob (idempotent: the same sha256 is the same content)."""

    def get_blob(self, sha256: str) -> bytes | None:
        """A blob's bytes, or None when absent."""

    def put_change(self, change: RoutingChange) -> None: ...

    def get_change(self, change_id: str) -> RoutingChange | None: ...

    def proposed_changes(self) -> list[RoutingChange]:
        """The changes still ``proposed`` (waiting for a manager), oldest first."""

    def mark_change(self, change: RoutingChange) -> bool:
        """Rewrite a change that is still ``proposed`` (its new state applied/superseded); False when
        it was not proposed any more (approved twice at once: one wins)."""

    def check(self) -> list[DependencyCheck]:
        """The readiness probe of the registry's table."""
