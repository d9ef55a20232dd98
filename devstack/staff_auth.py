"""Cognito user pool authorizer emulation for the ``local`` stage: staff ID tokens verified for real.

In AWS, API Gateway's Cognito user pool authorizer verifies the ID token in ``Authorization`` and
puts the verified claims at ``requestContext.authorizer.claims`` (every value a string); the app
reads only that. ``chalice local`` does not verify anything on a Cognito authorizer (chalice
#1479): it base64-decodes any JWT and hands its payload over as claims, so locally anyone could
forge a manager. This module closes that gap in local-only code (never in the Lambda package):

``staff_auth_middleware`` runs, for every route whose authorizer is a ``CognitoUserPoolAuthorizer``,
the checks API Gateway runs: RS256 signature against the pool's JWKS (served by moto at
``<endpoint>/<pool id>/.well-known/jwks.json``; fetched once, refetched once on an unknown ``kid``),
issuer (``https://cognito-idp.<region>.amazonaws.com/<pool id>``, as moto writes it), audience (the
app client id), ``token_use == "id"`` and expiry. It then REPLACES whatever ``chalice local`` put in
``request.context["authorizer"]`` with ``{"claims": {...}}`` rendered as API Gateway renders them.
Anything that fails is a 401 in the API's one error shape (``UNAUTHORIZED``, the gateway response
``infra/`` maps). The group check (403) is the app's own, as in AWS.

Pool id, app client id and endpoint come from the environment (``STAFF_USER_POOL_ID``,
``STAFF_USER_POOL_CLIENT_ID``, ``AWS_ENDPOINT_URL``); without them every staff request is a 401
(fail closed). ``LOCAL_GATEWAY_EMULATION=off`` turns this off with the rest of the gateway emulation
(the in-process tests then pass claims straight through, as chalice's test client gives them).
"""

from __future__ import annotations

import binascii
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import chalice.local
import jwt
from chalice.app import Chalice, CognitoUserPoolAuthorizer, Request, Response

from chalicelib import resources
from chalicelib.http.edge import resource_path
from chalicelib.http.gateway_responses import UNAUTHORIZED, gateway_error_body, gateway_response_headers
from chalicelib.http.middleware import request_id_of
from chalicelib.observability import logger
from devstack.cognito import issuer_for, jwks_url_for
from devstack.gateway import emulation_enabled

GetResponse = Callable[[Request], Response]

# API Gateway tolerates a little clock skew between Cognito and itself; no more than that here.
LEEWAY_SECONDS = 2
# An unknown ``kid`` refetches the key set, at most this often (a stream of made-up kids must not
# turn every request into a JWKS download).
JWKS_MIN_REFETCH_SECONDS = 10.0
JWKS_FETCH_TIMEOUT_SECONDS = 3.0
# boto3's service-specific endpoint variable wins over AWS_ENDPOINT_URL, as in every other client.
COGNITO_ENDPOINT_ENV = "AWS_ENDPOINT_URL_COGNITO_IDP"
# The date format API Gateway (REST) renders ``exp`` and ``iat`` in: "Fri Jul 29 18:52:53 UTC 2016".
_API_GATEWAY_DATE_CLAIMS = ("exp", "iat")
_API_GATEWAY_DATE_FORMAT = "%a %b %d %H:%M:%S UTC %Y"


class TokenRejected(Exception):
    """Why a token does not open a staff route (logged; the caller only ever sees a plain 401)."""


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=JWKS_FETCH_TIMEOUT_SECONDS) as answer:
        return json.load(answer)


class JwksCache:
    """The pool's signing keys by ``kid``: fetched on first use, refetched once on an unknown kid (a
    rotated key), at most every ``min_refetch_seconds``. Thread-safe (chalice local is threaded)."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], Any] = _fetch_json,
        min_refetch_seconds: float = JWKS_MIN_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._min_refetch_seconds = min_refetch_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self.fetches = 0  # how many times the key set was downloaded (tests)

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            keys = self._keys if self._keys is not None else self._load()
            if kid not in keys and self._clock() - self._fetched_at >= self._min_refetch_seconds:
                keys = self._load()
            key = keys.get(kid)
        if key is None:
            raise TokenRejected("signed with a key the pool does not publish")
        return key

    def _load(self) -> dict[str, jwt.PyJWK]:
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            document = self._fetch(self.url)
            key_set = jwt.PyJWKSet.from_dict(document)
        except (OSError, ValueError, AttributeError, TypeError, jwt.PyJWKSetError) as error:
            # Keys read earlier stay; with none yet, the next request tries again.
            raise TokenRejected(f"the pool's key set could not be read ({type(error).__name__})") from error
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
        return self._keys


class StaffTokenVerifier:
    """Verifies a staff ID token the way API Gateway's Cognito user pool authorizer does."""

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        jwks: JwksCache,
        *,
        clock: Callable[[], float] = time.time,
        leeway_seconds: float = LEEWAY_SECONDS,
    ) -> None:
        self.pool_id = pool_id
        self.client_id = client_id
        self.issuer = issuer_for(pool_id)
        self.jwks = jwks
        self._clock = clock
        self._leeway = leeway_seconds

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The token's verified claims; ``TokenRejected`` naming the first check that failed.
        ``now``: the time to check expiry against (tests verify a real token "after" its expiry)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected("not a JWT") from error
        if header.get("alg") != "RS256":
            raise TokenRejected(f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("no key id in the token header")
        key = self.jwks.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                # Expiry, issued-at and not-before are checked below against ``now``.
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat", "token_use"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError as error:
            raise TokenRejected("signature does not verify") from error
        except jwt.InvalidIssuerError as error:
            raise TokenRejected("issued by another pool") from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected("issued to another app client") from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected(f"no {error.claim!r} claim (an ID token has it)") from error
        except jwt.PyJWTError as error:
            raise TokenRejected(f"invalid token ({type(error).__name__})") from error
        if claims.get("token_use") != "id":
            raise TokenRejected(f"token_use is {claims.get('token_use')!r}, not 'id'")
        self._check_times(claims, self._clock() if now is None else now)
        return claims

    def _check_times(self, claims: Mapping[str, Any], now: float) -> None:
        exp, iat, nbf = _number(claims.get("exp")), _number(claims.get("iat")), _number(claims.get("nbf"))
        if exp is None or iat is None or ("nbf" in claims and claims["nbf"] is not None and nbf is None):
            raise TokenRejected("exp, iat and nbf must be numbers")
        if now >= exp + self._leeway:
            raise TokenRejected("expired")
        if iat > now + self._leeway or (nbf is not None and nbf > now + self._leeway):
            raise TokenRejected("issued in the future")


def _number(value: object) -> int | float | None:
    """A JSON number claim, or None (absent, or anything else: a bool is no number here)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def api_gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as API Gateway (REST, Cognito authorizer) puts them in the event: every value a
    string, lists (``cognito:groups``) comma-separated, booleans ``true``/``false``, ``exp`` and
    ``iat`` as dates."""
    rendered: dict[str, str] = {}
    for name, value in claims.items():
        seconds = _number(value) if name in _API_GATEWAY_DATE_CLAIMS else None
        if seconds is not None:
            rendered[name] = datetime.fromtimestamp(seconds, UTC).strftime(_API_GATEWAY_DATE_FORMAT)
        elif isinstance(value, bool):
            rendered[name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            rendered[name] = ",".join(str(item) for item in value)
        elif isinstance(value, dict):
            rendered[name] = json.dumps(value, separators=(",", ":"))
        else:
            rendered[name] = str(value)
    return rendered


def bearer_token(header_value: str | None) -> str | None:
    """The token in an ``Authorization`` header: as is, or after a ``Bearer `` prefix."""
    if header_value is None:
        return None
    value = header_value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


# --------------------------------------------------------------------------------------------
# This process's verifier, from the environment
# --------------------------------------------------------------------------------------------
_verifier_lock = threading.Lock()
_verifiers: dict[tuple[str, str, str], StaffTokenVerifier] = {}


def staff_verifier(environ: Mapping[str, str] | None = None) -> StaffTokenVerifier:
    """The verifier for the pool the environment names (one per pool, so its key set is cached)."""
    environ = os.environ if environ is None else environ
    pool_id = environ.get(resources.STAFF_POOL_ID_ENV, "").strip()
    client_id = environ.get(resources.STAFF_POOL_CLIENT_ID_ENV, "").strip()
    endpoint = (environ.get(COGNITO_ENDPOINT_ENV) or environ.get("AWS_ENDPOINT_URL") or "").strip()
    if not pool_id or not client_id or not endpoint:
        raise TokenRejected(
            f"no staff pool configured ({resources.STAFF_POOL_ID_ENV}, {resources.STAFF_POOL_CLIENT_ID_ENV}, "
            "AWS_ENDPOINT_URL)"
        )
    identity = (pool_id, client_id, endpoint)
    with _verifier_lock:
        verifier = _verifiers.get(identity)
        if verifier is None:
            verifier = _verifiers[identity] = StaffTokenVerifier(
                pool_id, client_id, JwksCache(jwks_url_for(endpoint, pool_id))
            )
        return verifier


def reset_staff_verifiers() -> None:
    """Forget cached verifiers and key sets (tests)."""
    with _verifier_lock:
        _verifiers.clear()


# --------------------------------------------------------------------------------------------
# The middleware
# --------------------------------------------------------------------------------------------
def cognito_authorizer_of(app: Chalice, request: Request) -> CognitoUserPoolAuthorizer | None:
    entry = app.routes.get(resource_path(request), {}).get(request.method)
    authorizer = getattr(entry, "authorizer", None)
    return authorizer if isinstance(authorizer, CognitoUserPoolAuthorizer) else None


def unauthorized(request: Request) -> Response:
    rid = request_id_of(request)
    headers: dict[str, str | list[str]] = {**gateway_response_headers(UNAUTHORIZED), "X-Request-ID": rid}
    return Response(
        body=gateway_error_body(UNAUTHORIZED, rid), status_code=UNAUTHORIZED.status_code, headers=headers
    )


def make_staff_auth_middleware(app: Chalice) -> Callable[[Request, GetResponse], Response]:
    def staff_auth_middleware(request: Request, get_response: GetResponse) -> Response:
        authorizer = cognito_authorizer_of(app, request)
        if authorizer is None or not emulation_enabled():
            return get_response(request)
        header_name = getattr(authorizer, "_header", "Authorization")
        token = bearer_token(request.headers.get(header_name))
        try:
            if token is None:
                raise TokenRejected(f"no token in the {header_name} header")
            claims = staff_verifier().verify(token)
        except TokenRejected as rejection:
            # The reason only (never the token): enough to see why a sign-in does not work.
            logger.info("staff token rejected", extra={"reason": str(rejection)})
            return unauthorized(request)
        # Replace, never merge: what chalice local decoded from the unverified token must not leak.
        request.context["authorizer"] = {"claims": api_gateway_claims(claims)}
        return get_response(request)

    return staff_auth_middleware


def _tolerant_decode_jwt_payload(self: chalice.local.LocalGatewayAuthorizer, token: str) -> dict[Any, Any]:
    """chalice local's own decoding of the token, minus its crash on anything that is not a JWT."""
    try:
        payload = _original_decode_jwt_payload(self, token)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


_original_decode_jwt_payload = chalice.local.LocalGatewayAuthorizer._decode_jwt_payload


def patch_chalice_local() -> None:
    """chalice local decodes the token BEFORE the app (and this middleware) runs, and a header that
    is not a JWT ("garbage", "Bearer x") raises there: the connection drops with no answer at all.
    With this patch such a token decodes to no claims, chalice local lets the request through, and
    the middleware answers 401 as API Gateway would. Its verdict on real JWTs is unchanged (and
    ignored: the middleware decides)."""
    chalice.local.LocalGatewayAuthorizer._decode_jwt_payload = _tolerant_decode_jwt_payload  # type: ignore[method-assign,assignment]


def install(app: Chalice, position: int) -> None:
    """Put the staff token check at ``position`` in the app's middleware list (inside the gateway
    emulation, before the API's own middleware)."""
    patch_chalice_local()
    app.middleware_handlers.insert(position, (make_staff_auth_middleware(app), "http"))
