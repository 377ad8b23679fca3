"""Drift: how recorded or live traffic departs from the contract.

Two entry points share one notion of "a response keeps its operation's contract" (declared
status, declared `Content-Type`, a body valid against the schema: `ResponseCatalog.check`):

- `DriftDetector` checks one response; the recorder runs it on every live response as it records,
  so a user learns that the real API changed while recording, not when the mock later differs.
- `check_drift` audits cassettes (`harness drift`). Each interaction is matched to an operation
  (the recorded origin dropped, the contract's base path kept) and checked the way the mock checks
  traffic: the request's parameters and body (not its credentials: cassettes have them scrubbed),
  then the response as above plus its declared headers, the body decoded first when it was
  stored compressed. Every finding names the cassette, the interaction's index, the operation,
  where the offending value is (a part such as `response.body` and a JSON pointer such as
  `/items/0/price`) and the rule it breaks. A cassette that cannot be read is a finding, never a
  crash.

Scope of `check_drift`: only requests to the contract's own hosts (its `servers` / `host`);
recordings often include other services (an OAuth host, a CDN). A request to an in-scope host that
matches no operation (say, GitHub's GraphQL endpoint against the REST contract) is a finding. A
contract without absolute server URLs puts every host in scope; `hosts=` sets the scope explicitly.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.cassettes import CassetteError, Interaction, iter_cassette_files, load_cassette
from harness.compiled import compiled
from harness.contracts import Contract, ContractSet, Operation, load_contract
from harness.http import Headers, HttpRequest
from harness.junit import JunitCase, write_junit
from harness.parameters import SchemaView
from harness.responses import StatusVariant
from harness.routing import RouteMatch
from harness.validation import Violation, excerpt

_INDEX = re.compile(r"/\d+(?=/|$)")


@dataclass(frozen=True)
class DriftFinding:
    """One way a recorded interaction breaks the contract."""

    cassette: str
    index: int | None  # None when the cassette itself cannot be read
    operation: str | None  # operationId, else 'METHOD /template'
    request: str  # 'GET https://api.github.com/user'
    # cassette, request, request.query, request.body, response.status, response.headers, response.body
    part: str
    pointer: str  # JSON pointer inside the part: '/items/0/price'; '' for the part as a whole
    rule: str  # JSON Schema keyword ('required', 'type', 'enum') or a harness rule ('status', 'operation')
    message: str
    value: str | None = None  # an excerpt of the offending value
    # The same rule broken at the same place in this many other items of the same array(s):
    # '/0/commit/verified_at' stands for '/*/commit/verified_at' (see `pattern`).
    repeats: int = 0

    @property
    def location(self) -> str:
        return f"{self.part}{self.pointer}" if self.pointer else self.part

    @property
    def pattern(self) -> str:
        """The pointer with array indexes as '*': where the repeats are."""
        return _INDEX.sub("/*", self.pointer)

    def __str__(self) -> str:
        where = f"{self.cassette}#{self.index}" if self.index is not None else self.cassette
        operation = f" {self.operation}" if self.operation else ""
        more = f" (and {self.repeats} more at {self.part}{self.pattern})" if self.repeats else ""
        return f"{where}{operation}: {self.location}: {self.message} [{self.rule}]{more}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "cassette": self.cassette,
            "index": self.index,
            "operation": self.operation,
            "request": self.request,
            "part": self.part,
            "pointer": self.pointer,
            "rule": self.rule,
            "message": self.message,
            "value": self.value,
            "repeats": self.repeats,
        }


@dataclass
class CheckedInteraction:
    cassette: str
    index: int
    request: str
    operation: Operation | None
    status: int
    findings: list[DriftFinding]


@dataclass
class DriftReport:
    contract: str
    cassettes: list[str] = field(default_factory=list)
    interactions: list[CheckedInteraction] = field(default_factory=list)
    unreadable: list[DriftFinding] = field(default_factory=list)
    out_of_scope: list[tuple[str, int, str]] = field(default_factory=list)  # (cassette, index, host)

    @property
    def findings(self) -> list[DriftFinding]:
        return [*self.unreadable, *(f for checked in self.interactions for f in checked.findings)]

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0

    def observed(self) -> list[tuple[Operation, int]]:
        """(operation, status) of every in-scope interaction that matched an operation."""
        return [(c.operation, c.status) for c in self.interactions if c.operation is not None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "harness-drift",
            "contract": self.contract,
            "cassettes": self.cassettes,
            "interactions_checked": len(self.interactions),
            "out_of_scope": [
                {"cassette": cassette, "index": index, "host": host}
                for cassette, index, host in self.out_of_scope
            ],
            "exit_code": self.exit_code,
            "findings": [finding.as_dict() for finding in self.findings],
        }

    def write_json(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def write_junit(self, path: str | Path) -> None:
        """A test case per interaction (and per unreadable cassette), failing with its findings."""
        cases = [
            JunitCase(finding.cassette, "(cassette)", [(finding.message, str(finding))])
            for finding in self.unreadable
        ]
        for checked in self.interactions:
            name = f"#{checked.index} {checked.request}"
            failures = [(f"{f.location}: {f.message} [{f.rule}]", str(f)) for f in checked.findings]
            cases.append(JunitCase(checked.cassette, name, failures))
        write_junit(path, f"drift {self.contract}", cases)


@dataclass(frozen=True)
class Drift:
    """One difference between a response and its operation's contract."""

    method: str
    path: str
    operation: str | None  # None when no operation of the contract matches the request
    status: int
    violation: Violation

    @property
    def pointer(self) -> str:
        """Where, as a JSON pointer into the body ('/items/0/id'), or the part ('status', 'header/...')."""
        location = self.violation.location
        if location == "body":
            return "body#"
        if location.startswith("body/"):
            return "body#/" + location[len("body/") :]
        return location

    def __str__(self) -> str:
        where = self.operation or "no operation"
        value = f" (got {self.violation.value})" if self.violation.value is not None else ""
        return (
            f"{self.method} {self.path} [{where}] -> {self.status}: {self.pointer}: "
            f"{self.violation.message} [{self.violation.rule}]{value}"
        )


class DriftDetector:
    """Checks responses against contracts; compiles each operation's responses once."""

    def __init__(self, contracts: ContractSet | Sequence[Contract | str | Path]):
        if not isinstance(contracts, ContractSet):
            contracts = ContractSet(
                [item if isinstance(item, Contract) else load_contract(item) for item in contracts]
            )
        self.contracts = contracts

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> list[Drift]:
        """Every drift of one response; `path` is the request's path (with any base path)."""
        matched = self.contracts.match(method.upper(), path)
        if not isinstance(matched, RouteMatch):
            reason = "wrong method" if matched.is_wrong_method else "unknown path"
            violation = Violation("request", "operation", f"no operation of the contract matches ({reason})")
            return [Drift(method, path, None, status, violation)]
        operation = matched.target
        return [
            Drift(method, path, operation.name, status, violation)
            for violation in compiled(operation).catalog.check(status, content_type, body)
        ]


def contract_hosts(contract: Contract) -> set[str]:
    """Hostnames of the contract's absolute server URLs (document, path and operation level)."""
    raw = contract.raw
    if contract.document.is_swagger:
        host = str(raw.get("host") or "")
        return {host.split(":")[0].lower()} if host else set()
    servers: list[Any] = list(raw.get("servers") or [])
    for path_item in (raw.get("paths") or {}).values():
        if not isinstance(path_item, dict):
            continue
        servers += path_item.get("servers") or []
        servers += [s for op in path_item.values() if isinstance(op, dict) for s in op.get("servers") or []]
    hosts = set()
    for server in servers:
        url = str(server.get("url", "")) if isinstance(server, dict) else ""
        for name, variable in ((server.get("variables") or {}) if isinstance(server, dict) else {}).items():
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
        hostname = urlsplit(url).hostname if "://" in url else None
        if hostname:
            hosts.add(hostname.lower())
    return hosts


def check_drift(
    contract: str | Path | Contract,
    cassettes: Iterable[str | Path],
    *,
    hosts: Sequence[str] | None = None,
) -> DriftReport:
    """Check every interaction of the cassettes (files, or folders searched recursively).

    Args:
        contract: the OpenAPI document, or a loaded `Contract`.
        cassettes: vcrpy cassette files or folders of them.
        hosts: the hosts whose requests are checked; by default the contract's server hosts
            (every host when the contract names none).

    Raises:
        ContractError: the contract cannot be loaded.
    """
    loaded = contract if isinstance(contract, Contract) else load_contract(contract)
    routes = ContractSet([loaded])
    scope = {host.lower() for host in hosts} if hosts is not None else contract_hosts(loaded)
    report = DriftReport(loaded.source)
    for path in iter_cassette_files(cassettes):
        name = str(path)
        report.cassettes.append(name)
        try:
            cassette = load_cassette(path)
        except CassetteError as exc:
            report.unreadable.append(
                DriftFinding(name, None, None, "", "cassette", "", "parse", _one_line(exc.problem))
            )
            continue
        for interaction in cassette.interactions:
            uri = str(interaction.request.uri)
            host = (urlsplit(uri).hostname or "").lower()
            if scope and host not in scope:
                report.out_of_scope.append((name, interaction.index, host))
                continue
            report.interactions.append(_check(name, interaction, routes))
    return report


def _check(cassette: str, interaction: Interaction, routes: ContractSet) -> CheckedInteraction:
    request = interaction.request
    method = str(request.method).upper()
    parts = urlsplit(str(request.uri))
    described = f"{method} {request.uri}"
    matched = routes.match(method, parts.path or "/")
    if not isinstance(matched, RouteMatch):
        allowed = getattr(matched, "allowed", ())
        message = (
            f"{method} is not declared for {parts.path}; declared: {', '.join(allowed)}"
            if getattr(matched, "is_wrong_method", False)
            else f"no operation of the contract matches {method} {parts.path}"
        )
        finding = DriftFinding(
            cassette, interaction.index, None, described, "request", "", "operation", message
        )
        return CheckedInteraction(cassette, interaction.index, described, None, interaction.status, [finding])
    operation = matched.target
    found = list(_request_findings(operation, request, parts.path, parts.query, matched.path_parameters))
    found += list(_response_findings(operation, interaction))
    # One finding per rule and place: a field missing from each of 100 list items is one problem.
    grouped: dict[tuple[str, str, str], DriftFinding] = {}
    for part, pointer, rule, message, value in found:
        key = (part, _INDEX.sub("/*", pointer), rule)
        first = grouped.get(key)
        if first is None:
            grouped[key] = DriftFinding(
                cassette, interaction.index, operation.name, described, part, pointer, rule, message, value
            )
        else:
            grouped[key] = replace(first, repeats=first.repeats + 1)
    findings = list(grouped.values())
    return CheckedInteraction(cassette, interaction.index, described, operation, interaction.status, findings)


_Problem = tuple[str, str, str, str, "str | None"]  # part, pointer, rule, message, value

_PARTS = {
    "query": "request.query",
    "path": "request.path",
    "header": "request.headers",
    "cookie": "request.cookies",
}


def _request_findings(
    operation: Operation, request: Any, path: str, query: str, path_parameters: dict[str, str]
) -> Iterator[_Problem]:
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    incoming = HttpRequest(
        method=str(request.method).upper(),
        path=path,
        query_string=query,
        headers=Headers([(str(k), str(v)) for k, v in dict(request.headers or {}).items()]),
        body=bytes(body or b""),
    )
    result = compiled(operation).validator.validate(incoming, path_parameters)
    for violation in result.violations:
        kind, _, rest = violation.location.partition("/")
        if kind == "body" or violation.location == "body":
            part, pointer = "request.body", "/" + rest if rest else ""
        elif violation.location == "header/Content-Type":
            part, pointer = "request.headers", "/Content-Type"
        else:
            part, pointer = _PARTS.get(kind, "request"), "/" + _escape(rest) if rest else ""
        yield part, pointer, violation.rule, violation.message, violation.value


def _response_findings(operation: Operation, interaction: Interaction) -> Iterator[_Problem]:
    catalog = compiled(operation).catalog
    headers = Headers(
        [(name, str(value)) for name, values in interaction.response["headers"].items() for value in values]
    )
    body = _decoded(interaction.body, headers.get("Content-Encoding"))
    key = next(
        (
            k
            for k in (str(interaction.status), f"{str(interaction.status)[0]}XX", "default")
            if k in catalog.statuses
        ),
        None,
    )
    if key is not None:
        yield from _header_findings(operation, catalog.variant(key), headers)
    for violation in catalog.check(interaction.status, headers.get("Content-Type") or "", body):
        yield _response_problem(violation)


def _response_problem(violation: Violation) -> _Problem:
    location = violation.location
    if location == "status":
        return "response.status", "", violation.rule, violation.message, violation.value
    if location.startswith("header/"):
        return (
            "response.headers",
            "/" + _escape(location[len("header/") :]),
            violation.rule,
            violation.message,
            (violation.value),
        )
    pointer = location[len("body") :]  # '' or '/items/0/price'
    return "response.body", pointer, violation.rule, violation.message, violation.value


def _header_findings(operation: Operation, variant: StatusVariant, headers: Headers) -> Iterator[_Problem]:
    for name, spec in variant.headers.items():
        if name.lower() == "content-type":
            continue
        pointer = "/" + _escape(name)
        raw = headers.get(name)
        if raw is None:
            if spec.get("required"):
                yield "response.headers", pointer, "required", f"required header {name} is missing", None
            continue
        schema = spec.get("schema")
        if not schema:
            continue
        validator = _header_validator(operation, schema)
        value = SchemaView(schema).coerce(raw, schema)
        for part, where, rule, message, excerpt_value in _schema_problems(
            validator, value, "response.headers"
        ):
            yield part, pointer + where, rule, message, excerpt_value


_HEADER_VALIDATORS: dict[int, Any] = {}


def _header_validator(operation: Operation, schema: Any) -> Any:
    key = id(schema)
    if key not in _HEADER_VALIDATORS:
        validator_cls = operation.contract.schema.adapter.jsonschema_validator_cls  # type: ignore[attr-defined]
        _HEADER_VALIDATORS[key] = validator_cls(schema)
    return _HEADER_VALIDATORS[key]


def _schema_problems(validator: Any, value: Any, part: str) -> Iterator[_Problem]:
    if validator.is_valid(value):
        return
    for error in validator.iter_errors(value):
        schema_path = [step for step in error.schema_path if isinstance(step, str)]
        rule = schema_path[-1] if schema_path else "schema"
        pointer = "".join("/" + _escape(str(step)) for step in error.instance_path)
        missing = getattr(error.kind, "property", None) if rule == "required" else None
        if missing is not None:  # point at the missing field itself, not at its parent object
            yield part, f"{pointer}/{_escape(str(missing))}", rule, error.message, None
        else:
            yield part, pointer, rule, error.message, excerpt(error.instance)


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """The body as the server meant it. Clients record either the raw compressed bytes (urllib,
    httpx with `!!binary`) or the decoded text while keeping `Content-Encoding`; accept both."""
    encoding = (encoding or "").lower().strip()
    try:
        if body[:2] == b"\x1f\x8b":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "br":
            try:
                import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]
            except ImportError:
                return body
            return bytes(brotli.decompress(body))
    except (OSError, zlib.error, EOFError, ValueError):
        return body
    except Exception:  # brotli.error, whose class lives in an optional module
        return body
    return body


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _one_line(text: str) -> str:
    return " ".join(text.split())
