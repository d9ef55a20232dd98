"""A small JSON Schema checker that names every offending path, for the lending-policy document.

Why not a library: the Lambda package carries boto3 and Powertools only. Powertools' validation
utility needs ``fastjsonschema`` (its ``[validation]`` extra, not installed) and stops at the first
error, while a rejected policy must name each offending path at once. ``jsonschema`` would add a
dependency tree (attrs, referencing, rpds-py with a compiled extension) to every function for one
document. This checker covers the keywords the policy schema uses and refuses a schema that uses any
other keyword, so a keyword can never be silently ignored; the tests check it against ``jsonschema``
on the same schema and documents.

Supported (JSON Schema 2020-12 meaning): ``type``, ``properties``, ``required``,
``additionalProperties`` (false or a schema), ``items``, ``minItems``, ``maxItems``, ``uniqueItems``,
``enum``, ``const``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
``minLength``, ``maxLength``, ``pattern``, and ``$ref`` to ``#/$defs/<name>``; annotations
(``$schema``, ``$id``, ``$defs``, ``title``, ``description``, ``$comment``) are skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

_ANNOTATIONS = frozenset(("$schema", "$id", "$defs", "title", "description", "$comment"))
_KEYWORDS = frozenset(
    (
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "$ref",
    )
)
_REF_PREFIX = "#/$defs/"


class SchemaError(NamedTuple):
    path: str  # JSON pointer (RFC 6901) of the offending value in the document; "" is the whole document
    problem: str


def pointer(parent: str, key: str | int) -> str:
    """``parent`` extended by one reference token, escaped as RFC 6901 asks (``~0``, ``~1``)."""
    return f"{parent}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _is_type(value: object, name: str) -> bool:
    if name == "integer":  # JSON has no integer type: 5.0 is an integer, true is not
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    expected: dict[str, type | tuple[type, ...]] = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
    }
    return isinstance(value, expected[name])


def _type_name(value: object) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _is_type(value, name):
            return name
    return type(value).__name__


def _number_problems(schema: Mapping[str, Any], value: float) -> list[str]:
    problems = []
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"must be at least {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(f"must be at most {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        problems.append(f"must be greater than {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        problems.append(f"must be less than {schema['exclusiveMaximum']}")
    return problems


def _string_problems(schema: Mapping[str, Any], value: str) -> list[str]:
    problems = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"must have at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"must have at most {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        problems.append(f"must match the pattern {schema['pattern']}")
    return problems


def _subschemas(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    children: list[Mapping[str, Any]] = [
        *schema.get("properties", {}).values(),
        *schema.get("$defs", {}).values(),
    ]
    children += [
        schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), Mapping)
    ]
    return children


def assert_supported(schema: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if ``schema`` or any of its subschemas uses a keyword this checker lacks."""
    unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
    if unknown:
        raise ValueError(f"unsupported schema keyword(s): {', '.join(sorted(unknown))}")
    reference = schema.get("$ref")
    if reference is not None and not str(reference).startswith(_REF_PREFIX):
        raise ValueError(f"unsupported $ref {reference!r}: only {_REF_PREFIX}<name>")
    if reference is not None and set(schema) - _ANNOTATIONS - {"$ref"}:
        raise ValueError(f"unsupported: keywords beside $ref {reference!r}")
    for child in _subschemas(schema):
        assert_supported(child)


class _Checker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        assert_supported(root)
        self.root = root
        self.errors: list[SchemaError] = []

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:  # a $ref's siblings are not used by the policy schema
            resolved: Mapping[str, Any] = self.root["$defs"][str(schema["$ref"])[len(_REF_PREFIX) :]]
            schema = resolved
        return schema

    def check(self, schema: Mapping[str, Any], value: object, path: str) -> None:
        schema = self.resolve(schema)
        if "type" in schema and not _is_type(value, schema["type"]):
            self.errors.append(
                SchemaError(path, f"must be of type {schema['type']}, not {_type_name(value)}")
            )
            return
        if "const" in schema and value != schema["const"]:
            self.errors.append(SchemaError(path, f"must be {schema['const']!r}"))
        if "enum" in schema and value not in schema["enum"]:
            self.errors.append(SchemaError(path, f"must be one of {', '.join(map(repr, schema['enum']))}"))
        problems: list[str] = []
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            problems = _number_problems(schema, float(value))
        elif isinstance(value, str):
            problems = _string_problems(schema, value)
        self.errors.extend(SchemaError(path, problem) for problem in problems)
        if isinstance(value, dict):
            self.check_object(schema, value, path)
        elif isinstance(value, list):
            self.check_array(schema, value, path)

    def check_object(self, schema: Mapping[str, Any], value: dict[str, Any], path: str) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                self.errors.append(SchemaError(pointer(path, name), "is required"))
        additional = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                self.check(properties[name], item, pointer(path, name))
            elif additional is False:
                self.errors.append(SchemaError(pointer(path, name), "is not allowed"))
            elif isinstance(additional, Mapping):
                self.check(additional, item, pointer(path, name))

    def check_array(self, schema: Mapping[str, Any], value: list[Any], path: str) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.errors.append(SchemaError(path, f"must have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.errors.append(SchemaError(path, f"must have at most {schema['maxItems']} items"))
        if schema.get("uniqueItems") and len({repr(item) for item in value}) < len(value):
            self.errors.append(SchemaError(path, "must not repeat an item"))
        if "items" in schema:
            for index, item in enumerate(value):
                self.check(schema["items"], item, pointer(path, index))


def schema_errors(schema: Mapping[str, Any], document: object) -> list[SchemaError]:
    """Every place where ``document`` fails ``schema``, in document order (``[]``: it conforms).

    Raises ``ValueError`` if the schema uses a keyword this checker does not implement.
    """
    checker = _Checker(schema)
    checker.check(schema, document, "")
    return checker.errors
