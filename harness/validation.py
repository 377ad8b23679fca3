"""Validate an incoming request against its operation: parameters, then the body.

Each operation compiles its rules once (schemathesis converts the schemas, jsonschema-rs checks
them); a request then costs a few dictionary lookups and one validator call per part. Every
violation is reported, not just the first, each with where it is, the rule it breaks and an excerpt
of the offending value.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.http import HttpRequest
from harness.parameters import ABSENT, SchemaView, Serialization, coerce_text, deserialize, nest_form_fields

if TYPE_CHECKING:
    from harness.contracts import Operation

# OpenAPI: header parameters with these names are ignored (they are described elsewhere).
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}
_EXCERPT = 80


@dataclass(frozen=True)
class Violation:
    """One way a request (or response) breaks its contract."""

    location: str  # "body/summary", "query/per_page", "header/X-Request-Id"
    rule: str  # the JSON Schema keyword or harness rule: "maxLength", "required", "content-type"
    message: str
    value: str | None = None  # an excerpt of the offending value

    def as_dict(self) -> dict[str, Any]:
        return {"location": self.location, "rule": self.rule, "message": self.message, "value": self.value}

    def __str__(self) -> str:
        excerpt = f" (got {self.value})" if self.value is not None else ""
        return f"{self.location}: {self.message} [{self.rule}]{excerpt}"


@dataclass
class ValidationResult:
    violations: list[Violation] = field(default_factory=list)
    # 400 when the input could not be parsed, 415 for an undeclared media type, else 422
    status: int = 422
    parsed_body: Any = None

    @property
    def ok(self) -> bool:
        return not self.violations


def excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def schema_violations(validator: Any, instance: Any, location: str) -> list[Violation]:
    """All errors of a jsonschema-rs validator, as violations under `location`."""
    if validator is None or validator.is_valid(instance):
        return []
    found = []
    for error in validator.iter_errors(instance):
        path = "/".join(str(part) for part in error.instance_path)
        schema_path = [part for part in error.schema_path if isinstance(part, str)]
        rule = schema_path[-1] if schema_path else "schema"
        missing = getattr(error.kind, "property", None) if rule == "required" else None
        if missing is not None:  # point at the missing field itself, not at its parent object
            path = f"{path}/{missing}" if path else str(missing)
        value = None if missing is not None else excerpt(error.instance)
        message = _short_message(error.message, error.instance)
        if rule == "not" and message.startswith("{} is not allowed"):
            # schemathesis turns readOnly (in requests) and writeOnly (in responses) fields into `not: {}`
            rule, message = (
                "forbidden",
                "the contract forbids this field here (readOnly in requests, writeOnly in responses)",
            )
        found.append(Violation(f"{location}/{path}" if path else location, rule, message, value))
    return found


def _short_message(message: str, instance: Any) -> str:
    """jsonschema-rs starts messages with the whole offending value; keep an excerpt of it."""
    rendered = json.dumps(instance, ensure_ascii=False, separators=(",", ":"))
    if len(rendered) > _EXCERPT and message.startswith(rendered):
        return excerpt(instance) + message[len(rendered) :]
    return message


@dataclass(frozen=True)
class _ParameterRule:
    name: str
    location: str
    required: bool
    serialization: Serialization
    schema: Any
    validator: Any
    kinds: frozenset[str]


@dataclass(frozen=True)
class _BodyRule:
    media_type: str
    schema: Any
    validator: Any


class RequestValidator:
    """The compiled request rules of one operation."""

    def __init__(
        self,
        parameters: list[_ParameterRule],
        bodies: list[_BodyRule],
        body_required: bool,
        contract_problems: list[str] | None = None,
    ):
        self.parameters = parameters
        self.bodies = bodies
        self.body_required = body_required
        self._reads_query = any(rule.location == "query" for rule in parameters)
        self._reads_cookies = any(rule.location == "cookie" for rule in parameters)
        # Parts of the contract too broken to check (e.g. `type: int`): left unchecked, reported here.
        self.contract_problems = contract_problems or []

    @classmethod
    def for_operation(cls, operation: Operation) -> RequestValidator:
        st_operation = operation.schemathesis_operation()
        problems: list[str] = []

        def checker(part: Any, where: str) -> Any:
            try:
                return part.get_validator()
            except Exception as exc:
                problems.append(
                    f"{where}: its schema is invalid, so it is not checked ({exc})".splitlines()[0]
                )
                return None

        parameters = []
        for parameter in st_operation.iter_parameters():
            if parameter.location == "header" and parameter.name.lower() in _IGNORED_HEADERS:
                continue
            location = str(getattr(parameter.location, "value", parameter.location))
            schema = parameter.validation_schema
            parameters.append(
                _ParameterRule(
                    name=parameter.name,
                    location=location,
                    required=parameter.is_required,
                    serialization=Serialization.of(parameter.definition),
                    schema=schema,
                    validator=checker(parameter, f"{location}/{parameter.name}"),
                    kinds=frozenset(SchemaView(schema).types(schema)),
                )
            )
        bodies = [
            _BodyRule(body.media_type, body.validation_schema, checker(body, f"body ({body.media_type})"))
            for body in st_operation.body
        ]
        required = any(body.is_required for body in st_operation.body)
        return cls(parameters, bodies, required, problems)

    def validate(self, request: HttpRequest, path_parameters: dict[str, str]) -> ValidationResult:
        result = ValidationResult()
        query = request.query if self._reads_query else []
        cookies = request.cookies if self._reads_cookies else {}
        for rule in self.parameters:
            raw: str | None = None
            if rule.location == "path":
                raw = path_parameters.get(rule.name)
            elif rule.location == "header":
                raw = request.headers.get(rule.name)
            elif rule.location == "cookie":
                raw = cookies.get(rule.name)
            value = deserialize(rule.name, rule.serialization, rule.kinds, raw=raw, query=query)
            if value is ABSENT:
                if rule.required:
                    result.violations.append(
                        Violation(
                            f"{rule.location}/{rule.name}",
                            "required",
                            f"required {rule.location} parameter is missing",
                        )
                    )
                continue
            # A plain string needs only the top-level types, already known (`rule.kinds`).
            if isinstance(value, str) and "array" not in rule.kinds:
                value = coerce_text(value, rule.kinds)
            else:
                value = SchemaView(rule.schema).coerce(value, rule.schema)
            if rule.validator is not None and not rule.validator.is_valid(value):
                result.violations.extend(
                    schema_violations(rule.validator, value, f"{rule.location}/{rule.name}")
                )
        if self.bodies:
            self._validate_body(request, result)
        return result

    def _validate_body(self, request: HttpRequest, result: ValidationResult) -> None:
        has_body = bool(request.body)
        if not has_body:
            if self.body_required:
                result.violations.append(Violation("body", "required", "the request body is required"))
            return
        rule = self._body_rule(request.content_type)
        if rule is None:
            declared = ", ".join(body.media_type for body in self.bodies)
            result.violations.append(
                Violation(
                    "header/Content-Type",
                    "content-type",
                    f"media type {request.content_type or '(none)'!r} is not accepted; declared: {declared}",
                    request.content_type or None,
                )
            )
            result.status = 415
            return
        try:
            value = parse_body(request, rule.media_type)
        except ValueError as exc:
            result.violations.append(
                Violation("body", "parse", str(exc), excerpt(request.body.decode("latin-1")))
            )
            result.status = 400
            return
        if value is ABSENT:
            return  # a media type we cannot read structurally (XML, binary): accepted as is
        result.parsed_body = value
        if not is_json_media_type(rule.media_type):
            view = SchemaView(rule.schema)
            value = _with_empty_arrays(view, view.coerce(value, rule.schema), rule.schema)
        result.violations.extend(schema_violations(rule.validator, value, "body"))

    def _body_rule(self, content_type: str) -> _BodyRule | None:
        for rule in self.bodies:
            if media_type_matches(rule.media_type, content_type):
                return rule
        return None


def _with_empty_arrays(view: SchemaView, value: Any, schema: Any) -> Any:
    """Form encodings cannot carry an empty array (`tags=` is one empty string, no `tags` is
    nothing): a required array field that is absent from a form body is read as []."""
    resolved = view.resolve(schema)
    if not isinstance(value, dict) or not isinstance(resolved, dict):
        return value
    for name in resolved.get("required", []):
        if name not in value and view.types(view.property(resolved, name)) == {"array"}:
            value = {**value, name: []}
    return value


def media_type_matches(declared: str, actual: str) -> bool:
    declared = declared.split(";")[0].strip().lower()
    if declared in ("*/*", actual):
        return True
    major, _, minor = declared.partition("/")
    actual_major = actual.partition("/")[0]
    return minor == "*" and major == actual_major


def is_json_media_type(media_type: str) -> bool:
    media_type = media_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json") or media_type == "*/*"


def parse_body(request: HttpRequest, media_type: str) -> Any:
    """The body as the schema sees it; ABSENT for media types without structure (XML, binary)."""
    actual = request.content_type
    if is_json_media_type(media_type) and (is_json_media_type(actual) or not actual):
        try:
            return json.loads(request.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
    if actual == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise ValueError("the form body is not UTF-8") from None
        return nest_form_fields(pairs)
    if actual.startswith("multipart/"):
        return _parse_multipart(request)
    if actual.startswith("text/"):
        return request.body.decode("utf-8", errors="replace")
    return ABSENT


def _parse_multipart(request: HttpRequest) -> dict[str, Any]:
    from werkzeug.formparser import parse_form_data

    environ = {
        "wsgi.input": io.BytesIO(request.body),
        "CONTENT_LENGTH": str(len(request.body)),
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REQUEST_METHOD": "POST",
    }
    _, form, files = parse_form_data(environ)
    if not form and not files and request.body.strip():
        raise ValueError("the multipart body could not be parsed (check the boundary)")
    fields = nest_form_fields(list(_multi_items(form)))
    for name, storage in _multi_items(files):
        # Files are binary strings to JSON Schema (`format: binary`); their bytes are not inspected.
        fields[name] = storage.filename or name
        storage.close()  # large uploads are spooled to a temporary file
    return fields


def _multi_items(multidict: Any) -> Iterable[tuple[str, Any]]:
    return multidict.items(multi=True)  # type: ignore[no-any-return]
