"""Routing without a deploy: which decision version decides an application, and which shadow versions
score it beside the served decision.

The routing document (``chalicelib.dal.versions.Routing``: champion, optional challenger with its
share, optional shadows with their sampled share) is read through :class:`RoutingCache`: at most
once per ``ROUTING_CACHE_SECONDS`` per process, so a promotion or a rollback reaches every Lambda
instance within that time and a warm decision makes no AWS call for it. It is a small TTL cache
over the registry's own ``get_routing`` rather than Powertools Parameters' DynamoDB provider: that
provider reads through boto3's resource layer (``import boto3`` and the resource model: tens of ms
of every cold start the project avoids, ``chalicelib.dal.clients``) and expects ``id``/``value``
items, while the routing document is one typed item of the registry's table, read with the
client the registry already has. When a refresh fails, the last document read keeps serving (a
stale routing is at most one change behind) and the next attempt waits ``RETRY_SECONDS``; a
process that never read one raises :class:`RoutingUnavailable`.

A version resolves to its :class:`engine.DecisionLogic` once per process: the version is
immutable, and its content comes with the routing document that names it (else from its record:
``VersionStore.get_content``). Its blobs (the model artifact and the policy document, by sha256)
are checked against their sha256 on loading (:func:`build_logic`) and cached by that pair, so two
versions with the same content share one. ``v1`` is the packaged version and costs no call at all.

Arms are assigned deterministically (:func:`bucket`): a SHA-256 of the challenger's id, the client
and the applicant's identity (``applicant_ref``: the keyed hash ``chalicelib.privacy`` makes of the
strongest identity field, never the number itself) or, without identity fields, of the scoring
inputs. The same applicant of the same client always lands in the same arm while the challenger is
the same; raising its share keeps everyone it already had. Shadows are sampled the same way with
their own salt.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.versions import PACKAGED_VERSION_ID, Routing, VersionContent, VersionRecord, VersionStore
from chalicelib.engine.artifact import build_model
from chalicelib.observability import count, logger
from chalicelib.records import Arm, ShadowDecision
from chalicelib.service.decision_versions import PACKAGED

# The local stack and tests shorten the cache (never lengthen it past resources.ROUTING_CACHE_SECONDS).
ROUTING_CACHE_SECONDS_ENV = "ROUTING_CACHE_SECONDS"
# After a failed refresh, the stale document serves this long before the next attempt, so that
# an outage costs one timeout per process and interval, not one per request.
RETRY_SECONDS = 5.0
BUCKETS = 10_000  # a share of 1% is 100 buckets
CHAMPION: Arm = "champion"
CHALLENGER: Arm = "challenger"


class VersionNotFound(LookupError):
    """A version id the registry does not know (the service answers 404)."""

    def __init__(self, version_id: str) -> None:
        super().__init__(f"unknown decision version {version_id!r}")
        self.version_id = version_id


class RoutingUnavailable(DependencyUnavailable):
    """The routing document could not be read and this process has never read one."""


class Served(NamedTuple):
    """The version that decides an application, its arm, and what it decides with."""

    version_id: str
    arm: Arm
    logic: engine.DecisionLogic


def cache_seconds(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    configured = env.get(ROUTING_CACHE_SECONDS_ENV)
    seconds = float(configured) if configured else float(resources.ROUTING_CACHE_SECONDS)
    return max(0.0, min(seconds, float(resources.ROUTING_CACHE_SECONDS)))


class RoutingCache:
    """The routing document of one store, re-read at most every ``max_age`` seconds (thread-safe)."""

    def __init__(self, max_age: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._store: VersionStore | None = None
        self._routing: Routing | None = None
        self._fresh_until = 0.0

    def routing(self, store: VersionStore) -> Routing:
        routing = self._routing
        if routing is not None and self._store is store and self._monotonic() < self._fresh_until:
            return routing
        with self._lock:
            if self._store is not store:  # another store (tests swap dependencies): nothing cached
                self._store, self._routing, self._fresh_until = store, None, 0.0
            now = self._monotonic()
            if self._routing is not None and now < self._fresh_until:
                return self._routing
            try:
                fresh = store.get_routing()
            except DependencyUnavailable as error:
                count(resources.ROUTING_READ_FAILED_METRIC)
                if self._routing is None:
                    raise RoutingUnavailable(error.dependency, error.cause) from error
                logger.warning(
                    "routing refresh failed: serving the last routing read",
                    extra={"revision": self._routing["revision"], "cause": error.cause},
                )
                self._fresh_until = now + min(RETRY_SECONDS, self.max_age or RETRY_SECONDS)
                return self._routing
            if self._routing is not None and fresh["revision"] != self._routing["revision"]:
                logger.info(
                    "routing changed",
                    extra={"revision": fresh["revision"], "champion": fresh["champion"]},
                )
            self._routing, self._fresh_until = fresh, now + self.max_age
            return fresh


class LogicCache:
    """Decision versions resolved to their logic, once per process (versions are immutable)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._store: VersionStore | None = None
        self._records: dict[str, VersionContent] = {}  # version id -> its content, of ``_store``
        self._logic: dict[tuple[str, str], engine.DecisionLogic] = {}  # (model sha, policy sha)
        # A version that failed to load, and until when that failure is answered without trying
        # again: during an S3 outage the requests a challenger serves do not each wait for timeouts.
        self._failed: dict[str, tuple[float, Exception]] = {}

    def logic(self, version_id: str, store: VersionStore) -> engine.DecisionLogic:
        """The version's model and policy (VersionNotFound; DependencyUnavailable when the registry
        cannot be read; ValueError when a blob does not match its sha256)."""
        if version_id == PACKAGED_VERSION_ID:
            return PACKAGED
        failed = self._failed.get(version_id) if self._store is store else None
        if failed is not None and self._monotonic() < failed[0]:
            raise failed[1]
        try:
            return self._load(version_id, store)
        except (VersionNotFound, DependencyUnavailable, ValueError) as error:
            with self._lock:
                self._store = store if self._store is None else self._store
                if self._store is store:
                    self._failed[version_id] = (self._monotonic() + RETRY_SECONDS, error)
            raise

    def record_logic(self, record: VersionRecord, store: VersionStore) -> engine.DecisionLogic:
        """The logic of a version record already read (the staff routes read it to answer): no second
        read, and a failure remembered for the serving path is not answered here (the record exists).
        Raises what :meth:`logic` raises but VersionNotFound."""
        if record["version_id"] == PACKAGED_VERSION_ID:
            return PACKAGED
        return self._logic_of_record(record, store)

    def _load(self, version_id: str, store: VersionStore) -> engine.DecisionLogic:
        record = self._records.get(version_id) if self._store is store else None
        if record is None:
            record = store.get_content(version_id)
            if record is None:
                raise VersionNotFound(version_id)
            with self._lock:
                if self._store is not store:  # another registry (tests swap dependencies)
                    self._store, self._records, self._failed = store, {}, {}
                self._records[version_id] = record
                self._failed.pop(version_id, None)
        return self._logic_of_record(record, store)

    def _logic_of_record(self, record: VersionContent, store: VersionStore) -> engine.DecisionLogic:
        shas = (record["model_sha256"], record["policy_sha256"])
        logic = self._logic.get(shas)  # content-addressed: valid whatever the store
        if logic is None:
            logic = _logic_of(store, *shas, record.get("policy_document"))
            with self._lock:
                self._logic[shas] = logic
                self._failed.pop(record["version_id"], None)
        return logic


class BlobMissing(ValueError):
    """A blob a version names is not in the registry's bucket (the staff routes answer 503 naming s3)."""


def _blob(store: VersionStore, sha256: str) -> bytes:
    body = store.get_blob(sha256)
    if body is None:
        raise BlobMissing(f"blob {sha256} is missing from the registry")
    return body


def _logic_of(
    store: VersionStore,
    model_sha256: str,
    policy_sha256: str,
    policy_document: Mapping[str, Any] | None = None,
) -> engine.DecisionLogic:
    """A version's logic. A part identical to the packaged one (same sha256) is not fetched, and a
    policy document inline in the record is not fetched either: a policy-only version reads nothing
    from S3 (the store does not even make its S3 client), a version with its own model artifact
    reads that one blob. A record without the inline document (registered before it existed) reads
    the policy blob."""
    packaged_model, packaged_policy = PACKAGED
    model = (
        packaged_model
        if model_sha256 == packaged_model.sha256
        else model_from_blob(model_sha256, _blob(store, model_sha256))
    )
    if policy_sha256 == packaged_policy.sha256:
        policy = packaged_policy
    elif policy_document is not None:
        policy = policy_from_document(policy_sha256, policy_document)
    else:
        policy = policy_from_blob(policy_sha256, _blob(store, policy_sha256))
    return engine.DecisionLogic(model, policy)


def model_from_blob(model_sha256: str, blob: bytes) -> engine.Model:
    """The model artifact filed under ``model_sha256``: its recorded hash must be that sha256 and
    match its content (``artifact.build_model``); ValueError otherwise."""
    document = json.loads(blob)
    if not isinstance(document, dict) or document.get("sha256") != model_sha256:
        raise ValueError(f"model blob {model_sha256}: its recorded sha256 differs")
    try:
        return build_model(document)  # checks the content against the recorded sha256
    except (KeyError, TypeError) as error:  # recorded hash right, shape wrong: never served
        raise ValueError(f"model blob {model_sha256}: {type(error).__name__} {error}") from error


def policy_from_blob(policy_sha256: str, blob: bytes) -> engine.Policy:
    """The policy document filed under ``policy_sha256``: checked by its schema (``load_policy``) and
    its canonical JSON must hash to that sha256; ValueError otherwise."""
    return policy_from_document(policy_sha256, json.loads(blob))


def policy_from_document(policy_sha256: str, document: object) -> engine.Policy:
    """A policy document (parsed JSON: a blob's, or the one inline in a version's record) filed under
    ``policy_sha256``: checked by its schema and its canonical JSON must hash to that sha256 (an
    inline document altered in the table is refused exactly like a tampered blob); ValueError
    otherwise."""
    try:
        policy = engine.load_policy(document)
    except engine.PolicyInvalid as invalid:
        raise ValueError(f"policy blob {policy_sha256}: {invalid}") from invalid
    if policy.sha256 != policy_sha256:
        raise ValueError(f"policy blob {policy_sha256}: its content hashes to {policy.sha256}")
    return policy


def build_logic(
    model_sha256: str, model_blob: bytes, policy_sha256: str, policy_blob: bytes
) -> engine.DecisionLogic:
    """The decision logic of a version's two blobs, each checked against the sha256 it is filed under."""
    return engine.DecisionLogic(
        model_from_blob(model_sha256, model_blob), policy_from_blob(policy_sha256, policy_blob)
    )


def identity_key(applicant_ref: object, application: engine.Application) -> str:
    """What identifies the applicant for arm assignment: the keyed identity hash when the application
    had an identity field, else the canonical scoring inputs."""
    if isinstance(applicant_ref, str) and applicant_ref:
        return f"ref:{applicant_ref}"
    inputs = engine.scoring_inputs(application)
    return "inputs:" + json.dumps(inputs, sort_keys=True, separators=(",", ":"))


def bucket(salt: str, client_id: str, identity: str) -> int:
    """A stable bucket in [0, BUCKETS) of this client's applicant under ``salt``."""
    digest = hashlib.sha256(f"{salt}|{client_id}|{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_share(share_percent: int, salt: str, client_id: str, identity: str) -> bool:
    return bucket(salt, client_id, identity) < share_percent * (BUCKETS // 100)


def assign_arm(routing: Routing, client_id: str, identity: str) -> tuple[str, Arm]:
    """The version id and arm that serve this applicant under ``routing``."""
    challenger = routing["challenger"]
    if challenger is not None and in_share(
        challenger["share"], f"challenger:{challenger['version_id']}", client_id, identity
    ):
        return challenger["version_id"], CHALLENGER
    return routing["champion"], CHAMPION


def shadow_versions(routing: Routing, served_version: str, client_id: str, identity: str) -> list[str]:
    """The shadows that score this application (none equal to the served version)."""
    shadows = [version for version in routing["shadows"] if version != served_version]
    if not shadows or not in_share(routing["shadow_share"], "shadows", client_id, identity):
        return []
    return shadows


_routing_cache = RoutingCache(cache_seconds())
_logic_cache = LogicCache()


def current_routing(store: VersionStore) -> Routing:
    return _routing_cache.routing(store)


def version_logic(version_id: str, store: VersionStore) -> engine.DecisionLogic:
    """The one loader of a version's logic (serving, shadows, reruns and the staff routes)."""
    return _logic_cache.logic(version_id, store)


def record_logic(record: VersionRecord, store: VersionStore) -> engine.DecisionLogic:
    """:func:`version_logic` of a record the caller has already read."""
    return _logic_cache.record_logic(record, store)


def serve(store: VersionStore, client_id: str, identity: str) -> tuple[Served, Routing]:
    """The version that decides this applicant, and the routing it was chosen by.

    A challenger that cannot be loaded gives way to the champion (logged and counted); a champion
    that cannot be loaded, or a routing never read, raises ``DependencyUnavailable``."""
    routing = current_routing(store)
    version_id, arm = assign_arm(routing, client_id, identity)
    if arm == CHALLENGER:
        try:
            return Served(version_id, arm, version_logic(version_id, store)), routing
        except (DependencyUnavailable, VersionNotFound, ValueError) as error:
            count(resources.CHALLENGER_UNAVAILABLE_METRIC)
            logger.error(
                "challenger unavailable: the champion decides",
                extra={"version": version_id, "problem": str(error)},
            )
            version_id, arm = routing["champion"], CHAMPION
    try:
        return Served(version_id, arm, version_logic(version_id, store)), routing
    except (VersionNotFound, ValueError) as error:
        logger.error("champion unavailable", extra={"version": version_id, "problem": str(error)})
        raise DependencyUnavailable("versions", type(error).__name__) from error


def shadow_decision(version_id: str, decision: engine.Decision) -> ShadowDecision:
    return {
        "decision_version": version_id,
        "outcome": decision["outcome"],
        "decided_by": decision["decided_by"],
        "probability": decision["probability"],
        "model_probability": decision["model_probability"],
        "risk_band": decision["risk_band"],
        "score": decision["score"],
        "reason_codes": [reason["code"] for reason in decision["reasons"]],
        "failed_rules": [check["id"] for check in decision["policy"] if not check["passed"]],
        "annual_rate": decision["pricing"]["annual_rate"],
        "counteroffer": decision["counteroffer"],
    }


def score_shadows(
    store: VersionStore,
    routing: Routing,
    served_version: str,
    client_id: str,
    identity: str,
    application: engine.Application,
) -> list[ShadowDecision]:
    """The shadows' decisions of ``application`` (after the served one). A shadow that cannot be
    loaded or fails is left out, logged and counted: it never affects the served decision."""
    results: list[ShadowDecision] = []
    for version_id in shadow_versions(routing, served_version, client_id, identity):
        try:
            logic = version_logic(version_id, store)
            results.append(shadow_decision(version_id, engine.decide(application, *logic)))
        except Exception as error:  # a shadow must never fail the decision it shadows
            count(resources.SHADOW_FAILED_METRIC)
            logger.warning(
                "shadow not scored", extra={"version": version_id, "problem": type(error).__name__}
            )
    if results:
        count("ShadowDecisions", len(results))
    return results
