"""Turn parameter strings from the wire into the values their schemas describe.

OpenAPI serializes parameters by `style` and `explode` (Swagger 2.0: `collectionFormat`); this
module reverses that, then coerces strings to the declared types so a JSON Schema validator can
judge them: `?per_page=30` becomes 30, `?ids=1,2` becomes [1, 2], `?filter[state]=open` becomes
{"state": "open"}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from harness.documents import follow_refs

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SWAGGER_FORMATS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
_DELIMITERS = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


@dataclass(frozen=True)
class Serialization:
    """How one parameter is written on the wire."""

    location: str  # path, query, header, cookie
    style: str
    explode: bool

    @classmethod
    def of(cls, definition: Mapping[str, Any]) -> Serialization:
        location = definition["in"]
        if "collectionFormat" in definition or (
            "in" in definition
            and "schema" not in definition
            and "content" not in definition
            and "type" in definition
        ):
            # Swagger 2.0: collectionFormat instead of style/explode
            fmt = definition.get("collectionFormat", "csv")
            if fmt == "multi":
                return cls(location, "form", True)
            style = {"ssv": "spaceDelimited", "pipes": "pipeDelimited"}.get(fmt, "form")
            return cls(location, style if fmt != "tsv" else "tsv", False)
        default_style = "form" if location in ("query", "cookie") else "simple"
        style = definition.get("style", default_style)
        explode = definition.get("explode", style == "form")
        return cls(location, style, bool(explode))


class SchemaView:
    """Reads the kinds of value a (converted, bundled) schema accepts, following `$ref`s."""

    def __init__(self, root: Any):
        self.root = root

    def resolve(self, schema: Any) -> Any:
        return follow_refs(self.root, schema)

    def types(self, schema: Any) -> set[str]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return set()
        found: set[str] = set()
        declared = schema.get("type")
        if isinstance(declared, str):
            found.add(declared)
        elif isinstance(declared, list):
            found.update(declared)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, []):
                found |= self.types(branch)
        if not found:
            if "properties" in schema:
                found.add("object")
            elif "items" in schema:
                found.add("array")
            elif "enum" in schema:
                found.update(json_type(value) for value in schema["enum"])
        return found

    def items(self, schema: Any) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return {}
        if "items" in schema:
            return schema["items"]
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, []):
                if "array" in self.types(branch):
                    return self.items(branch)
        return {}

    def property(self, schema: Any, name: str) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return {}
        properties = schema.get("properties", {})
        if name in properties:
            return properties[name]
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, []):
                found = self.property(branch, name)
                if found != {}:
                    return found
        extra = schema.get("additionalProperties")
        return extra if isinstance(extra, dict) else {}

    def coerce(self, value: Any, schema: Any) -> Any:
        """Coerce wire strings (possibly nested in lists/dicts) to the schema's scalar types."""
        if isinstance(value, list):
            item_schema = self.items(schema)
            return [self.coerce(item, item_schema) for item in value]
        if isinstance(value, dict):
            return {key: self.coerce(item, self.property(schema, key)) for key, item in value.items()}
        if not isinstance(value, str):
            return value
        kinds = self.types(schema)
        coerced = coerce_text(value, kinds)
        if coerced is value and "array" in kinds and "string" not in kinds:
            # A form field sent once is an array of one (`tags=a`, not only `tags=a&tags=b`).
            return [self.coerce(value, self.items(schema))]
        return coerced


def coerce_text(value: str, kinds: AbstractSet[str]) -> Any:
    """One wire string as the value of a schema accepting `kinds` (`SchemaView.types`); an array
    schema's lone item is `SchemaView.coerce`'s to wrap."""
    if "string" in kinds and not (kinds & {"integer", "number"} and _NUMBER.match(value)):
        return value
    if "integer" in kinds and _INTEGER.match(value):
        return int(value)
    if "number" in kinds and _NUMBER.match(value):
        number = float(value)
        return (
            int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        )
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    if "null" in kinds and value in ("", "null"):
        return None
    if "array" in kinds and value == "":
        return []
    return value


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_ABSENT = object()


def deserialize(
    name: str,
    serialization: Serialization,
    kinds: AbstractSet[str],
    *,
    raw: str | None = None,
    query: Sequence[tuple[str, str]] = (),
) -> Any:
    """Read one parameter off the wire (as strings); returns `_ABSENT` when the request lacks it.

    `raw` is the value for path, header and cookie parameters; query parameters read `query`.
    """
    is_array = "array" in kinds and not kinds & {"string", "integer", "number", "boolean"}
    is_object = "object" in kinds and not is_array and not kinds & {"string", "integer", "number"}
    style, explode = serialization.style, serialization.explode
    if serialization.location == "query":
        if is_object and style == "deepObject":
            prefix = f"{name}["
            nested = [(key[len(prefix) :], value) for key, value in query if key.startswith(prefix)]
            return _nest(nested) if nested else _ABSENT
        values = [value for key, value in query if key == name or (is_array and key == f"{name}[]")]
        if is_object and style == "form" and explode and not values:
            return _ABSENT  # exploded objects spread over their properties; validated by the body rules
        if not values:
            return _ABSENT
        if is_array:
            if explode and style == "form":
                return values
            delimiter = _DELIMITERS.get(style, "\t" if style == "tsv" else ",")
            return [part for value in values for part in value.split(delimiter)] if values != [""] else []
        if is_object:
            return _pairs_to_object(values[0].split(","))
        return values[0]
    if raw is None:
        return _ABSENT
    if serialization.location == "path":
        if style == "label":
            raw = raw[1:] if raw.startswith(".") else raw
            separator = "." if explode else ","
        elif style == "matrix":
            raw = re.sub(rf"^;{re.escape(name)}=", "", raw)
            separator = f";{name}=" if explode else ","
        else:
            separator = ","
    else:
        separator = ","
    if is_array:
        return raw.split(separator) if raw != "" else []
    if is_object:
        parts = re.split(r"[,;.]", raw) if not explode else raw.split(",")
        if explode:
            return dict(part.split("=", 1) for part in parts if "=" in part)
        return _pairs_to_object(parts)
    return raw


def _pairs_to_object(parts: list[str]) -> dict[str, str]:
    return {parts[index]: parts[index + 1] for index in range(0, len(parts) - 1, 2)}


def _nest(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """[('a]', '1'), ('b][c]', '2')] (what follows 'name[') -> {'a': '1', 'b': {'c': '2'}}."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        tokens = key.replace("]", "").split("[")
        target = result
        for token in tokens[:-1]:
            target = target.setdefault(token, {}) if isinstance(target.get(token, {}), dict) else target
        target[tokens[-1]] = value
    return result


def nest_form_fields(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Form bodies with bracket keys, as Stripe sends them: 'a[b][0]=x' -> {'a': {'b': ['x']}}.

    Repeated plain keys become lists; `a[]=x&a[]=y` and numeric indices become lists too.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        tokens = re.findall(r"[^\[\]]+|\[\]", key) if "[" in key else [key]
        tokens = ["" if token == "[]" else token for token in tokens]
        _insert(result, tokens, value)
    nested: dict[str, Any] = _listify(result)
    return nested


def _insert(target: dict[str, Any], tokens: list[str], value: str) -> None:
    head, rest = tokens[0], tokens[1:]
    if not rest:
        if head == "":
            target.setdefault("", []).append(value)
        elif head in target:
            existing = target[head]
            target[head] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            target[head] = value
        return
    child = target.setdefault(head if head != "" else str(len(target)), {})
    if not isinstance(child, dict):
        child = target[head] = {"": [child]} if not isinstance(child, list) else {"": child}
    _insert(child, rest, value)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {""}:
        return [_listify(item) for item in node[""]]
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    return {key: _listify(value) for key, value in node.items()}


ABSENT = _ABSENT
