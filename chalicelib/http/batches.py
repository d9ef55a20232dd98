"""HTTP handlers of batches (issue 19): ``/v1/batches`` for a client's own portfolio runs (API key),
``/v1/backtests`` for staff backtests (model_risk and managers; owner "staff", shared by them).

Same service functions behind both; another owner's batch is a 404, as if it did not exist."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib import resources
from chalicelib.errors import dependency_unavailable
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.identity import client_id
from chalicelib.http.requests import json_body, query_parameter
from chalicelib.service import batches
from chalicelib.service.dependencies import current


def _batches() -> batches.Batches:
    configured = current().batches
    if configured is None:
        raise dependency_unavailable("batches")
    return configured


def _owner(request: Request, *, staff: bool) -> str:
    # Staff routes are checked for their groups before the handler runs (the route's declaration).
    return resources.STAFF_BATCH_OWNER if staff else client_id(request)


@renders_service_errors
def create_batch(request: Request, *, staff: bool = False) -> Response:
    created = batches.create(_batches(), _owner(request, staff=staff), json_body(request))
    return json_response(created, 201)


@renders_service_errors
def start_batch(request: Request, batch_id: str, *, staff: bool = False) -> Response:
    # The body is optional: a multipart batch's start lists its parts' ETags; a single PUT's has none.
    payload = json_body(request) if request.raw_body else None
    return json_response(batches.start(_batches(), _owner(request, staff=staff), batch_id, payload), 202)


@renders_service_errors
def get_batch(request: Request, batch_id: str, *, staff: bool = False) -> Response:
    parts_from = query_parameter(request, "parts_from")
    return json_response(batches.get(_batches(), _owner(request, staff=staff), batch_id, parts_from))


@renders_service_errors
def list_batches(request: Request, *, staff: bool = False) -> Response:
    return json_response(
        batches.list_batches(
            _batches(),
            _owner(request, staff=staff),
            limit=query_parameter(request, "limit"),
            cursor=query_parameter(request, "cursor"),
        )
    )
