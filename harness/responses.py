"""Choose and build the response an operation gives, from the contract alone.

Order of choice, as in Prism: an explicit `Prefer` header (`code=404`, `example=name`,
`dynamic=true`); the contract's examples; a body generated from the schema (deterministic, or
random but reproducible with a seed). Content negotiation follows `Accept`. Every body is
checked against its schema before it is used, so the mock never contradicts its own contract.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from harness.documents import follow_refs
from harness.http import Headers, MockResponse
from harness.synthesis import Synthesizer, Unsatisfiable
from harness.validation import (
    Violation,
    excerpt,
    is_json_media_type,
    media_type_matches,
    schema_violations,
)

if TYPE_CHECKING:
    from harness.contracts import Operation


class ResponseChoiceError(ValueError):
    """The request asked for a response the contract does not have (a 4xx for the caller)."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any):
        self.status, self.title, self.detail, self.extra = status, title, detail, extra
        super().__init__(detail)


class NoValidBody(RuntimeError):
    """The contract's schema admits no value the mock can build."""


@dataclass(frozen=True)
class Preference:
    """Prism's `Prefer` header: `Prefer: code=404, example=not-found, dynamic=true`."""

    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None

    @classmethod
    def parse(cls, header: str | None) -> Preference:
        if not header:
            return _NO_PREFERENCE
        values: dict[str, str] = {}
        for part in header.replace(";", ",").split(","):
            key, _, value = part.strip().partition("=")
            if key:
                values[key.strip().lower()] = value.strip().strip('"')
        code = values.get("code")
        if code is not None and not (code.isdigit() and 100 <= int(code) <= 599):
            raise ResponseChoiceError(
                400, "Invalid Prefer header", f"Prefer: code={code} is not an HTTP status code (100-599)"
            )
        dynamic = values.get("dynamic")
        return cls(
            code=int(code) if code is not None else None,
            example=values.get("example") or None,
            dynamic=None if dynamic is None else dynamic.lower() in ("true", "1", "yes"),
        )


_NO_PREFERENCE = Preference()


@dataclass
class MediaVariant:
    media_type: str
    schema: Any  # converted JSON Schema, or None when the contract gives none
    validator: Any
    name_to_uri: dict[str, str] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)  # valid, named examples in contract order
    invalid_examples: dict[str, list[Violation]] = field(default_factory=dict)


@dataclass
class StatusVariant:
    key: str  # as declared: "200", "2XX", "default"
    media: list[MediaVariant]
    headers: dict[str, dict[str, Any]]  # name -> {"schema": converted, "required": bool, "example": ...}


class ResponseCatalog:
    """Everything one operation can answer, compiled once and cached."""

    def __init__(self, operation: Operation):
        self.operation = operation
        self._statuses: dict[str, StatusVariant] = {}
        self._cache: dict[tuple[Any, ...], tuple[int, list[tuple[str, str]], bytes, str]] = {}
        self._lock = threading.Lock()
        self._default_status: str | None = None
        self._any_media: dict[str, MediaVariant | None] = {}  # status key -> what `Accept: */*` gets
        st_operation = operation.schemathesis_operation()
        raw_responses = operation.definition.get("responses", {})
        for key, st_response in st_operation.responses.items():
            raw = follow_refs(operation.contract.raw, raw_responses.get(key, {}))
            self._statuses[str(key)] = StatusVariant(
                key=str(key),
                media=list(self._media_variants(st_response, raw)),
                headers={
                    name: {
                        "schema": header.schema,
                        "required": header.is_required,
                        "example": _header_example(operation.contract.raw, raw, name),
                    }
                    for name, header in st_response.headers.items()
                },
            )

    def _media_variants(self, st_response: Any, raw: dict[str, Any]) -> Iterator[MediaVariant]:
        contract = self.operation.contract
        if contract.document.is_swagger:
            produces = (
                self.operation.definition.get("produces")
                or contract.raw.get("produces")
                or ["application/json"]
            )
            # Swagger 2.0 declares media types per operation, not per response; schemathesis expects
            # the header on every response of such an operation, even an empty 204.
            media_types = produces
            raw_examples = {mt: {"default": value} for mt, value in (raw.get("examples") or {}).items()}
        else:
            content = raw.get("content") or {}
            media_types = list(content)
            raw_examples = {mt: _named_examples(contract.raw, content[mt]) for mt in media_types}
        for media_type in media_types:
            try:
                resolved = st_response.get_schema(media_type)
                schema, names = resolved.schema, dict(resolved.name_to_uri or {})
                validator = (
                    st_response.get_validator(resolved.media_type, schema) if schema is not None else None
                )
            except Exception:  # a schema schemathesis cannot convert: serve its examples unchecked
                schema, validator, names = None, None, {}
            variant = MediaVariant(media_type, schema, validator, names)
            examples = raw_examples.get(media_type) or (
                next(iter(raw_examples.values()), {}) if contract.document.is_swagger else {}
            )
            for name, value in examples.items():
                problems = schema_violations(validator, value, "body") if validator is not None else []
                if problems:
                    variant.invalid_examples[name] = problems
                else:
                    variant.examples[name] = value
            yield variant

    # -- choosing --------------------------------------------------------------------------

    @property
    def statuses(self) -> list[str]:
        return list(self._statuses)

    def variant(self, status: str) -> StatusVariant:
        """The declared response for a status key as written in the contract ('200', '4XX', 'default')."""
        return self._statuses[status]

    def default_status(self) -> str:
        """The lowest declared 2xx (then 2XX, 3xx, `default`), as Prism picks it."""
        if self._default_status is None:
            self._default_status = self._lowest_status()
        return self._default_status

    def _lowest_status(self) -> str:
        keys = list(self._statuses)
        for prefix in ("2", "3"):
            exact = sorted(key for key in keys if key.startswith(prefix) and key.isdigit())
            if exact:
                return exact[0]
            if f"{prefix}XX" in keys:
                return f"{prefix}XX"
        if "default" in keys:
            return "default"
        if not keys:
            raise NoValidBody(f"{self.operation.name} declares no responses")
        return sorted(keys)[0]

    def _status_for_code(self, code: int) -> str | None:
        for key in (str(code), f"{str(code)[0]}XX", "default"):
            if key in self._statuses:
                return key
        return None

    def respond(
        self,
        *,
        preference: Preference = Preference(),
        accept: str | None = None,
        rng: random.Random | None = None,
        status: int | None = None,
    ) -> MockResponse:
        """Build the response; `rng` set means dynamic (random, reproducible) generation."""
        wanted = preference.code if preference.code is not None else status
        if wanted is not None:
            key = self._status_for_code(wanted)
            if key is None:
                raise ResponseChoiceError(
                    422 if preference.code is None else 400,
                    "Status not declared",
                    f"{self.operation.name} declares no {wanted} response; declared: "
                    f"{', '.join(self._statuses) or 'none'}",
                    declared=list(self._statuses),
                )
            code = wanted
        else:
            key = self.default_status()
            code = int(key) if key.isdigit() else (int(key[0]) * 100 if key[1:] == "XX" else 200)
        variant = self._statuses[key]
        media = self._negotiate(variant, accept)
        dynamic = rng if preference.dynamic is not False else None
        if preference.dynamic and dynamic is None:
            dynamic = random.Random()
        cache_key = (key, media.media_type if media else None, preference.example)
        if dynamic is None:
            cached = self._cache.get(cache_key)
            if cached is not None:
                # `code`, not the cached one: `Prefer: code=201` and `code=202` share a `2XX` entry.
                _, headers, body, source = cached
                # A copy of the headers: middlewares add to a response's headers (rate limits).
                return MockResponse(code, Headers.of_pairs(list(headers)), body, source)
        body, source = self._body(media, preference.example, dynamic) if media else (b"", "empty")
        headers = self._headers(variant, media, dynamic)
        if dynamic is None:
            with self._lock:
                self._cache[cache_key] = (code, headers, body, source)
        return MockResponse(code, Headers.of_pairs(list(headers)), body, source)

    def _negotiate(self, variant: StatusVariant, accept: str | None) -> MediaVariant | None:
        if not variant.media:
            return None
        if not accept or accept.strip() in ("*/*", ""):
            if variant.key not in self._any_media:
                self._any_media[variant.key] = next(
                    (m for m in variant.media if is_json_media_type(m.media_type)), variant.media[0]
                )
            return self._any_media[variant.key]
        accepted = parse_accept_header(accept, MIMEAccept)
        best = accepted.best_match([m.media_type for m in variant.media])
        if best is None and any(_is_json_suffix(value) for value, _ in accepted):
            # `application/vnd.github+json` asks for JSON in a vendor's dialect: plain JSON answers it,
            # as the real APIs do.
            best = next((m.media_type for m in variant.media if is_json_media_type(m.media_type)), None)
        if best is None:
            raise ResponseChoiceError(
                406,
                "Not Acceptable",
                f"{self.operation.name} cannot answer {accept!r}; it offers "
                f"{', '.join(m.media_type for m in variant.media)}",
                available=[m.media_type for m in variant.media],
            )
        return next(m for m in variant.media if m.media_type == best)

    def _body(self, media: MediaVariant, example: str | None, rng: random.Random | None) -> tuple[bytes, str]:
        if example is not None:
            if example in media.examples:
                return serialize(media.examples[example], media), f"example:{example}"
            if example in media.invalid_examples:
                problems = "; ".join(str(v) for v in media.invalid_examples[example][:3])
                raise ResponseChoiceError(
                    422,
                    "Example violates the contract",
                    f"example {example!r} of {self.operation.name} breaks its own schema: {problems}; "
                    "fix the example in the contract",
                )
            raise ResponseChoiceError(
                404,
                "Unknown example",
                f"{self.operation.name} has no example {example!r} for {media.media_type}; available: "
                f"{', '.join(media.examples) or 'none'}",
                available=list(media.examples),
            )
        if rng is None and media.examples:
            name, value = next(iter(media.examples.items()))
            return serialize(value, media), f"example:{name}"
        if media.schema is None:
            return b"", "empty"
        return serialize(
            self.generate(media, rng), media
        ), "generated" if rng is None else "generated:dynamic"

    def generate(self, media: MediaVariant, rng: random.Random | None) -> Any:
        """A value valid against the media type's schema; raises NoValidBody when none can be made."""
        names = media.name_to_uri
        attempts = [
            Synthesizer(media.schema, rng, name_to_uri=names),
            Synthesizer(media.schema, None, use_examples=False, name_to_uri=names),
        ]
        for synthesizer in attempts:
            try:
                value = synthesizer.value()
            except (Unsatisfiable, RecursionError, KeyError):
                continue
            if media.validator is None or media.validator.is_valid(value):
                return value
        from harness.strategies import simplest_value

        try:
            value = simplest_value(self.operation, media.schema, media.media_type)
        except Exception as exc:
            raise NoValidBody(
                f"{self.operation.name}: no body valid against the {media.media_type} schema could be built"
            ) from exc
        return value

    def _headers(
        self, variant: StatusVariant, media: MediaVariant | None, rng: random.Random | None
    ) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        if media is not None:
            headers.append(("Content-Type", _content_type(media.media_type)))
        for name, spec in variant.headers.items():
            if name.lower() == "content-type":
                continue
            value = spec["example"]
            if value is None or rng is not None:
                try:
                    value = Synthesizer(spec["schema"] or {"type": "string"}, rng).value()
                except (Unsatisfiable, RecursionError, KeyError):
                    continue
            headers.append((name, header_text(value)))
        return headers

    # -- checking a response the contract did not make (live, recorded) -----------------------

    def check(self, status: int, content_type: str, body: bytes) -> list[Violation]:
        """Every way a response breaks this operation's contract: an undeclared status, an
        undeclared media type, a body that is not valid JSON or does not match its schema."""
        key = self._status_for_code(status)
        if key is None:
            declared = ", ".join(self._statuses) or "none"
            return [Violation("status", "status", f"{status} is not declared (declared: {declared})")]
        variant = self._statuses[key]
        actual = content_type.split(";")[0].strip().lower()
        if not variant.media:
            if body.strip():
                return [Violation("body", "content", f"{key} declares no body but one was sent")]
            return []
        if not body and not actual:
            return []
        media = next((m for m in variant.media if media_type_matches(m.media_type, actual)), None)
        if media is None:
            offered = ", ".join(m.media_type for m in variant.media)
            return [
                Violation(
                    "header/Content-Type", "content-type", f"{actual or 'none'} is not declared ({offered})"
                )
            ]
        if media.validator is None or not is_json_media_type(media.media_type):
            return []
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return [
                Violation(
                    "body",
                    "json",
                    f"the body is not valid JSON: {exc}",
                    excerpt(body[:80].decode("utf-8", "replace")),
                )
            ]
        return schema_violations(media.validator, document, "body")


def _is_json_suffix(media_type: str) -> bool:
    return media_type.split(";")[0].strip().lower().endswith("+json")


def _content_type(media_type: str) -> str:
    if "*" in media_type:
        return "application/json" if media_type.startswith(("*/", "application/")) else "text/plain"
    return media_type


def header_text(value: Any) -> str:
    """A header value as written on the wire: booleans lower-case, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(header_text(item) for item in value)
    return str(value)


def serialize(value: Any, media: MediaVariant) -> bytes:
    media_type = media.media_type.lower()
    if isinstance(value, bytes):
        return value
    if is_json_media_type(media_type) or media_type.startswith("application/*"):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if isinstance(value, str):
        return value.encode("utf-8")
    if "xml" in media_type:
        root = (
            (media.schema or {}).get("xml", {}).get("name", "root")
            if isinstance(media.schema, dict)
            else "root"
        )
        return _to_xml(root, value).encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _to_xml(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_to_xml(key, item) for key, item in value.items())
    elif isinstance(value, list):
        inner = "".join(_to_xml("item", item) for item in value)
    elif value is None:
        inner = ""
    else:
        inner = escape(str(value).lower() if isinstance(value, bool) else str(value))
    return f"<{tag}>{inner}</{tag}>"


def _named_examples(raw: dict[str, Any], media_object: dict[str, Any]) -> dict[str, Any]:
    """`examples` (named, possibly `$ref`ed; `externalValue` skipped) then `example` as 'default'."""
    found: dict[str, Any] = {}
    for name, example in (media_object.get("examples") or {}).items():
        example = follow_refs(raw, example)
        if isinstance(example, dict) and "value" in example:
            found[str(name)] = example["value"]
    if "example" in media_object:
        found.setdefault("default", media_object["example"])
    return found


def _header_example(raw: dict[str, Any], response: dict[str, Any], name: str) -> Any:
    header = follow_refs(raw, (response.get("headers") or {}).get(name, {}))
    if not isinstance(header, dict):
        return None
    if "example" in header:
        return header["example"]
    for example in (header.get("examples") or {}).values():
        example = follow_refs(raw, example)
        if isinstance(example, dict) and "value" in example:
            return example["value"]
    schema = follow_refs(raw, header.get("schema", {}))
    if isinstance(schema, dict):
        return schema.get("example", schema.get("default"))
    return None
