"""A version registered against a labelled holdout uploaded to a staff backtest (issue 18): the
report's figures are engine/validation's on the same rows, every refusal names ``holdout`` or
``holdout/backtest_id``, and a promotion that recomputes the report uses the same file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import engine, resources
from chalicelib.dal.batches import input_key
from chalicelib.engine import validation
from chalicelib.errors import ServiceError
from chalicelib.service import batches, versions
from chalicelib.service.decision_versions import PACKAGED
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import InMemoryBatchObjects, in_memory_batches
from tests.unit.service.test_versions import CHECKER, MAKER, foir_55, policy_v1

DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
LINES = DATA.read_bytes().split(b"\n")  # the header, then the shipped rows
ROWS = 300  # the first rows of the shipped data: both labels, over HOLDOUT_MIN_ROWS


def csv_file(rows: int = ROWS, first: int = 1) -> bytes:
    return b"\n".join([LINES[0], *LINES[first : first + rows]]) + b"\n"


@pytest.fixture
def deps() -> Iterator[InMemoryDependencies]:
    twin = InMemoryDependencies()
    twin.batches = in_memory_batches(twin.versions)
    yield twin


def objects(deps: InMemoryDependencies) -> InMemoryBatchObjects:
    assert deps.batches is not None and isinstance(deps.batches.objects, InMemoryBatchObjects)
    return deps.batches.objects


def backtest(deps: InMemoryDependencies, body: bytes | None, fmt: str = "csv", owner: str = "") -> str:
    """A backtest (or a client's batch, with ``owner``) and, unless None, its uploaded file."""
    assert deps.batches is not None
    created = batches.create(deps.batches, owner or resources.STAFF_BATCH_OWNER, {"format": fmt})
    if body is not None:
        objects(deps).put(input_key(created["batch_id"]), body, "text/csv")
    return created["batch_id"]


def register(deps: InMemoryDependencies, holdout: object, policy: dict[str, Any] | None = None) -> Any:
    body = {"label": "FOIR 55%", "policy": policy or foir_55(), "holdout": holdout}
    return versions.register(deps, MAKER, body)


def refusal(deps: InMemoryDependencies, holdout: object) -> list[tuple[str, str]]:
    with pytest.raises(ServiceError) as error:
        register(deps, holdout)
    assert error.value.status == 400
    return [(detail["field"], detail["problem"]) for detail in error.value.details]


def test_the_report_on_an_uploaded_holdout_is_the_engines_figures_on_its_rows(
    deps: InMemoryDependencies,
) -> None:
    body = csv_file()
    backtest_id = backtest(deps, body)
    detail = register(deps, {"backtest_id": backtest_id})
    report = detail["report"]
    assert report["holdout"] == {
        "source": "uploaded",
        "backtest_id": backtest_id,
        "rows": ROWS,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    # The same rows, parsed apart from the service: its own reading of the CSV (the label column).
    table = list(csv.DictReader(io.StringIO(body.decode())))
    labels = tuple(int(row["loan_approved"]) for row in table)
    holdout = validation.parse_holdout(body, "uploaded")
    assert holdout.labels == labels and len(holdout.applications) == ROWS
    ceiling = resources.PROMOTION_GATES.affordability_ceiling_foir
    policy = engine.load_policy(foir_55())
    assert report["candidate"] == validation.figures(holdout, PACKAGED.model, policy, ceiling)
    assert report["champion"] == validation.figures(holdout, PACKAGED.model, PACKAGED.policy, ceiling)
    assert report["candidate"]["rows"] == report["champion"]["rows"] == ROWS  # type: ignore[index]
    assert report["champion_version"] == "v1"
    # The packaged holdout's report differs: the rows are the uploaded file's.
    packaged = versions.register(deps, MAKER, {"label": "same on packaged", "policy": foir_55()})["report"]
    assert packaged["holdout"]["source"] == "packaged" and "backtest_id" not in packaged["holdout"]
    assert packaged["holdout"]["rows"] == 1000 and packaged["candidate"] != report["candidate"]


def test_json_lines_labelled_defaulted_give_the_same_figures_as_the_csv(deps: InMemoryDependencies) -> None:
    body = csv_file()
    holdout = validation.parse_holdout(body, "uploaded")
    records = [
        json.dumps({**application, "defaulted": 1 - label})
        for application, label in zip(holdout.applications, holdout.labels, strict=True)
    ]
    from_csv = register(deps, {"backtest_id": backtest(deps, body)})["report"]
    lines = ("\n".join(records) + "\n").encode()
    from_jsonl = register(deps, {"backtest_id": backtest(deps, lines, "jsonl")})["report"]
    assert from_jsonl["holdout"]["rows"] == ROWS
    assert from_jsonl["candidate"] == from_csv["candidate"]
    assert from_jsonl["champion"] == from_csv["champion"]


def test_the_champions_figures_on_an_uploaded_file_are_computed_once(
    deps: InMemoryDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[tuple[str, str]] = []
    figures = validation.figures

    def counting(holdout: validation.Holdout, model: Any, policy: Any, ceiling: float) -> Any:
        computed.append((policy.sha256, holdout.sha256))
        return figures(holdout, model, policy, ceiling)

    monkeypatch.setattr(validation, "figures", counting)
    monkeypatch.setattr(versions, "_FIGURES", {})
    backtest_id = backtest(deps, csv_file())
    register(deps, {"backtest_id": backtest_id})
    second = foir_55()
    second["version"] = "1.2-foir-55"
    second["rules"]["POL-FOIR-MAX"]["limit"] = 0.56
    register(deps, {"backtest_id": backtest_id}, second)
    champion = [key for key in computed if key[0] == PACKAGED.policy.sha256]
    assert len(computed) == 3 and len(champion) == 1


def test_the_figures_kept_per_process_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: dict[tuple[str, str, str], Any] = {}
    monkeypatch.setattr(versions, "_FIGURES", cache)
    monkeypatch.setattr(validation, "figures", lambda holdout, model, policy, ceiling: {"of": holdout.sha256})
    holdouts = [
        validation.Holdout((), (), "uploaded", f"{n:064x}") for n in range(versions.FIGURES_CACHED + 3)
    ]
    for holdout in holdouts:
        versions._figures(PACKAGED, holdout)
    assert len(cache) == versions.FIGURES_CACHED
    kept = {key[2] for key in cache}
    assert kept == {holdout.sha256 for holdout in holdouts[3:]}


@pytest.mark.parametrize(
    ("holdout", "field", "problem"),
    [
        ("a string", "holdout", "an object"),
        ({"backtest_id": "x", "other": 1}, "holdout", "an object"),
        ({"backtest_id": 12}, "holdout/backtest_id", "a backtest id (a UUID)"),
        ({"backtest_id": "not-a-uuid"}, "holdout/backtest_id", "a backtest id (a UUID)"),
        ({"backtest_id": "6f1d7c9e-2b5a-4c1e-9d0f-3a7b8c9d0e1f"}, "holdout/backtest_id", "no such backtest"),
    ],
)
def test_a_holdout_that_names_no_backtest_is_refused(
    deps: InMemoryDependencies, holdout: object, field: str, problem: str
) -> None:
    [(got_field, got_problem)] = refusal(deps, holdout)
    assert got_field == field and got_problem.startswith(problem)


def test_a_clients_batch_is_no_backtest(deps: InMemoryDependencies) -> None:
    batch_id = backtest(deps, csv_file(), owner="client-1")
    assert refusal(deps, {"backtest_id": batch_id}) == [("holdout/backtest_id", "no such backtest")]


def test_a_backtest_without_its_file_is_refused(deps: InMemoryDependencies) -> None:
    [(field, problem)] = refusal(deps, {"backtest_id": backtest(deps, None)})
    assert field == "holdout/backtest_id" and problem.startswith("no file uploaded")
    [(field, problem)] = refusal(deps, {"backtest_id": backtest(deps, b"")})
    assert field == "holdout" and "empty" in problem


def test_a_file_over_the_byte_cap_is_refused_unread(
    deps: InMemoryDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = csv_file()
    monkeypatch.setattr(resources, "HOLDOUT_MAX_BYTES", len(body) - 1)
    backtest_id = backtest(deps, body)
    reads: list[str] = []
    monkeypatch.setattr(objects(deps), "read", lambda key, *_: reads.append(key) or b"")
    [(field, problem)] = refusal(deps, {"backtest_id": backtest_id})
    assert field == "holdout" and f"{len(body)} bytes, over a holdout's limit of {len(body) - 1}" in problem
    assert reads == []


def test_a_file_over_the_row_cap_is_refused(
    deps: InMemoryDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "HOLDOUT_MAX_ROWS", ROWS - 1)
    [(field, problem)] = refusal(deps, {"backtest_id": backtest(deps, csv_file())})
    assert (field, problem) == (
        "holdout",
        f"more than {ROWS - 1} rows: a holdout may have {ROWS - 1} at most",
    )
    monkeypatch.setattr(resources, "HOLDOUT_MAX_ROWS", ROWS)  # exactly at the cap: accepted
    assert register(deps, {"backtest_id": backtest(deps, csv_file())})["report"]["holdout"]["rows"] == ROWS


def test_too_few_rows_or_one_label_is_refused(deps: InMemoryDependencies) -> None:
    minimum = resources.HOLDOUT_MIN_ROWS
    few = refusal(deps, {"backtest_id": backtest(deps, csv_file(minimum - 1))})
    assert few == [("holdout", f"{minimum - 1} rows: a holdout needs at least {minimum}")]
    approved = [line for line in LINES[1:] if line.endswith(b",1")][:ROWS]
    one_label = b"\n".join([LINES[0], *approved]) + b"\n"
    assert refusal(deps, {"backtest_id": backtest(deps, one_label)}) == [
        ("holdout", "needs rows of both labels (0 and 1)")
    ]


def test_a_file_without_labels_is_refused(deps: InMemoryDependencies) -> None:
    table = [line.rsplit(b",", 1)[0] for line in csv_file().split(b"\n") if line]  # loan_approved dropped
    [(field, problem)] = refusal(deps, {"backtest_id": backtest(deps, b"\n".join(table) + b"\n")})
    assert field == "holdout" and problem.startswith("no labels")


def test_invalid_rows_are_named_by_line_the_first_ten_and_a_count(deps: InMemoryDependencies) -> None:
    lines = csv_file().split(b"\n")
    for number in range(3, 3 + 12):  # file lines 3-14: age 7 (the age is the third column)
        fields = lines[number - 1].split(b",")
        fields[2] = b"7"
        lines[number - 1] = b",".join(fields)
    unlabelled = lines[19].rsplit(b",", 1)[0] + b","  # line 20: an empty label
    lines[19] = unlabelled
    problems = refusal(deps, {"backtest_id": backtest(deps, b"\n".join(lines))})
    assert [field for field, _ in problems] == ["holdout"] * 11
    assert [problem.split(":")[0] for _, problem in problems[:10]] == [f"line {n}" for n in range(3, 13)]
    assert "age" in problems[0][1]
    assert problems[10][1] == "and 3 more invalid rows"  # lines 13, 14 and the unlabelled 20


def test_a_file_a_batch_cannot_read_is_refused(deps: InMemoryDependencies) -> None:
    [(field, problem)] = refusal(deps, {"backtest_id": backtest(deps, b"name,age\nx,1\n")})
    assert field == "holdout" and problem.startswith("the CSV header lacks required columns")


def test_other_field_problems_are_named_beside_the_holdouts(deps: InMemoryDependencies) -> None:
    with pytest.raises(ServiceError) as error:
        versions.register(deps, MAKER, {"label": "", "policy": policy_v1(), "holdout": {"backtest_id": "x"}})
    assert [detail["field"] for detail in error.value.details] == ["label", "holdout/backtest_id"]


def test_without_batches_an_uploaded_holdout_is_503(deps: InMemoryDependencies) -> None:
    backtest_id = backtest(deps, csv_file())
    deps.batches = None
    with pytest.raises(ServiceError) as error:
        register(deps, {"backtest_id": backtest_id})
    assert error.value.status == 503 and error.value.details[0]["field"] == "batches"


# -- promotion recomputes on the version's own holdout -----------------------------------------
def _champion_changed(deps: InMemoryDependencies) -> None:
    """Make another version the champion, so a report made before needs recomputing."""
    other = foir_55()
    other["version"] = "1.3-foir-58"
    other["rules"]["POL-FOIR-MAX"]["limit"] = 0.58
    champion = versions.register(deps, MAKER, {"label": "new champion", "policy": other})["version_id"]
    change = versions.propose(deps, MAKER, champion, {"role": "champion"})
    versions.approve(deps, CHECKER, change["change_id"])


def test_a_recomputed_report_at_promotion_uses_the_uploaded_holdout(
    deps: InMemoryDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    backtest_id = backtest(deps, csv_file())
    version_id = register(deps, {"backtest_id": backtest_id})["version_id"]
    _champion_changed(deps)
    holdouts: list[validation.Holdout] = []
    compute = versions.compute_report

    def spying(candidate: Any, champion_id: str, champion: Any, holdout: validation.Holdout) -> Any:
        holdouts.append(holdout)
        return compute(candidate, champion_id, champion, holdout)

    monkeypatch.setattr(versions, "compute_report", spying)
    change = versions.propose(deps, MAKER, version_id, {"role": "challenger", "share": 10})
    assert change["state"] == "proposed"
    assert [(h.source, h.backtest_id, len(h.labels)) for h in holdouts] == [("uploaded", backtest_id, ROWS)]


@pytest.mark.parametrize("change", ["expired", "replaced"])
def test_promotion_refuses_when_the_holdout_file_is_gone_or_changed(
    deps: InMemoryDependencies, change: str
) -> None:
    backtest_id = backtest(deps, csv_file())
    version_id = register(deps, {"backtest_id": backtest_id})["version_id"]
    _champion_changed(deps)
    key = input_key(backtest_id)
    if change == "expired":
        del objects(deps).objects[key]
    else:
        objects(deps).put(key, csv_file(first=ROWS + 1), "text/csv")
    with pytest.raises(ServiceError) as error:
        versions.propose(deps, MAKER, version_id, {"role": "challenger", "share": 10})
    assert error.value.status == 409 and error.value.details[0]["field"] == "holdout"
    assert backtest_id in error.value.details[0]["problem"]
    assert ("no file uploaded" if change == "expired" else "changed") in error.value.details[0]["problem"]


def test_make_register_names_the_holdout_backtest() -> None:
    from devstack.versions import parse_args, request_of

    args = parse_args(
        ["register", "--label", "on our book", "--holdout", "6f1d7c9e-2b5a-4c1e-9d0f-3a7b8c9d0e1f"]
    )
    method, path, body, _ = request_of(args)
    assert (method, path) == ("POST", "/v1/versions")
    assert body is not None and body["holdout"] == {"backtest_id": "6f1d7c9e-2b5a-4c1e-9d0f-3a7b8c9d0e1f"}
    assert "holdout" not in (request_of(parse_args(["register", "--label", "x"]))[2] or {})


@pytest.mark.parametrize(("reason", "status"), [("\x1c", 409), ("\u3000 \ufeff\t", 400), ("", 400)])
def test_a_blank_reason_is_blank_as_the_schemas_pattern_reads_it(
    deps: InMemoryDependencies, reason: str, status: int
) -> None:
    """``"pattern": "\\S"`` is an ECMA regex: U+001C is text to it (schemathesis sent it as valid),
    U+3000 and U+FEFF are spaces. Text reaches the rollback (409: nothing to roll back to)."""
    with pytest.raises(ServiceError) as error:
        versions.rollback(deps, CHECKER, frozenset({resources.MANAGER_GROUP}), {"reason": reason})
    assert error.value.status == status
