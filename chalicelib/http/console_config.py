"""What the loan-officer console needs to know at run time: where staff sign in, and its CSP.

The console signs staff in itself, in the browser, against the staff user pool's public app client
(no secret): ``fetch`` POSTs to the Cognito IdP JSON endpoint, with Cognito's ``USER_PASSWORD_AUTH``
flow where the stage's app client allows it (``password_flow``: local, dev) and ``USER_SRP_AUTH``
elsewhere (prod: the password never leaves the browser; the math is ``console/srp.js``). The page
is static (S3 in AWS), so the pool, client and endpoint come from a small script the API serves
beside the console's files, ``/console/config.js``, which sets one global
(``window.LOAN_CONSOLE_CONFIG``). A script rather than a JSON document: it is "a file of the
console" like the others (the static route, its OpenAPI enum and content types, its throttle and
CloudFront behaviour all stay as they are) and it is there before ``console.js`` runs. It holds
no secret: a pool id and an app client id are public by design (every browser sign-in sends them).

The endpoint: in AWS ``https://cognito-idp.<region>.amazonaws.com/``; in the local stage the
stack's AWS endpoint (the moto server, which answers CORS preflights itself), from the same
variables boto3 reads. The console page's Content-Security-Policy allows ``connect-src`` to exactly
that origin beside ``'self'``, nothing broader; CloudFront's response headers policy builds the same
policy from the same function (``infra/console_hosting.py``).

Batch uploads (issue 19): the console PUTs a file to a presigned URL of the batches bucket, so
``connect-src`` names that bucket's origin too: ``https://<bucket>.s3.<region>.amazonaws.com`` in
AWS (the regional virtual-hosted host ``S3BatchObjects`` presigns), the stack's S3 endpoint locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from chalicelib import resources
from chalicelib.config import LOCAL_STAGE, load_settings
from chalicelib.http.headers import SECURITY_HEADERS

CONFIG_SCRIPT = "config.js"
CONFIG_GLOBAL = "LOAN_CONSOLE_CONFIG"
# boto3's service-specific endpoint variable wins over the general one, as in every local process.
LOCAL_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_COGNITO_IDP", "AWS_ENDPOINT_URL")
LOCAL_S3_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# The API's default policy: the console's too where no staff pool is configured.
DEFAULT_CONTENT_SECURITY_POLICY = SECURITY_HEADERS["Content-Security-Policy"]


def cognito_idp_origin(region: str) -> str:
    """The Cognito IdP endpoint's origin in AWS (``region`` may be CloudFormation's
    ``${AWS::Region}`` inside an ``Fn::Sub``)."""
    return f"https://cognito-idp.{region}.amazonaws.com"


def s3_bucket_origin(bucket: str, region: str, url_suffix: str = "amazonaws.com") -> str:
    """A bucket's regional virtual-hosted origin, where its presigned URLs point in AWS (``bucket``
    and ``region`` may be CloudFormation ``${...}`` references inside an ``Fn::Sub``)."""
    return f"https://{bucket}.s3.{region}.{url_suffix}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what a CSP source names (no path, so no prefix match)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) endpoint: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def console_content_security_policy(
    identity_provider_origin: str | None, upload_origin: str | None = None
) -> str:
    """The console page's CSP: the API's default, plus ``connect-src`` to the IdP's origin and the
    batches bucket's (where the page PUTs a batch's file), each once, nothing else."""
    origins = list(dict.fromkeys(origin for origin in (identity_provider_origin, upload_origin) if origin))
    if not origins:
        return DEFAULT_CONTENT_SECURITY_POLICY
    return f"default-src 'self'; connect-src 'self' {' '.join(origins)}; frame-ancestors 'none'"


def batch_upload_origin(environ: Mapping[str, str], stage: str, region: str) -> str | None:
    """Where the console PUTs a batch's file: the batches bucket's origin in AWS (None where the
    function has no bucket), the stack's S3 endpoint in the local stage (None without one)."""
    if stage == LOCAL_STAGE:
        local = next((environ[name] for name in LOCAL_S3_ENDPOINT_ENVS if environ.get(name)), None)
        return origin_of(local) if local else None
    bucket = environ.get(resources.BATCHES_BUCKET.env_var)
    return s3_bucket_origin(bucket, region) if bucket else None


class StaffSignIn(NamedTuple):
    endpoint: str  # where the console POSTs InitiateAuth (always ends with "/")
    region: str
    user_pool_id: str
    client_id: str
    # Whether the stage's app client allows USER_PASSWORD_AUTH (resources.STAFF_PASSWORD_AUTH);
    # where it does not, the console signs in with SRP (USER_SRP_AUTH, console/srp.js) and keeps the
    # ID-token paste as a fallback. Locally it must stay on: moto cannot complete an SRP sign-in.
    password_flow: bool
    password_minimum_length: int  # the pool's policy, told to someone choosing a new password
    # Whether sign-out revokes the refresh token (RevokeToken): the deployed app client has token
    # revocation on; moto does not implement the call.
    token_revocation: bool

    @property
    def origin(self) -> str:
        return origin_of(self.endpoint)

    def as_config(self) -> dict[str, Any]:
        return dict(self._asdict())


def identity_provider_endpoint(environ: Mapping[str, str], stage: str, region: str) -> str:
    if stage == LOCAL_STAGE:
        # Only the local stage may point the browser at a non-AWS endpoint: a stray variable in a
        # deployed function must never send staff passwords anywhere but Cognito.
        local = next((environ[name] for name in LOCAL_ENDPOINT_ENVS if environ.get(name)), None)
        if local:
            return origin_of(local) + "/"
    return cognito_idp_origin(region) + "/"


def staff_sign_in(environ: Mapping[str, str] | None = None) -> StaffSignIn | None:
    """The staff pool the console signs in against; None where the stack has none (LocalStack's
    community edition: no Cognito, every staff route answers 401)."""
    env = os.environ if environ is None else environ
    pool_id = env.get(resources.STAFF_POOL_ID_ENV)
    client_id = env.get(resources.STAFF_POOL_CLIENT_ID_ENV)
    if not pool_id or not client_id:
        return None
    settings = load_settings(env)
    return StaffSignIn(
        endpoint=identity_provider_endpoint(env, settings.stage, settings.region),
        region=settings.region,
        user_pool_id=pool_id,
        client_id=client_id,
        password_flow=resources.STAFF_PASSWORD_AUTH.get(settings.stage, False),
        password_minimum_length=resources.STAFF_POOL.minimum_password_length,
        token_revocation=settings.stage != LOCAL_STAGE,
    )


def console_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    sign_in = staff_sign_in(environ)
    return {"staff_sign_in": sign_in.as_config() if sign_in is not None else None}


def config_script(environ: Mapping[str, str] | None = None) -> str:
    # JSON is a JavaScript expression; the file is a script of its own (never inlined into HTML).
    return f"window.{CONFIG_GLOBAL} = {json.dumps(console_config(environ), sort_keys=True)};\n"


def console_page_policy(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    sign_in = staff_sign_in(env)
    settings = load_settings(env)
    return console_content_security_policy(
        sign_in.origin if sign_in is not None else None,
        batch_upload_origin(env, settings.stage, settings.region),
    )
