"""types: every key decide() and quick_eligibility() return is declared, with the declared type,
so a schema generated from the TypedDicts describes the real responses."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, NotRequired, get_args, get_origin, get_type_hints

from engine_test_support import POLICY, PROPERTIES, decide_v1, valid_applications
from hypothesis import given

from chalicelib.engine import quick_eligibility, validate_application
from chalicelib.engine.eligibility import QUICK_FIELDS
from chalicelib.engine.types import Application, Decision, QuickEligibility


def conforms(value: Any, hint: Any, path: str = "$") -> None:
    origin = get_origin(hint)
    if origin is NotRequired:
        return conforms(value, get_args(hint)[0], path)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in get_args(hint):
            try:
                return conforms(value, option, path)
            except AssertionError as error:
                errors.append(str(error))
        raise AssertionError(f"{path}: {value!r} matches none of {hint}: {errors}")
    if origin is Literal:
        assert value in get_args(hint), f"{path}: {value!r} not in {get_args(hint)}"
        return None
    if origin is list:
        assert isinstance(value, list), f"{path}: not a list"
        for i, item in enumerate(value):
            conforms(item, get_args(hint)[0], f"{path}[{i}]")
        return None
    if hint is type(None):
        assert value is None, f"{path}: {value!r} is not None"
        return None
    if isinstance(hint, type) and typing.is_typeddict(hint):
        assert isinstance(value, dict), f"{path}: not an object"
        hints = get_type_hints(hint, include_extras=True)
        assert set(value) <= set(hints), f"{path}: undeclared keys {set(value) - set(hints)}"
        assert set(value) >= hint.__required_keys__, f"{path}: missing {hint.__required_keys__ - set(value)}"
        for key, item in value.items():
            conforms(item, hints[key], f"{path}.{key}")
        return None
    if hint is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: {value!r}"
        return None
    if hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r} not int"
        return None
    assert isinstance(value, hint), f"{path}: {value!r} is not {hint}"
    return None


@PROPERTIES
@given(valid_applications())
def test_decide_returns_exactly_the_declared_decision(application: dict) -> None:
    cleaned = validate_application(application)
    conforms(cleaned, Application)
    conforms(decide_v1(cleaned), Decision)
    conforms(quick_eligibility({name: application[name] for name in QUICK_FIELDS}, POLICY), QuickEligibility)


def test_the_checker_rejects_an_undeclared_key() -> None:
    try:
        conforms({**decide_v1(validate_application(_any_application())), "extra": 1}, Decision)
    except AssertionError as error:
        assert "undeclared keys" in str(error)
    else:
        raise AssertionError("an undeclared key was accepted")


def _any_application() -> dict:
    from engine_test_support import strong_application

    return strong_application()
