"""Loan outcomes in bulk through a batch file (issue 20) against the real local stack: decisions made
over HTTP, an outcomes CSV PUT to the moto server's S3 with the presigned URL, the batch started, the
batch poller (what Lambda's SQS mapping does) records its rows; the batch completes with the counts,
the decisions show their latest outcome, another client's decision is untouched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

DONE_WITHIN_SECONDS = 240  # generous: two cores shared with other work


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_an_outcomes_csv_is_recorded_on_the_clients_decisions(api: ApiClient, stack: DevStack) -> None:
    partner = ApiClient(stack.api_url, stack.api_headers("partner"))
    first, second = applications(2, with_personal_data=False)
    ours = [api.post("/v1/decisions", payload) for payload in (first, second)]
    assert all(made.status_code == 200 for made in ours), [made.text for made in ours]
    mine, other_mine = (str(made.json()["decision_id"]) for made in ours)
    theirs = partner.post("/v1/decisions", first)
    assert theirs.status_code == 200, theirs.text
    foreign = str(theirs.json()["decision_id"])
    rows = [
        "decision_id,status,as_of",
        f"{mine},current,{today()}",
        f"{mine},current,{today()}",  # a replay
        f"{other_mine},paid_off,{today()}",
        f"{foreign},default,{today()}",  # another client's: not found, untouched
        f"{uuid.uuid4()},default,{today()}",
        f"{other_mine},late,{today()}",  # not a status
    ]

    created = api.post("/v1/batches", {"format": "csv", "kind": "outcomes"})
    assert created.status_code == 201, created.text
    batch = created.json()
    assert (batch["kind"], batch["versions"]) == ("outcomes", [])
    uploaded = requests.put(batch["upload_url"], data="\n".join(rows).encode() + b"\n", timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    started = api.post(f"/v1/batches/{batch['batch_id']}/start", None)
    assert started.status_code == 202, started.text

    def finished() -> dict[str, Any] | None:
        view = api.get(f"/v1/batches/{batch['batch_id']}")
        assert view.status_code == 200, view.text
        body: dict[str, Any] = view.json()
        return body if body["status"] not in ("PENDING", "RUNNING") else None

    view = wait_until(finished, DONE_WITHIN_SECONDS, f"outcomes batch {batch['batch_id']} done", interval=0.5)

    assert view["status"] == "COMPLETED", view
    assert view["summary"]["rows"] == {
        "read": 6,
        "recorded": 2,
        "replayed": 1,
        "superseded": 0,
        "not_found": 2,
        "invalid": 1,
    }
    assert [row["line"] for row in view["summary"]["invalid_rows"]] == [7]
    assert api.get(f"/v1/decisions/{mine}").json()["loan_outcome"] == {"status": "current", "as_of": today()}
    assert api.get(f"/v1/decisions/{other_mine}").json()["loan_outcome"] == {
        "status": "paid_off",
        "as_of": today(),
    }
    assert "loan_outcome" not in partner.get(f"/v1/decisions/{foreign}").json()
