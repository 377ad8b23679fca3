"""Build values from JSON Schemas: deterministic by default, random but reproducible with a seed.

This is how the mock answers when the contract has no example. The schemas it reads are the ones
schemathesis converted (references bundled under `x-bundled`, `nullable` as `anyOf` with null,
`writeOnly` fields forbidden in responses with `{"not": {}}`). The caller validates what comes out,
since a few combinations (patterns with length bounds, `not`, unique items) can defeat a generator.
"""

from __future__ import annotations

import base64
import functools
import random
import uuid
from typing import Any

from harness.documents import resolve_pointer

JsonSchema = dict[str, Any] | bool

_FORMAT_SAMPLES: dict[str, str] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "uri-template": "https://example.com/{id}",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "json-pointer": "/example",
    "relative-json-pointer": "0",
    "regex": "^example$",
    "byte": base64.b64encode(b"example").decode(),
    "binary": "example",
    "password": "password",
    "snowflake": "1234567890123456789",
}
_MISSING = object()
_MAX_DEPTH = 6


class Unsatisfiable(ValueError):
    """The schema admits no value this generator can build (e.g. `{"not": {}}`)."""


@functools.lru_cache(maxsize=1024)
def string_matching(pattern: str, min_length: int, max_length: int | None) -> str:
    """The simplest string matching `pattern` within the length bounds (hypothesis shrinks to it)."""
    import re

    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    def fits(value: str) -> bool:
        return len(value) >= min_length and (max_length is None or len(value) <= max_length)

    quick = settings(
        database=None,
        max_examples=200,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    try:
        return find(st.from_regex(re.compile(pattern), fullmatch=False), fits, settings=quick)
    except (NoSuchExample, re.error, ValueError) as exc:
        raise Unsatisfiable(f"no string of length {min_length}..{max_length} matches {pattern!r}") from exc


class Synthesizer:
    """Makes one value for a schema.

    Args:
        root: the schema that `$ref`s resolve against (the converted schema with `x-bundled`).
        rng: None for the deterministic value (first choices, smallest sizes, every optional field);
            a seeded `random.Random` for varied but reproducible values.
        use_examples: take `example`/`examples`/`default` from the schema when present.
    """

    def __init__(
        self,
        root: JsonSchema,
        rng: random.Random | None = None,
        *,
        use_examples: bool = True,
        name_to_uri: dict[str, str] | None = None,
    ):
        self.root = root
        self.rng = rng
        self.use_examples = use_examples
        # bundled name -> original URI ('schema000001' -> '...#/components/schemas/Cat'), for discriminators
        self.name_to_uri = name_to_uri or {}

    def value(self, schema: JsonSchema | None = None) -> Any:
        return self._value(self.root if schema is None else schema, depth=0, variant=0)

    # -- dispatch ---------------------------------------------------------------------------

    def _resolve(self, schema: JsonSchema) -> JsonSchema:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 64:
            ref = schema["$ref"]
            target = resolve_pointer(self.root, ref[1:]) if ref.startswith("#") else {}
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **siblings} if siblings and isinstance(target, dict) else target
            seen += 1
        return schema

    def _value(self, schema: JsonSchema, depth: int, variant: int) -> Any:
        schema = self._resolve(schema)
        if schema is True or schema == {}:
            return "example"
        if schema is False or (isinstance(schema, dict) and schema.get("not") == {}):
            raise Unsatisfiable("the schema admits no value")
        assert isinstance(schema, dict)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            options = schema["enum"]
            if self.rng is not None:
                return self.rng.choice(options)
            return options[variant % len(options)]
        if self.use_examples and variant == 0:
            example = _schema_example(schema)
            if example is not _MISSING and self.rng is None:
                return example
        if "allOf" in schema:
            return self._value(self._merge_all_of(schema), depth, variant)
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                return self._value(self._pick_branch(schema, keyword, depth), depth, variant)
        kind = self._pick_type(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema, variant)
        if kind == "integer":
            return int(self._number(schema, variant, integer=True))
        if kind == "number":
            return self._number(schema, variant, integer=False)
        if kind == "boolean":
            return self.rng.choice([True, False]) if self.rng else variant % 2 == 0
        return None

    def _pick_type(self, schema: dict[str, Any]) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            candidates = [kind for kind in declared if kind != "null"] or ["null"]
            if self.rng is not None and "null" in declared and self.rng.random() < 0.2:
                return "null"
            return str(self.rng.choice(candidates) if self.rng else candidates[0])
        if isinstance(declared, str):
            return declared
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & schema.keys():
            return "number"
        return "string"

    # -- composition ------------------------------------------------------------------------

    def _merge_all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
        for branch in schema["allOf"]:
            branch = self._resolve(branch)
            if not isinstance(branch, dict):
                continue
            if "allOf" in branch:
                branch = self._merge_all_of(branch)
            for key, value in branch.items():
                if key == "properties":
                    properties = merged.setdefault("properties", {})
                    for name, subschema in value.items():
                        properties[name] = (
                            {"allOf": [properties[name], subschema]} if name in properties else subschema
                        )
                elif key == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(value))
                elif key in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum"):
                    merged[key] = max(merged[key], value) if key in merged and _numeric(value) else value
                elif key in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum"):
                    merged[key] = min(merged[key], value) if key in merged and _numeric(value) else value
                else:
                    merged.setdefault(key, value)
        return merged

    def _pick_branch(self, schema: dict[str, Any], keyword: str, depth: int) -> JsonSchema:
        branches = list(schema[keyword])
        base = {key: value for key, value in schema.items() if key not in (keyword, "discriminator")}
        resolved = [self._resolve(branch) for branch in branches]
        non_null = [
            branch for branch, target in zip(branches, resolved, strict=True) if not _is_null_schema(target)
        ]
        if depth >= _MAX_DEPTH:  # deep in a recursive structure: prefer branches that end it
            flat = [b for b, t in zip(branches, resolved, strict=True) if not _is_container_schema(t)]
            non_null = flat or non_null
        candidates = non_null or branches
        if self.rng is not None:
            if len(non_null) < len(branches) and self.rng.random() < 0.2:
                candidates = [b for b in branches if b not in non_null]
            chosen = self.rng.choice(candidates)
        else:
            chosen = candidates[0]
        tag = self._discriminator_tag(schema.get("discriminator"), chosen)
        if tag is not None:
            name = schema["discriminator"]["propertyName"]
            base = {**base, "required": [name], "properties": {name: {"const": tag}}}
        return {"allOf": [base, chosen]} if base else chosen

    def _discriminator_tag(self, discriminator: Any, branch: JsonSchema) -> str | None:
        """The discriminator value naming `branch`: its mapping key, else its component's name."""
        if not isinstance(discriminator, dict) or not isinstance(branch, dict) or "$ref" not in branch:
            return None
        ref = str(branch["$ref"])
        original = self.name_to_uri.get(ref.rsplit("/", 1)[-1], ref).split("#", 1)[-1]
        for key, target in (discriminator.get("mapping") or {}).items():
            if str(target).split("#", 1)[-1] == original or target == ref:
                return str(key)
        return original.rsplit("/", 1)[-1]

    # -- containers -------------------------------------------------------------------------

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        result: dict[str, Any] = {}
        for name, subschema in properties.items():
            optional = name not in required
            if optional:
                if depth >= _MAX_DEPTH or _forbidden(self._resolve(subschema)):
                    continue
                if self.rng is not None and self.rng.random() < 0.4:
                    continue
            try:
                result[name] = self._value(subschema, depth + 1, 0)
            except Unsatisfiable:
                if not optional:
                    raise
        for name in sorted(required - result.keys()):  # required but not described
            extra = schema.get("additionalProperties")
            result[name] = self._value(extra if isinstance(extra, dict) else {}, depth + 1, 0)
        additional = schema.get("additionalProperties")
        wanted = schema.get("minProperties", 0)
        if not properties and isinstance(additional, dict) and additional and depth < _MAX_DEPTH:
            wanted = max(wanted, 1)
        index = 1
        while len(result) < wanted and additional is not False:
            result[f"additionalProp{index}"] = self._value(
                additional if isinstance(additional, dict) else {}, depth + 1, 0
            )
            index += 1
        return result

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")
        if self.rng is not None:
            count = self.rng.randint(low, max(low, min(high if high is not None else low + 3, low + 3)))
        else:
            count = low if depth >= _MAX_DEPTH else max(low, 1)
        if high is not None:
            count = min(count, high)
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", {})
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        values = [self._value(prefix[index], depth + 1, 0) for index in range(min(count, len(prefix)))]
        unique = bool(schema.get("uniqueItems"))
        for index in range(len(values), count):
            try:
                value = self._value(items, depth + 1, index if unique else 0)
            except Unsatisfiable:
                if index >= low:
                    break
                raise
            values.append(value)
        return values

    # -- scalars ----------------------------------------------------------------------------

    def _string(self, schema: dict[str, Any], variant: int) -> str:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        if "pattern" in schema:
            return string_matching(schema["pattern"], low, high)
        fmt = schema.get("format")
        if fmt in _FORMAT_SAMPLES:
            sample = _FORMAT_SAMPLES[fmt]
            if self.rng is not None:
                sample = self._random_format(fmt) or sample
            if variant and fmt in ("uuid",):
                sample = str(uuid.UUID(int=variant))
            return sample
        if self.rng is not None:
            length = self.rng.randint(low, max(low, min(high if high is not None else low + 12, low + 12)))
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
            return "".join(self.rng.choice(alphabet) for _ in range(length)).strip().ljust(length, "x")
        text = "string" if not variant else f"string{variant}"
        if len(text) < low:
            text = text.ljust(low, "x")
        if high is not None:
            text = text[:high]
        return text

    def _random_format(self, fmt: str) -> str | None:
        assert self.rng is not None
        if fmt == "date-time":
            return (
                f"20{self.rng.randint(10, 29)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}T"
                f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}:00Z"
            )
        if fmt == "date":
            return f"20{self.rng.randint(10, 29)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt == "email":
            return f"user{self.rng.randint(1, 9999)}@example.com"
        if fmt in ("uri", "url"):
            return f"https://example.com/{self.rng.randint(1, 9999)}"
        return None

    def _number(self, schema: dict[str, Any], variant: int, *, integer: bool) -> float:
        low, high = _bounds(schema)
        step = schema.get("multipleOf")
        if self.rng is not None:
            lo = low if low is not None else (high - 1000 if high is not None else 0)
            hi = high if high is not None else lo + 1000
            value: float = self.rng.randint(int(_ceil(lo)), int(hi)) if integer else self.rng.uniform(lo, hi)
        elif low is not None:
            value = low
        elif high is not None:
            value = min(0, high)
        else:
            value = 0
        value += variant
        if step:
            value = _ceil(value / step) * step
        if integer:
            value = _ceil(value)
        if high is not None and value > high:
            value = high
        return value


def _schema_example(schema: dict[str, Any]) -> Any:
    if "example" in schema:
        return schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    if "default" in schema:
        return schema["default"]
    return _MISSING


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    """Inclusive bounds, whether exclusivity is the draft-4 boolean or the 2020-12 number."""
    low: float | None = schema.get("minimum")
    high: float | None = schema.get("maximum")
    exclusive_low: Any = schema.get("exclusiveMinimum")
    exclusive_high: Any = schema.get("exclusiveMaximum")
    tick = 1 if schema.get("type") == "integer" else 1e-6
    if exclusive_low is True and low is not None:
        low += tick
    elif _numeric(exclusive_low):
        floor = float(exclusive_low) + tick
        low = max(low, floor) if low is not None else floor
    if exclusive_high is True and high is not None:
        high -= tick
    elif _numeric(exclusive_high):
        ceiling = float(exclusive_high) - tick
        high = min(high, ceiling) if high is not None else ceiling
    return low, high


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ceil(value: float) -> float:
    import math

    return float(math.ceil(value)) if value != int(value) else value


def _is_null_schema(schema: JsonSchema) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _is_container_schema(schema: JsonSchema) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") in ("object", "array") or "properties" in schema or "items" in schema
    )


def _forbidden(schema: JsonSchema) -> bool:
    return schema is False or (isinstance(schema, dict) and schema.get("not") == {})
