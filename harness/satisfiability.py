"""Find response schemas that admit no value at all, so the mock can say so when it loads.

A contract can declare a response nothing can satisfy: `not: {}`, `enum: []`, `minimum: 10` with
`maximum: 5`, a required property whose own schema is empty or that `additionalProperties: false`
forbids, `allOf` branches of different types. The mock cannot serve such a response without
breaking the contract; this module finds them in the document before any request, each with the
operation, status, media type, the JSON pointer of the schema at fault and why.

The analysis is conservative (a schema it reports is certainly empty; `pattern`, `oneOf`
exclusivity and the like are not decided) and cheap: `$ref` targets are analysed once, so the
13 MB GitHub description is checked in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from harness.contracts import Contract, Operation
from harness.documents import resolve_pointer
from harness.errors import ContractError, ContractErrorKind
from harness.parameters import json_type

_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")
_UNKNOWN = object()


@dataclass(frozen=True)
class EmptySchema:
    """A declared response that no value satisfies."""

    contract: str
    operation: str
    status: str
    media_type: str  # '' for a header
    pointer: str  # where in the document the empty schema is: '/components/schemas/Task/properties/id'
    reason: str
    header: str | None = None

    def __str__(self) -> str:
        what = f"header {self.header}" if self.header else self.media_type
        return f"{self.operation} {self.status} {what}: {self.contract}#{self.pointer}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "operation": self.operation,
            "status": self.status,
            "media_type": self.media_type,
            "header": self.header,
            "pointer": self.pointer,
            "reason": self.reason,
        }


def empty_responses(contract: Contract) -> list[EmptySchema]:
    """Every (operation, status, media type or required header) whose schema admits no value."""
    analyser = _Analyser(contract.raw)
    found = []
    for operation in contract.operations:
        for status, media_type, header, pointer in _response_schemas(contract, operation):
            problem = analyser.check(pointer)
            if problem is not None:
                found.append(
                    EmptySchema(
                        contract.source, operation.name, status, media_type, problem[0], problem[1], header
                    )
                )
    return found


def check_responses(contracts: Sequence[Contract], *, strict: bool = False) -> list[EmptySchema]:
    """The empty responses of all `contracts`; with `strict`, a ContractError listing them.

    Raises:
        ContractError: `strict` and at least one declared response admits no value.
    """
    found = [problem for contract in contracts for problem in empty_responses(contract)]
    if strict and found:
        first = found[0]
        listed = "\n  ".join(str(problem) for problem in found)
        raise ContractError(
            ContractErrorKind.INVALID,
            first.contract,
            f"{len(found)} declared response(s) admit no value, so the mock cannot serve them:\n  {listed}",
            pointer=first.pointer,
            hint="fix the schemas, or start without --strict to serve the rest of the contract",
        )
    return found


def explain_no_valid_body(found: Sequence[EmptySchema], operation: str, problem: str) -> str:
    """A request-time message that points back at what the load-time check reported."""
    known = [str(item) for item in found if item.operation == operation]
    if not known:
        return problem
    return f"{problem}; reported when the contract was loaded: {'; '.join(known)}"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _response_schemas(contract: Contract, operation: Operation) -> Iterator[tuple[str, str, str | None, str]]:
    """(status, media type, header, pointer of the schema) for each response schema of `operation`."""
    raw = contract.raw
    base = f"/paths/{_escape(operation.path)}/{operation.method.lower()}/responses"
    for status, response in (operation.definition.get("responses") or {}).items():
        pointer = f"{base}/{_escape(str(status))}"
        pointer, response = _follow(raw, pointer, response)
        if not isinstance(response, dict):
            continue
        if contract.document.is_swagger:
            if "schema" in response:
                produces = operation.definition.get("produces") or raw.get("produces") or ["application/json"]
                yield str(status), str(produces[0]), None, f"{pointer}/schema"
        else:
            for media_type, media in (response.get("content") or {}).items():
                if isinstance(media, dict) and "schema" in media:
                    yield (
                        str(status),
                        str(media_type),
                        None,
                        f"{pointer}/content/{_escape(media_type)}/schema",
                    )
        for name, header in (response.get("headers") or {}).items():
            header_pointer, header = _follow(raw, f"{pointer}/headers/{_escape(name)}", header)
            if isinstance(header, dict) and header.get("required") and "schema" in header:
                yield str(status), "", str(name), f"{header_pointer}/schema"


def _follow(raw: dict[str, Any], pointer: str, node: Any) -> tuple[str, Any]:
    for _ in range(32):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            pointer = node["$ref"][1:]
            node = resolve_pointer(raw, pointer)
        else:
            break
    return pointer, node


class _Analyser:
    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        self._memo: dict[str, tuple[str, str] | object | None] = {}

    def check(self, pointer: str) -> tuple[str, str] | None:
        """(pointer, reason) of the first empty schema at or under `pointer`, or None."""
        try:
            schema = resolve_pointer(self.raw, pointer)
        except Exception:
            return None  # broken references are reported when the document loads
        return self._schema(schema, pointer)

    def _schema(self, schema: Any, pointer: str) -> tuple[str, str] | None:
        if (
            isinstance(schema, dict)
            and isinstance(schema.get("$ref"), str)
            and schema["$ref"].startswith("#")
        ):
            target = schema["$ref"][1:]
            cached = self._memo.get(target, None)
            if target in self._memo:
                return None if cached is _UNKNOWN else cached  # type: ignore[return-value]
            self._memo[target] = _UNKNOWN  # a cycle: assume it can be satisfied
            try:
                resolved = resolve_pointer(self.raw, target)
            except Exception:
                self._memo[target] = None
                return None
            result = self._schema(resolved, target)
            self._memo[target] = result
            return result
        if schema is False:
            return pointer, "the schema `false` admits no value"
        if not isinstance(schema, dict):
            return None
        if "not" in schema and _admits_everything(schema["not"]):
            return f"{pointer}/not", "`not` of a schema that admits everything admits no value"
        types = self._types(schema)
        if types is not None and not types:
            return f"{pointer}/type", "`type: []` admits no value"
        values = schema["enum"] if isinstance(schema.get("enum"), list) else None
        if "const" in schema:
            values = [schema["const"]]
        if values is not None:
            fitting = [value for value in values if types is None or _fits(value, types)]
            if not values:
                return f"{pointer}/enum", "`enum: []` admits no value"
            if not fitting:
                return (
                    f"{pointer}/{'const' if 'const' in schema else 'enum'}",
                    f"no value of {values!r} is of type {_describe(types)}",
                )
        problems = [self._type_problem(schema, kind, pointer) for kind in (types or _TYPES)]
        if all(problem is not None for problem in problems):
            return problems[0]
        for index, branch in enumerate(schema.get("allOf") or []):
            found = self._schema(branch, f"{pointer}/allOf/{index}")
            if found is not None:
                return found
        common = self._all_of_types(schema)
        if common is not None and not common:
            return (
                f"{pointer}/allOf",
                "its branches require different types, so no value satisfies all of them",
            )
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list):
                found_all = [self._schema(b, f"{pointer}/{keyword}/{i}") for i, b in enumerate(branches)]
                if not branches or all(found is not None for found in found_all):
                    return f"{pointer}/{keyword}", f"every branch of {keyword} admits no value"
        return None

    def _types(self, schema: dict[str, Any]) -> set[str] | None:
        declared = schema.get("type")
        if declared is None:
            return None
        kinds = (
            {declared} if isinstance(declared, str) else set(declared) if isinstance(declared, list) else None
        )
        if kinds is None:
            return None
        if schema.get("nullable") is True or schema.get("x-nullable") is True:
            kinds.add("null")
        return kinds

    def _all_of_types(self, schema: dict[str, Any]) -> set[str] | None:
        common = self._types(schema)
        for branch in schema.get("allOf") or []:
            if isinstance(branch, dict) and "$ref" in branch:
                _, branch = _follow(self.raw, "", branch)
            kinds = self._types(branch) if isinstance(branch, dict) else None
            if kinds is not None:
                common = kinds if common is None else common & kinds
        return common

    def _type_problem(self, schema: dict[str, Any], kind: str, pointer: str) -> tuple[str, str] | None:
        if kind in ("number", "integer"):
            return _number_problem(schema, pointer, integer=kind == "integer")
        if kind == "string":
            return _range_problem(schema, pointer, "minLength", "maxLength")
        if kind == "array":
            found = _range_problem(schema, pointer, "minItems", "maxItems")
            if found is None and _number(schema.get("minItems")) and "items" in schema:
                inner = self._schema(schema["items"], f"{pointer}/items")
                if inner is not None:
                    return inner[0], f"at least one item is required but items admit no value: {inner[1]}"
            return found
        if kind == "object":
            return self._object_problem(schema, pointer)
        return None

    def _object_problem(self, schema: dict[str, Any], pointer: str) -> tuple[str, str] | None:
        found = _range_problem(schema, pointer, "minProperties", "maxProperties")
        if found is not None:
            return found
        required = [name for name in schema.get("required") or [] if isinstance(name, str)]
        properties = schema.get("properties") or {}
        maximum = _number(schema.get("maxProperties"))
        if maximum is not None and len(set(required)) > maximum:
            return (
                f"{pointer}/required",
                f"{len(set(required))} required properties but maxProperties is {maximum:g}",
            )
        extra = schema.get("additionalProperties", True)
        for name in required:
            prop = properties.get(name) if isinstance(properties, dict) else None
            if prop is None:
                if (extra is False or _admits_nothing(extra)) and not schema.get("patternProperties"):
                    return (
                        f"{pointer}/required",
                        f"required property {name!r} is forbidden by additionalProperties",
                    )
                continue
            if isinstance(prop, dict) and prop.get("writeOnly") is True:
                continue  # not part of responses: dropped from `required` there
            inner = self._schema(prop, f"{pointer}/properties/{_escape(name)}")
            if inner is not None:
                return inner[0], f"required property {name!r} admits no value: {inner[1]}"
        return None


def _number_problem(schema: dict[str, Any], pointer: str, *, integer: bool) -> tuple[str, str] | None:
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    low_open = high_open = False
    exclusive_min, exclusive_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if exclusive_min is True:  # OpenAPI 3.0 / Swagger: a flag on minimum
        low_open = True
    elif (bound := _number(exclusive_min)) is not None and (low is None or bound >= low):  # 3.1: a number
        low, low_open = bound, True
    if exclusive_max is True:
        high_open = True
    elif (bound := _number(exclusive_max)) is not None and (high is None or bound <= high):
        high, high_open = bound, True
    if low is None or high is None:
        return None
    if low > high or (low == high and (low_open or high_open)):
        return pointer, f"no number lies between minimum {low:g} and maximum {high:g}" + (
            " (exclusive)" if low_open or high_open else ""
        )
    if integer:
        first = math.floor(low) + 1 if low_open else math.ceil(low)
        last = math.ceil(high) - 1 if high_open else math.floor(high)
        if first > last:
            return pointer, f"no integer lies between minimum {low:g} and maximum {high:g}"
    return None


def _range_problem(
    schema: dict[str, Any], pointer: str, low_key: str, high_key: str
) -> tuple[str, str] | None:
    low, high = _number(schema.get(low_key)), _number(schema.get(high_key))
    if low is not None and high is not None and low > high:
        return pointer, f"{low_key} {low:g} is greater than {high_key} {high:g}"
    return None


def _admits_everything(schema: Any) -> bool:
    return schema is True or (
        isinstance(schema, dict)
        and not {k for k in schema if not k.startswith("x-")}
        - {
            "description",
            "title",
            "example",
            "examples",
            "default",
        }
    )


def _admits_nothing(schema: Any) -> bool:
    return schema is False or (
        isinstance(schema, dict) and "not" in schema and _admits_everything(schema["not"])
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _fits(value: Any, types: set[str]) -> bool:
    kind = json_type(value)
    if kind == "integer":
        return bool(types & {"integer", "number"})
    if kind == "number" and "integer" in types:
        return float(value).is_integer()
    return kind in types


def _describe(types: set[str] | None) -> str:
    return " or ".join(sorted(types or ()))
