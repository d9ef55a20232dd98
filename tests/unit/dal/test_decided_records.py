"""One builder per record: the DynamoDB store (moto in-process) and the in-memory twin record an
asynchronous decision as the same decision record and the same DECIDED application, the ones
``AsyncDecision.record`` and ``records.decided_application`` build; a redelivery changes neither."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import engine
from chalicelib.records import AsyncDecision, decided_application
from chalicelib.service.applications import pending_record
from chalicelib.service.worker import decision_id_for
from tests.support.samples import application_row

APPLICATION_ID = "6c0f3f0e-4f7b-4bb8-9a0d-1a2b3c4d5e6f"
SUBMITTED_AT = "2026-12-01T00:00:00.000Z"


def decided_with(row: int) -> AsyncDecision:
    return AsyncDecision(
        application_id=APPLICATION_ID,
        client_id="client-a",
        decision_id=decision_id_for(APPLICATION_ID),
        created_at="2026-12-01T00:00:01.000Z",
        decision=engine.decide(engine.validate_application(application_row(row)), *engine.packaged_version()),
        applicant={"applicant_ref": "ref", "applicant_name": "A*** K****", "loan_amount": 500_000},
        submitted_at=SUBMITTED_AT,
        expires_at=2_000_000_000,
        decision_version="v1",
        arm="champion",
    )


@pytest.fixture(params=["aws", "memory"])
def store(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param).store


def test_a_decided_application_is_the_builders_record_in_every_store(store):
    application = engine.validate_application(application_row(0))
    store.create_pending_application(
        pending_record(APPLICATION_ID, "client-a", application, SUBMITTED_AT, 86_400)
    )
    first, redelivered = decided_with(0), decided_with(1)
    assert first.decision != redelivered.decision

    assert store.record_application_decision(first) is True
    assert store.record_application_decision(redelivered) is False

    assert store.get_decision(first.decision_id) == first.record()
    stored = store.get_application(APPLICATION_ID)
    assert stored == decided_application(first.record(), SUBMITTED_AT)
    assert "application" not in stored  # only PENDING applications keep the scoring inputs
