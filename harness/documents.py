"""Reading OpenAPI documents from disk: YAML or JSON, optionally gzipped, checked before use.

A document either loads whole or raises a `ContractError` naming the file, the JSON pointer and the
problem, so a server never starts half-loaded.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from harness.errors import ContractError, ContractErrorKind, ContractNotFound

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = {"path", "query", "header", "cookie", "body", "formData"}
_TEMPLATE = re.compile(r"\{([^{}/]+)\}")

try:  # libyaml parses large specs (Stripe: 4 MB) about ten times faster
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Document:
    """A parsed OpenAPI document and where it came from."""

    source: str
    raw: dict[str, Any]
    version: str  # "2.0", "3.0", "3.1"

    @property
    def is_swagger(self) -> bool:
        return self.version == "2.0"


def read_document(path: str | Path) -> Document:
    """Read, parse and check an OpenAPI 2.0/3.0/3.1 document.

    Raises:
        ContractError: the file is missing, unparsable, not OpenAPI, or structurally broken.
    """
    path = Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContractNotFound(source) from None
    except IsADirectoryError:
        raise ContractError(ContractErrorKind.NOT_FOUND, source, "is a directory, not a file") from None
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    # Decoded here so the bytes are gone while the text is parsed: GitHub's spec is 12 MB of bytes,
    # and 50 MB of text (one emoji makes it 4 bytes a character), and the parse is the peak of
    # the mock's memory.
    text = data.decode("utf-8-sig")
    del data
    return parse_document(text, source)


def parse_document(data: bytes | str, source: str) -> Document:
    """Parse document text (JSON or YAML) and check it; `source` names it in errors."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    del data  # the text alone is what the parser needs
    raw = _parse_text(text, source)
    if not isinstance(raw, dict):
        raise ContractError(
            ContractErrorKind.NOT_OPENAPI,
            source,
            f"the document is a {type(raw).__name__}, not a mapping",
            hint="an OpenAPI document starts with `openapi: 3.x.y` (or `swagger: '2.0'`) at the top level",
        )
    version = _detect_version(raw, source)
    check_structure(raw, source)
    check_references(raw, source)
    return Document(source=source, raw=raw, version=version)


def _parse_text(text: str, source: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(
                ContractErrorKind.SYNTAX,
                source,
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from None
    try:
        loaded = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(ContractErrorKind.SYNTAX, source, f"invalid YAML{where}: {problem}") from None
    return _as_json(loaded)


def _as_json(value: Any) -> Any:
    """YAML gives int keys (`200:`), dates and datetimes; JSON Schema and HTTP want strings."""
    if isinstance(value, dict):
        return {str(key): _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _detect_version(raw: dict[str, Any], source: str) -> str:
    if "openapi" in raw:
        declared = str(raw["openapi"])
        match = re.match(r"^3\.([0-2])(\.\d+)?", declared)
        if not match:
            raise ContractError(
                ContractErrorKind.UNSUPPORTED_VERSION,
                source,
                f"unsupported OpenAPI version {declared!r}",
                pointer="/openapi",
                hint="supported: OpenAPI 3.0.x, 3.1.x and Swagger 2.0",
            )
        return "3.0" if match.group(1) == "0" else "3.1"
    if str(raw.get("swagger", "")) == "2.0":
        return "2.0"
    raise ContractError(
        ContractErrorKind.NOT_OPENAPI,
        source,
        "not an OpenAPI document: no top-level `openapi` or `swagger` field",
        hint="an OpenAPI document starts with `openapi: 3.x.y` (or `swagger: '2.0'`)",
    )


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def check_structure(raw: dict[str, Any], source: str) -> None:
    """Check what serving depends on: paths, operations, parameters and responses are well formed."""

    def fail(pointer: str, problem: str, hint: str = "") -> ContractError:
        return ContractError(ContractErrorKind.INVALID, source, problem, pointer=pointer, hint=hint)

    paths = raw.get("paths", {})
    if not isinstance(paths, dict):
        raise fail("/paths", f"`paths` must be a mapping, got {type(paths).__name__}")
    for template, item in paths.items():
        base = f"/paths/{escape_pointer_token(template)}"
        if not template.startswith("/"):
            raise fail(base, f"path {template!r} does not start with '/'")
        if template.count("{") != template.count("}"):
            raise fail(base, f"path {template!r} has unbalanced braces")
        if not isinstance(item, dict):
            raise fail(base, f"a path item must be a mapping, got {type(item).__name__}")
        _check_parameters(item.get("parameters", []), f"{base}/parameters", fail)
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            pointer = f"{base}/{method}"
            if not isinstance(operation, dict):
                raise fail(pointer, f"an operation must be a mapping, got {type(operation).__name__}")
            _check_parameters(operation.get("parameters", []), f"{pointer}/parameters", fail)
            responses = operation.get("responses", {})
            if not isinstance(responses, dict):
                raise fail(f"{pointer}/responses", "`responses` must be a mapping of status codes")
            for status in responses:
                if not re.fullmatch(r"[1-5](\d\d|XX)|default", str(status)):
                    raise fail(
                        f"{pointer}/responses/{status}",
                        f"{status!r} is not a status code",
                        hint="use a code such as 200, a range such as 4XX, or `default`",
                    )


def _check_parameters(parameters: Any, pointer: str, fail: Any) -> None:
    if not isinstance(parameters, list):
        raise fail(pointer, "`parameters` must be a list")
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict):
            raise fail(f"{pointer}/{index}", "a parameter must be a mapping")
        if "$ref" in parameter:
            continue
        if "name" not in parameter or "in" not in parameter:
            raise fail(f"{pointer}/{index}", "a parameter needs both `name` and `in`")
        if parameter["in"] not in PARAMETER_LOCATIONS:
            raise fail(
                f"{pointer}/{index}/in",
                f"unknown parameter location {parameter['in']!r}",
                hint="use one of path, query, header, cookie",
            )


def iter_references(raw: Any) -> Iterator[tuple[str, str]]:
    """Yield (pointer of the referring object, reference) for every `$ref` in the document."""
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield pointer, ref
            for key, value in node.items():
                if isinstance(value, dict | list):
                    stack.append((f"{pointer}/{escape_pointer_token(key)}", value))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((f"{pointer}/{index}", value))


def resolve_pointer(raw: Any, pointer: str) -> Any:
    """Resolve a local JSON pointer (`/components/schemas/Pet`); raises KeyError naming the bad token."""
    node = raw
    if not pointer:
        return node
    for token in pointer.lstrip("/").split("/"):
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(token)
    return node


_CONTAINERS = (dict, list)


def _references(raw: Any) -> set[str]:
    """Every `$ref` string in the document (a walk that builds no pointers: GitHub's spec has 1.6M
    nodes, and `iter_references` spends most of its time naming them)."""
    found: set[str] = set()
    stack = [raw] if isinstance(raw, dict | list) else []
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            push([value for value in node.values() if isinstance(value, _CONTAINERS)])
        else:
            push([value for value in node if isinstance(value, _CONTAINERS)])
    return found


def follow_refs(raw: Any, node: Any, limit: int = 32) -> Any:
    """`node` with local `$ref`s followed to their target (at most `limit` hops, so cycles end)."""
    for _ in range(limit):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            node = resolve_pointer(raw, node["$ref"][1:])
        else:
            break
    return node


def check_references(raw: dict[str, Any], source: str) -> None:
    """Every local `$ref` must resolve; remote ones are refused up front with a fix."""
    try:
        for ref in _references(raw):
            if not ref.startswith("#"):
                break
            resolve_pointer(raw, ref[1:])
        else:
            return  # the usual case; otherwise the walk below names where the first bad one is
    except KeyError:
        pass
    resolved: set[str] = set()
    for pointer, ref in iter_references(raw):
        if ref in resolved:
            continue
        if not ref.startswith("#"):
            raise ContractError(
                ContractErrorKind.BROKEN_REFERENCE,
                source,
                f"external reference {ref!r} is not supported",
                pointer=pointer,
                hint="bundle the document into one file first (e.g. `redocly bundle`)",
            )
        try:
            resolve_pointer(raw, ref[1:])
        except KeyError as exc:
            raise ContractError(
                ContractErrorKind.BROKEN_REFERENCE,
                source,
                f"$ref {ref!r} does not resolve: no {exc.args[0]!r} in the document",
                pointer=pointer,
                hint="fix the reference or add the missing component",
            ) from None
        resolved.add(ref)


def path_template_names(template: str) -> list[str]:
    """The parameter names of a path template, in order: '/repos/{owner}/{repo}' -> ['owner', 'repo']."""
    return _TEMPLATE.findall(template)
