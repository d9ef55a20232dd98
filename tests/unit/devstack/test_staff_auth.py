"""devstack.staff_auth against a real moto server (its Cognito IdP signs the tokens and serves the
JWKS over HTTP): the verifier, the claims as API Gateway renders them, and the middleware in front
of a small Chalice app with a Cognito authorizer (chalice.test.Client runs chalice local's gateway,
including its own unverified decoding of the token)."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from chalice import Chalice, CognitoUserPoolAuthorizer
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import resources
from chalicelib.http.gateway_responses import UNAUTHORIZED
from devstack import staff_auth
from devstack.cognito import DEMO_STAFF, StaffPool, create_staff_pool, ensure_user, id_token
from devstack.processes import ManagedProcess, free_port, start_moto_server
from devstack.staff_auth import (
    LEEWAY_SECONDS,
    JwksCache,
    StaffTokenVerifier,
    TokenRejected,
    api_gateway_claims,
    bearer_token,
    reset_staff_verifiers,
)
from devstack.stage_env import FAKE_CREDENTIALS

# chalice local warns on every Cognito route that it authorizes anything; that is what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:CognitoUserPoolAuthorizer:UserWarning")

REVIEWER = DEMO_STAFF[0]
PROJECT_DIR = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Moto:
    endpoint: str
    cognito: Any
    pool: StaffPool


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    process: ManagedProcess = start_moto_server("127.0.0.1", port, dict(os.environ), log)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=endpoint,
            region_name=resources.LOCAL_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        yield Moto(endpoint, cognito, create_staff_pool("local", cognito))
    finally:
        process.stop()


@pytest.fixture(scope="module")
def reviewer_token(moto: Moto) -> str:
    return id_token(moto.cognito, moto.pool, REVIEWER.username, REVIEWER.password)


@pytest.fixture
def verifier(moto: Moto) -> StaffTokenVerifier:
    return StaffTokenVerifier(moto.pool.pool_id, moto.pool.client_id, JwksCache(moto.pool.jwks_url))


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def segments(token: str) -> list[str]:
    return token.split(".")


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rejected(verifier: StaffTokenVerifier, token: str, **kwargs: Any) -> str:
    with pytest.raises(TokenRejected) as rejection:
        verifier.verify(token, **kwargs)
    return str(rejection.value)


# --------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------
def test_moto_serves_the_pool_keys_where_the_verifier_looks(moto: Moto, reviewer_token: str) -> None:
    with urllib.request.urlopen(moto.pool.jwks_url, timeout=5) as answer:
        keys = json.load(answer)["keys"]
    assert moto.pool.jwks_url == f"{moto.endpoint}/{moto.pool.pool_id}/.well-known/jwks.json"
    assert jwt.get_unverified_header(reviewer_token)["kid"] in {key["kid"] for key in keys}
    # moto writes the issuer exactly as Cognito does, from the pool id.
    assert (
        claims_of(reviewer_token)["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{moto.pool.pool_id}"
    )


def test_a_valid_id_token_yields_its_verified_claims(
    verifier: StaffTokenVerifier, reviewer_token: str
) -> None:
    claims = verifier.verify(reviewer_token)
    assert claims["cognito:username"] == REVIEWER.username
    assert claims["cognito:groups"] == [REVIEWER.group]
    assert claims["token_use"] == "id"
    assert claims["sub"] == claims_of(reviewer_token)["sub"]


def test_the_key_set_is_fetched_once_and_cached(verifier: StaffTokenVerifier, reviewer_token: str) -> None:
    for _ in range(3):
        verifier.verify(reviewer_token)
    assert verifier.jwks.fetches == 1


def test_tampered_signature_is_rejected(verifier: StaffTokenVerifier, reviewer_token: str) -> None:
    header, payload, signature = segments(reviewer_token)
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert "signature" in rejected(verifier, f"{header}.{payload}.{flipped}")


def test_edited_claims_with_the_original_signature_are_rejected(
    verifier: StaffTokenVerifier, reviewer_token: str
) -> None:
    # What chalice local alone would accept: a reviewer making themself a manager.
    header, _, signature = segments(reviewer_token)
    forged = dict(claims_of(reviewer_token), **{"cognito:groups": ["manager"]})
    assert "signature" in rejected(verifier, f"{header}.{b64(forged)}.{signature}")


def test_a_token_signed_with_another_key_under_the_same_kid_is_rejected(
    verifier: StaffTokenVerifier, reviewer_token: str
) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(reviewer_token)["kid"]
    forged = jwt.encode(claims_of(reviewer_token), other_key, algorithm="RS256", headers={"kid": kid})
    assert "signature" in rejected(verifier, forged)


def test_unsigned_and_symmetric_tokens_are_rejected(
    verifier: StaffTokenVerifier, reviewer_token: str
) -> None:
    claims = claims_of(reviewer_token)
    unsigned = f"{b64({'alg': 'none', 'kid': 'dummy'})}.{b64(claims)}."
    assert "algorithm" in rejected(verifier, unsigned)
    hs256 = jwt.encode(
        claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": "dummy"}
    )
    assert "algorithm" in rejected(verifier, hs256)


def test_an_expired_token_is_rejected(verifier: StaffTokenVerifier, reviewer_token: str) -> None:
    exp = claims_of(reviewer_token)["exp"]
    verifier.verify(reviewer_token, now=exp - 1)
    assert rejected(verifier, reviewer_token, now=exp + LEEWAY_SECONDS) == "expired"
    assert rejected(verifier, reviewer_token, now=exp + 3600) == "expired"


def test_a_token_issued_in_the_future_is_rejected(verifier: StaffTokenVerifier, reviewer_token: str) -> None:
    iat = claims_of(reviewer_token)["iat"]
    assert rejected(verifier, reviewer_token, now=iat - 60) == "issued in the future"


def test_a_token_from_another_pool_is_rejected(moto: Moto, verifier: StaffTokenVerifier) -> None:
    # moto signs every pool's tokens with one key: only the issuer tells the pools apart.
    other = create_staff_pool("other", moto.cognito)
    token = id_token(moto.cognito, other, REVIEWER.username, REVIEWER.password)
    assert rejected(verifier, token) == "issued by another pool"


def test_a_token_for_another_app_client_is_rejected(moto: Moto, verifier: StaffTokenVerifier) -> None:
    client_id = moto.cognito.create_user_pool_client(
        UserPoolId=moto.pool.pool_id,
        ClientName="another-console",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_client = StaffPool(**{**moto.pool.__dict__, "client_id": client_id})
    token = id_token(moto.cognito, other_client, REVIEWER.username, REVIEWER.password)
    assert rejected(verifier, token) == "issued to another app client"


def test_an_access_token_is_rejected(moto: Moto, verifier: StaffTokenVerifier) -> None:
    answer = moto.cognito.initiate_auth(
        ClientId=moto.pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": REVIEWER.username, "PASSWORD": REVIEWER.password},
    )
    access_token = answer["AuthenticationResult"]["AccessToken"]
    assert claims_of(access_token)["token_use"] == "access"
    # An access token names its app client in client_id, not aud.
    assert rejected(verifier, access_token) == "no 'aud' claim (an ID token has it)"


def test_token_use_other_than_id_is_rejected(verifier: StaffTokenVerifier, reviewer_token: str) -> None:
    # moto signs with a private key it ships (so anyone can mint tokens its pools would sign; a
    # limit of the local stack, not of AWS). Here that key makes a correctly signed token whose
    # only fault is token_use.
    from moto.utilities.utils import load_resource

    moto_key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))
    kid = jwt.get_unverified_header(reviewer_token)["kid"]
    claims = dict(claims_of(reviewer_token), token_use="access")
    token = jwt.encode(claims, moto_key.key, algorithm="RS256", headers={"kid": kid})
    assert rejected(verifier, token) == "token_use is 'access', not 'id'"
    assert verifier.verify(jwt.encode(dict(claims, token_use="id"), moto_key.key, "RS256", {"kid": kid}))


def test_garbage_is_rejected(verifier: StaffTokenVerifier) -> None:
    for token in ("garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "...", ""):
        assert rejected(verifier, token)


def test_an_unknown_kid_refetches_the_key_set_once(moto: Moto, reviewer_token: str) -> None:
    with urllib.request.urlopen(moto.pool.jwks_url, timeout=5) as answer:
        published = json.load(answer)
    kid = jwt.get_unverified_header(reviewer_token)["kid"]
    before_rotation = {"keys": [dict(key, kid="retired") for key in published["keys"]]}
    answers = [before_rotation, published]

    def fetch(url: str) -> Any:
        assert url == moto.pool.jwks_url
        return answers.pop(0) if answers else published

    cache = JwksCache(moto.pool.jwks_url, fetch=fetch, min_refetch_seconds=0)
    verifier = StaffTokenVerifier(moto.pool.pool_id, moto.pool.client_id, cache)
    assert verifier.verify(reviewer_token)["cognito:username"] == REVIEWER.username
    assert cache.fetches == 2  # the first set lacked the kid: fetched again, once
    verifier.verify(reviewer_token)
    assert cache.fetches == 2
    assert kid != "retired"


def test_a_kid_nobody_publishes_is_rejected_after_one_refetch(moto: Moto, reviewer_token: str) -> None:
    clock = [0.0]
    cache = JwksCache(moto.pool.jwks_url, min_refetch_seconds=10, clock=lambda: clock[0])
    verifier = StaffTokenVerifier(moto.pool.pool_id, moto.pool.client_id, cache)
    _, payload, signature = segments(reviewer_token)
    unknown = f"{b64(dict(jwt.get_unverified_header(reviewer_token), kid='nobody'))}.{payload}.{signature}"
    assert "key" in rejected(verifier, unknown)
    assert cache.fetches == 1
    assert "key" in rejected(verifier, unknown)
    assert cache.fetches == 1  # within the refetch interval: no download per made-up kid
    clock[0] = 11.0
    assert "key" in rejected(verifier, unknown)
    assert cache.fetches == 2


def test_an_unreachable_key_set_rejects_and_is_retried() -> None:
    cache = JwksCache(f"http://127.0.0.1:{free_port()}/pool/.well-known/jwks.json")
    with pytest.raises(TokenRejected):
        cache.key("dummy")
    with pytest.raises(TokenRejected):
        cache.key("dummy")
    assert cache.fetches == 2


def test_claims_are_rendered_as_api_gateway_renders_them() -> None:
    rendered = api_gateway_claims(
        {
            "sub": "abc",
            "cognito:groups": ["reviewer", "manager"],
            "email_verified": True,
            "exp": 1469818373,
            "iat": 1469814773,
            "auth_time": 1469814773,
        }
    )
    assert rendered == {
        "sub": "abc",
        "cognito:groups": "reviewer,manager",
        "email_verified": "true",
        "exp": "Fri Jul 29 18:52:53 UTC 2016",
        "iat": "Fri Jul 29 17:52:53 UTC 2016",
        "auth_time": "1469814773",
    }


def test_bearer_prefix_is_optional() -> None:
    assert bearer_token("abc") == "abc"
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


# --------------------------------------------------------------------------------------------
# The middleware, in front of an app with a Cognito authorizer
# --------------------------------------------------------------------------------------------
def staff_app() -> Chalice:
    app = Chalice(app_name="staff-auth-test")
    authorizer = CognitoUserPoolAuthorizer(
        resources.STAFF_POOL.authorizer_name,
        provider_arns=["arn:aws:cognito-idp:us-east-1:123456789012:userpool/x"],
    )

    @app.route("/staff", authorizer=authorizer)
    def staff() -> dict[str, Any]:
        return {"authorizer": app.current_request.context.get("authorizer")}

    @app.route("/client")
    def client() -> dict[str, Any]:
        return {"authorizer": app.current_request.context.get("authorizer")}

    staff_auth.install(app, position=0)
    return app


@pytest.fixture
def staff_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv(resources.STAFF_POOL_ID_ENV, moto.pool.pool_id)
    monkeypatch.setenv(resources.STAFF_POOL_CLIENT_ID_ENV, moto.pool.client_id)
    reset_staff_verifiers()
    yield
    reset_staff_verifiers()


@pytest.fixture
def client(staff_env: None) -> Iterator[Client]:
    # The local stage's configuration (chalice.test.Client applies its environment, STAGE among it).
    with Client(staff_app(), stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["error"]["code"] == UNAUTHORIZED.code == "unauthorized"
    assert body["request_id"]
    assert response.headers["Content-Type"] == "application/json"


def test_a_valid_token_opens_the_route_with_only_the_verified_claims(
    client: Client, reviewer_token: str
) -> None:
    for header in (reviewer_token, f"Bearer {reviewer_token}"):
        response = client.http.get("/staff", headers={"Authorization": header})
        assert response.status_code == 200
        authorizer = json.loads(response.body)["authorizer"]
        # Replaced: no principalId or other leftovers of chalice local's unverified decoding.
        assert set(authorizer) == {"claims"}
        claims = authorizer["claims"]
        assert claims["cognito:username"] == REVIEWER.username
        assert claims["cognito:groups"] == REVIEWER.group
        assert claims["sub"] == claims_of(reviewer_token)["sub"]
        assert all(isinstance(value, str) for value in claims.values())


def test_missing_tampered_or_garbage_tokens_are_401(client: Client, reviewer_token: str) -> None:
    header, _, signature = segments(reviewer_token)
    forged = f"{header}.{b64(dict(claims_of(reviewer_token), **{'cognito:groups': ['manager']}))}.{signature}"
    # "garbage" and friends used to crash chalice local's own decoding (no answer at all).
    for value in (None, "", "garbage", "Bearer garbage", "Bearer ", "a.b.c", "x.MQ.y", forged):
        headers = {} if value is None else {"Authorization": value}
        assert_unauthorized(client.http.get("/staff", headers=headers))


def test_a_token_from_another_pool_is_401(moto: Moto, client: Client) -> None:
    other = create_staff_pool("elsewhere", moto.cognito)
    token = id_token(moto.cognito, other, REVIEWER.username, REVIEWER.password)
    assert_unauthorized(client.http.get("/staff", headers={"Authorization": token}))


def test_a_user_in_no_group_gets_through_with_no_groups(moto: Moto, client: Client) -> None:
    # The group check (403) is the app's, as in AWS; the authorizer only proves who it is.
    ensure_user(moto.cognito, moto.pool, "clerk1", "Local-Clerk1-Pass!", None)
    token = id_token(moto.cognito, moto.pool, "clerk1", "Local-Clerk1-Pass!")
    response = client.http.get("/staff", headers={"Authorization": token})
    assert response.status_code == 200
    assert "cognito:groups" not in json.loads(response.body)["authorizer"]["claims"]


def test_routes_without_a_cognito_authorizer_are_left_alone(client: Client) -> None:
    response = client.http.get("/client", headers={"Authorization": "garbage"})
    assert response.status_code == 200


def test_no_configured_pool_fails_closed(client: Client, reviewer_token: str, monkeypatch) -> None:
    monkeypatch.delenv(resources.STAFF_POOL_ID_ENV)
    assert_unauthorized(client.http.get("/staff", headers={"Authorization": reviewer_token}))


def test_emulation_off_passes_claims_through(client: Client, reviewer_token: str, monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "off")
    response = client.http.get("/staff", headers={"Authorization": reviewer_token})
    assert response.status_code == 200
    # chalice local's own, unverified decoding (the in-process tests' setting).
    assert json.loads(response.body)["authorizer"]["principalId"] == REVIEWER.username


def gateway_app() -> Chalice:
    """An app behind the whole local edge emulation: a staff route (Cognito, no key) and a client
    route (key, no authorizer)."""
    app = Chalice(app_name="gateway-order-test")
    authorizer = CognitoUserPoolAuthorizer(resources.STAFF_POOL.authorizer_name, provider_arns=["arn:x"])

    def api_middleware(request: Any, get_response: Any) -> Any:
        return get_response(request)

    @app.route("/v1/staff-only", authorizer=authorizer, api_key_required=False)
    def staff_only() -> dict[str, Any]:
        return {"claims": app.current_request.context["authorizer"]["claims"]}

    @app.route("/v1/client-only", api_key_required=True)
    def client_only() -> dict[str, Any]:
        return {"identity": app.current_request.context["identity"].get("apiKeyId")}

    app.middleware_handlers.append((api_middleware, "http"))
    return app


@pytest.fixture
def installed_gateway() -> Iterator[Chalice]:
    from devstack import gateway

    before = gateway._installed_app
    app = gateway_app()
    gateway.install(app)
    yield app
    gateway._installed_app = before


def test_the_gateway_installs_the_check_inside_its_own_middleware(installed_gateway: Chalice) -> None:
    names = [handler.__name__ for handler, _ in installed_gateway.middleware_handlers]
    assert names == ["gateway_middleware", "staff_auth_middleware", "api_middleware"]


def test_keys_never_open_staff_routes_and_tokens_never_replace_keys(
    installed_gateway: Chalice, staff_env: None, gateway_on: None, reviewer_token: str
) -> None:
    from devstack.gateway import local_dev_api_key

    key = {"x-api-key": local_dev_api_key("standard", {})}
    token = {"Authorization": reviewer_token}
    with Client(installed_gateway, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        # The staff route needs no key (its method has api_key_required=False) but a verified token.
        response = client.http.get("/v1/staff-only", headers=token)
        assert response.status_code == 200
        assert json.loads(response.body)["claims"]["cognito:username"] == REVIEWER.username
        assert_unauthorized(client.http.get("/v1/staff-only", headers=key))
        # The client route needs its key, whatever token comes with it.
        forbidden = client.http.get("/v1/client-only", headers=token)
        assert forbidden.status_code == 403
        assert json.loads(forbidden.body)["error"]["code"] == "forbidden"
        assert client.http.get("/v1/client-only", headers={**key, **token}).status_code == 200
