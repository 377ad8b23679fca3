from __future__ import annotations

import pytest

from harness.parameters import ABSENT, SchemaView, Serialization, deserialize, nest_form_fields


def serialization(**definition):
    return Serialization.of({"name": "p", **definition})


@pytest.mark.parametrize(
    ("definition", "kinds", "query", "expected"),
    [
        ({"in": "query", "schema": {}}, {"integer"}, [("p", "5")], "5"),
        ({"in": "query", "schema": {}}, {"array"}, [("p", "1"), ("p", "2")], ["1", "2"]),
        ({"in": "query", "explode": False, "schema": {}}, {"array"}, [("p", "1,2")], ["1", "2"]),
        (
            {"in": "query", "style": "pipeDelimited", "explode": False, "schema": {}},
            {"array"},
            [("p", "1|2")],
            ["1", "2"],
        ),
        (
            {"in": "query", "style": "spaceDelimited", "explode": False, "schema": {}},
            {"array"},
            [("p", "1 2")],
            ["1", "2"],
        ),
        (
            {"in": "query", "style": "deepObject", "schema": {}},
            {"object"},
            [("p[a]", "1"), ("p[b]", "x")],
            {"a": "1", "b": "x"},
        ),
        (
            {"in": "query", "collectionFormat": "pipes", "type": "array"},
            {"array"},
            [("p", "a|b")],
            ["a", "b"],
        ),
        (
            {"in": "query", "collectionFormat": "multi", "type": "array"},
            {"array"},
            [("p", "a"), ("p", "b")],
            ["a", "b"],
        ),
        ({"in": "query", "schema": {}}, {"string"}, [("q", "x")], ABSENT),
    ],
    ids=[
        "form",
        "form-explode-array",
        "form-csv",
        "pipes",
        "spaces",
        "deep-object",
        "swagger-pipes",
        "swagger-multi",
        "absent",
    ],
)
def test_query_styles(definition, kinds, query, expected):
    assert deserialize("p", serialization(**definition), kinds, query=query) == expected


@pytest.mark.parametrize(
    ("style", "explode", "raw", "expected"),
    [
        ("simple", False, "1,2", ["1", "2"]),
        ("label", False, ".1,2", ["1", "2"]),
        ("matrix", False, ";p=1,2", ["1", "2"]),
    ],
)
def test_path_styles(style, explode, raw, expected):
    assert (
        deserialize(
            "p", serialization(**{"in": "path", "style": style, "explode": explode}), {"array"}, raw=raw
        )
        == expected
    )


def test_coercion_follows_the_schema_and_leaves_strings_alone():
    view = SchemaView({"x-bundled": {"n": {"type": "integer"}}})
    assert view.coerce("12", {"$ref": "#/x-bundled/n"}) == 12
    assert view.coerce("12", {"type": "string"}) == "12"
    assert view.coerce("1.5", {"type": "number"}) == 1.5
    assert view.coerce("true", {"type": "boolean"}) is True
    assert view.coerce("abc", {"type": "integer"}) == "abc"  # left for the validator to reject
    assert view.coerce(["1", "2"], {"type": "array", "items": {"type": "integer"}}) == [1, 2]
    assert view.coerce("", {"anyOf": [{"type": "string"}, {"type": "null"}]}) == ""


def test_form_fields_nest_like_stripe():
    pairs = [
        ("amount", "100"),
        ("shipping[address][line1]", "1 Main St"),
        ("expand[]", "customer"),
        ("expand[]", "invoice"),
        ("items[0][price]", "p1"),
        ("items[1][price]", "p2"),
    ]
    assert nest_form_fields(pairs) == {
        "amount": "100",
        "shipping": {"address": {"line1": "1 Main St"}},
        "expand": ["customer", "invoice"],
        "items": [{"price": "p1"}, {"price": "p2"}],
    }
