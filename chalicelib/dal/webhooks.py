"""Webhooks' storage, queue and secret cipher: interfaces and their AWS implementations.

Endpoints and deliveries are DynamoDB items holding their record as one JSON document beside the
key and index attributes (the records are read whole, never field by field). Signing secrets are
encrypted with KMS (``Encrypt``/``Decrypt`` on a customer-managed key): one key costs $1 a month for
every endpoint, where Secrets Manager would cost $0.40 a month per endpoint
(https://aws.amazon.com/kms/pricing/, https://aws.amazon.com/secrets-manager/pricing/). The
in-memory twins are in ``devstack.in_memory_webhooks``.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.aws import _timed_check
from chalicelib.records import PageKey, StoredDelivery, StoredWebhook, WebhookDelivery

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_sqs.client import SQSClient

SQS_MAX_DELAY_SECONDS = 900


class Answer(NamedTuple):
    """A receiver's answer to one delivery attempt (``chalicelib.dal.webhook_http.post``: it imports
    http.client and ssl, which the API function, queuing events only, never needs)."""

    status_code: int | None  # None: no HTTP answer
    latency_ms: int
    error: str | None


class WebhookStore(Protocol):
    def create_endpoint(self, stored: StoredWebhook) -> None: ...

    def put_endpoint(self, stored: StoredWebhook) -> None: ...

    def get_endpoint(self, webhook_id: str) -> StoredWebhook | None: ...

    def endpoints_of(self, client_id: str) -> list[StoredWebhook]:
        """Every endpoint of a client, oldest first (at most WEBHOOK_MAX_ENDPOINTS_PER_CLIENT)."""

    def delete_endpoint(self, webhook_id: str) -> None: ...

    def create_delivery(self, stored: StoredDelivery) -> bool:
        """Write a new delivery; False when one with its id exists (an event fanned out twice)."""

    def put_delivery(self, stored: StoredDelivery) -> None: ...

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None: ...

    def query_deliveries(
        self, webhook_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[WebhookDelivery], PageKey | None]:
        """One endpoint's deliveries, newest first (a Query on an index)."""

    def check(self) -> list[DependencyCheck]: ...


class DeliveryQueue(Protocol):
    def send(self, message: dict[str, object], delay_seconds: int = 0) -> None:
        """One message per delivery attempt (or per event to fan out); delay at most 900 s."""

    def check(self) -> list[DependencyCheck]: ...


class SecretCipher(Protocol):
    def encrypt(self, secret: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...


def _unavailable(dependency: str, error: Exception) -> DependencyUnavailable:
    return DependencyUnavailable(dependency, type(error).__name__)


class DynamoDBWebhookStore:
    def __init__(self, client: DynamoDBClient, endpoints_table: str, deliveries_table: str) -> None:
        self._ddb = client
        self.endpoints_table = endpoints_table
        self.deliveries_table = deliveries_table

    @staticmethod
    def _document(item: dict[str, Any]) -> Any:
        return json.loads(item["document"]["S"])

    def _endpoint_item(self, stored: StoredWebhook) -> dict[str, AttributeValueTypeDef]:
        endpoint = stored["endpoint"]
        return {
            "webhook_id": {"S": endpoint["webhook_id"]},
            "client_id": {"S": stored["client_id"]},
            "created_at": {"S": endpoint["created_at"]},
            "document": {"S": json.dumps(stored, separators=(",", ":"))},
        }

    def create_endpoint(self, stored: StoredWebhook) -> None:
        try:
            self._ddb.put_item(
                TableName=self.endpoints_table,
                Item=self._endpoint_item(stored),
                ConditionExpression="attribute_not_exists(webhook_id)",
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None

    def put_endpoint(self, stored: StoredWebhook) -> None:
        try:
            self._ddb.put_item(TableName=self.endpoints_table, Item=self._endpoint_item(stored))
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None

    def get_endpoint(self, webhook_id: str) -> StoredWebhook | None:
        try:
            item = self._ddb.get_item(
                TableName=self.endpoints_table, Key={"webhook_id": {"S": webhook_id}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None
        stored: StoredWebhook | None = None if item is None else self._document(item)
        return stored

    def endpoints_of(self, client_id: str) -> list[StoredWebhook]:
        try:
            items = self._ddb.query(
                TableName=self.endpoints_table,
                IndexName="by-client",
                KeyConditionExpression="client_id = :client",
                ExpressionAttributeValues={":client": {"S": client_id}},
            )["Items"]
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None
        return [self._document(item) for item in items]

    def delete_endpoint(self, webhook_id: str) -> None:
        try:
            self._ddb.delete_item(TableName=self.endpoints_table, Key={"webhook_id": {"S": webhook_id}})
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None

    def _delivery_item(self, stored: StoredDelivery) -> dict[str, AttributeValueTypeDef]:
        delivery = stored["delivery"]
        return {
            "delivery_id": {"S": delivery["delivery_id"]},
            "webhook_id": {"S": delivery["webhook_id"]},
            "webhook_status": {"S": f"{delivery['webhook_id']}#{delivery['status']}"},
            "created_at": {"S": delivery["created_at"]},
            "expires_at": {"N": str(stored["expires_at"])},
            "document": {"S": json.dumps(stored, separators=(",", ":"))},
        }

    def create_delivery(self, stored: StoredDelivery) -> bool:
        try:
            self._ddb.put_item(
                TableName=self.deliveries_table,
                Item=self._delivery_item(stored),
                ConditionExpression="attribute_not_exists(delivery_id)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _unavailable("dynamodb", error) from None
        except BotoCoreError as error:
            raise _unavailable("dynamodb", error) from None
        return True

    def put_delivery(self, stored: StoredDelivery) -> None:
        try:
            self._ddb.put_item(TableName=self.deliveries_table, Item=self._delivery_item(stored))
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None:
        try:
            item = self._ddb.get_item(
                TableName=self.deliveries_table, Key={"delivery_id": {"S": delivery_id}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None
        stored: StoredDelivery | None = None if item is None else self._document(item)
        return stored

    def query_deliveries(
        self, webhook_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[WebhookDelivery], PageKey | None]:
        if status is None:
            index, key, value = "by-endpoint", "webhook_id", webhook_id
        else:
            index, key, value = "by-endpoint-status", "webhook_status", f"{webhook_id}#{status}"
        query: QueryInputTypeDef = {
            "TableName": self.deliveries_table,
            "IndexName": index,
            "KeyConditionExpression": f"{key} = :value",
            "ExpressionAttributeValues": {":value": {"S": value}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = {name: {"S": text} for name, text in start.items()}
        try:
            response = self._ddb.query(**query)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("dynamodb", error) from None
        deliveries = [self._document(item)["delivery"] for item in response["Items"]]
        last = response.get("LastEvaluatedKey")
        next_key = None if not last else {name: str(value.get("S", "")) for name, value in last.items()}
        return deliveries, next_key

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"dynamodb:{table}",
                lambda table=table, key=key: self._ddb.get_item(  # type: ignore[misc]
                    TableName=table, Key={key: {"S": "readiness-probe"}}, ProjectionExpression=key
                ),
            )
            for table, key in ((self.endpoints_table, "webhook_id"), (self.deliveries_table, "delivery_id"))
        ]


class SQSDeliveryQueue:
    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._sqs = client
        self.queue_name = queue_name
        self._url: str | None = None

    def _queue_url(self) -> str:
        if self._url is None:
            self._url = self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def check(self) -> list[DependencyCheck]:
        return [
            _timed_check(
                f"sqs:{self.queue_name}",
                lambda: self._sqs.get_queue_attributes(
                    QueueUrl=self._queue_url(), AttributeNames=["ApproximateNumberOfMessages"]
                ),
            )
        ]

    def send(self, message: dict[str, object], delay_seconds: int = 0) -> None:
        try:
            self._sqs.send_message(
                QueueUrl=self._queue_url(),
                MessageBody=json.dumps(message, separators=(",", ":")),
                DelaySeconds=max(0, min(SQS_MAX_DELAY_SECONDS, delay_seconds)),
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("sqs", error) from None


class KMSSecretCipher:
    """Encrypt/Decrypt with KMS. A decrypted secret is kept in this process for
    ``DECRYPTED_FOR_SECONDS``: a Decrypt costs $0.03 per 10,000 requests, which per delivery would be
    the largest item of its cost (docs/WEBHOOKS.md); a rotated secret has a new ciphertext."""

    DECRYPTED_FOR_SECONDS = 300.0

    def __init__(self, make_kms: Callable[[], KMSClient], key_id: str) -> None:
        self._make_kms = make_kms
        self.key_id = key_id
        self._decrypted: dict[str, tuple[str, float]] = {}  # ciphertext -> (secret, kept until)

    @functools.cached_property
    def _kms(self) -> KMSClient:
        # Made on first use: the API's decisions never touch KMS, and a botocore client made in
        # Lambda's init phase is ~20 ms of every cold start (bench/bench_cold_start.py).
        return self._make_kms()

    def encrypt(self, secret: str) -> str:
        try:
            blob = self._kms.encrypt(KeyId=self.key_id, Plaintext=secret.encode())["CiphertextBlob"]
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("kms", error) from None
        return base64.b64encode(blob).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        kept = self._decrypted.get(ciphertext)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        try:
            plain = self._kms.decrypt(KeyId=self.key_id, CiphertextBlob=base64.b64decode(ciphertext))
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("kms", error) from None
        secret = plain["Plaintext"].decode()
        self._decrypted[ciphertext] = (secret, time.monotonic() + self.DECRYPTED_FOR_SECONDS)
        return secret
