"""A loaded contract: its operations, where they are mounted, and their schemas.

Loading is cheap and eager where errors must surface (the document and every operation's shape);
per-operation work (schema conversion, validators, example selection) happens on first use and is
cached, so GitHub's 1223 operations are ready to answer in about a second.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.documents import HTTP_METHODS, Document, read_document
from harness.errors import ContractError, ContractErrorKind
from harness.routing import DuplicateRoute, RouteMatch, RouteMiss, Router

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation, BaseSchema


@dataclass(eq=False)
class Operation:
    """One (method, path) of a contract."""

    contract: Contract = field(repr=False)
    method: str
    path: str
    definition: dict[str, Any] = field(repr=False)
    path_item: dict[str, Any] = field(repr=False)
    base_path: str
    _compiled: Any = field(default=None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def operation_id(self) -> str | None:
        value = self.definition.get("operationId")
        return str(value) if value is not None else None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def name(self) -> str:
        """How journals and messages name it: the operationId, else the label."""
        return self.operation_id or self.label

    @property
    def mounted_path(self) -> str:
        return self.contract.mount_of(self) + self.path

    @property
    def declared_statuses(self) -> list[str]:
        return [str(status) for status in self.definition.get("responses", {})]

    @property
    def security(self) -> list[dict[str, list[str]]]:
        """Alternative requirement sets (any one suffices); [] or [{}] means no credentials needed."""
        requirements = self.definition.get("security", self.contract.raw.get("security", []))
        return list(requirements or [])

    @property
    def tags(self) -> list[str]:
        return list(self.definition.get("tags", []))

    def schemathesis_operation(self) -> APIOperation[Any, Any, Any, Any]:
        return self.contract.schemathesis_operation(self)

    def memoized(self, key: str, factory: Callable[[Operation], Any]) -> Any:
        """A value derived from the operation's (unchanging) definition, computed on first use.

        Cheap, pure derivations only (two threads may both compute it; either result is kept):
        what the request hot path would otherwise rebuild for every request.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = factory(self)
            return value

    def compiled(self, factory: Callable[[Operation], Any]) -> Any:
        """The per-operation compiled form, built once by `factory` (thread-safe)."""
        if self._compiled is None:
            with self.contract.lock:
                if self._compiled is None:
                    self._compiled = factory(self)
        return self._compiled


class Contract:
    """An OpenAPI document ready to serve, with its operations mounted under a base path."""

    def __init__(self, document: Document, *, mount: str | None = None, name: str | None = None):
        self.document = document
        self.name = name or Path(document.source).name.split(".")[0]
        self.mount = normalize_prefix(mount) if mount is not None else None
        self.lock = threading.RLock()
        self._schema: BaseSchema | None = None
        self.operations: list[Operation] = list(self._collect_operations())

    @property
    def raw(self) -> dict[str, Any]:
        return self.document.raw

    @property
    def source(self) -> str:
        return self.document.source

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def security_schemes(self) -> dict[str, Any]:
        if self.document.is_swagger:
            return dict(self.raw.get("securityDefinitions", {}))
        return dict(self.raw.get("components", {}).get("securitySchemes", {}))

    @property
    def base_path(self) -> str:
        """The document-wide base path from `servers` (3.x) or `basePath` (2.0)."""
        if self.document.is_swagger:
            return normalize_prefix(self.raw.get("basePath", ""))
        return server_base_path(self.raw.get("servers"))

    def mount_of(self, operation: Operation) -> str:
        return self.mount if self.mount is not None else operation.base_path

    def _collect_operations(self) -> Iterable[Operation]:
        document_base = self.base_path
        for template, path_item in self.raw.get("paths", {}).items():
            for method in HTTP_METHODS:
                definition = path_item.get(method)
                if definition is None:
                    continue
                servers = definition.get("servers") or path_item.get("servers")
                base = (
                    server_base_path(servers) if servers and not self.document.is_swagger else document_base
                )
                yield Operation(self, method.upper(), template, definition, path_item, base)

    def find_operation(self, key: str) -> Operation | None:
        """By operationId, or by label ('GET /tasks/{id}/')."""
        for operation in self.operations:
            if key in (operation.operation_id, operation.label):
                return operation
        return None

    # -- schemathesis, for schema conversion --------------------------------------------------

    @property
    def schema(self) -> BaseSchema:
        """The schemathesis view of the document, built on first use."""
        if self._schema is None:
            with self.lock:
                if self._schema is None:
                    import schemathesis

                    try:
                        schema = schemathesis.openapi.from_dict(self.raw)
                    except Exception as exc:
                        raise ContractError(
                            ContractErrorKind.INVALID, self.source, f"schemathesis cannot load it: {exc}"
                        ) from exc
                    _defer_registry(schema)
                    self._schema = schema
        return self._schema

    def schemathesis_operation(self, operation: Operation) -> APIOperation[Any, Any, Any, Any]:
        return self.schema[operation.path][operation.method]


class _DeferredRegistry:
    """Stands in for the `jsonschema_rs.Resolver` over the whole document that schemathesis builds
    the first time it resolves a reference (`BaseOpenAPISchema.root_resolver`).

    schemathesis resolves local references by walking the document itself and asks the Rust
    registry only when that walk fails (a percent-encoded pointer, a relative `$id`). Building the
    registry copies the whole document into Rust: +69 MiB and 50 ms on GitHub's spec, for nothing
    in the usual case. This builds it on the first such lookup instead, so behaviour is unchanged.
    """

    def __init__(self, raw: dict[str, Any], base_uri: str):
        self._raw = raw
        self.base_uri = base_uri
        self._real: Any = None
        self._lock = threading.Lock()

    @property
    def real(self) -> Any:
        with self._lock:
            if self._real is None:
                from schemathesis.core.jsonschema.resolver import build_registry

                self._real = build_registry(self._raw).resolver(self.base_uri)
            return self._real

    def lookup(self, reference: str) -> Any:
        return self.real.lookup(reference)

    def __getattr__(self, name: str) -> Any:  # anything else schemathesis may ask of a resolver
        return getattr(self.real, name)


def _defer_registry(schema: BaseSchema) -> None:
    """Give `schema` a root resolver whose registry is built only if a lookup needs it."""
    try:
        from schemathesis.core.jsonschema.resolver import IN_MEMORY_BASE_URI, Resolver
    except ImportError:  # another schemathesis: keep its own resolver
        return
    if getattr(schema, "location", None) is not None or "root_resolver" in vars(schema):
        return  # loaded from a URL or a file: relative references need the real registry
    raw = schema.raw_schema
    vars(schema)["root_resolver"] = Resolver(_DeferredRegistry(raw, IN_MEMORY_BASE_URI), raw)  # type: ignore[arg-type]


def server_base_path(servers: Sequence[dict[str, Any]] | None) -> str:
    """The path part of the first server URL, with variables at their defaults: '/api/v3'."""
    if not servers:
        return ""
    server = servers[0]
    url = str(server.get("url", ""))
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    return normalize_prefix(urlsplit(url).path if "://" in url else url)


def normalize_prefix(prefix: str) -> str:
    """'' for the root, else '/a/b' with no trailing slash."""
    prefix = re.sub(r"\{[^{}]*\}", "", prefix or "").strip().rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    return prefix


def load_contract(path: str | Path, *, mount: str | None = None) -> Contract:
    """Read an OpenAPI document and prepare it for serving.

    Raises:
        ContractError: the file is missing, not OpenAPI, or broken; the message names where.
    """
    return Contract(read_document(path), mount=mount)


class ContractSet:
    """Several contracts behind one router: each operation at its mount prefix plus its path."""

    def __init__(self, contracts: Sequence[Contract]):
        self.contracts = list(contracts)
        self.router: Router[Operation] = Router()
        for contract in self.contracts:
            for operation in contract.operations:
                try:
                    self.router.add(operation.method, operation.mounted_path, operation)
                except DuplicateRoute as clash:
                    raise ContractError(
                        ContractErrorKind.CONFLICT,
                        contract.source,
                        f"{operation.method} {operation.mounted_path} is already served "
                        f"(as {clash.method} {clash.existing})",
                        pointer=f"/paths/{operation.path.replace('~', '~0').replace('/', '~1')}",
                        hint="mount one of the contracts under its own prefix with --mount",
                    ) from None

    @property
    def operations(self) -> list[Operation]:
        return [operation for contract in self.contracts for operation in contract.operations]

    def match(self, method: str, path: str) -> RouteMatch[Operation] | RouteMiss:
        return self.router.match(method, path)

    def find_operation(self, key: str) -> Operation | None:
        for contract in self.contracts:
            found = contract.find_operation(key)
            if found is not None:
                return found
        return None
