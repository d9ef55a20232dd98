"""HTTP handlers of monitoring (staff only): /v1/monitoring/runs and /v1/monitoring/reports.

Who may call each one is in its declaration (``chalicelib.http.routes``: model risk and managers),
checked before the handler runs."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.http import routes
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.requests import json_body, query_arguments
from chalicelib.http.staff import staff_subject
from chalicelib.service import monitoring
from chalicelib.service.dependencies import current


@renders_service_errors
def start_run(request: Request) -> Response:
    body = json_body(request)
    return json_response(monitoring.start_run(current(), body, staff_subject(request)), status=202)


@renders_service_errors
def list_reports(request: Request) -> Response:
    return json_response(
        monitoring.list_reports(current(), **query_arguments(request, routes.LIST_MONITORING_REPORTS))
    )


@renders_service_errors
def get_report(request: Request, report_id: str) -> Response:
    return json_response(monitoring.get_report(current(), report_id))
