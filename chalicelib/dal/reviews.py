"""DynamoDB implementation of the review store: versioned cases and the hash-chained audit trail.

A case is one item: its keys and index attributes (status, due_at) beside the whole case as a
compressed document, and a ``version`` every change is conditional on. Twenty reviewers claiming
one case at once all read version N; exactly one PutItem with ``version = N`` wins.

Audit entries are small plain items (partition = subject, sort = zero-padded sequence number), each
written with ``attribute_not_exists``: an entry is never overwritten, and a writer that finds its
sequence number taken re-reads the end of the chain and chains after it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib import resources
from chalicelib.audit_chain import chain
from chalicelib.config import Settings
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.aws import (
    AUDIT_SEQ,
    AUDIT_SUBJECT,
    REVIEW_KEY,
    _conditional_write,
    _guarded,
    _literal,
    _read_document,
    audit_item,
    case_item,
)
from chalicelib.records import AUDIT_ACTIONS, AuditEntry, AuditStep, PageKey, ReviewCase

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

    from chalicelib.dal.aws import Item

APPEND_ATTEMPTS = 5


class DynamoDBReviewStore:
    def __init__(self, client: DynamoDBClient, reviews_table: str, audit_table: str) -> None:
        self._ddb = client
        self._reviews = reviews_table
        self._audit = audit_table

    @classmethod
    def for_settings(cls, client: DynamoDBClient, settings: Settings) -> DynamoDBReviewStore:
        return cls(client, settings.reviews_table, settings.audit_table)

    # -- cases ------------------------------------------------------------------------------------
    def open_case(self, case: ReviewCase, audit: list[AuditEntry]) -> bool:
        opened = _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._reviews,
                Item=case_item(case, 1),
                ConditionExpression=f"attribute_not_exists({REVIEW_KEY})",
            )
        )
        if opened:
            for entry in audit:
                self._put_entry(entry, case["expires_at"])
        return opened

    def get_case(self, review_id: str) -> tuple[ReviewCase, int] | None:
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._reviews, Key={REVIEW_KEY: {"S": review_id}}, ConsistentRead=True
            ),
        ).get("Item")
        if item is None:
            return None
        return _read_document(item["case"]), int(item["version"]["N"])

    def replace_case(self, case: ReviewCase, version: int) -> bool:
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._reviews,
                Item=case_item(case, version + 1),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        )

    def query_cases(
        self, status: str, limit: int, start: PageKey | None
    ) -> tuple[list[ReviewCase], PageKey | None]:
        index = resources.REVIEWS_BY_STATUS_DUE
        arguments: QueryInputTypeDef = {
            "TableName": self._reviews,
            "IndexName": index.name,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": index.partition_key},
            "ExpressionAttributeValues": {":s": {"S": status}},
            "ScanIndexForward": True,  # oldest due first
            "Limit": limit,
        }
        if start:
            arguments["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
        response = _guarded("dynamodb", lambda: self._ddb.query(**arguments))
        last = response.get("LastEvaluatedKey")
        cases = [_read_document(item["case"]) for item in response.get("Items", [])]
        return cases, ({name: value["S"] for name, value in last.items()} if last else None)

    # -- audit ------------------------------------------------------------------------------------
    def _put_entry(self, entry: AuditEntry, expires_at: int) -> bool:
        item = audit_item(entry, expires_at)
        return _conditional_write(
            lambda: self._ddb.put_item(
                TableName=self._audit, Item=item, ConditionExpression=f"attribute_not_exists({AUDIT_SEQ})"
            )
        )

    def put_audit_entries(self, entries: list[AuditEntry], expires_at: int) -> None:
        """Entries of a chain computed from known facts (e.g. a redelivered decision): each written
        only if its place is free, so a repeat writes nothing and never overwrites."""
        for entry in entries:
            self._put_entry(entry, expires_at)

    @staticmethod
    def _entry(item: Item) -> AuditEntry:
        return {
            "subject_id": item[AUDIT_SUBJECT]["S"],
            "seq": int(item[AUDIT_SEQ]["S"]),
            "action": _literal(item["action"]["S"], AUDIT_ACTIONS),
            "actor": item["actor"]["S"],
            "at": item["at"]["S"],
            "details": json.loads(item["details"]["S"]),
            "prev_hash": item["prev_hash"]["S"],
            "hash": item["hash"]["S"],
        }

    def _last_entry(self, subject_id: str) -> AuditEntry | None:
        response = _guarded(
            "dynamodb",
            lambda: self._ddb.query(
                TableName=self._audit,
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": AUDIT_SUBJECT},
                ExpressionAttributeValues={":p": {"S": subject_id}},
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            ),
        )
        items = response.get("Items", [])
        return self._entry(items[0]) if items else None

    def append_audit(
        self,
        subject_id: str,
        steps: list[AuditStep],
        expires_at: int,
    ) -> None:
        for _ in range(APPEND_ATTEMPTS):
            last = self._last_entry(subject_id)
            entries = chain(subject_id, steps, last)
            written = 0
            for entry in entries:
                if not self._put_entry(entry, expires_at):
                    break  # someone appended meanwhile: chain after their entry
                written += 1
            if written == len(entries):
                return
            steps = steps[written:]
        raise DependencyUnavailable("dynamodb", "audit append contended")

    def audit_entries(self, subject_id: str) -> list[AuditEntry]:
        paginator = self._ddb.get_paginator("query")
        pages = _guarded(
            "dynamodb",
            lambda: list(
                paginator.paginate(
                    TableName=self._audit,
                    KeyConditionExpression="#p = :p",
                    ExpressionAttributeNames={"#p": AUDIT_SUBJECT},
                    ExpressionAttributeValues={":p": {"S": subject_id}},
                    ConsistentRead=True,
                )
            ),
        )
        return [self._entry(item) for page in pages for item in page.get("Items", [])]
