"""Hypothesis strategies for the responses a contract allows, built on schemathesis' generator.

schemathesis has no public API for generating *responses*; its internal `make_positive_strategy`
generates valid values for any converted schema (TECH-NOTES §1.11). It is pinned with schemathesis
and covered by tests, so an upgrade that moves it fails loudly here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.http import Delivery, Headers, MockResponse
from harness.responses import header_text

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from harness.contracts import Operation
    from harness.responses import MediaVariant


@dataclass(frozen=True)
class GeneratedResponse:
    """A response for one operation, shown as the HTTP a client receives (hypothesis prints it)."""

    operation: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    label: str = ""  # "declared" or the fault's name
    delivery: Delivery | None = field(default=None, compare=False)
    # A simulated failure (`{"fault": "unavailable", "retry_after": 5}`): the mock's fault machinery
    # builds it at request time, since some depend on the request (rate-limit counters, resets).
    fault: dict[str, Any] | None = None

    def to_mock_response(self) -> MockResponse:
        source = f"served:{self.label}" if self.label else "served"
        return MockResponse(self.status, Headers(self.headers), self.body, source, self.delivery)

    def __repr__(self) -> str:
        from http import HTTPStatus

        if self.fault is not None:
            options = "; ".join(f"{key}={value}" for key, value in self.fault.items() if key != "fault")
            return f"FAULT {self.fault['fault']}{'; ' + options if options else ''}   <- {self.operation}"

        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        lines = [
            f"HTTP/1.1 {self.status} {reason}".rstrip()
            + f"   <- {self.operation}"
            + (f" [{self.label}]" if self.label and self.label != "declared" else "")
        ]
        lines += [f"{name}: {value}" for name, value in self.headers]
        text = self.body.decode("utf-8", errors="backslashreplace")
        if len(text) > 2000:
            text = text[:2000] + f"… ({len(self.body)} bytes)"
        return "\n".join([*lines, "", text])


def schema_strategy(operation: Operation, schema: Any, media_type: str | None = None) -> SearchStrategy[Any]:
    """Values valid against `schema`, a schema converted by schemathesis for `operation`."""
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.specs.openapi._hypothesis import make_positive_strategy

    st_operation = operation.schemathesis_operation()
    schema_object: Any = operation.contract.schema
    validator_cls = schema_object.adapter.jsonschema_validator_cls
    config = schema_object.config.generation_for(operation=st_operation)
    return make_positive_strategy(
        schema, st_operation.label, ParameterLocation.BODY, media_type, config, validator_cls
    )


def simplest_value(operation: Operation, schema: Any, media_type: str | None = None) -> Any:
    """The smallest value hypothesis finds for the schema (deterministic: shrinking is)."""
    from hypothesis import HealthCheck, Phase, find, settings

    quick = settings(
        database=None,
        max_examples=50,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    return find(schema_strategy(operation, schema, media_type), lambda _: True, settings=quick)


def _concrete_codes(key: str, declared: Sequence[str]) -> list[int]:
    """'200' -> [200]; '4XX' -> 400; 'default' -> codes no other key declares."""
    if key.isdigit():
        return [int(key)]
    if key.endswith("XX"):
        return [int(key[0]) * 100]
    taken = {int(k) for k in declared if k.isdigit()}
    return [code for code in (200, 400, 500) if code not in taken][:2] or [500]


def response_strategy(
    operation: Operation, statuses: Sequence[int | str] | None = None
) -> SearchStrategy[GeneratedResponse]:
    """Every response the contract allows for `operation`: each declared status (or those given),
    each media type, bodies valid against their schema (optional fields absent and present,
    nulls, empty and long arrays, unicode, boundary numbers, enum values, each oneOf branch), and
    declared headers.
    """
    from hypothesis import strategies as st

    from harness.compiled import compiled
    from harness.errors import ConfigurationError

    catalog = compiled(operation).catalog
    declared = catalog.statuses
    wanted = {str(status) for status in statuses} if statuses is not None else None
    options = []
    for key in declared:
        for code in _concrete_codes(key, declared):
            if wanted is not None and str(code) not in wanted and key not in wanted:
                continue
            variant = catalog.variant(key)
            media_options: list[MediaVariant | None] = [*variant.media] or [None]
            for media in media_options:
                options.append(_one_response(operation, code, media, variant.headers))
    if not options:
        raise ConfigurationError(
            f"{operation.name} declares none of the statuses {sorted(wanted or [])}; "
            f"declared: {', '.join(declared)}"
        )
    return st.one_of(options)


def _one_response(
    operation: Operation, code: int, media: MediaVariant | None, headers: dict[str, dict[str, Any]]
) -> SearchStrategy[GeneratedResponse]:
    from hypothesis import strategies as st

    if media is None or media.schema is None:
        body_strategy: SearchStrategy[bytes] = st.just(b"")
    else:
        schema = pin_discriminators(media.schema, media.name_to_uri)
        values = schema_strategy(operation, schema, media.media_type)
        if media.validator is not None:
            values = values.filter(media.validator.is_valid)
        body_strategy = values.map(functools.partial(_serialize_for, media))
    header_parts = [st.just(("Content-Type", media.media_type))] if media is not None else []
    for name, spec in headers.items():
        if name.lower() == "content-type":
            continue
        value = (
            schema_strategy(operation, spec["schema"] or {"type": "string"})
            .map(header_text)
            .filter(_header_safe)
        )
        pair = value.map(functools.partial(_named, name))
        header_parts.append(pair if spec["required"] else st.one_of(st.none(), pair))

    def build(parts: tuple[Any, ...]) -> GeneratedResponse:
        body, *pairs = parts
        return GeneratedResponse(
            operation.name, code, tuple(pair for pair in pairs if pair is not None), body, "declared"
        )

    return st.tuples(body_strategy, *header_parts).map(build)


def pin_discriminators(schema: Any, name_to_uri: dict[str, str]) -> Any:
    """Make each `oneOf`/`anyOf` branch under a discriminator carry its own tag value.

    JSON Schema ignores `discriminator`, so a generator would fill the tag with any string; OpenAPI
    (and schemathesis' ST111 check) require one of the branch's names or mapping keys.
    """
    import copy

    pinned = copy.deepcopy(schema)
    stack = [pinned]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        discriminator = node.get("discriminator")
        if isinstance(discriminator, dict) and "propertyName" in discriminator:
            name = discriminator["propertyName"]
            for keyword in ("oneOf", "anyOf"):
                branches = node.get(keyword)
                if isinstance(branches, list):
                    node[keyword] = [
                        _tagged(branch, name, discriminator.get("mapping") or {}, name_to_uri)
                        for branch in branches
                    ]
        stack.extend(node.values())
    return pinned


def _tagged(branch: Any, name: str, mapping: dict[str, str], name_to_uri: dict[str, str]) -> Any:
    if not isinstance(branch, dict) or not isinstance(branch.get("$ref"), str):
        return branch
    ref = str(branch["$ref"])
    original = name_to_uri.get(ref.rsplit("/", 1)[-1], ref).split("#", 1)[-1]
    tags = [key for key, target in mapping.items() if str(target).split("#", 1)[-1] == original]
    tags.append(original.rsplit("/", 1)[-1])
    return {"allOf": [branch, {"properties": {name: {"enum": tags}}, "required": [name]}]}


# The failures a client meets in the wild: every status fault, each malformed and wrong-schema
# variant, both rate-limit styles, and the connection faults that change what arrives (slow and
# dribble only change when it arrives).
CLIENT_FAULTS: tuple[dict[str, Any], ...] = (
    {"fault": "unauthorized"},
    {"fault": "forbidden"},
    {"fault": "rate_limited", "style": "primary"},
    {"fault": "rate_limited", "style": "primary", "status": 429},
    {"fault": "rate_limited", "style": "secondary", "retry_after": 1},
    {"fault": "unavailable", "retry_after": 1},
    {"fault": "server_error"},
    {"fault": "bad_gateway"},
    {"fault": "gateway_timeout"},
    *(
        {"fault": "malformed_json", "variant": variant}
        for variant in ("truncated", "trailing_garbage", "html", "empty", "invalid_utf8")
    ),
    *({"fault": "wrong_schema", "variant": variant} for variant in ("missing_required", "wrong_type")),
    {"fault": "drop"},
    {"fault": "reset"},
    {"fault": "truncated"},
)


def fault_strategy(operation: Operation) -> SearchStrategy[GeneratedResponse]:
    """The fault catalogue for one operation (shrinks towards the first: 401)."""
    from hypothesis import strategies as st

    return st.sampled_from(
        [
            GeneratedResponse(operation.name, 0, label=spec["fault"], fault=dict(spec))
            for spec in CLIENT_FAULTS
        ]
    )


def _serialize_for(media: MediaVariant, value: Any) -> bytes:
    from harness.responses import serialize

    return serialize(value, media)


def _named(name: str, text: str) -> tuple[str, str]:
    return (name, text)


def _header_safe(text: str) -> bool:
    return text.isascii() and text.isprintable() and text == text.strip()
