from __future__ import annotations

import random

import jsonschema_rs
import pytest

from harness.synthesis import Synthesizer, Unsatisfiable

SCHEMAS = {
    "formats": {
        "type": "object",
        "required": ["when", "email", "id", "site", "day", "ip"],
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "site": {"type": "string", "format": "uri"},
            "day": {"type": "string", "format": "date"},
            "ip": {"type": "string", "format": "ipv4"},
        },
    },
    "bounds": {
        "type": "object",
        "required": ["n", "x", "s", "items"],
        "properties": {
            "n": {"type": "integer", "minimum": 5, "maximum": 9, "multipleOf": 3},
            "x": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "s": {"type": "string", "minLength": 10, "maxLength": 12},
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 3,
                "uniqueItems": True,
                "items": {"type": "integer"},
            },
        },
    },
    "pattern-and-enum": {
        "type": "object",
        "required": ["code", "state"],
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
            "state": {"type": "string", "enum": ["open", "closed"]},
        },
    },
    "nullable-and-one-of": {
        "type": "object",
        "required": ["maybe", "shape"],
        "properties": {
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "shape": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["kind", "r"],
                        "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
                    },
                    {
                        "type": "object",
                        "required": ["kind", "w"],
                        "properties": {"kind": {"const": "square"}, "w": {"type": "integer"}},
                    },
                ],
                "discriminator": {"propertyName": "kind"},
            },
        },
    },
    "all-of": {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
            {"type": "object", "required": ["b"], "properties": {"b": {"type": "string", "maxLength": 2}}},
        ]
    },
    "write-only-forbidden": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "password": {"not": {}}},
    },
    "recursive": {
        "$ref": "#/x-bundled/Node",
        "x-bundled": {
            "Node": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/x-bundled/Node"}},
                },
            }
        },
    },
}


@pytest.mark.parametrize("name", SCHEMAS)
@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_generated_values_are_valid(name, seed):
    schema = SCHEMAS[name]
    rng = None if seed is None else random.Random(seed)
    value = Synthesizer(schema, rng).value()
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    assert validator.is_valid(value), (value, [e.message for e in validator.iter_errors(value)])


def test_deterministic_by_default_and_reproducible_with_a_seed():
    schema = SCHEMAS["bounds"]
    assert Synthesizer(schema).value() == Synthesizer(schema).value()
    assert Synthesizer(schema, random.Random(7)).value() == Synthesizer(schema, random.Random(7)).value()
    draws = {repr(Synthesizer(schema, random.Random(seed)).value()) for seed in range(10)}
    assert len(draws) > 5


def test_forbidden_fields_are_left_out_and_examples_preferred():
    assert "password" not in Synthesizer(SCHEMAS["write-only-forbidden"]).value()
    assert Synthesizer({"type": "string", "example": "octocat"}).value() == "octocat"
    assert Synthesizer({"type": "string", "example": "octocat"}, use_examples=False).value() == "string"


def test_an_unsatisfiable_schema_says_so():
    with pytest.raises(Unsatisfiable):
        Synthesizer({"not": {}}).value()
