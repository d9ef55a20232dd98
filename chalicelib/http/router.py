"""Registers the declared routes (``chalicelib.http.routes``) on the Chalice app and checks, before
the handler runs, what the declaration promises: the staff group, and the query string.

The query string is checked against the route's declared parameters, the same schemas the OpenAPI
document shows: an unknown or repeated parameter, an empty value, a ``limit`` outside its bounds or
not in ASCII digits, a value outside its enum or pattern, a date that is not one: each is named in
one 400. Public routes (health, documentation, console) ignore query strings, as browsers and
probes add their own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalice.app import Chalice, CognitoUserPoolAuthorizer, Request, Response

from chalicelib.errors import ErrorDetail, ServiceError
from chalicelib.http.errors import service_error_response
from chalicelib.http.middleware import current_request, current_request_id
from chalicelib.http.requests import ANY_CONTENT_TYPE
from chalicelib.http.routes import Access, Parameter, Route
from chalicelib.http.staff import staff_member
from chalicelib.service import listing

View = Callable[..., Response]


def _schema_problem(schema: Mapping[str, Any], value: str) -> str | None:
    """Why ``value`` does not satisfy the parameter's schema (the keywords the declarations use)."""
    if schema.get("type") == "integer":
        minimum, maximum = int(schema["minimum"]), int(schema["maximum"])
        if listing.ascii_integer(value, minimum, maximum) is None:
            return f"an integer from {minimum} to {maximum} in ASCII digits"
        return None
    if "enum" in schema and value not in schema["enum"]:
        return "one of " + ", ".join(schema["enum"])
    if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        return "not a value this API issued"
    formats = {alternative.get("format") for alternative in schema.get("anyOf", ())}
    if formats & {"date", "date-time"} and listing.instant(value, end_of_day=False) is None:
        return listing.INSTANT_PROBLEM
    return None


def query_problems(declared: Sequence[Parameter], given: Mapping[str, Sequence[str]]) -> list[ErrorDetail]:
    by_name = {parameter.name: parameter for parameter in declared}
    problems = listing.Problems()
    for name, values in given.items():
        parameter = by_name.get(name)
        if parameter is None:
            known = ", ".join(by_name) or "none"
            problems.add(name, f"not a parameter of this route (known: {known})")
        elif len(values) > 1:
            problems.add(name, "given more than once")
        elif values[0] == "":
            problems.add(name, "empty: leave the parameter out instead")
        else:
            problem = _schema_problem(parameter.schema, values[0])
            if problem is not None:
                problems.add(name, problem)
    return problems.details


def _query_string(request: Request) -> dict[str, list[str]]:
    parameters = request.query_params
    if not parameters:
        return {}
    return {name: list(parameters.getlist(name)) for name in parameters}


def check_request(route: Route, request: Request) -> None:
    """ServiceError (401/403 staff, 400 query) unless the request is one the declaration accepts."""
    if route.access is Access.STAFF:
        staff_member(request, route.staff_groups)
    if route.access is Access.PUBLIC:
        return
    problems = query_problems(route.query, _query_string(request))
    if problems:
        names = ", ".join(detail["field"] for detail in problems)
        raise ServiceError(400, "invalid_parameter", f"invalid query parameter(s): {names}", problems)


def _checked(route: Route, view: View) -> View:
    @functools.wraps(view)
    def checked(**path_parameters: str) -> Response:
        try:
            check_request(route, current_request())
        except ServiceError as error:
            return service_error_response(error, current_request_id())
        return view(**path_parameters)

    return checked


def registrar(
    app: Chalice, staff_authorizer: CognitoUserPoolAuthorizer
) -> Callable[[Route], Callable[[View], View]]:
    """``@route(routes.X)``: registers the view for declaration X (path, method, authorizer)."""

    def route(declaration: Route) -> Callable[[View], View]:
        def register(view: View) -> View:
            authorizer = staff_authorizer if declaration.access is Access.STAFF else None
            app.route(
                declaration.path,
                methods=[declaration.method],
                authorizer=authorizer,
                content_types=ANY_CONTENT_TYPE,
                name=view.__name__,
            )(_checked(declaration, view))
            return view

        return register

    return route
