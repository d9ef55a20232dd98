"""Who is calling: the client is its API key, staff are not clients.

In AWS every client route requires an API key, and API Gateway puts the key's id into
``requestContext.identity.apiKeyId``. The local stage's gateway emulation (``devstack.gateway``)
supplies the same field from the local keys. Every record is owned by that id, and a client can
only ever read its own records. Without the field outside the local stage the answer is 403
(fail closed: a method deployed without ``api_key_required`` must not share one identity).
"""

from __future__ import annotations

import os

from chalice.app import Request

from chalicelib.config import LOCAL_STAGE
from chalicelib.errors import ServiceError

# The local stage with its gateway emulation switched off (in-process tests, benchmarks): every
# request is this one client.
LOCAL_CLIENT_WITHOUT_KEY = "local-no-api-key"


def client_id(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    api_key_id = identity.get("apiKeyId")
    if api_key_id:
        return str(api_key_id)
    if os.environ.get("STAGE") == LOCAL_STAGE:
        return LOCAL_CLIENT_WITHOUT_KEY
    raise ServiceError(403, "forbidden", "forbidden: a valid API key is required in the x-api-key header")
