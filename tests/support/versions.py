"""Registering decision versions directly in a version store (what the registry's route does after its
checks), and routing documents, for tests of the request path."""

from __future__ import annotations

import copy
import json
from typing import Any

from chalicelib.dal.versions import ChallengerArm, Routing, VersionRecord, VersionStore, empty_routing
from chalicelib.engine.artifact import ARTIFACT_PATH, canonical_json
from chalicelib.engine.lending_policy import POLICY_V1_PATH, policy_sha256


def policy_v1() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    return document


def policy_with_bands(approve: float, review: float, version: str) -> dict[str, Any]:
    """Policy version 1 with other probability bands (a policy-only change)."""
    document = copy.deepcopy(policy_v1())
    document["bands"]["approve"], document["bands"]["review"] = approve, review
    document["version"] = version
    return document


def register(store: VersionStore, policy: dict[str, Any], label: str = "test", *, inline: bool = True) -> str:
    """Store the policy document and the packaged model as blobs and register a version of them, its
    policy document inline in the record as the registry route stores it (``inline=False``: a record
    from before the inline document, resolved from the blob)."""
    model_bytes = ARTIFACT_PATH.read_bytes()
    model = json.loads(model_bytes)
    policy_sha = policy_sha256(policy)
    store.put_blob(model["sha256"], model_bytes)
    store.put_blob(policy_sha, canonical_json(policy))
    version_id = store.next_version_id()
    record: VersionRecord = {
        "version_id": version_id,
        "label": label,
        "notes": "",
        "model_sha256": model["sha256"],
        "policy_sha256": policy_sha,
        "model_id": model["model_id"],
        "model_version": model["version"],
        "policy_id": policy["policy_id"],
        "policy_version": policy["version"],
        "registered_by": "test",
        "registered_at": "2026-12-01T00:00:00.000Z",
        "report": None,
    }
    if inline:
        record["policy_document"] = copy.deepcopy(policy)
    stored = store.put_version(record)
    assert stored
    return version_id


def route(
    store: VersionStore,
    champion: str,
    challenger: ChallengerArm | None = None,
    shadows: list[str] | None = None,
    shadow_share: int = 100,
) -> Routing:
    """Write the next routing document (conditional on the current revision, as promotions are)."""
    current = store.get_routing()
    routing: Routing = {
        **empty_routing(),
        "revision": current["revision"] + 1,
        "champion": champion,
        "challenger": challenger,
        "shadows": shadows or [],
        "shadow_share": shadow_share,
        "updated_at": "2026-12-01T00:00:00.000Z",
        "updated_by": "test",
    }
    assert store.put_routing(routing, current["revision"])
    return routing
