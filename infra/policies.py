"""Least-privilege IAM policies for ``.chalice/policy-<stage>*.json`` (``autogen_policy: false``).

    python -m infra.policies          # rewrite the policy files from this module

Only the actions the code calls (chalicelib/dal, Powertools Idempotency, the SQS event source,
Lambda logging, X-Ray), on the stage's own tables, indexes, queues, bus and log groups; the review
cases and the append-only audit trail get only what the review desk does with them.

Two policies per stage. The API function and the queue worker share ``policy-<stage>.json``
(Chalice's stage-level ``iam_policy_file``; each function still gets its own role carrying it):
both run the decision path (cache, decision record, application record, events), so splitting it
would only remove SendMessage from the worker and Receive/DeleteMessage from the API. The
reconciler has its own ``policy-<stage>-reconciler.json`` (a per-function ``iam_policy_file``):
it only finds PENDING applications, re-enqueues or fails them, and reads the review backlog for
its metrics; it must not be able to write decisions, the cache, idempotency records, review cases
or audit entries. The batch scorer and its DLQ handler share ``policy-<stage>-batches.json``
(batch_policy_document): the batch item, objects and queues, a version's logic, batch.completed.
The files are generated so the names stay those of
chalicelib/resources.py; tests/infra check the files equal this output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chalicelib import resources
from infra import names

# dal/aws.py (GetItem/PutItem/UpdateItem/DeleteItem; TransactWriteItems is authorised per item as
# PutItem/UpdateItem) and Powertools' DynamoDBPersistenceLayer (Get/Put/Update/DeleteItem).
DYNAMODB_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# dal/aws.py writes the decision record, the cache entry a miss fills and, for a new decision, its
# first audit entries and (manual_review) its review case in one BatchWriteItem (its own IAM
# action, unlike TransactWriteItems, and refused as a whole if any table in it is not allowed).
# BatchWriteItem also authorises DeleteRequests, which IAM cannot tell apart: on the audit table it
# is the one permission that could remove entries (docs/OPERATIONS.md, security checklist).
BATCH_WRITE_ACTIONS = ("dynamodb:BatchWriteItem",)
BATCH_WRITTEN_TABLES = (
    resources.DECISIONS_TABLE,
    resources.DECISION_CACHE_TABLE,
    resources.AUDIT_TABLE,
    resources.REVIEWS_TABLE,
)
# Lists (GET /v1/decisions, GET /v1/applications) are Queries on the tables' GSIs, never Scans.
QUERY_ACTIONS = ("dynamodb:Query",)
# The API resolves the queue URL by name, sends, and reads the depth for /health/detailed.
SQS_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage", "sqs:GetQueueAttributes")
# What the Lambda SQS event source mapping needs on the consuming role (with GetQueueAttributes).
SQS_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage")
# One decision.made event per decision, from the API (sync) and the worker (async).
EVENTS_ACTIONS = ("events:PutEvents",)
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions: these two actions only accept Resource "*".
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

# The reconciler: Query the sparse ``pending`` index, read and conditionally update the
# application (re-enqueued once, or FAILED), and re-send its message to the queue.
RECONCILER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
RECONCILER_SQS_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
RECONCILER_INDEX = (resources.APPLICATIONS_TABLE, resources.APPLICATIONS_PENDING)

# The review desk (chalicelib/dal/reviews.py). Cases: opened (PutItem, conditional: once per
# decision), read, claimed/released/decided (conditional PutItem/UpdateItem); never deleted (TTL
# does that). The audit trail is appended to: PutItem (conditional on a new sequence number) and
# Query of one subject's entries; no UpdateItem or DeleteItem, so no single call rewrites an entry
# in place or removes one (BatchWriteItem, for a new decision's first entries, is the exception).
REVIEW_CASE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
AUDIT_TRAIL_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query")
# Tables with their own statement above; every other table gets DYNAMODB_ACTIONS.
OWN_STATEMENT_TABLES = (resources.REVIEWS_TABLE, resources.AUDIT_TABLE)
# The reconciler's backlog figures (ReviewsOpen, ReviewOldestOpenAgeSeconds, ReviewSlaBreached):
# Queries on the cases' status index only, no case or audit write.
RECONCILER_REVIEW_INDEX = (resources.REVIEWS_TABLE, resources.REVIEWS_BY_STATUS_DUE)

SHARED_FUNCTIONS = (
    resources.API_FUNCTION,
    resources.WORKER_FUNCTION,
    resources.WEBHOOK_FUNCTION,
)
# Webhooks' signing secrets: the API encrypts them (create, rotate), the delivery function decrypts.
WEBHOOK_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt")
# {function: its own policy file suffix}; functions not listed use the stage's shared file.
OWN_POLICY_SUFFIX = {resources.RECONCILER_FUNCTION.chalice_name: "reconciler"}
OWN_POLICY_SUFFIX[resources.MONITOR_FUNCTION.chalice_name] = "monitoring"  # issue 20
OWN_POLICY_SUFFIX[resources.MONITOR_PART_FUNCTION.chalice_name] = "monitoring-parts"  # issue 20, fan-out
OWN_POLICY_SUFFIX[resources.MONITOR_PARTS_DLQ_FUNCTION.chalice_name] = "monitoring-parts-dlq"
# Batches (issue 19's gaps): the scorer and its DLQ handler share a file, apart from the API's.
BATCH_FUNCTIONS = (resources.BATCH_FUNCTION, resources.BATCH_DLQ_FUNCTION)
OWN_POLICY_SUFFIX |= {spec.chalice_name: "batches" for spec in BATCH_FUNCTIONS}


def _arn(service: str, resource: str) -> str:
    # Region and account are left open so one file serves any account/region the stack lands in;
    # the resource names pin the stage.
    return f"arn:aws:{service}:*:*:{resource}"


def table_arn(stage: str, spec: resources.TableSpec) -> str:
    return _arn("dynamodb", f"table/{resources.resource_name(stage, spec.suffix)}")


def index_arn(stage: str, spec: resources.TableSpec, index: resources.IndexSpec) -> str:
    # Each index by name (not index/*): a GSI added later is not readable until it is listed here.
    return f"{table_arn(stage, spec)}/index/{index.name}"


def queue_arn(stage: str, spec: resources.QueueSpec) -> str:
    return _arn("sqs", resources.resource_name(stage, spec.suffix))


def event_bus_arn(stage: str) -> str:
    return _arn("events", f"event-bus/{names.event_bus_name(stage)}")


def webhook_key_alias(stage: str) -> str:
    """The webhook secrets' key by alias (infra.webhooks.key_alias; the template creates both)."""
    return "alias/" + resources.resource_name(stage, resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX)


def log_group_arn(stage: str, spec: resources.FunctionSpec) -> str:
    return _arn("logs", f"log-group:{names.function_log_group(stage, spec)}:*")


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def policy_document(stage: str) -> dict[str, Any]:
    """The API function's and the worker's policy (``policy-<stage>.json``). The worker opens review
    cases and writes their audit entries; the API serves the staff routes on them."""
    tables = [table_arn(stage, spec) for spec in resources.TABLES if spec not in OWN_STATEMENT_TABLES]
    indexes = [index_arn(stage, spec, index) for spec in resources.TABLES for index in spec.indexes]
    # The chunk queue is the batch functions' to consume: the API only sends a batch's plan message.
    queues = [queue_arn(stage, spec) for spec in resources.QUEUES if spec is not resources.BATCH_CHUNKS_QUEUE]
    statements: list[dict[str, Any]] = [
        {"Sid": "Tables", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": tables},
        {
            "Sid": "ReviewCases",
            "Effect": "Allow",
            "Action": list(REVIEW_CASE_ACTIONS),
            "Resource": [table_arn(stage, resources.REVIEWS_TABLE)],
        },
        {
            "Sid": "AuditTrail",
            "Effect": "Allow",
            "Action": list(AUDIT_TRAIL_ACTIONS),
            "Resource": [table_arn(stage, resources.AUDIT_TABLE)],
        },
        {
            "Sid": "NewDecisionBatchWrites",
            "Effect": "Allow",
            "Action": list(BATCH_WRITE_ACTIONS),
            "Resource": [table_arn(stage, spec) for spec in BATCH_WRITTEN_TABLES],
        },
        {"Sid": "ListIndexes", "Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": indexes},
        {
            "Sid": "ApplicationsQueue",
            "Effect": "Allow",
            "Action": list(SQS_SEND_ACTIONS + SQS_CONSUME_ACTIONS),
            "Resource": queues,
        },
        {
            "Sid": "DecisionEvents",
            "Effect": "Allow",
            "Action": list(EVENTS_ACTIONS),
            "Resource": [event_bus_arn(stage)],
        },
        {
            "Sid": "WebhookSecrets",
            "Effect": "Allow",
            "Action": list(WEBHOOK_KMS_ACTIONS),
            "Resource": [_arn("kms", "key/*")],
            # The key by its alias (the template creates both): no key id to render here.
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": webhook_key_alias(stage)}},
        },
        {
            "Sid": "FunctionLogs",
            "Effect": "Allow",
            "Action": list(LOG_ACTIONS),
            "Resource": [log_group_arn(stage, spec) for spec in SHARED_FUNCTIONS],
        },
        {"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
        *fraud_counter_statements(stage),
        *decision_versions_statements(stage),
        *_monitoring_report_statements(stage),
        *batch_statements(stage),
    ]
    return _document(statements)


def _monitoring_report_statements(stage: str) -> list[dict[str, Any]]:
    from infra import monitoring  # issue 20: the staff routes' reports (imports this module)

    return monitoring.report_statements(stage)


# Fraud and velocity counters (issue 21, chalicelib/dal/fraud.py): an UpdateItem per counted value
# (the Tables statement above) and a BatchGetItem of the previous buckets, its own action.
FRAUD_COUNTER_READ_ACTIONS = ("dynamodb:BatchGetItem",)


def fraud_counter_statements(stage: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "FraudCounterReads",
            "Effect": "Allow",
            "Action": list(FRAUD_COUNTER_READ_ACTIONS),
            "Resource": [table_arn(stage, resources.FRAUD_COUNTERS_TABLE)],
        }
    ]


# ---- Decision versions (issue 18): the registry's table is one of TABLES (GetItem, PutItem,
# UpdateItem above); listing versions is a Query on the table itself; blobs are read and written by
# key (content-addressed: never listed, never deleted by the service).
VERSIONS_QUERY_ACTIONS = ("dynamodb:Query",)
VERSIONS_BLOB_ACTIONS = ("s3:GetObject", "s3:PutObject")


def bucket_arn(stage: str, spec: resources.BucketSpec) -> str:
    return f"arn:aws:s3:::{resources.resource_name(stage, spec.suffix)}"


def objects_arn(stage: str, spec: resources.BucketSpec, prefix: str) -> str | dict[str, str]:
    """The bucket's objects under ``prefix``: a deployed stage's bucket name ends in the account id
    (``names.bucket_name``), which CloudFormation fills in (Chalice copies the policy file into the
    role verbatim); the local stage's is the plain name."""
    if stage not in resources.DEPLOYED_STAGES:
        return f"{bucket_arn(stage, spec)}/{prefix}/*"
    return {"Fn::Sub": f"{bucket_arn(stage, spec)}-${{AWS::AccountId}}/{prefix}/*"}


def decision_versions_statements(stage: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "DecisionVersionsList",
            "Effect": "Allow",
            "Action": list(VERSIONS_QUERY_ACTIONS),
            "Resource": [table_arn(stage, resources.VERSIONS_TABLE)],
        },
        {
            "Sid": "DecisionVersionsBlobs",
            "Effect": "Allow",
            "Action": list(VERSIONS_BLOB_ACTIONS),
            "Resource": [objects_arn(stage, resources.VERSIONS_BUCKET, "blobs")],
        },
    ]


# ---- Batches (issue 19, chalicelib/dal/batches_aws.py). The API: the batch item is one of TABLES
# and its owner index one of the list indexes (above); it sends a batch's plan message to the chunk
# queue and reads its depth (readiness); the objects under batches/: GetObject (HEAD, the head of
# the file, the summary, the presigned GETs), PutObject (the presigned PUT; CreateMultipartUpload,
# the presigned UploadPart and CompleteMultipartUpload are authorised by it too), ListParts and
# AbortMultipartUpload for a multipart upload (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# mpuoverview.html#mpuAndPermissions).
BATCH_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
BATCH_MULTIPART_ACTIONS = ("s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
BATCH_CHUNK_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage", "sqs:GetQueueAttributes")


def batch_statements(stage: str) -> list[dict[str, Any]]:
    """What the API function needs for the batch routes beyond the shared statements."""
    objects = [objects_arn(stage, resources.BATCHES_BUCKET, "batches")]
    return [
        {
            "Sid": "BatchObjects",
            "Effect": "Allow",
            "Action": list(BATCH_OBJECT_ACTIONS + BATCH_MULTIPART_ACTIONS),
            "Resource": objects,
        },
        {
            "Sid": "BatchChunksSend",
            "Effect": "Allow",
            "Action": list(BATCH_CHUNK_SEND_ACTIONS),
            "Resource": [queue_arn(stage, resources.BATCH_CHUNKS_QUEUE)],
        },
    ]


# The batch functions' own policy (``policy-<stage>-batches.json``): the scorer plans a file and
# scores its chunks, the DLQ handler settles a chunk that kept failing; either may complete the
# batch (summary, batch.completed on the bus and, for a client's batch, to its webhooks' queue).
BATCH_ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # never created, listed or deleted
BATCH_CHUNK_ACTIONS = (*BATCH_CHUNK_SEND_ACTIONS, "sqs:ReceiveMessage", "sqs:DeleteMessage")
BATCH_DLQ_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
BATCH_VERSION_READ_ACTIONS = ("dynamodb:GetItem",)  # a version's record (routing.version_logic)
BATCH_BLOB_READ_ACTIONS = ("s3:GetObject",)  # its model and policy documents
WEBHOOK_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# An outcomes batch (issue 20): each row is one decision's read (its owner and date) and the one
# conditional UpdateItem that records the outcome (chalicelib/dal/outcomes_aws.py), with its read-back.
BATCH_OUTCOME_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


def allow(sid: str, actions: Iterable[str], arns: list[str | dict[str, str]] | str) -> dict[str, Any]:
    """One Allow statement: ``actions`` on ``arns``."""
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": arns}


def batch_policy_document(stage: str) -> dict[str, Any]:
    queue = resources.BATCH_CHUNKS_QUEUE
    statements = [
        allow("BatchItems", BATCH_ITEM_ACTIONS, [table_arn(stage, resources.BATCHES_TABLE)]),
        allow(
            "BatchObjects", BATCH_OBJECT_ACTIONS, [objects_arn(stage, resources.BATCHES_BUCKET, "batches")]
        ),
        allow("BatchChunks", BATCH_CHUNK_ACTIONS, [queue_arn(stage, queue)]),
        allow(
            "BatchDeadLetters",
            BATCH_DLQ_ACTIONS,
            [_arn("sqs", resources.resource_name(stage, queue.dlq_suffix))],
        ),
        allow(
            "DecisionVersionsRead", BATCH_VERSION_READ_ACTIONS, [table_arn(stage, resources.VERSIONS_TABLE)]
        ),
        allow(
            "DecisionVersionsBlobsRead",
            BATCH_BLOB_READ_ACTIONS,
            [objects_arn(stage, resources.VERSIONS_BUCKET, "blobs")],
        ),
        allow("LoanOutcomesRecorded", BATCH_OUTCOME_ACTIONS, [table_arn(stage, resources.DECISIONS_TABLE)]),
        allow("BatchCompletedEvents", EVENTS_ACTIONS, [event_bus_arn(stage)]),
        allow("WebhookEventsQueue", WEBHOOK_SEND_ACTIONS, [queue_arn(stage, resources.WEBHOOK_QUEUE)]),
        allow("FunctionLogs", LOG_ACTIONS, [log_group_arn(stage, spec) for spec in BATCH_FUNCTIONS]),
        allow("Tracing", XRAY_ACTIONS, "*"),
    ]
    return _document(statements)


def reconciler_policy_document(stage: str) -> dict[str, Any]:
    """The reconciler's own policy (``policy-<stage>-reconciler.json``)."""
    table, index = RECONCILER_INDEX
    reviews, status_index = RECONCILER_REVIEW_INDEX
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PendingIndex",
            "Effect": "Allow",
            "Action": list(QUERY_ACTIONS),
            "Resource": [index_arn(stage, table, index)],
        },
        {
            "Sid": "ReviewBacklogIndex",
            "Effect": "Allow",
            "Action": list(QUERY_ACTIONS),
            "Resource": [index_arn(stage, reviews, status_index)],
        },
        {
            "Sid": "Applications",
            "Effect": "Allow",
            "Action": list(RECONCILER_TABLE_ACTIONS),
            "Resource": [table_arn(stage, table)],
        },
        {
            "Sid": "ApplicationsQueue",
            "Effect": "Allow",
            "Action": list(RECONCILER_SQS_ACTIONS),
            "Resource": [queue_arn(stage, resources.APPLICATIONS_QUEUE)],
        },
        {
            "Sid": "FunctionLogs",
            "Effect": "Allow",
            "Action": list(LOG_ACTIONS),
            "Resource": [log_group_arn(stage, resources.RECONCILER_FUNCTION)],
        },
        {"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
    ]
    return _document(statements)


def function_policy_file_name(stage: str, spec: resources.FunctionSpec) -> str:
    """The ``iam_policy_file`` the function's role is built from (relative to ``.chalice/``)."""
    suffix = OWN_POLICY_SUFFIX.get(spec.chalice_name)
    return names.policy_file_name(stage) if suffix is None else f"policy-{stage}-{suffix}.json"


def function_policy_document(stage: str, spec: resources.FunctionSpec) -> dict[str, Any]:
    if spec is resources.RECONCILER_FUNCTION:
        return reconciler_policy_document(stage)
    if spec is resources.MONITOR_FUNCTION:  # issue 20
        from infra import monitoring

        return monitoring.monitor_policy_document(stage)
    if spec is resources.MONITOR_PART_FUNCTION:  # issue 20, fan-out
        from infra import monitoring

        return monitoring.parts_policy_document(stage)
    if spec is resources.MONITOR_PARTS_DLQ_FUNCTION:
        from infra import monitoring

        return monitoring.dead_parts_policy_document(stage)
    if spec in BATCH_FUNCTIONS:
        return batch_policy_document(stage)
    return policy_document(stage)


def policy_files(stage: str) -> dict[str, dict[str, Any]]:
    """{file name: document} of every policy file of the stage."""
    return {
        function_policy_file_name(stage, spec): function_policy_document(stage, spec)
        for spec in resources.FUNCTIONS
    }


def policy_path(stage: str, file_name: str | None = None) -> Path:
    return names.CHALICE_CONFIG.parent / (file_name or names.policy_file_name(stage))


def render_document(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def render(stage: str) -> str:
    """The shared policy file's text."""
    return render_document(policy_document(stage))


def main() -> None:
    for stage in resources.STAGES:
        for file_name, document in policy_files(stage).items():
            policy_path(stage, file_name).write_text(render_document(document))
            print(policy_path(stage, file_name))


if __name__ == "__main__":
    main()
