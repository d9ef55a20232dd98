"""Who the staff member is: the verified claims of the Cognito ID token.

In AWS, API Gateway's Cognito user pool authorizer verifies the token in ``Authorization`` on the
staff routes and puts its claims at ``requestContext.authorizer.claims``; locally,
``devstack.staff_auth`` verifies it for real against the pool's keys and supplies the same field
(``chalice local`` alone accepts any JWT). This module only reads that field: no claims -> 401,
no staff group that the route accepts -> 403. Staff are identified by their subject (``sub``), never
by name or e-mail, in records and the audit trail.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chalice.app import Request

from chalicelib.errors import ServiceError


class StaffMember(NamedTuple):
    subject: str
    groups: frozenset[str]


def _groups(claim: Any) -> frozenset[str]:
    """``cognito:groups`` as API Gateway renders it: a list, or "a,b" / "[a b]" / "a"."""
    if isinstance(claim, list | tuple):
        return frozenset(str(group) for group in claim)
    text = str(claim or "").strip().strip("[]")
    return frozenset(part for part in text.replace(",", " ").split() if part)


def _claims(request: Request) -> dict[str, Any]:
    claims = ((request.context or {}).get("authorizer") or {}).get("claims") or {}
    if not claims.get("sub"):
        raise ServiceError(401, "unauthorized", "a staff sign-in (Cognito ID token) is required")
    return dict(claims)


def staff_subject(request: Request) -> str:
    """The signed-in staff member's subject (the route's declared groups were checked before)."""
    return str(_claims(request)["sub"])


def staff_member(request: Request, allowed: frozenset[str]) -> StaffMember:
    """The signed-in staff member: 401 without a sign-in, 403 outside every ``allowed`` group."""
    claims = _claims(request)
    subject = claims["sub"]
    groups = _groups(claims.get("cognito:groups"))
    if not groups & allowed:
        raise ServiceError(
            403,
            "forbidden",
            f"this needs one of the staff groups: {', '.join(sorted(allowed))}",
            [{"field": "cognito:groups", "problem": f"one of {', '.join(sorted(allowed))}"}],
        )
    return StaffMember(str(subject), groups)
