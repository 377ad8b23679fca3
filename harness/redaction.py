"""Redaction: keep credentials out of cassettes while the client still sees the live exchange.

A `Redactor` works on vcrpy's own objects (a `vcr.request.Request` and a response dict), so the
same instance serves the recording proxy and vcrpy/pytest-recording hooks (`vcr_config`). It
replaces, by a placeholder:

- request headers `Authorization`, `Proxy-Authorization`, `Cookie`, `X-Api-Key`, response
  `Set-Cookie` (cookie values only: names and attributes stay readable), and configured headers;
- the credentials a contract's `securitySchemes` name (header, query and cookie names);
- configured query parameters, and configured fields of JSON and form bodies (at any depth, in
  requests and responses);
- and any secret value it has redacted once, wherever else it shows up (an API that echoes the
  token in a body or a URL), so a secret cannot leak through a place no rule names.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from harness.contracts import Contract

PLACEHOLDER = "<REDACTED>"
DEFAULT_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key")
# Query parameters and body fields that carry credentials in the OAuth and API-key conventions.
DEFAULT_QUERY_PARAMETERS = ("access_token", "client_secret", "api_key", "apikey")
DEFAULT_BODY_FIELDS = ("password", "client_secret", "access_token", "refresh_token", "id_token")
_AUTH_SCHEMES = ("bearer", "basic", "token", "digest", "oauth", "negotiate", "apikey")
_COOKIE_HEADERS = ("cookie", "set-cookie")
_MIN_ECHO_LENGTH = 8  # shorter values are too likely to occur by chance to be replaced everywhere


@dataclass(frozen=True)
class RedactionRules:
    """What to redact; names are matched case-insensitively (query and body names exactly)."""

    headers: frozenset[str] = frozenset(name.lower() for name in DEFAULT_HEADERS)
    query_parameters: frozenset[str] = frozenset(DEFAULT_QUERY_PARAMETERS)
    cookies: frozenset[str] = frozenset()  # cookie values are all redacted; kept for the scanner
    body_fields: frozenset[str] = frozenset(DEFAULT_BODY_FIELDS)
    placeholder: str = PLACEHOLDER

    def extended(
        self,
        *,
        headers: Iterable[str] = (),
        query_parameters: Iterable[str] = (),
        cookies: Iterable[str] = (),
        body_fields: Iterable[str] = (),
    ) -> RedactionRules:
        return RedactionRules(
            self.headers | {name.lower() for name in headers},
            self.query_parameters | set(query_parameters),
            self.cookies | set(cookies),
            self.body_fields | set(body_fields),
            self.placeholder,
        )

    def with_contract(self, contract: Contract) -> RedactionRules:
        """Add the credential locations of the contract's `securitySchemes`."""
        headers, query, cookies = credential_locations(contract.security_schemes)
        return self.extended(headers=headers, query_parameters=query, cookies=cookies)


def credential_locations(schemes: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """(header, query, cookie) names that carry credentials under these security schemes."""
    headers: set[str] = set()
    query: set[str] = set()
    cookies: set[str] = set()
    for scheme in schemes.values():
        if not isinstance(scheme, dict):
            continue
        kind = str(scheme.get("type", "")).lower()
        if kind == "apikey":
            name = str(scheme.get("name", ""))
            where = str(scheme.get("in", "")).lower()
            if name:
                {"header": headers, "query": query, "cookie": cookies}.get(where, headers).add(name)
        elif kind in ("http", "oauth2", "openidconnect", "basic"):
            headers.add("Authorization")
    return headers, query, cookies


@dataclass
class Redactor:
    """Applies `RedactionRules` to vcrpy requests and responses; thread-safe and idempotent."""

    rules: RedactionRules = field(default_factory=RedactionRules)
    _seen: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_contract(cls, contract: str | Path | Contract | None = None, **extra: Iterable[str]) -> Redactor:
        """The default rules, plus a contract's credential locations and `extra` names."""
        rules = RedactionRules().extended(**extra)
        if contract is not None:
            from harness.contracts import Contract, load_contract

            loaded = contract if isinstance(contract, Contract) else load_contract(contract)
            rules = rules.with_contract(loaded)
        return cls(rules)

    @property
    def placeholder(self) -> str:
        return self.rules.placeholder

    def __deepcopy__(self, memo: dict[int, Any]) -> Redactor:
        # pytest-recording deep-copies `vcr_config`, hooks included: share the one redactor (and
        # what it has learnt) rather than fail on its lock.
        return self

    # -- vcrpy hooks ---------------------------------------------------------------------

    def request(self, request: Any) -> Any:
        """A redacted copy of a `vcr.request.Request` (vcrpy's `before_record_request`)."""
        request = copy.deepcopy(request)
        for name in list(request.headers):
            lowered = name.lower()
            if lowered in self.rules.headers:
                request.headers[name] = self._header_value(lowered, request.headers[name])
        request.uri = self._uri(request.uri)
        content_type = str(request.headers.get("Content-Type", "") or "")
        if request.body:
            request.body = self._body(request.body, content_type)
            request.body = self._scrub_seen(request.body)
        request.uri = self._scrub_seen_text(request.uri)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """A redacted copy of a vcrpy response dict (vcrpy's `before_record_response`)."""
        response = copy.deepcopy(response)
        headers: dict[str, Any] = response.get("headers") or {}
        content_type = ""
        for name, values in list(headers.items()):
            lowered = name.lower()
            as_list = values if isinstance(values, list) else [values]
            if lowered == "content-type" and as_list:
                content_type = str(as_list[0])
            if lowered in self.rules.headers:
                as_list = [self._header_value(lowered, str(value)) for value in as_list]
            headers[name] = [self._scrub_seen_text(str(value)) for value in as_list]
        body = response.get("body")
        if isinstance(body, dict) and body.get("string"):
            original = body["string"]
            raw = original.encode("utf-8") if isinstance(original, str) else bytes(original)
            redacted = self._scrub_seen(self._body(raw, content_type))
            if redacted != raw:
                body["string"] = redacted
                _fix_content_length(headers, len(redacted))
        return response

    def interaction(self, request: Any, response: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Both halves; the request first, so secrets it carried are scrubbed from the response."""
        return self.request(request), self.response(response)

    # -- the rules ---------------------------------------------------------------------

    def _learn(self, value: str) -> None:
        value = value.strip()
        if len(value) >= _MIN_ECHO_LENGTH and self.placeholder not in value:
            with self._lock:
                self._seen.add(value)

    def _header_value(self, lowered_name: str, value: str) -> str:
        if self.placeholder in value:
            return value
        if lowered_name in _COOKIE_HEADERS:
            return self._cookie_header(lowered_name, value)
        scheme, _, credentials = value.partition(" ")
        if credentials and scheme.lower() in _AUTH_SCHEMES:
            self._learn(credentials)
            return f"{scheme} {self.placeholder}"
        self._learn(value)
        return self.placeholder

    def _cookie_header(self, lowered_name: str, value: str) -> str:
        if lowered_name == "set-cookie":
            # name=value; Attr=...; keep the name and the attributes, hide the value
            name, sep, rest = value.partition("=")
            if not sep:
                return self.placeholder
            cookie_value, semicolon, attributes = rest.partition(";")
            self._learn(cookie_value.strip('"'))
            return f"{name}={self.placeholder}{semicolon}{attributes}"
        parts = []
        for pair in value.split(";"):
            name, sep, cookie_value = pair.strip().partition("=")
            if not name:
                continue
            if sep:
                self._learn(cookie_value.strip('"'))
            parts.append(f"{name}={self.placeholder}" if sep else name)
        return "; ".join(parts) if parts else self.placeholder

    def _uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        netloc = parts.netloc
        if "@" in netloc:  # credentials in the URL itself
            userinfo, _, host = netloc.rpartition("@")
            self._learn(userinfo.partition(":")[2])
            netloc = f"{self.placeholder}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(name in self.rules.query_parameters for name, _ in pairs):
                redacted = []
                for name, value in pairs:
                    if name in self.rules.query_parameters and value and value != self.placeholder:
                        self._learn(value)
                        value = self.placeholder
                    redacted.append((name, value))
                query = urlencode(redacted, safe="<>")
        if netloc == parts.netloc and query == parts.query:
            return uri
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def _body(self, body: bytes | str, content_type: str) -> bytes:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if not self.rules.body_fields:
            return raw
        media = content_type.split(";")[0].strip().lower()
        stripped = raw.lstrip()
        if media.endswith("json") or (not media and stripped[:1] in (b"{", b"[")):
            try:
                document = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return raw
            if self._redact_json(document):
                return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            return raw
        if media == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            except (ValueError, UnicodeDecodeError):
                return raw
            if not any(name in self.rules.body_fields for name, _ in pairs):
                return raw
            redacted = []
            for name, value in pairs:
                if name in self.rules.body_fields and value != self.placeholder:
                    self._learn(value)
                    value = self.placeholder
                redacted.append((name, value))
            return urlencode(redacted, safe="<>").encode("utf-8")
        return raw

    def _redact_json(self, node: Any) -> bool:
        changed = False
        if isinstance(node, dict):
            for key, value in node.items():
                if key in self.rules.body_fields and isinstance(value, str | int | float) and value != "":
                    if value != self.placeholder:
                        self._learn(str(value))
                        node[key] = self.placeholder
                        changed = True
                else:
                    changed = self._redact_json(value) or changed
        elif isinstance(node, list):
            for item in node:
                changed = self._redact_json(item) or changed
        return changed

    def _scrub_seen(self, data: bytes) -> bytes:
        with self._lock:
            seen = sorted(self._seen, key=len, reverse=True)
        for secret in seen:
            encoded = secret.encode("utf-8")
            if encoded in data:
                data = data.replace(encoded, self.placeholder.encode("utf-8"))
        return data

    def _scrub_seen_text(self, text: str) -> str:
        with self._lock:
            seen = sorted(self._seen, key=len, reverse=True)
        for secret in seen:
            if secret in text:
                text = text.replace(secret, self.placeholder)
        return text


def _fix_content_length(headers: dict[str, Any], length: int) -> None:
    for name in headers:
        if name.lower() == "content-length":
            headers[name] = [str(length)]


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def vcr_config(
    api: str | None = None,
    *,
    contract: str | Path | Contract | None = None,
    headers: Iterable[str] = (),
    query_parameters: Iterable[str] = (),
    body_fields: Iterable[str] = (),
    root: str | Path = ".",
) -> dict[str, Any]:
    """A vcrpy / pytest-recording `vcr_config` with the recorder's redaction and cassette layout.

    Args:
        api: the API's name; cassettes go to `<root>/cassettes/<api>/` (omit to keep your layout).
        contract: an OpenAPI contract whose `securitySchemes` name more credentials to redact.
        headers, query_parameters, body_fields: more names to redact, beyond the defaults.
        root: the folder holding `cassettes/` (usually the project root).

    Example:
        @pytest.fixture(scope="module")
        def vcr_config():
            return harness.vcr_config("github", contract="contracts/github.yaml")
    """
    redactor = Redactor.for_contract(
        contract, headers=headers, query_parameters=query_parameters, body_fields=body_fields
    )
    config: dict[str, Any] = {
        "before_record_request": redactor.request,
        "before_record_response": redactor.response,
        # Store bodies decoded with consistent headers, as the recorder does.
        "decode_compressed_response": True,
    }
    if api is not None:
        config["cassette_library_dir"] = str(cassette_dir(api, root))
    return config


def cassette_dir(api: str, root: str | Path = ".") -> Path:
    """`<root>/cassettes/<api>`: where an API's cassettes live."""
    name = _SAFE_NAME.sub("-", api).strip("-.")
    if not name:
        from harness.errors import ConfigurationError

        raise ConfigurationError(f"{api!r} is not usable as an API name; use letters, digits, '-', '_'")
    return Path(root) / "cassettes" / name
