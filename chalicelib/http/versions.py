"""HTTP handlers of the decision-version registry (staff only): /v1/versions.

Who may call each one is in its declaration (``chalicelib.http.routes``: model risk and managers;
approvals managers only), checked before the handler runs."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.requests import json_body, query_parameter
from chalicelib.http.routes import VERSION_GROUPS
from chalicelib.http.staff import staff_member, staff_subject
from chalicelib.service import versions
from chalicelib.service.dependencies import current


@renders_service_errors
def list_versions(request: Request) -> Response:
    return json_response(versions.list_versions(current()))


@renders_service_errors
def get_version(request: Request, version_id: str) -> Response:
    return json_response(versions.version_detail(current(), version_id))


@renders_service_errors
def register_version(request: Request) -> Response:
    body = json_body(request)
    return json_response(versions.register(current(), staff_subject(request), body), status=201)


@renders_service_errors
def promote_version(request: Request, version_id: str) -> Response:
    body = json_body(request)
    return json_response(versions.propose(current(), staff_subject(request), version_id, body), status=202)


@renders_service_errors
def approve_change(request: Request, change_id: str) -> Response:
    return json_response(versions.approve(current(), staff_subject(request), change_id))


@renders_service_errors
def rollback(request: Request) -> Response:
    member = staff_member(request, VERSION_GROUPS)
    return json_response(versions.rollback(current(), member.subject, member.groups, json_body(request)))


@renders_service_errors
def version_audit(request: Request) -> Response:
    return json_response(
        versions.audit_page(
            current(),
            limit=query_parameter(request, "limit"),
            cursor=query_parameter(request, "cursor"),
        )
    )
