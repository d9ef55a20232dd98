"""DynamoDB implementation of ``chalicelib.dal.outcomes.OutcomeStore`` (the decisions table).

Recording an outcome is one conditional UpdateItem on the decision item (two when the outcome is
older than the latest: it joins the history without becoming the latest), so concurrent outcomes
of one decision settle on the latest ``as_of`` whatever order DynamoDB applies them in. The
monitoring read path Queries the sparse ``by-day`` index, one (day, shard) partition at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from chalicelib import resources
from chalicelib.config import Settings
from chalicelib.dal.aws import _conditional_write, _guarded, _read_document
from chalicelib.dal.outcomes import (
    Recorded,
    day_partitions,
    history_element,
    history_of,
    loan_status,
    monitored,
    utc_now,
)
from chalicelib.records import LoanOutcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    from chalicelib.engine.monitoring import MonitoredDecision

DECISION_KEY = resources.DECISIONS_TABLE.partition_key
INDEX = resources.DECISIONS_BY_DAY
# The plain attributes a monitored decision is read from (besides the "monitoring" document).
_PLAIN = ("client_id", "decision_version", "arm", "created_at", "outcome", "decided_by")
_OPTIONAL = ("final_outcome", "final_decided_at", "loan_status")


class DynamoDBOutcomeStore:
    def __init__(self, client: DynamoDBClient, decisions_table: str, sla_business_days: int) -> None:
        self._ddb = client
        self._table = decisions_table
        self._sla_business_days = sla_business_days

    @classmethod
    def for_settings(cls, client: DynamoDBClient, settings: Settings) -> DynamoDBOutcomeStore:
        return cls(client, settings.decisions_table, settings.review_sla_business_days)

    # -- outcomes ------------------------------------------------------------------------------
    def record_outcome(self, decision_id: str, outcome: LoanOutcome) -> Recorded:
        element = history_element(outcome)
        key: dict[str, AttributeValueTypeDef] = {DECISION_KEY: {"S": decision_id}}
        new_in_history = f"attribute_exists({DECISION_KEY}) AND NOT contains(loan_history, :e)"
        # The latest moves only forward in as_of (ISO dates compare as strings).
        became_latest = _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET loan_status = :s, loan_as_of = :a ADD loan_history :h",
                ConditionExpression=f"{new_in_history} AND "
                "(attribute_not_exists(loan_as_of) OR loan_as_of <= :a)",
                ExpressionAttributeValues={
                    ":s": {"S": outcome["status"]},
                    ":a": {"S": outcome["as_of"]},
                    ":h": {"SS": [element]},
                    ":e": {"S": element},
                },
            )
        )
        if became_latest:
            return Recorded(True, {"status": outcome["status"], "as_of": outcome["as_of"]})
        # Older than the latest (kept in the history only), or a replay (already there).
        created = _conditional_write(
            lambda: self._ddb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="ADD loan_history :h",
                ConditionExpression=new_in_history,
                ExpressionAttributeValues={":h": {"SS": [element]}, ":e": {"S": element}},
            )
        )
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="loan_status, loan_as_of",
            ),
        ).get("Item")
        if not item or "loan_status" not in item:
            return Recorded(created, None)
        return Recorded(
            created,
            {"status": loan_status(item["loan_status"]["S"]), "as_of": item["loan_as_of"]["S"]},
        )

    def outcome_history(self, decision_id: str) -> list[LoanOutcome]:
        item = _guarded(
            "dynamodb",
            lambda: self._ddb.get_item(
                TableName=self._table,
                Key={DECISION_KEY: {"S": decision_id}},
                ConsistentRead=True,
                ProjectionExpression="loan_history",
            ),
        ).get("Item")
        return history_of(item["loan_history"]["SS"] if item and "loan_history" in item else [])

    # -- the monitoring read path ----------------------------------------------------------------
    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        for partition in day_partitions(start, end):
            yield from self.iter_partition(partition, start, end)

    def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
        now = utc_now()
        arguments: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": INDEX.name,
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#p": INDEX.partition_key, "#s": INDEX.sort_key},
            "ExpressionAttributeValues": {":p": {"S": partition}, ":lo": {"S": start}, ":hi": {"S": end}},
        }
        while True:
            page = _guarded("dynamodb", functools.partial(self._ddb.query, **arguments))
            for item in page.get("Items", []):
                created_at = item["created_at"]["S"]
                if created_at >= end:  # BETWEEN includes its upper bound; the window does not
                    continue
                fields: dict[str, str] = {DECISION_KEY: item[DECISION_KEY]["S"]}
                fields.update({name: item[name]["S"] for name in _PLAIN})
                fields.update({name: item[name]["S"] for name in _OPTIONAL if name in item})
                yield monitored(fields, _read_document(item["monitoring"]), self._sla_business_days, now)
            last = page.get("LastEvaluatedKey")
            if not last:
                break
            arguments["ExclusiveStartKey"] = last
