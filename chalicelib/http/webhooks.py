"""HTTP handlers of /v1/webhooks: a client's endpoints, its delivery log and redelivery.

Every route is the caller's own: another client's webhook is a 404, as if it did not exist."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.errors import dependency_unavailable
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.identity import client_id
from chalicelib.http.requests import json_body, query_parameter
from chalicelib.service import webhooks
from chalicelib.service.dependencies import current


def _webhooks() -> webhooks.Webhooks:
    configured = current().webhooks
    if configured is None:
        raise dependency_unavailable("webhooks")
    return configured


@renders_service_errors
def create_webhook(request: Request) -> Response:
    return json_response(webhooks.create_endpoint(_webhooks(), client_id(request), json_body(request)), 201)


@renders_service_errors
def list_webhooks(request: Request) -> Response:
    return json_response(webhooks.list_endpoints(_webhooks(), client_id(request)))


@renders_service_errors
def get_webhook(request: Request, webhook_id: str) -> Response:
    return json_response(webhooks.get_endpoint(_webhooks(), client_id(request), webhook_id))


@renders_service_errors
def update_webhook(request: Request, webhook_id: str) -> Response:
    return json_response(
        webhooks.update_endpoint(_webhooks(), client_id(request), webhook_id, json_body(request))
    )


@renders_service_errors
def delete_webhook(request: Request, webhook_id: str) -> Response:
    webhooks.delete_endpoint(_webhooks(), client_id(request), webhook_id)
    return Response(body="", status_code=204)


@renders_service_errors
def rotate_secret(request: Request, webhook_id: str) -> Response:
    return json_response(webhooks.rotate_secret(_webhooks(), client_id(request), webhook_id))


@renders_service_errors
def test_webhook(request: Request, webhook_id: str) -> Response:
    return json_response(webhooks.send_test(_webhooks(), client_id(request), webhook_id), 202)


@renders_service_errors
def list_deliveries(request: Request, webhook_id: str) -> Response:
    return json_response(
        webhooks.list_deliveries(
            _webhooks(),
            client_id(request),
            webhook_id,
            status=query_parameter(request, "status"),
            limit=query_parameter(request, "limit"),
            cursor=query_parameter(request, "cursor"),
        )
    )


@renders_service_errors
def redeliver(request: Request, webhook_id: str, delivery_id: str) -> Response:
    return json_response(webhooks.redeliver(_webhooks(), client_id(request), webhook_id, delivery_id), 202)
