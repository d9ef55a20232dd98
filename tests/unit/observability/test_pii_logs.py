"""Personal data never reaches a log, a stored record or the queue (chalice.test.Client + moto:
what DynamoDB and SQS hold is checked in their own formats, Powertools' idempotency records too).

Every log record of a full request flow is captured three ways: a handler on every logger (each
record formatted by the logger's own formatter, e.g. Powertools' JSON, plus all of the record's
attributes, so ``extra=`` fields count), and stdout/stderr at file-descriptor level (print, Powertools'
stream handler). A control line proves the capture sees the service's logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.privacy import hash_identity
from tests.support.aws import readable, receive_all
from tests.support.http import post_json, sample_application
from tests.support.sqs import sqs_event

# Distinctive personal data: none of these strings may ever appear in a log or a stored record.
PERSONAL_DATA = {
    "applicant_name": "Zorawar Quixotic-Pemberton",
    "pan": "QZXPK7391M",
    "aadhaar": "7391 8264 5173",
    "phone": "9735108642",
    "email": "zorawar.quixotic@example.org",
}
# How each value may appear once normalised by a careless logger or serialiser.
PERSONAL_DATA_VARIANTS = (
    "Zorawar",
    "Quixotic",
    "Pemberton",
    "QZXPK7391M",
    "7391 8264 5173",
    "739182645173",
    "9735108642",
    "zorawar.quixotic",
)


def scan(aws: Any, table: str) -> list[dict[str, Any]]:
    return aws.aws_clients["dynamodb"].scan(TableName=table)["Items"]


def drain_queue_into_worker(client: Any, aws: Any) -> int:
    sqs = aws.aws_clients["sqs"]
    records = receive_all(sqs, sqs.get_queue_url(QueueName=aws.settings.applications_queue)["QueueUrl"])
    if records:
        client.lambda_.invoke(resources.WORKER_FUNCTION.chalice_name, sqs_event(*records))
    return len(records)


class CapturingHandler(logging.Handler):
    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._capfd = capfd

    def text(self) -> str:
        """Everything logged or printed so far."""
        out, err = self._capfd.readouterr()
        self.lines.extend([out, err])
        return "\n".join(self.lines)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(repr(vars(record)))
        try:
            self.lines.append(record.getMessage())
        except (TypeError, ValueError):
            self.lines.append(repr(record.msg))


@pytest.fixture
def all_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[CapturingHandler]:
    """Capture every record of every logger, formatted by each logger's own handlers too."""
    capture = CapturingHandler(capfd)
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    formatted = FormattingCapture(capture)
    previous_levels = {}
    for logger in loggers:
        previous_levels[logger] = logger.level
        logger.addHandler(capture)
        logger.addHandler(formatted)
        # DEBUG everywhere: personal data in a debug line would still be a leak once enabled.
        logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
            logger.removeHandler(formatted)
            logger.setLevel(previous_levels[logger])


class FormattingCapture(logging.Handler):
    """Formats each record with the formatters of the record's logger (what production prints)."""

    def __init__(self, sink: CapturingHandler) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        for handler in logger.handlers:
            if handler.formatter is not None and handler not in (self, self.sink):
                self.sink.lines.append(handler.formatter.format(record))


def personal_application(row: int) -> dict[str, Any]:
    return {**sample_application(row), **PERSONAL_DATA}


def leaked(text: str) -> list[str]:
    return [secret for secret in PERSONAL_DATA_VARIANTS if secret.lower() in text.lower()]


def test_request_flow_logs_and_stores_no_personal_data(aws_client, aws, all_logs: CapturingHandler) -> None:
    chalice_client = aws_client
    decision = post_json(chalice_client, "/v1/decisions", personal_application(0))
    assert decision.status_code == 200, decision.body
    assert post_json(chalice_client, "/v1/decisions", personal_application(0)).status_code == 200
    submitted = post_json(chalice_client, "/v1/applications", personal_application(1))
    assert submitted.status_code == 202, submitted.body
    status_url = json.loads(submitted.body)["status_url"]

    sqs = aws.aws_clients["sqs"]
    queue_url = sqs.get_queue_url(QueueName=aws.settings.applications_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
    peeked = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"]
    queued_text = json.dumps(peeked)

    assert drain_queue_into_worker(chalice_client, aws) == 1
    status = json.loads(chalice_client.http.get(status_url).body)
    assert status["status"] == "DECIDED"
    assert post_json(chalice_client, "/v1/eligibility", personal_application(2)).status_code in (200, 400)
    # Invalid personal fields: the error names the field, never echoes the value.
    bad = {**personal_application(3), "pan": "QZXPK7391", "email": "zorawar.quixotic@", "age": "x"}
    rejected = post_json(chalice_client, "/v1/decisions", bad)
    assert rejected.status_code == 400
    assert leaked(rejected.body.decode()) == []

    logs = all_logs.text()
    # Control: the capture does see the service's own log lines (decision id logged by the API).
    assert json.loads(decision.body)["decision_id"] in logs
    assert leaked(logs) == [], "personal data in logs"
    assert leaked(queued_text) == [], "personal data on the queue"

    settings = aws.settings
    stored = ""
    for table in (
        settings.decisions_table,
        settings.applications_table,
        settings.decision_cache_table,
        settings.idempotency_table,
    ):
        stored += readable(scan(aws, table))
    assert leaked(stored) == [], "personal data stored in the clear"
    # Masked (original masks) and hashed forms are what is kept.
    for masked in ("QZXPK****M", "****-****-5173", "******8642", "z****c@example.org", "Z****** Q*****"):
        assert masked in stored, masked
    assert hash_identity("pan", PERSONAL_DATA["pan"]) in stored


def test_idempotent_requests_log_and_store_no_personal_data(
    aws_client, aws, all_logs: CapturingHandler
) -> None:
    chalice_client = aws_client
    # Idempotency-Key requests go through Powertools Idempotency, which stores a record per key
    # (a hash of the body and the first response) and logs at DEBUG.
    for path, row in (("/v1/decisions", 4), ("/v1/applications", 5)):
        headers = {"Idempotency-Key": f"pii-check-{row}"}
        first = post_json(chalice_client, path, personal_application(row), headers)
        replay = post_json(chalice_client, path, personal_application(row), headers)
        assert first.status_code in (200, 202), first.body
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert leaked(first.body.decode() + replay.body.decode()) == []

    settings = aws.settings
    idempotency_records = scan(aws, settings.idempotency_table)
    assert len(idempotency_records) == 2  # control: the records the check below reads exist
    stored = readable(idempotency_records)
    for table in (settings.decisions_table, settings.applications_table):
        stored += readable(scan(aws, table))
    assert leaked(stored) == [], "personal data stored in the clear"
    assert leaked(all_logs.text()) == [], "personal data in logs"


def test_capture_would_catch_a_leak(chalice_client, all_logs: CapturingHandler) -> None:
    """The check above can fail: a personal value logged through the service's logger is caught."""
    from chalicelib.observability import logger

    logger.info("oops", extra={"applicant": PERSONAL_DATA["applicant_name"]})
    assert leaked(all_logs.text()) == ["Zorawar", "Quixotic", "Pemberton"]
