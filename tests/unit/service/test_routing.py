"""Routing without a deploy (chalicelib.service.routing): the version serving each applicant, the
routing cache, versions resolved by sha256, decisions stamped with version and arm, shadows stored
beside the decision and nowhere else, and re-deciding a stored decision with another version."""

from __future__ import annotations

import json
from typing import Any

import pytest

import app
from chalicelib import engine
from chalicelib.dal import DependencyUnavailable, versions_aws
from chalicelib.dal.versions import empty_routing
from chalicelib.engine.artifact import ARTIFACT_PATH, canonical_json
from chalicelib.errors import ServiceError
from chalicelib.privacy import applicant_reference
from chalicelib.service import routing, versions
from chalicelib.service.decisions import cache_key, version_key
from devstack.lambda_events import worker_context
from tests.support.http import assert_error_shape, body_of, post_json
from tests.support.samples import application_row
from tests.support.sqs import queued_records, sqs_event
from tests.support.versions import policy_v1, policy_with_bands, register, route

# A policy that declines almost everything and one that approves almost everything: which version
# decided shows in the outcome mix, not only in the stamp.
STRICT = policy_with_bands(0.99, 0.98, "strict")
LENIENT = policy_with_bands(0.05, 0.01, "lenient")


def decide(client: Any, payload: dict[str, Any]) -> dict[str, Any]:
    response = post_json(client, "/v1/decisions", payload)
    assert response.status_code == 200, response.body
    return body_of(response)


def expected(payload: dict[str, Any], logic: engine.DecisionLogic) -> engine.Decision:
    return engine.decide(engine.validate_application(payload), *logic)


def without_notice(decision: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in decision.items() if name != "notice"}


# -------------------------------------------------------------------------- an empty registry
def test_an_empty_registry_decides_with_the_packaged_version_as_before(chalice_client, memory, application):
    body = decide(chalice_client, application)

    assert body["decision_version"] == "v1" and body["arm"] == "champion"
    engine_fields = {name: body[name] for name in engine.Decision.__annotations__}
    assert without_notice(engine_fields) == without_notice(
        dict(expected(application, engine.packaged_version()))
    )
    record = memory.memory_store.decisions[body["decision_id"]]
    assert record["decision_version"] == "v1" and record["arm"] == "champion"
    assert "shadows" not in record
    on_record = body_of(chalice_client.http.get(f"/v1/decisions/{body['decision_id']}"))
    assert on_record["decision_version"] == "v1" and on_record["arm"] == "champion"


# -------------------------------------------------------------------------- arm assignment
def identities(count: int) -> list[str]:
    return [routing.identity_key(f"ref-{n}", {}) for n in range(count)]


def test_the_same_applicant_always_gets_the_same_arm():
    routed = {**empty_routing(), "challenger": {"version_id": "v2", "share": 30}}
    for identity in identities(200):
        arms = {routing.assign_arm(routed, "client-a", identity) for _ in range(3)}
        assert len(arms) == 1


@pytest.mark.parametrize("share", [1, 10, 30, 50])
def test_the_challenger_serves_its_share(share):
    routed = {**empty_routing(), "challenger": {"version_id": "v2", "share": share}}
    people = identities(20_000)

    challenged = sum(routing.assign_arm(routed, "client-a", i) == ("v2", "challenger") for i in people)

    # Binomial: 20,000 draws, the share within 5 standard deviations (at most 1.8 points).
    p = share / 100
    assert abs(challenged / len(people) - p) <= 5 * (p * (1 - p) / len(people)) ** 0.5


def test_raising_the_share_keeps_everyone_the_challenger_had():
    people = identities(5_000)

    def challenged(share: int) -> set[str]:
        routed = {**empty_routing(), "challenger": {"version_id": "v2", "share": share}}
        return {i for i in people if routing.assign_arm(routed, "client-a", i)[1] == "challenger"}

    assert challenged(10) < challenged(20) < challenged(50)


def test_identity_is_the_keyed_hash_or_else_the_scoring_inputs(application):
    cleaned = engine.validate_application(application)
    ref = applicant_reference(cleaned)

    assert ref is not None and routing.identity_key(ref, cleaned) == f"ref:{ref}"
    # No identity field: the scoring inputs, the same however the payload was ordered.
    anonymous = {k: v for k, v in cleaned.items() if k not in engine.PERSONAL_FIELDS}
    reordered = dict(reversed(list(anonymous.items())))
    assert routing.identity_key(None, anonymous) == routing.identity_key(None, reordered)
    assert routing.identity_key(None, anonymous).startswith("inputs:")
    # Never the identity number in clear.
    assert application["applicant_id"] not in routing.identity_key(ref, cleaned)


def test_a_new_challenger_draws_its_own_share():
    people = identities(5_000)

    def challenged(version_id: str) -> set[str]:
        routed = {**empty_routing(), "challenger": {"version_id": version_id, "share": 20}}
        return {i for i in people if routing.assign_arm(routed, "client-a", i)[1] == "challenger"}

    overlap = len(challenged("v2") & challenged("v3")) / len(challenged("v2"))
    assert overlap < 0.3  # independent draws overlap by about the share (20%)


# -------------------------------------------------------------------------- deciding by arm
def test_each_arm_decides_with_its_version_and_says_so(chalice_client, memory):
    strict = register(memory.memory_versions, STRICT)
    route(memory.memory_versions, "v1", {"version_id": strict, "share": 50})
    strict_logic = routing.version_logic(strict, memory.memory_versions)

    arms = {}
    for row in range(40):
        payload = application_row(row)
        body = decide(chalice_client, payload)
        logic = strict_logic if body["arm"] == "challenger" else engine.packaged_version()
        assert body["decision_version"] == (strict if body["arm"] == "challenger" else "v1")
        assert body["outcome"] == expected(payload, logic)["outcome"]
        assert body["thresholds"]["approve"] == logic.policy.bands.approve
        arms[body["arm"]] = arms.get(body["arm"], 0) + 1
        # The same applicant again: the same arm.
        assert decide(chalice_client, payload)["arm"] == body["arm"]

    assert set(arms) == {"champion", "challenger"}, arms


def test_a_promoted_champion_decides_after_the_cache_expires(
    chalice_client, memory, monkeypatch, application
):
    clock = [1_000.0]
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(30, lambda: clock[0]))
    assert decide(chalice_client, application)["decision_version"] == "v1"
    lenient = register(memory.memory_versions, LENIENT)
    route(memory.memory_versions, lenient)

    clock[0] += 29
    assert decide(chalice_client, application)["decision_version"] == "v1"  # cached routing
    clock[0] += 2
    body = decide(chalice_client, application)

    assert body["decision_version"] == lenient and body["arm"] == "champion"
    assert body["cache"] == "miss"  # the cache key includes the version


def test_the_cache_key_includes_the_version(application):
    cleaned = engine.validate_application(application)
    packaged = routing.Served("v1", "champion", engine.packaged_version())
    same_content = routing.Served("v2", "champion", engine.packaged_version())

    assert cache_key(cleaned, version_key(packaged), "1") != cache_key(
        cleaned, version_key(same_content), "1"
    )


# -------------------------------------------------------------------------- no AWS round trip while warm
def test_a_warm_decision_reads_neither_the_routing_nor_the_version(chalice_client, memory, application):
    lenient = register(memory.memory_versions, LENIENT)
    route(memory.memory_versions, lenient, shadows=["v1"])
    decide(chalice_client, application)  # warms the routing and the version
    reads = memory.memory_versions.routing_reads
    operations = len(memory.memory_store.operations)

    body = decide(chalice_client, application)

    assert body["decision_version"] == lenient
    assert memory.memory_versions.routing_reads == reads
    # The decision's own requests only: a cache read and one batch write (the shadow inside it).
    assert memory.memory_store.operations[operations:] == ["GetItem", "BatchWriteItem"]


def test_routing_is_read_again_only_after_max_age():
    clock = [0.0]
    store = InMemoryVersions()
    cache = routing.RoutingCache(10, lambda: clock[0])

    cache.routing(store)
    clock[0] = 9.9
    cache.routing(store)
    assert store.reads == 1
    clock[0] = 10.0
    cache.routing(store)
    assert store.reads == 2


def test_a_failed_refresh_keeps_the_last_routing_and_retries_later():
    clock = [0.0]
    store = InMemoryVersions()
    cache = routing.RoutingCache(10, lambda: clock[0])
    first = cache.routing(store)

    store.down = True
    clock[0] = 11
    assert cache.routing(store) == first
    clock[0] = 11 + routing.RETRY_SECONDS - 0.1
    cache.routing(store)
    assert store.reads == 2  # one failed attempt, then the stale routing until the retry time
    store.down = False
    clock[0] = 11 + routing.RETRY_SECONDS
    cache.routing(store)
    assert store.reads == 3


def test_a_process_that_never_read_the_routing_cannot_invent_one():
    store = InMemoryVersions()
    store.down = True

    with pytest.raises(routing.RoutingUnavailable):
        routing.RoutingCache(10).routing(store)


def test_the_cache_never_outlives_the_configured_maximum():
    assert routing.cache_seconds({}) == 30
    assert routing.cache_seconds({routing.ROUTING_CACHE_SECONDS_ENV: "1"}) == 1
    assert routing.cache_seconds({routing.ROUTING_CACHE_SECONDS_ENV: "3600"}) == 30


def test_registry_down_on_a_cold_process_decides_with_the_packaged_version_unstored(
    chalice_client, memory, monkeypatch, application
):
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(30))
    monkeypatch.setattr(memory.memory_versions, "get_routing", down)

    body = decide(chalice_client, application)

    assert body["decision_version"] == "v1" and body["stored"] is False and body["cache"] == "bypassed"
    assert memory.memory_store.decisions == {}


def test_registry_down_on_a_cold_worker_retries_the_message(chalice_client, memory, monkeypatch, application):
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(30))
    monkeypatch.setattr(memory.memory_versions, "get_routing", down)
    assert post_json(chalice_client, "/v1/applications", application).status_code == 202
    records = queued_records(memory.memory_queue)

    result = app.process_application_queue(sqs_event(*records), worker_context("local", "us-east-1"))

    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert memory.memory_store.decisions == {}


# -------------------------------------------------------------------------- versions by sha256
def test_a_blob_that_does_not_match_its_sha256_is_refused():
    model_bytes = ARTIFACT_PATH.read_bytes()
    model_sha = json.loads(model_bytes)["sha256"]
    policy = policy_v1()
    policy_bytes = canonical_json(policy)
    policy_sha = engine.load_policy(policy).sha256
    tampered = json.loads(model_bytes)
    tampered["base_points"] += 1

    assert routing.build_logic(model_sha, model_bytes, policy_sha, policy_bytes).policy.sha256 == policy_sha
    with pytest.raises(ValueError, match="hash mismatch"):
        routing.build_logic(model_sha, json.dumps(tampered).encode(), policy_sha, policy_bytes)
    with pytest.raises(ValueError, match="recorded sha256 differs"):
        routing.build_logic("0" * 64, model_bytes, policy_sha, policy_bytes)
    with pytest.raises(ValueError, match="hashes to"):
        routing.build_logic(model_sha, model_bytes, "0" * 64, policy_bytes)


def test_a_policy_only_version_reads_no_blob_its_policy_is_inline(memory, monkeypatch):
    store = memory.memory_versions
    strict = register(store, STRICT)
    older = register(store, LENIENT, inline=False)  # a record from before the inline document
    read = []
    real_get_blob = store.get_blob
    monkeypatch.setattr(store, "get_blob", lambda sha: read.append(sha) or real_get_blob(sha))

    logic = routing.LogicCache().logic(strict, store)
    assert read == []
    assert logic.model is engine.packaged_version().model
    assert logic.policy.sha256 == engine.load_policy(STRICT).sha256

    assert routing.LogicCache().logic(older, store).policy.bands.approve == LENIENT["bands"]["approve"]
    assert read == [engine.load_policy(LENIENT).sha256]


def test_a_tampered_inline_policy_is_refused_like_a_hash_mismatch(memory, monkeypatch):
    # A process that has not loaded it yet (one that has keeps the content its sha256 names).
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    store = memory.memory_versions
    strict = register(store, STRICT)
    # Someone edits the number in the table but not the sha256 the version was registered with.
    store._versions[strict]["policy_document"]["bands"]["approve"] = 0.985

    with pytest.raises(ValueError, match="hashes to"):
        routing.LogicCache().logic(strict, store)
    # The staff routes load through the same loader: a 503 naming the registry, never a 500.
    with pytest.raises(ServiceError) as refused:
        versions.version_detail(memory, strict)
    assert refused.value.status == 503 and refused.value.details == [
        {"field": "versions", "problem": "unavailable"}
    ]
    assert isinstance(refused.value.__cause__, ValueError) and "hashes to" in str(refused.value.__cause__)


# -------------------------------------------------------------------------- one loader
def test_the_staff_routes_and_serving_share_one_loader_and_its_cache(memory, monkeypatch):
    store = memory.memory_versions
    older = register(store, LENIENT, inline=False)  # resolved from its blob: one S3 read
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    reads: list[str] = []
    real_get_blob = store.get_blob
    monkeypatch.setattr(store, "get_blob", lambda sha: reads.append(sha) or real_get_blob(sha))

    served = routing.version_logic(older, store)
    detail = versions.version_detail(memory, older)
    route(store, older)  # the champion now: registering against it loads it again
    versions.register(memory, "model-risk-1", {"label": "strict", "policy": STRICT})

    lenient_sha = engine.load_policy(LENIENT).sha256
    # The policy blob was read once for the loader and once for the document the detail shows; the
    # registration's champion came from the cache the serving path filled.
    assert reads.count(lenient_sha) == 2
    assert routing.version_logic(older, store) is served
    assert detail["policy"] == LENIENT


def test_a_staff_route_on_a_version_whose_blob_is_gone_answers_503_naming_s3(memory, monkeypatch):
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    store = memory.memory_versions
    older = register(store, LENIENT, inline=False)
    del store._blobs[engine.load_policy(LENIENT).sha256]

    with pytest.raises(ServiceError) as refused:
        versions.version_detail(memory, older)

    assert refused.value.status == 503
    assert refused.value.details == [{"field": "s3", "problem": "unavailable"}]
    assert refused.value.headers["Retry-After"]


def test_registering_against_a_champion_the_registry_lacks_answers_503_not_500(memory):
    route(memory.memory_versions, "v9")  # names a version never registered

    with pytest.raises(ServiceError) as refused:
        versions.register(memory, "model-risk-1", {"label": "strict", "policy": STRICT})

    assert refused.value.status == 503 and refused.value.details == [
        {"field": "versions", "problem": "unavailable"}
    ]


def test_a_blob_that_is_not_a_policy_is_refused_as_a_bad_blob():
    with pytest.raises(ValueError, match="invalid policy"):
        routing.policy_from_blob("0" * 64, b'{"policy_format": 1}')


def test_a_challenger_that_cannot_be_loaded_gives_way_to_the_champion(chalice_client, memory, application):
    route(memory.memory_versions, "v1", {"version_id": "v9", "share": 50})  # never registered

    arms = {decide(chalice_client, application_row(row))["arm"] for row in range(20)}

    assert arms == {"champion"}


def test_a_version_that_failed_to_load_is_not_retried_on_every_request(memory, monkeypatch):
    clock = [0.0]
    cache = routing.LogicCache(lambda: clock[0])
    store = memory.memory_versions
    lookups = []
    real_get_version = store.get_version
    monkeypatch.setattr(store, "get_version", lambda version_id: lookups.append(version_id) or down())

    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            cache.logic("v2", store)
    assert lookups == ["v2"]  # one attempt; the failure answered until the retry time

    monkeypatch.setattr(store, "get_version", real_get_version)
    strict = register(store, STRICT)
    clock[0] = routing.RETRY_SECONDS
    assert cache.logic(strict, store).policy.bands.approve == STRICT["bands"]["approve"]


# -------------------------------------------------------------------------- shadows
def test_shadows_are_stored_beside_the_decision_and_nowhere_else(chalice_client, memory):
    application = application_row(5)  # approved by the lenient policy, referred by the strict one
    strict = register(memory.memory_versions, STRICT)
    lenient = register(memory.memory_versions, LENIENT)
    route(memory.memory_versions, "v1", shadows=[strict, lenient])

    body = decide(chalice_client, application)

    record = memory.memory_store.decisions[body["decision_id"]]
    assert [shadow["decision_version"] for shadow in record["shadows"]] == [strict, lenient]
    for shadow in record["shadows"]:
        logic = routing.version_logic(shadow["decision_version"], memory.memory_versions)
        assert shadow["outcome"] == expected(application, logic)["outcome"]
    assert len({s["outcome"] for s in record["shadows"]}) == 2
    assert "shadows" not in body and strict not in json.dumps(body)
    on_record = chalice_client.http.get(f"/v1/decisions/{body['decision_id']}").body.decode()
    assert "shadows" not in on_record and strict not in on_record
    [event] = [event.detail() for event in memory.memory_events.published]
    assert event["decision_version"] == "v1" and event["arm"] == "champion"
    assert strict not in json.dumps(event) and "shadow" not in json.dumps(event)


def test_shadows_score_their_sampled_share():
    routed = {**empty_routing(), "shadows": ["v2"], "shadow_share": 25}
    people = identities(8_000)

    scored = sum(bool(routing.shadow_versions(routed, "v1", "client-a", i)) for i in people)

    assert abs(scored / len(people) - 0.25) <= 5 * (0.25 * 0.75 / len(people)) ** 0.5
    assert routing.shadow_versions(routed, "v2", "client-a", people[0]) == []  # never the served one


def test_a_failing_shadow_never_touches_the_served_decision(chalice_client, memory, application):
    route(memory.memory_versions, "v1", shadows=["v9"])  # never registered

    body = decide(chalice_client, application)

    assert body["stored"] is True and body["decision_version"] == "v1"
    assert "shadows" not in memory.memory_store.decisions[body["decision_id"]]


def test_the_worker_stamps_version_arm_and_shadows(chalice_client, memory, application):
    lenient = register(memory.memory_versions, LENIENT)
    route(memory.memory_versions, lenient, shadows=["v1"])
    response = post_json(chalice_client, "/v1/applications", application)
    application_id = body_of(response)["application_id"]

    result = app.process_application_queue(
        sqs_event(*queued_records(memory.memory_queue)), worker_context("local", "us-east-1")
    )

    assert result == {"batchItemFailures": []}
    [record] = [
        r for r in memory.memory_store.decisions.values() if r.get("application_id") == application_id
    ]
    assert record["decision_version"] == lenient and record["arm"] == "champion"
    assert [shadow["decision_version"] for shadow in record["shadows"]] == ["v1"]
    on_record = body_of(chalice_client.http.get(f"/v1/decisions/{record['decision_id']}"))
    assert on_record["decision_version"] == lenient and "shadows" not in on_record
    audit = memory.memory_reviews.audit_entries(application_id)
    assert [e["details"]["decision_version"] for e in audit if e["action"] == "decided"] == [lenient]


# -------------------------------------------------------------------------- re-deciding
def test_rerun_returns_both_decisions_side_by_side_and_stores_nothing(chalice_client, memory, application):
    strict = register(memory.memory_versions, STRICT)
    body = decide(chalice_client, application)
    stored = dict(memory.memory_store.decisions)

    response = post_json(chalice_client, f"/v1/decisions/{body['decision_id']}/rerun", {"version": strict})

    assert response.status_code == 200, response.body
    rerun = body_of(response)
    assert rerun["on_record"]["decision_version"] == "v1" and rerun["arm"] == "champion"
    assert rerun["on_record"]["decision"]["outcome"] == body["outcome"]
    assert rerun["rerun"]["decision_version"] == strict
    cleaned = {
        k: v for k, v in engine.validate_application(application).items() if k not in engine.PERSONAL_FIELDS
    }
    strict_logic = routing.version_logic(strict, memory.memory_versions)
    assert rerun["rerun"]["decision"]["outcome"] == engine.decide(cleaned, *strict_logic)["outcome"]
    assert "thresholds" in rerun["differences"] and "notice" not in rerun["differences"]
    assert memory.memory_store.decisions == stored


def test_rerun_with_the_same_version_differs_in_nothing(chalice_client, memory, application):
    body = decide(chalice_client, application)

    rerun = body_of(
        post_json(chalice_client, f"/v1/decisions/{body['decision_id']}/rerun", {"version": "v1"})
    )

    assert rerun["differences"] == []


def test_rerun_bad_input(chalice_client, memory, application):
    body = decide(chalice_client, application)
    path = f"/v1/decisions/{body['decision_id']}/rerun"

    bad = assert_error_shape(
        post_json(chalice_client, path, {"version": "2", "extra": 1}), 400, "validation_failed"
    )
    assert {d["field"] for d in bad["error"]["details"]} == {"version", "extra"}
    assert_error_shape(post_json(chalice_client, path, {"version": "v77"}), 404, "not_found")
    unknown = "/v1/decisions/00000000-0000-4000-8000-000000000000/rerun"
    assert_error_shape(post_json(chalice_client, unknown, {"version": "v1"}), 404, "not_found")


def test_rerun_of_another_clients_decision_is_not_found(chalice_client, memory, application):
    body = decide(chalice_client, application)
    memory.memory_store.decisions[body["decision_id"]]["client_id"] = "someone-else"

    response = post_json(chalice_client, f"/v1/decisions/{body['decision_id']}/rerun", {"version": "v1"})

    assert_error_shape(response, 404, "not_found")


# -------------------------------------------------------------------------- helpers
def down() -> Any:
    raise DependencyUnavailable("dynamodb", "ConnectTimeoutError")


class InMemoryVersions:
    """Just the routing read of a version store, countable and breakable."""

    def __init__(self) -> None:
        self.reads = 0
        self.down = False

    def get_routing(self) -> Any:
        self.reads += 1
        if self.down:
            down()
        return empty_routing()


# -------------------------------------------------------------------------- on DynamoDB and S3 (moto)
def test_a_warm_decision_adds_no_aws_call_and_its_shadow_rides_in_the_same_write(
    aws, aws_client, application, monkeypatch
):
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(30))
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    store = aws.versions
    store._s3.create_bucket(Bucket=aws.settings.versions_bucket)
    lenient = register(store, LENIENT)
    route(store, lenient, shadows=["v1"])
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}:{model.name}")

    for client in (aws.aws_clients["dynamodb"], store._s3):
        client.meta.events.register("before-call", record)
    cold = decide(aws_client, application)  # reads the routing (the version's content in it), the cache
    assert cold["decision_version"] == lenient
    assert calls.count("dynamodb:GetItem") == 2 and not [call for call in calls if call.startswith("s3:")]
    calls.clear()

    warm = decide(aws_client, application_row(1))

    assert warm["decision_version"] == lenient
    assert calls == ["dynamodb:GetItem", "dynamodb:BatchWriteItem"]  # the cache read, the one write
    item = aws.aws_clients["dynamodb"].get_item(
        TableName=aws.settings.decisions_table, Key={"decision_id": {"S": warm["decision_id"]}}
    )["Item"]
    assert item["decision_version"]["S"] == lenient and "shadows" in item
    record_read = aws.store.get_decision(warm["decision_id"])
    assert [shadow["decision_version"] for shadow in record_read["shadows"]] == ["v1"]


def test_resolving_a_policy_only_version_makes_no_s3_client_and_no_s3_call(aws, monkeypatch):
    aws.versions._s3.create_bucket(Bucket=aws.settings.versions_bucket)
    strict = register(aws.versions, STRICT)
    older = register(aws.versions, LENIENT, inline=False)
    clients: list[Any] = []
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}:{model.name}")

    def counted_s3_client(region: str, *, path_style: bool) -> Any:
        client = real_make_s3_client(region, path_style=path_style)
        client.meta.events.register("before-call", record)
        clients.append(client)
        return client

    real_make_s3_client = versions_aws.make_s3_client
    monkeypatch.setattr(versions_aws, "make_s3_client", counted_s3_client)
    aws.aws_clients["dynamodb"].meta.events.register("before-call", record)
    cold_store = versions_aws.AWSVersionStore.for_settings(aws.aws_clients["dynamodb"], aws.settings)

    logic = routing.LogicCache().logic(strict, cold_store)

    assert logic.policy.sha256 == engine.load_policy(STRICT).sha256
    assert calls == ["dynamodb:GetItem"] and clients == []  # the version's record, nothing else
    calls.clear()

    # Only a version whose policy is not inline (or with its own model artifact) reads the bucket,
    # making the S3 client then.
    assert routing.LogicCache().logic(older, cold_store).policy.sha256 == engine.load_policy(LENIENT).sha256
    assert calls == ["dynamodb:GetItem", "s3:GetObject"] and len(clients) == 1
