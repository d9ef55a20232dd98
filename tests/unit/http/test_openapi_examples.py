"""Every example in the OpenAPI document validates against the schema it illustrates, and the
generated decision examples are what the engine answers (one approved, one declined with an
approved counteroffer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from chalicelib.http import openapi
from chalicelib.http import openapi_examples as examples
from tests.support.http import resolve_ref

DOCUMENT = openapi.build_document()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return resolve_ref(DOCUMENT, node)


def _media_types() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            body = operation.get("requestBody")
            if body:
                for media_type, content in body["content"].items():
                    yield f"{method.upper()} {path} request {media_type}", content
            for status, response in operation["responses"].items():
                for media_type, content in _resolve(response).get("content", {}).items():
                    yield f"{method.upper()} {path} {status} {media_type}", content


def _examples() -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for where, content in _media_types():
        if "example" in content:
            found.append((where, content["schema"], content["example"]))
        for name, example in content.get("examples", {}).items():
            found.append((f"{where} {name}", content["schema"], example["value"]))
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize(("where", "schema", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_matches_its_schema(where: str, schema: dict[str, Any], value: Any) -> None:
    validator = OAS30Validator({**schema, "components": DOCUMENT["components"]})
    errors = sorted(validator.iter_errors(value), key=str)
    assert not errors, f"{where}: " + "; ".join(error.message for error in errors[:5])


def test_decision_examples_are_approved_and_declined_with_counteroffer() -> None:
    operation = DOCUMENT["paths"]["/v1/decisions"]["post"]
    shown = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert shown["approved"]["value"]["outcome"] == "approved"
    declined = shown["declinedWithCounteroffer"]["value"]
    assert declined["outcome"] == "declined"
    assert declined["counteroffer"]["outcome"] == "approved"
    sent = operation["requestBody"]["content"]["application/json"]["examples"]
    assert sent["approved"]["value"] == examples.APPLICATION_EXAMPLE


def test_every_error_response_has_an_example() -> None:
    for name, response in DOCUMENT["components"]["responses"].items():
        content = response["content"]["application/json"]
        assert content.get("examples"), f"{name} has no example"
        for example in content["examples"].values():
            assert set(example["value"]) == {"error", "request_id"}


def test_invalid_fields_example_names_each_field() -> None:
    body = examples.error_examples()["BadRequest"]["invalidFields"]["value"]
    assert {detail["field"] for detail in body["error"]["details"]} == {"age", "cibil_score"}
