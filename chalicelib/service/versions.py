"""The decision-version registry: register, report, promote with gates, maker-checker, rollback.

- Register: a label, notes, and a policy document and/or a model artifact (what is left out is the
  current champion's). The policy is checked against its JSON Schema (400 naming each JSON pointer);
  the artifact's content must match its ``sha256`` (400). Both are stored content-addressed, then
  the validation report is computed on the labelled holdout beside the champion's figures on the
  same rows (``chalicelib.engine.validation``): the packaged holdout, or the lender's own labelled
  file uploaded to a staff backtest (``"holdout": {"backtest_id": ...}``; read from the batches
  bucket, parsed by the batch engine's row parser, capped by ``resources.HOLDOUT_*``).
- Promote: proposes a routing change (champion / challenger with a share of 1-50% / shadow / retire)
  and answers its ``change_id``. A version that fails a promotion gate cannot serve (409 naming the
  gate and its figures); shadows never serve, so they are not gated.
- Approve: a manager other than the maker (403 for the maker) applies the change, conditional on the
  routing document's revision: of two changes proposed on the same revision one wins, the other 409.
- Rollback to the previous champion: a manager's is applied at once and flagged ``emergency``; anyone
  else's is a proposal like a promotion.
- Every step goes into the registry's hash-chained audit trail (subject ``decision-versions``):
  actor, the routing before and after, the reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.versions import (
    PACKAGED_VERSION_ID,
    ChallengerArm,
    Role,
    Routing,
    RoutingChange,
    VersionRecord,
    VersionStore,
)
from chalicelib.engine import validation
from chalicelib.engine.artifact import build_model, canonical_json
from chalicelib.engine.validation import (
    Figures,
    GateLimits,
    GateResult,
    Holdout,
    HoldoutLimits,
    InvalidHoldout,
    ValidationReport,
    failed_gates,
    packaged_holdout,
)
from chalicelib.errors import ErrorDetail, ServiceError, dependency_unavailable, not_found, validation_failed
from chalicelib.records import (
    AuditDetail,
    AuditStep,
    AuditTrail,
    ChangeAnswer,
    VersionAuditPage,
    VersionDetail,
    VersionList,
    VersionSummary,
)
from chalicelib.records import VersionStatus as Status
from chalicelib.service import clock, cursors, listing
from chalicelib.service import routing as routing_service
from chalicelib.service.decision_versions import PACKAGED
from chalicelib.service.dependencies import Dependencies
from chalicelib.service.request_body import json_object, unknown_fields

AUDIT_SUBJECT = "decision-versions"
PROMOTE_ROLES = ("champion", "challenger", "shadow", "retire")
_ROLE_OF: dict[str, Role] = {
    "champion": "champion",
    "challenger": "challenger",
    "shadow": "shadow",
    "retire": "retired",
}


def gate_limits() -> GateLimits:
    return GateLimits(*resources.PROMOTION_GATES)


# -- loading versions -----------------------------------------------------------------------------
def _logic(load: Callable[[], engine.DecisionLogic]) -> engine.DecisionLogic:
    """A version's logic through routing's cached loader (``routing.version_logic``, the only one),
    its failures answered as a staff route answers them: 503 naming what could not be read, never a
    500. A version the routing names but the registry lacks, or a blob or inline document that no
    longer matches its sha256 (altered in the table or the bucket: never served), is the registry's
    fault ("versions"); a blob missing from the bucket is S3's."""
    try:
        return load()
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from error
    except routing_service.BlobMissing as error:
        raise dependency_unavailable("s3") from error
    except (routing_service.VersionNotFound, ValueError) as error:
        raise dependency_unavailable("versions") from error


def packaged_record() -> VersionRecord:
    """v1: the packaged model artifact and policy version 1 (never stored)."""
    model, policy = PACKAGED
    return {
        "version_id": PACKAGED_VERSION_ID,
        "label": "packaged",
        "notes": "The model artifact and lending-policy version 1 shipped in the Lambda package.",
        "model_sha256": model.sha256,
        "policy_sha256": policy.sha256,
        "model_id": model.model_id,
        "model_version": model.version,
        "policy_id": policy.policy_id,
        "policy_version": policy.version,
        "registered_by": "packaged",
        "registered_at": "",
        "report": None,
    }


def find_version(store: VersionStore, version_id: str) -> VersionRecord | None:
    return packaged_record() if version_id == PACKAGED_VERSION_ID else store.get_version(version_id)


def _guard(call: Any) -> Any:
    try:
        return call()
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from error


# -- the report -------------------------------------------------------------------------------
# Figures per (model, policy, holdout): the champion's are computed once per process, not at every
# registration (about 1.5 s of engine work for 1,000 rows). Bounded: every uploaded holdout adds
# entries, and a warm API process lives for hours; the oldest entry goes first.
_FIGURES: dict[tuple[str, str, str], Figures] = {}
FIGURES_CACHED = 16


def _figures(logic: engine.DecisionLogic, holdout: Holdout) -> Figures:
    key = (logic.model.sha256, logic.policy.sha256, holdout.sha256)
    found = _FIGURES.get(key)
    if found is None:
        ceiling = gate_limits().affordability_ceiling_foir
        found = validation.figures(holdout, logic.model, logic.policy, ceiling)
        while len(_FIGURES) >= FIGURES_CACHED:
            del _FIGURES[next(iter(_FIGURES))]
        _FIGURES[key] = found
    return found


def compute_report(
    candidate: engine.DecisionLogic, champion_id: str, champion: engine.DecisionLogic, holdout: Holdout
) -> ValidationReport:
    same = (candidate.model.sha256, candidate.policy.sha256) == (
        champion.model.sha256,
        champion.policy.sha256,
    )
    mine = _figures(candidate, holdout)
    if same:
        return validation.report(holdout, mine, None, None, gate_limits())
    return validation.report(holdout, mine, _figures(champion, holdout), champion_id, gate_limits())


# -- views ------------------------------------------------------------------------------------
def _status(version_id: str, routing: Routing) -> tuple[Status, int | None]:
    challenger = routing["challenger"]
    if version_id == routing["champion"]:
        return "champion", None
    if challenger is not None and challenger["version_id"] == version_id:
        return "challenger", challenger["share"]
    if version_id in routing["shadows"]:
        return "shadow", routing["shadow_share"]
    if version_id in routing["previous_champions"] or version_id == PACKAGED_VERSION_ID:
        return "retired", None
    return "registered", None


def _summary(record: VersionRecord, routing: Routing) -> VersionSummary:
    status, share = _status(record["version_id"], routing)
    report = record["report"]
    return {
        "version_id": record["version_id"],
        "label": record["label"],
        "model_id": record["model_id"],
        "model_version": record["model_version"],
        "model_sha256": record["model_sha256"],
        "policy_id": record["policy_id"],
        "policy_version": record["policy_version"],
        "policy_sha256": record["policy_sha256"],
        "registered_by": record["registered_by"],
        "registered_at": record["registered_at"],
        "status": status,
        "share": share,
        "gates_passed": None if report is None else report["passed"],
    }


def list_versions(deps: Dependencies) -> VersionList:
    store = deps.versions
    routing = _guard(store.get_routing)
    records = [packaged_record(), *_guard(store.list_versions)]
    # A proposal made on an older routing revision can no longer be applied: not pending any more.
    pending = [
        _answer(change, routing)
        for change in _guard(store.proposed_changes)
        if change["base_revision"] == routing["revision"]
    ]
    return {
        "versions": [_summary(record, routing) for record in records],
        "routing": routing,
        "pending_changes": pending,
    }


def version_detail(deps: Dependencies, version_id: str) -> VersionDetail:
    store = deps.versions
    record = _guard(lambda: find_version(store, version_id))
    if record is None:
        raise not_found(f"version {version_id}")
    routing: Routing = _guard(store.get_routing)
    policy = _logic(lambda: routing_service.record_logic(record, store)).policy
    inline = record.get("policy_document")
    document = inline if inline is not None else _guard(lambda: _policy_document(policy, store))
    return {
        **_summary(record, routing),
        "notes": record["notes"],
        "policy": document,
        "report": record["report"],
    }


def _policy_document(policy: engine.Policy, store: VersionStore) -> dict[str, Any]:
    if policy.sha256 == PACKAGED.policy.sha256:
        from chalicelib.engine.lending_policy import POLICY_V1_PATH

        packaged: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
        return packaged
    blob = store.get_blob(policy.sha256)
    if blob is None:
        raise DependencyUnavailable("s3", "policy blob missing")
    document: dict[str, Any] = json.loads(blob)
    return document


# -- register ---------------------------------------------------------------------------------
# What ECMA-262's ``\\s`` matches (WhiteSpace and LineTerminator): JSON Schema patterns are ECMA regexes.
_SPACES = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def _blank(text: str) -> bool:
    """Nothing but spaces as the routes' schemas read ``"pattern": "\\S"`` (a label, a rollback's
    reason). ``str.strip()`` also strips U+001C-U+001F and U+0085, which ECMA-262 (and so the schema
    and schemathesis) takes for text: a reason of "\\u001c" was valid by the contract and refused."""
    return not text.strip(_SPACES)


def _text(
    body: Mapping[str, Any], name: str, errors: list[ErrorDetail], *, required: bool, limit: int
) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    blank_ok = not required  # notes may be empty; a label names the version
    if not isinstance(value, str) or (not blank_ok and _blank(value)) or len(value) > limit:
        low = 0 if blank_ok else 1
        errors.append({"field": name, "problem": f"text of {low}-{limit} characters"})
        return ""
    return value


def register(deps: Dependencies, actor: str, body: object, holdout: Holdout | None = None) -> VersionDetail:
    """Register a version from ``{"label", "notes", "policy"?, "model"?, "holdout"?}`` and compute its
    report (on ``holdout``: a test's own rows; otherwise the body's uploaded one or the packaged)."""
    if not isinstance(body, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    body = {name: value for name, value in body.items() if value is not None}  # null: left out
    errors: list[ErrorDetail] = []
    unknown = sorted(set(body) - {"label", "notes", "policy", "model", "holdout"})
    errors += [{"field": name, "problem": "not a field of a version"} for name in unknown]
    label = _text(body, "label", errors, required=True, limit=100)
    notes = _text(body, "notes", errors, required=False, limit=2000)
    if "policy" not in body and "model" not in body:
        errors.append({"field": "policy", "problem": "a policy document and/or a model artifact is required"})
    store = deps.versions
    routing: Routing = _guard(store.get_routing)
    champion = _logic(lambda: routing_service.version_logic(routing["champion"], store))
    policy, model = champion.policy, champion.model
    if "policy" in body:
        try:
            policy = engine.load_policy(body["policy"])
        except engine.PolicyInvalid as invalid:
            errors += [{"field": f"policy{e['path']}", "problem": e["problem"]} for e in invalid.errors]
    if "model" in body:
        try:
            if not isinstance(body["model"], dict):
                raise ValueError("must be a model artifact (a JSON object)")
            model = build_model(body["model"])
        except (ValueError, KeyError, TypeError) as error:
            problem = str(error) if isinstance(error, ValueError) else f"not a model artifact ({error!r})"
            errors.append(
                {"field": "model/sha256" if "hash mismatch" in problem else "model", "problem": problem}
            )
    if "holdout" in body:
        holdout = _requested_holdout(deps, body["holdout"], errors)
    if errors:
        raise _failed(errors)
    candidate = engine.DecisionLogic(model, policy)
    try:
        report = compute_report(candidate, routing["champion"], champion, holdout or packaged_holdout())
    except ArithmeticError as error:
        # The last line of defence: a document its schema accepts that the engine still cannot decide
        # with is refused here, never served (a near-zero rate, once such a case, the schema's
        # rate floor now refuses by its pointer).
        part = "policy" if "policy" in body else "model"
        problem = f"the engine cannot decide the holdout with it ({type(error).__name__})"
        raise _failed([{"field": part, "problem": problem}]) from error
    if "model" in body:
        _guard(lambda: store.put_blob(model.sha256, canonical_json(model.document)))
    if "policy" in body:
        _guard(lambda: store.put_blob(policy.sha256, canonical_json(dict(body["policy"]))))
    # The policy document inline in the record (resolving a policy-only version reads no S3): the
    # one registered, or the champion's it keeps (a model-only version), unless it is the packaged one.
    policy_document: dict[str, Any] | None = None
    if "policy" in body:
        policy_document = dict(body["policy"])
    elif policy.sha256 != PACKAGED.policy.sha256:
        policy_document = _guard(lambda: _policy_document(policy, store))
    now = clock.now_iso()
    record: VersionRecord = {
        "version_id": _guard(store.next_version_id),
        "label": label,
        "notes": notes,
        "model_sha256": model.sha256,
        "policy_sha256": policy.sha256,
        "model_id": model.model_id,
        "model_version": model.version,
        "policy_id": policy.policy_id,
        "policy_version": policy.version,
        "registered_by": actor,
        "registered_at": now,
        "report": report,
    }
    if policy_document is not None and policy.sha256 != PACKAGED.policy.sha256:
        record["policy_document"] = policy_document
    if not _guard(lambda: store.put_version(record)):
        raise ServiceError(409, "conflict", "that version id was taken meanwhile: register again")
    _audit(
        deps,
        "version_registered",
        actor,
        now,
        {"version_id": record["version_id"], "gates_passed": report["passed"]},
    )
    return version_detail(deps, record["version_id"])


# -- an uploaded holdout -------------------------------------------------------------------------
def holdout_limits() -> HoldoutLimits:
    return HoldoutLimits(resources.HOLDOUT_MIN_ROWS, resources.HOLDOUT_MAX_ROWS)


def _requested_holdout(deps: Dependencies, value: object, errors: list[ErrorDetail]) -> Holdout | None:
    """``{"backtest_id": ...}``: the labelled file uploaded to that staff backtest, or None with
    the problems added to ``errors`` (fields ``holdout`` or ``holdout/backtest_id``)."""
    if not isinstance(value, dict) or set(value) != {"backtest_id"}:
        problem = 'an object {"backtest_id": "<id>"}: a staff backtest whose labelled file is uploaded'
        errors.append({"field": "holdout", "problem": problem})
        return None
    backtest_id = value["backtest_id"]
    try:
        return uploaded_holdout(deps, backtest_id)
    except InvalidHoldout as invalid:
        errors += [{"field": e["field"], "problem": e["problem"]} for e in invalid.errors]
        return None


def uploaded_holdout(deps: Dependencies, backtest_id: object) -> Holdout:
    """The labelled file uploaded to staff backtest ``backtest_id`` (any status: only its input is
    read), checked and parsed; :class:`InvalidHoldout` names what is wrong. A client's batch is
    no backtest: the same "no such backtest" as an unknown id."""
    from chalicelib.dal.batches import input_key
    from chalicelib.service.listing import is_uuid

    field = "holdout/backtest_id"
    if not isinstance(backtest_id, str) or not is_uuid(backtest_id):
        raise InvalidHoldout([{"field": field, "problem": "a backtest id (a UUID)"}])
    batches = deps.batches
    if batches is None:
        raise dependency_unavailable("batches")
    record = _guard(lambda: batches.store.get(backtest_id))
    if record is None or record["owner"] != resources.STAFF_BATCH_OWNER:
        raise InvalidHoldout([{"field": field, "problem": "no such backtest"}])
    key = input_key(backtest_id)
    size: int | None = _guard(lambda: batches.objects.size(key))
    if size is None:
        problem = "no file uploaded to this backtest yet (or it has expired): PUT it to its upload_url"
        raise InvalidHoldout([{"field": field, "problem": problem}])
    limit = resources.HOLDOUT_MAX_BYTES
    if size == 0:
        raise InvalidHoldout([{"field": "holdout", "problem": "the file is empty (0 bytes were uploaded)"}])
    data: bytes = b"" if size > limit else _guard(lambda: batches.objects.read(key, 0, limit + 1))
    if size > limit or len(data) > limit:  # (re-PUT larger between the HEAD and the GET)
        problem = f"the file is {max(size, len(data))} bytes, over a holdout's limit of {limit} bytes"
        raise InvalidHoldout([{"field": "holdout", "problem": problem}])
    return validation.parse_holdout(
        data, "uploaded", record["format"], limits=holdout_limits(), backtest_id=backtest_id
    )


def _report_holdout(deps: Dependencies, report: ValidationReport | None) -> Holdout:
    """The holdout a version's report was computed on, to compute it again (the packaged one when
    there is no report). An uploaded file that is gone (the batches bucket expires inputs) or no
    longer the same bytes cannot be used: 409, register the version again."""
    info = report["holdout"] if report is not None else None
    if info is None or info.get("source") != "uploaded" or "backtest_id" not in info:
        return packaged_holdout()
    backtest_id = info["backtest_id"]
    try:
        holdout = uploaded_holdout(deps, backtest_id)
    except InvalidHoldout as invalid:
        problems = "; ".join(e["problem"] for e in invalid.errors)
        reason = f"the holdout uploaded to backtest {backtest_id} can no longer be read ({problems})"
    else:
        if holdout.sha256 == info["sha256"]:
            return holdout
        reason = f"the file of backtest {backtest_id} changed since the version's report"
    raise ServiceError(
        409,
        "conflict",
        f"{reason}: register the version again to report it against today's champion",
        [{"field": "holdout", "problem": reason}],
    )


# -- routing changes ----------------------------------------------------------------------------
def _failed(errors: list[ErrorDetail]) -> ServiceError:
    return validation_failed([{"field": e["field"], "problem": e["problem"]} for e in errors])


def _refuse(gates: list[GateResult]) -> ServiceError:
    details: list[ErrorDetail] = [{"field": f"gate:{g['gate']}", "problem": g["detail"]} for g in gates]
    names = ", ".join(g["gate"] for g in gates)
    return ServiceError(409, "promotion_gate_failed", f"promotion refused by gate(s): {names}", details)


def _routing_after(routing: Routing, version_id: str, role: str, share: int | None, actor: str) -> Routing:
    after: Routing = json.loads(json.dumps(routing))
    after["revision"] = routing["revision"] + 1
    after["updated_at"], after["updated_by"] = clock.now_iso(), actor
    challenger = after["challenger"]
    if role == "retire":
        if version_id == routing["champion"]:
            raise ServiceError(409, "conflict", "the champion cannot be retired: promote another first")
    elif version_id == routing["champion"]:
        raise ServiceError(409, "conflict", f"{version_id} is already the champion")
    if challenger is not None and challenger["version_id"] == version_id:
        after["challenger"] = None
    after["shadows"] = [v for v in after["shadows"] if v != version_id]
    if role == "champion":
        after["previous_champions"] = [*routing["previous_champions"], routing["champion"]][-20:]
        after["champion"] = version_id
    elif role == "challenger":
        arm: ChallengerArm = {"version_id": version_id, "share": share or resources.CHALLENGER_SHARE_MIN}
        after["challenger"] = arm
    elif role == "shadow":
        after["shadows"].append(version_id)
        if share is not None:
            after["shadow_share"] = share
    return after


def _promote_body(body: object) -> tuple[str, int | None, str]:
    body = json_object(body)
    errors = unknown_fields(body, {"role", "share", "reason"}, of="a promotion")
    role = body.get("role")
    if role not in PROMOTE_ROLES:
        errors.append({"field": "role", "problem": f"one of {', '.join(PROMOTE_ROLES)}"})
    share = body.get("share")
    if "share" in body and share is None and role != "challenger":
        errors.append({"field": "share", "problem": "an integer percent, or left out"})
    low, high = resources.CHALLENGER_SHARE_MIN, resources.CHALLENGER_SHARE_MAX
    if role == "challenger" and (
        isinstance(share, bool) or not isinstance(share, int) or not low <= share <= high
    ):
        errors.append(
            {"field": "share", "problem": f"the challenger's share: an integer percent, {low}-{high}"}
        )
    elif (
        role == "shadow"
        and share is not None
        and (isinstance(share, bool) or not isinstance(share, int) or not 1 <= share <= 100)
    ):
        errors.append({"field": "share", "problem": "the shadows' sampled share: an integer percent, 1-100"})
    elif role in ("champion", "retire") and share is not None:
        errors.append({"field": "share", "problem": f"only a challenger or shadow has a share, not a {role}"})
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 2000:
        errors.append({"field": "reason", "problem": "text of at most 2000 characters"})
    if errors:
        raise _failed(errors)
    return str(role), share if isinstance(share, int) else None, str(reason)


def propose(deps: Dependencies, actor: str, version_id: str, body: object) -> ChangeAnswer:
    """A proposed promotion of ``version_id`` (applied by another person's approval)."""
    role, share, reason = _promote_body(body)
    store = deps.versions
    record = _guard(lambda: find_version(store, version_id))
    if record is None:
        raise not_found(f"version {version_id}")
    routing: Routing = _guard(store.get_routing)
    if role in ("champion", "challenger"):
        _check_gates(deps, record, routing)
    after = _routing_after(routing, version_id, role, share, actor)
    change: RoutingChange = {
        "change_id": str(uuid.uuid4()),
        "action": "promote",
        "version_id": version_id,
        "role": _ROLE_OF[role],
        "share": share,
        "reason": reason,
        "proposed_by": actor,
        "proposed_at": clock.now_iso(),
        "base_revision": routing["revision"],
        "routing_after": after,
        "state": "proposed",
    }
    _guard(lambda: store.put_change(change))
    _audit(deps, "routing_proposed", actor, change["proposed_at"], _change_details(change, routing))
    return _answer(change, routing)


def _check_gates(deps: Dependencies, record: VersionRecord, routing: Routing) -> None:
    """Serving versions must hold the gates against today's champion (recomputed when the champion
    changed since the version's report)."""
    report = record["report"]
    if record["version_id"] == PACKAGED_VERSION_ID:
        return  # the packaged version is the floor every deployment starts from
    if report is None or report["champion_version"] not in (routing["champion"], None):
        store = deps.versions
        champion = _logic(lambda: routing_service.version_logic(routing["champion"], store))
        candidate = _logic(lambda: routing_service.record_logic(record, store))
        report = compute_report(candidate, routing["champion"], champion, _report_holdout(deps, report))
    failing = failed_gates(report)
    if failing:
        raise _refuse(failing)


def approve(deps: Dependencies, actor: str, change_id: str) -> ChangeAnswer:
    """A manager other than the maker applies a proposed change (route: managers only)."""
    store = deps.versions
    change = _guard(lambda: store.get_change(change_id))
    if change is None:
        raise not_found(f"change {change_id}")
    if change["proposed_by"] == actor:
        raise ServiceError(
            403,
            "forbidden",
            "the maker of a change cannot approve it",
            [{"field": "approved_by", "problem": "must not be the maker"}],
        )
    if change["state"] != "proposed":
        raise ServiceError(409, "conflict", f"change {change_id} is {change['state']}, not proposed")
    return _apply(deps, change, actor, emergency=False)


def _apply(deps: Dependencies, change: RoutingChange, actor: str, *, emergency: bool) -> ChangeAnswer:
    store = deps.versions
    before: Routing = _guard(store.get_routing)
    now = clock.now_iso()
    if before["revision"] != change["base_revision"]:
        _guard(lambda: store.mark_change({**change, "state": "superseded"}))
        raise ServiceError(
            409,
            "conflict",
            f"the routing changed since this change was proposed (revision {change['base_revision']} -> "
            f"{before['revision']}): propose it again",
        )
    after: Routing = {**change["routing_after"], "updated_at": now, "updated_by": actor}
    if not _guard(lambda: store.put_routing(after, change["base_revision"])):
        raise ServiceError(
            409, "conflict", "another routing change was applied at the same moment: propose again"
        )
    applied: RoutingChange = {
        **change,
        "state": "applied",
        "approved_by": actor,
        "approved_at": now,
        "emergency": emergency,
    }
    if not _guard(lambda: store.mark_change(applied)):
        _guard(lambda: store.put_change(applied))  # the emergency path writes a fresh record
    details = _change_details(applied, before)
    details["emergency"] = emergency
    _audit(deps, "routing_changed", actor, now, details)
    return _answer(applied, before)


def rollback(deps: Dependencies, actor: str, groups: frozenset[str], body: object) -> ChangeAnswer:
    """Back to the previous champion: a manager's alone (flagged emergency), or a proposal."""
    if not isinstance(body, dict) or not isinstance(body.get("reason"), str) or _blank(body["reason"]):
        raise validation_failed([{"field": "reason", "problem": "required: why the rollback"}])
    if unknown := unknown_fields(body, {"reason"}, of="a rollback"):
        raise validation_failed(unknown)
    store = deps.versions
    routing: Routing = _guard(store.get_routing)
    if not routing["previous_champions"]:
        raise ServiceError(409, "conflict", "there is no previous champion to roll back to")
    target = routing["previous_champions"][-1]
    after: Routing = json.loads(json.dumps(routing))
    after["revision"] += 1
    after["champion"] = target
    after["previous_champions"] = routing["previous_champions"][:-1]
    if after["challenger"] is not None and after["challenger"]["version_id"] == target:
        after["challenger"] = None
    after["shadows"] = [v for v in after["shadows"] if v != target]
    change: RoutingChange = {
        "change_id": str(uuid.uuid4()),
        "action": "rollback",
        "version_id": target,
        "role": "champion",
        "share": None,
        "reason": body["reason"],
        "proposed_by": actor,
        "proposed_at": clock.now_iso(),
        "base_revision": routing["revision"],
        "routing_after": after,
        "state": "proposed",
    }
    _guard(lambda: store.put_change(change))
    if resources.MANAGER_GROUP in groups:
        return _apply(deps, change, actor, emergency=True)
    _audit(deps, "routing_proposed", actor, change["proposed_at"], _change_details(change, routing))
    return _answer(change, routing)


def audit_trail(deps: Dependencies) -> AuditTrail:
    from chalicelib.audit_chain import verify

    return verify(_guard(lambda: deps.reviews.audit_entries(AUDIT_SUBJECT)))


# The cursor is bound to this list (staff share one registry), not to a caller.
AUDIT_CURSOR_LIST = "decision-versions-audit"
_BEFORE_SEQ = "before_seq"


def audit_page(deps: Dependencies, *, limit: str | None, cursor: str | None) -> VersionAuditPage:
    """One page of the registry's audit trail, newest first (``limit``, ``cursor`` as every list).

    The whole trail is read and verified on every page: a link is only checked against the entry
    before it, so verifying any page needs every older entry anyway, and the registry's trail grows
    by a few entries per registration or routing change (hundreds in years), not per decision."""
    problems = listing.Problems()
    size = listing.page_size(limit, problems)
    problems.raise_if_any()
    start = cursors.decode(cursor, AUDIT_CURSOR_LIST, {})
    before: int | None = None
    if start is not None:
        before = listing.ascii_integer(start.get(_BEFORE_SEQ, ""), 1, 10**9)
        if before is None or set(start) != {_BEFORE_SEQ}:
            raise cursors.invalid_cursor()
    trail = audit_trail(deps)
    older = [entry for entry in reversed(trail["entries"]) if before is None or entry["seq"] < before]
    page = older[:size]
    last: dict[str, str] | None = {_BEFORE_SEQ: str(page[-1]["seq"])} if len(older) > size else None
    return {
        "verified": trail["verified"],
        "first_broken_seq": trail["first_broken_seq"],
        "entries": page,
        "next_cursor": cursors.encode(last, AUDIT_CURSOR_LIST, {}),
    }


# -- helpers ------------------------------------------------------------------------------------
def _change_details(change: RoutingChange, before: Routing) -> dict[str, AuditDetail]:
    return {
        "change_id": change["change_id"],
        "action": change["action"],
        "version_id": change["version_id"],
        "role": change["role"],
        "share": change["share"],
        "reason": change["reason"],
        "proposed_by": change["proposed_by"],
        "routing_before": json.dumps(before, sort_keys=True),
        "routing_after": json.dumps(change["routing_after"], sort_keys=True),
    }


def _answer(change: RoutingChange, before: Routing) -> ChangeAnswer:
    return {
        "change_id": change["change_id"],
        "state": change["state"],
        "action": change["action"],
        "version_id": change["version_id"],
        "role": change["role"],
        "share": change["share"],
        "proposed_by": change["proposed_by"],
        "approved_by": change.get("approved_by"),
        "emergency": change.get("emergency", False),
        "routing_before": before,
        "routing_after": change["routing_after"],
    }


def _audit(deps: Dependencies, action: Any, actor: str, at: str, details: dict[str, AuditDetail]) -> None:
    steps: list[AuditStep] = [(action, actor, at, details)]
    expires_at = clock.now_epoch() + 10 * deps.settings.record_retention_seconds
    _guard(lambda: deps.reviews.append_audit(AUDIT_SUBJECT, steps, expires_at))
