"""Batches (issue 19) through the local stack's real processes: ``chalice local`` answers the routes,
the file goes to the moto server's S3 with the presigned PUT, the batch pollers (what Lambda's SQS
mappings do) plan, score and settle the chunks. 5,000 rows with two versions complete with totals
equal to the input; a scorer killed mid-chunk is retried and counted once; a chunk that always fails
lands in the DLQ and the batch ends COMPLETED_WITH_ERRORS naming its rows; every bad input of the
issue answers its status. A stack of its own: it restarts its scorers with fault switches."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import resources
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack.batch_poller import FAULTS_ENV
from devstack.cognito import DEMO_STAFF, id_token
from devstack.stack import DevStack
from tests.support.batch_files import padded_csv

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2] / "data" / "loan_applications.csv"
ROWS_PER_CHUNK = 1000
MIB = 1024**2
MAX_BYTES = 16 * MIB  # room for a multipart file of 2 x 5 MiB parts and the last
MULTIPART_ABOVE_BYTES = 8 * MIB
PART_BYTES = 5 * MIB  # S3's least part: the moto server refuses a smaller one, as S3 does
VISIBILITY_SECONDS = 3  # redelivery and the DLQ in seconds (the real queue's: minutes)
DEADLINE_SECONDS = 240  # generous: two cores shared with other work


@pytest.fixture(scope="module")
def batch_stack(start_stack: Callable[..., DevStack]) -> DevStack:
    return start_stack(
        "batches",
        workers=0,
        reconcile_every_seconds=None,
        visibility_timeout_override=VISIBILITY_SECONDS,
        batch_env={
            resources.BATCH_ROWS_PER_CHUNK_ENV: str(ROWS_PER_CHUNK),
            resources.BATCH_MAX_BYTES_ENV: str(MAX_BYTES),
            resources.BATCH_MULTIPART_ABOVE_BYTES_ENV: str(MULTIPART_ABOVE_BYTES),
            resources.BATCH_PART_BYTES_ENV: str(PART_BYTES),
        },
    )


@pytest.fixture(scope="module")
def challenger(batch_stack: DevStack) -> str:
    """A second decision version (FOIR limit 55%), registered by model risk over HTTP."""
    pool = batch_stack.staff_pool
    if pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff to register a version")
    user = next(user for user in DEMO_STAFF if user.username == "modelrisk1")
    token = id_token(batch_stack.client("cognito-idp"), pool, user.username, user.password)
    policy: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    policy["version"] = "1.1-foir-55"
    policy["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    answer = requests.post(
        f"{batch_stack.api_url}/v1/versions",
        json={"label": "FOIR 55%", "policy": policy},
        headers={"Authorization": token},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["version_id"])


@pytest.fixture
def faults(batch_stack: DevStack) -> Iterator[Callable[[str], None]]:
    """Restart the scorers with a fault switch (devstack.batch_poller); back to none afterwards."""

    def restart(spec: str) -> None:
        batch_stack.stop_batch_pollers()
        batch_stack.config.batch_env[FAULTS_ENV] = spec
        batch_stack.start_batch_pollers()

    yield restart
    restart("")


def call(
    stack: DevStack, method: str, path: str, body: Any = None, plan: str = "standard"
) -> requests.Response:
    return requests.request(
        method, f"{stack.api_url}{path}", json=body, headers=stack.api_headers(plan), timeout=60
    )


def create_and_upload(stack: DevStack, body: bytes, versions: list[str] | None = None) -> str:
    payload: dict[str, Any] = {"format": "csv"}
    if versions is not None:
        payload["versions"] = versions
    created = call(stack, "POST", "/v1/batches", payload)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["status"] == "PENDING" and answer["max_bytes"] == MAX_BYTES
    uploaded = requests.put(answer["upload_url"], data=body, timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    return str(answer["batch_id"])


def wait_until_done(stack: DevStack, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        view = call(stack, "GET", f"/v1/batches/{batch_id}")
        assert view.status_code == 200, view.text
        body: dict[str, Any] = view.json()
        if body["status"] not in ("PENDING", "RUNNING"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} not done after {DEADLINE_SECONDS} s: {body}")


def result_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for url in view["results"]["parts"]:
        part = requests.get(url, timeout=60)
        assert part.status_code == 200
        rows += [json.loads(line) for line in gzip.decompress(part.content).splitlines()]
    return rows


def test_5000_rows_with_two_versions_complete_with_totals_equal_to_the_input(
    batch_stack: DevStack, challenger: str, measured_figures: list[str]
) -> None:
    batch_id = create_and_upload(batch_stack, DATA.read_bytes(), ["v1", challenger])
    started = call(batch_stack, "POST", f"/v1/batches/{batch_id}/start")
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "RUNNING"
    view = wait_until_done(batch_stack, batch_id)
    assert view["status"] == "COMPLETED", view
    assert view["chunks"] == {"done": 5, "failed": 0, "total": 5}
    assert view["rows"]["read"] == view["rows"]["total"] == 5000
    assert view["rows"]["scored"] + view["rows"]["invalid"] == 5000
    assert view["errors"] == [] and view["rows_per_second"] > 0
    measured_figures.append(
        f"batch of 5,000 rows x 2 versions through the local stack (1 scorer process, chunks of "
        f"{ROWS_PER_CHUNK}): {view['rows_per_second']} rows/s from start to completion"
    )
    summary = view["summary"]
    assert summary["rows"]["read"] == 5000
    assert len(summary["versions"]) == 2 and len(summary["swaps"]) == 1
    assert requests.get(view["results"]["summary_url"], timeout=60).json() == summary
    rows = result_rows(view)
    assert [row["row"] for row in rows] == list(range(1, 5001))
    assert all(set(row["versions"]) == {"v1", challenger} for row in rows if row["valid"])
    listed = call(batch_stack, "GET", "/v1/batches?limit=100").json()
    assert batch_id in [item["batch_id"] for item in listed["items"]]


def test_a_killed_chunk_is_retried_and_a_chunk_that_always_fails_ends_in_the_dlq(
    batch_stack: DevStack, faults: Callable[[str], None]
) -> None:
    faults("crash_once=1,always=3")
    batch_id = create_and_upload(batch_stack, DATA.read_bytes())
    assert call(batch_stack, "POST", f"/v1/batches/{batch_id}/start").status_code == 202
    view = wait_until_done(batch_stack, batch_id)
    assert view["status"] == "COMPLETED_WITH_ERRORS", view
    assert view["chunks"] == {"done": 4, "failed": 1, "total": 5}
    # Every row of the scored chunks exactly once (chunk 1 was killed after writing its part and
    # scored again), none of the failed chunk's: rows 3001-4000.
    assert view["rows"]["read"] == 4000 == view["summary"]["rows"]["read"]
    (error,) = view["errors"]
    assert "rows 3001-4000" in error
    rows = [row["row"] for row in result_rows(view)]
    assert rows == [*range(1, 3001), *range(4001, 5001)]
    scorer_logs = "".join(
        poller.log_path.read_text(errors="replace") for poller in batch_stack.batch_pollers if poller.log_path
    )
    assert f"injected fault: chunk 1 of {batch_id}" in scorer_logs  # it did die once, mid-chunk


def test_bad_input_answers_its_status_never_a_500(batch_stack: DevStack) -> None:
    unknown = call(batch_stack, "POST", "/v1/batches", {"format": "csv", "versions": ["v1", "v999"]})
    assert unknown.status_code == 400
    assert "v999" in unknown.json()["error"]["details"][0]["problem"]
    pending = call(batch_stack, "POST", "/v1/batches", {"format": "csv"}).json()["batch_id"]
    no_upload = call(batch_stack, "POST", f"/v1/batches/{pending}/start")
    assert (no_upload.status_code, no_upload.json()["error"]["code"]) == (409, "no_upload")
    # Another client's batch is the same 404 as one that does not exist.
    for path in (f"/v1/batches/{pending}", "/v1/batches/6b0f3c8e-0000-4000-8000-000000000000"):
        assert call(batch_stack, "GET", path, plan="partner").status_code == 404
    assert call(batch_stack, "POST", f"/v1/batches/{pending}/start", plan="partner").status_code == 404
    too_big = create_and_upload(batch_stack, b"x" * (MAX_BYTES + 1))
    over = call(batch_stack, "POST", f"/v1/batches/{too_big}/start")
    assert over.status_code == 413
    failed = call(batch_stack, "GET", f"/v1/batches/{too_big}").json()
    assert failed["status"] == "FAILED" and str(MAX_BYTES) in failed["error"]
    bad = create_and_upload(batch_stack, b"applicant_id,age\nA1,30\n")
    refused = call(batch_stack, "POST", f"/v1/batches/{bad}/start")
    assert refused.status_code == 422
    reason = call(batch_stack, "GET", f"/v1/batches/{bad}").json()
    assert reason["status"] == "FAILED" and reason["error"] == refused.json()["error"]["message"]
    small = create_and_upload(batch_stack, b"".join(DATA.read_bytes().splitlines(keepends=True)[:11]))
    assert call(batch_stack, "POST", f"/v1/batches/{small}/start").status_code == 202
    twice = call(batch_stack, "POST", f"/v1/batches/{small}/start")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_started")
    # A client key is not staff: the backtests are model risk's and managers'.
    assert call(batch_stack, "GET", "/v1/backtests").status_code in (401, 403)
    assert wait_until_done(batch_stack, small)["rows"]["read"] == 10


def test_an_empty_upload_is_a_422_naming_it_never_a_503(batch_stack: DevStack) -> None:
    empty = create_and_upload(batch_stack, b"")  # it used to be 503 "s3 is unavailable" on every retry
    refused = call(batch_stack, "POST", f"/v1/batches/{empty}/start")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "bad_file"), refused.text
    assert "the file is empty" in refused.json()["error"]["message"]
    view = call(batch_stack, "GET", f"/v1/batches/{empty}").json()
    assert view["status"] == "FAILED" and view["error"] == refused.json()["error"]["message"]
    again = call(batch_stack, "POST", f"/v1/batches/{empty}/start")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_started")


def test_a_form_encoded_put_is_stored_as_the_emulator_keeps_it_and_never_a_503(
    batch_stack: DevStack,
) -> None:
    """curl --data-binary sends Content-Type application/x-www-form-urlencoded. S3 stores the bytes
    whatever the type; the moto server (5.x) takes such a body for a form and stores 0 bytes. Either
    way the start answers a 2xx or a 4xx naming the problem, according to what was stored."""
    body = b"".join(DATA.read_bytes().splitlines(keepends=True)[:11])
    created = call(batch_stack, "POST", "/v1/batches", {"format": "csv"}).json()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert requests.put(created["upload_url"], data=body, headers=form, timeout=60).status_code == 200
    bucket = batch_stack.resource_name(resources.BATCHES_BUCKET.suffix)
    key = f"batches/{created['batch_id']}/input"
    stored = batch_stack.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"]
    started = call(batch_stack, "POST", f"/v1/batches/{created['batch_id']}/start")
    if stored == len(body):
        assert started.status_code == 202, started.text
    else:
        assert stored == 0, f"the emulator stored {stored} of {len(body)} bytes"
        assert (started.status_code, started.json()["error"]["code"]) == (422, "bad_file"), started.text
        assert "the file is empty" in started.json()["error"]["message"]


def test_a_staff_backtest_runs_under_v1_backtests(batch_stack: DevStack, challenger: str) -> None:
    pool = batch_stack.staff_pool
    assert pool is not None
    user = next(user for user in DEMO_STAFF if user.username == "manager1")
    token = id_token(batch_stack.client("cognito-idp"), pool, user.username, user.password)
    staff = {"Authorization": token}
    created = requests.post(
        f"{batch_stack.api_url}/v1/backtests",
        json={"format": "csv", "versions": ["v1", challenger]},
        headers=staff,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    batch_id = created.json()["batch_id"]
    body = b"".join(DATA.read_bytes().splitlines(keepends=True)[:101])
    assert requests.put(created.json()["upload_url"], data=body, timeout=60).status_code == 200
    started = requests.post(f"{batch_stack.api_url}/v1/backtests/{batch_id}/start", headers=staff, timeout=60)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        view = requests.get(
            f"{batch_stack.api_url}/v1/backtests/{batch_id}", headers=staff, timeout=60
        ).json()
        if view["status"] not in ("PENDING", "RUNNING"):
            break
        time.sleep(0.5)
    assert view["status"] == "COMPLETED" and view["rows"]["read"] == 100
    assert len(view["summary"]["swaps"]) == 1
    # A client's key sees no staff backtest: the same 404 as none.
    assert call(batch_stack, "GET", f"/v1/batches/{batch_id}").status_code == 404


def test_a_large_file_uploads_in_parts_to_the_moto_server_and_every_row_is_counted(
    batch_stack: DevStack, measured_figures: list[str]
) -> None:
    body, rows = padded_csv(2 * PART_BYTES + 600_000)
    began = time.monotonic()
    created = call(batch_stack, "POST", "/v1/batches", {"format": "csv", "size_bytes": len(body)})
    assert created.status_code == 201, created.text
    answer = created.json()
    assert "upload_url" not in answer
    upload = answer["upload"]
    assert upload["part_size"] == PART_BYTES and len(upload["parts"]) == 3
    parts = []
    for part in upload["parts"]:
        number = part["part_number"]
        piece = body[(number - 1) * PART_BYTES : number * PART_BYTES]
        put = requests.put(part["url"], data=piece, timeout=60)
        assert put.status_code == 200, put.text
        parts.append({"part_number": number, "etag": put.headers["ETag"]})
    path = f"/v1/batches/{answer['batch_id']}/start"
    missing = call(batch_stack, "POST", path, {"parts": parts[:2]})
    assert missing.status_code == 400 and missing.json()["error"]["details"][0]["field"] == "parts"
    started = call(batch_stack, "POST", path, {"parts": parts})
    assert started.status_code == 202, started.text
    view = wait_until_done(batch_stack, answer["batch_id"])
    seconds = time.monotonic() - began
    assert view["status"] == "COMPLETED", view
    assert view["rows"]["read"] == view["rows"]["total"] == view["rows"]["scored"] == rows
    assert view["summary"]["rows"]["read"] == rows
    assert [row["row"] for row in result_rows(view)] == list(range(1, rows + 1))
    measured_figures.append(
        f"multipart batch through the local stack: {len(body):,} bytes in {len(parts)} parts of "
        f"{PART_BYTES:,} bytes, {rows:,} rows, created + uploaded + scored in {seconds:.1f} s"
    )
