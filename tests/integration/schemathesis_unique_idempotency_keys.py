"""Schemathesis hooks (loaded by every slice of the run: tests/support/schemathesis_run.py).

One fresh Idempotency-Key per request: Hypothesis draws the optional header from a handful of short
values ("0", "00", ...), so without this most generated POST bodies reused a key already stored with
a different body and were answered 422 ``idempotency_key_reused`` before validation or scoring ran.
Every key the API accepts is made unique (the generated text is kept after a random prefix), so each
request still goes through the idempotency store and its body reaches validation and scoring. A key
the API rejects (blank, too long, non-printable) is sent unchanged, so the 400
``invalid_idempotency_key`` answer stays covered. Replays, 422 and 409 are covered by
tests/unit/service/test_idempotency.py and the burst test.

No generated cursor in a positive case: a list cursor is valid only as the API issued it (HMAC-signed,
bound to the client and the query: chalicelib/service/cursors.py), which no schema can express, so
a generated one that matches the document's pattern is still a 400. Positive cases are sent without
it (the first page); negative ones (empty, malformed) keep it and must be rejected. Paging with real
cursors is tested in tests/unit/http/test_records.py and tests/integration/test_integration_api.py.

And one for generation speed only: each regex strategy is built once per run (at the end).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis.strategies._internal import regex as hypothesis_regex

from chalicelib.errors import ServiceError
from chalicelib.service.idempotency import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH, checked_key


def _accepted_key(value: Any) -> str | None:
    """The key as the API would use it, or None when the API answers 400 for it."""
    if not isinstance(value, str):
        return None
    try:
        return checked_key(value)
    except ServiceError:
        return None


def _is_positive(case: schemathesis.Case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, **kwargs: Any) -> None:
    if case.query and "cursor" in case.query and _is_positive(case):
        del case.query["cursor"]
    if not case.headers:
        return
    for name, value in list(case.headers.items()):
        key = _accepted_key(value) if name.lower() == IDEMPOTENCY_HEADER else None
        if key is not None:
            case.headers[name] = f"{uuid.uuid4().hex}-{key}"[:MAX_KEY_LENGTH]


# Generation speed only. Hypothesis builds a regex strategy character by character, and
# hypothesis-jsonschema asks for one anew for every generated body, so the name pattern (every
# Unicode letter and mark, listed as ranges: chalicelib/engine/schema.py) was rebuilt for each case:
# 20 s of CPU for 60 createDecision bodies, 4.5 s with the strategies kept. A strategy is immutable
# and reusable (``from_regex`` is itself cacheable, but only for hashable arguments, and its default
# alphabet is a new strategy object on each call), so the same pattern, flags and alphabet get the
# one built first. What is generated does not change.
_regex_strategies: dict[tuple[Any, ...], Any] = {}
_build_regex_strategy = hypothesis_regex.regex_strategy


def _kept_regex_strategy(regex: Any, fullmatch: bool, **options: Any) -> Any:
    pattern = regex if isinstance(regex, str | bytes) else (regex.pattern, regex.flags)
    key = (pattern, fullmatch, tuple(sorted((name, repr(value)) for name, value in options.items())))
    if key not in _regex_strategies:
        _regex_strategies[key] = _build_regex_strategy(regex, fullmatch, **options)
    return _regex_strategies[key]


hypothesis_regex.regex_strategy = _kept_regex_strategy
