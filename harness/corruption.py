"""Corrupted bodies for the `malformed_json` and `wrong_schema` faults; pure functions of the real body.

`malformed_json` bodies never parse, with any JSON parser (strict or lenient about encodings);
`wrong_schema` bodies are valid JSON that the response schema rejects, checked with its validator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

GATEWAY_HTML = (
    b"<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n"
    b"<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
)


def malformed_json(body: bytes, variant: str) -> bytes:
    """A body that does not parse as JSON, made from the real `body` where the variant allows."""
    if variant == "empty":
        return b""
    if variant == "html":
        return GATEWAY_HTML
    if variant == "trailing_garbage":
        return (body or b"{}") + b"\n<!-- trailing garbage -->"
    if variant == "invalid_utf8":
        # Bytes that are not UTF-8, outside any string: lenient clients that decode with
        # errors="replace" (requests' .json()) still fail to parse.
        return b'{"data": \xff\xfe\xc3\x28}'
    # truncated: the document cut in half (a cut that still parses, like "12" of "1234", is extended).
    cut = body[: max(1, len(body) // 2)]
    if _parses(cut):
        cut = b'{"message": "truncat'
    return cut


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def break_schema(value: Any, variant: str, is_valid: Callable[[Any], bool] | None) -> tuple[Any, str] | None:
    """A variant of `value` that `is_valid` rejects, and what was changed; None when none is found.

    `missing_required` drops one field (the first whose absence the schema rejects); `wrong_type`
    gives one field a value of another JSON type. Arrays are broken through their first item.
    """
    candidates = _without_a_field(value, "") if variant == "missing_required" else _retyped(value, "")
    for candidate, change in candidates:
        if is_valid is None or not is_valid(candidate):
            return candidate, change
    return None


def _without_a_field(value: Any, where: str) -> Iterator[tuple[Any, str]]:
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}, f"removed the field {where}/{key}"
        for key, item in value.items():
            for candidate, change in _without_a_field(item, f"{where}/{key}"):
                yield {**value, key: candidate}, change
    elif isinstance(value, list) and value:
        for candidate, change in _without_a_field(value[0], f"{where}/0"):
            yield [candidate, *value[1:]], change


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return "not a number"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {"unexpected": "object"}
    if isinstance(value, dict):
        return "not an object"
    return 12345  # null -> a number: wrong for every nullable type but number


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), "null")


def _retyped(value: Any, where: str) -> Iterator[tuple[Any, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            other = _other_type(item)
            yield {**value, key: other}, f"{where}/{key} is {_type_name(other)}, not {_type_name(item)}"
        for key, item in value.items():
            for candidate, change in _retyped(item, f"{where}/{key}"):
                yield {**value, key: candidate}, change
    elif isinstance(value, list) and value:
        for candidate, change in _retyped(value[0], f"{where}/0"):
            yield [candidate, *value[1:]], change
    other = _other_type(value)
    yield other, f"{where or 'the body'} is {_type_name(other)}, not {_type_name(value)}"
