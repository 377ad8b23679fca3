"""Bodies for malformed_json and wrong_schema: never parseable, and never valid, respectively."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from harness.corruption import break_schema, malformed_json
from harness.faults import MALFORMED_VARIANTS

BODY = json.dumps({"login": "octocat", "id": 1, "plan": {"name": "pro", "seats": 3}}).encode()


def _lenient_parse(body: bytes):
    """How requests' `.json()` decodes an application/json body: UTF-8 with replacement characters."""
    return json.loads(body.decode("utf-8", errors="replace"))


@pytest.mark.parametrize("variant", MALFORMED_VARIANTS)
@pytest.mark.parametrize(
    "body", [BODY, b"[1, 2, 3]", b"1234", b""], ids=["object", "array", "number", "empty"]
)
def test_malformed_bodies_parse_with_neither_strict_nor_lenient_parsers(variant, body):
    broken = malformed_json(body, variant)
    with pytest.raises(ValueError):
        json.loads(broken)
    with pytest.raises(ValueError):
        _lenient_parse(broken)


def test_malformed_variants_look_like_what_they_are_named_after():
    assert malformed_json(BODY, "truncated") == BODY[: len(BODY) // 2]
    assert malformed_json(BODY, "trailing_garbage").startswith(BODY + b"\n")
    assert malformed_json(BODY, "html").startswith(b"<!DOCTYPE html>")
    assert malformed_json(BODY, "empty") == b""
    with pytest.raises(UnicodeDecodeError):
        malformed_json(BODY, "invalid_utf8").decode("utf-8")


SCHEMA = {
    "type": "object",
    "required": ["login", "id"],
    "properties": {
        "login": {"type": "string"},
        "id": {"type": "integer"},
        "plan": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
    },
}


@pytest.mark.parametrize("variant", ["missing_required", "wrong_type"])
@pytest.mark.parametrize("wrap", [False, True], ids=["object", "array-of-objects"])
def test_wrong_schema_bodies_are_json_that_the_schema_rejects(variant, wrap):
    schema = {"type": "array", "items": SCHEMA} if wrap else SCHEMA
    validator = jsonschema_rs.validator_for(schema)
    value = json.loads(BODY)
    value = [value, value] if wrap else value
    broken, change = break_schema(value, variant, validator.is_valid)
    assert validator.is_valid(value) and not validator.is_valid(broken)
    json.dumps(broken)  # still JSON
    if variant == "missing_required":
        assert change == ("removed the field /0/login" if wrap else "removed the field /login")
    else:
        assert change == ("/0/login is integer, not string" if wrap else "/login is integer, not string")


def test_wrong_schema_finds_a_nested_required_field_when_the_top_has_none():
    schema = {"type": "object", "properties": {"plan": SCHEMA["properties"]["plan"]}}
    broken, change = break_schema(
        {"plan": {"name": "pro"}}, "missing_required", jsonschema_rs.validator_for(schema).is_valid
    )
    assert broken == {"plan": {}} and change == "removed the field /plan/name"


def test_a_schema_that_accepts_anything_cannot_be_broken():
    assert break_schema({"a": 1}, "wrong_type", jsonschema_rs.validator_for({}).is_valid) is None
