"""OpenAPI 3.0 schemas generated from the typed records (``TypedDict``s, ``Literal``s, unions).

One component per ``TypedDict`` (named after the class), referenced wherever it is used, with
exactly its keys: required unless ``NotRequired``, no others (``additionalProperties: false``), so
a key the code returns and the type leaves out fails the response-schema checks.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

JsonSchema = dict[str, Any]

_SCALARS: dict[type, JsonSchema] = {
    str: {"type": "string"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
}


class SchemaBuilder:
    """Collects the components of every TypedDict reached from the types it is asked about."""

    def __init__(self) -> None:
        self.components: dict[str, JsonSchema] = {}
        self._named: dict[str, type] = {}  # component name -> the one type it describes

    def ref(self, typed_dict: type) -> JsonSchema:
        name = typed_dict.__name__
        # Two records of one name would be one component, the second silently replacing the first.
        if self._named.setdefault(name, typed_dict) is not typed_dict:
            raise ValueError(f"two record types are named {name}: rename one")
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursive types stop here
            self.components[name] = self._object(typed_dict)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, typed_dict: type) -> JsonSchema:
        # With postponed annotations Python 3.11 cannot see NotRequired when it builds the class
        # (``__required_keys__`` then lists every key): read it from the resolved hints instead.
        hints = get_type_hints(typed_dict, include_extras=True)
        properties: dict[str, JsonSchema] = {}
        required = []
        for name, hint in hints.items():
            if get_origin(hint) is NotRequired:
                (hint,) = get_args(hint)
            else:
                required.append(name)
            properties[name] = self.schema(hint)
        schema: JsonSchema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        doc = (typed_dict.__doc__ or "").strip()
        if doc and not doc.startswith(f"{typed_dict.__name__}("):
            schema["description"] = " ".join(doc.split())
        return schema

    def schema(self, hint: Any) -> JsonSchema:
        if hint is Any or hint is object:
            return {}
        if hint is type(None):
            return {"nullable": True}
        if isinstance(hint, type) and is_typeddict(hint):
            return self.ref(hint)
        if hint in _SCALARS:
            return dict(_SCALARS[hint])
        origin = get_origin(hint)
        if origin is Literal:
            values = list(get_args(hint))
            return {**self.schema(type(values[0])), "enum": values}
        if origin in (Union, types.UnionType):
            return self._union(get_args(hint))
        if origin in (list, tuple, typing.Sequence):
            (item,) = get_args(hint)[:1]
            return {"type": "array", "items": self.schema(item)}
        if origin is dict:
            _, value = get_args(hint)
            schema: JsonSchema = {"type": "object"}
            value_schema = self.schema(value)
            if value_schema:
                schema["additionalProperties"] = value_schema
            return schema
        raise TypeError(f"no schema for type {hint!r}")

    def _union(self, members: tuple[Any, ...]) -> JsonSchema:
        nullable = type(None) in members
        others = [member for member in members if member is not type(None)]
        schemas = [self.schema(member) for member in others]
        # int | float is a JSON number.
        if {member for member in others} == {int, float}:
            schemas = [{"type": "number"}]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if nullable:
            # OpenAPI 3.0: a $ref cannot carry "nullable" (and validators reject null through
            # allOf), so a nullable record is inlined.
            if "$ref" in schema:
                (typed_dict,) = others
                schema = self._object(typed_dict)
            schema = {**schema, "nullable": True}
        return schema
