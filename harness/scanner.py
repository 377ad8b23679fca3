"""Find secrets in cassettes before they are committed: `harness cassettes scan`.

The scanner reads a cassette file as plain data (YAML with a safe loader, or JSON), so it also
reads cassettes that vcrpy itself refuses (legacy or custom layouts), and gzip-compressed bodies.
It reports every field that holds something that looks like a credential:

- known token shapes anywhere (GitHub, Stripe, AWS, Slack, OpenAI, Anthropic, Google, Twilio,
  JWTs, private keys, credentials in URLs);
- credential headers (`Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`...) and fields, query
  parameters and headers with credential names (`client_secret`, `access_token`, `password`...)
  holding a value that is not a placeholder;
- the header, query and cookie names a contract's `securitySchemes` declare;
- long high-entropy strings in headers, query parameters and request bodies. Hex strings
  (digests, SHAs, ETags) and request-id/trace headers are left out: they are high-entropy but
  public, and would drown real findings. Response bodies are checked by shape and name only, as
  they are full of opaque ids.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from harness.cassettes import read_cassette_data
from harness.redaction import credential_locations

if TYPE_CHECKING:
    from harness.contracts import Contract

TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("private key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        ("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
        ("Stripe secret key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
        ("Stripe client secret", r"\b(?:pi|seti)_[A-Za-z0-9]{14,}_secret_[A-Za-z0-9]{10,}\b"),
        ("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
        ("Slack webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"),
        ("Anthropic API key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
        ("OpenAI API key", r"\bsk-(?:proj-|svcacct-|None-)?[A-Za-z0-9_-]{20,}"),
        ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        ("Twilio API key", r"\bSK[0-9a-f]{32}\b"),
        ("JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        ("credentials in a URL", r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/]+"),
        ("credentials after an auth scheme", r"\b(?:Bearer|token|Basic)\s+[A-Za-z0-9._~+/-]{16,}=*"),
    )
)

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
)
# Field, query and header names whose value is a credential (compared lower-case, '-' as '_').
# Pagination tokens (`next_token`, `page_token`) and ids are not credentials, so not every `*_token`.
_SECRET_NAME = re.compile(
    r"^(?:.*_)?(?:password|passwd|secret|api_?key|private_key)$"
    r"|^(?:.*_)?(?:access|refresh|id|auth|session|bearer|api|oauth|personal_access)_?token$|^token$"
)
# Typed identifiers (`call_…`, `toolu_…`, `cus_…`) and fields named as ids are opaque but public.
_TYPED_ID = re.compile(r"^[a-z]{2,8}_[A-Za-z0-9]+$")
_ID_NAME = re.compile(r"(?:^|_)ids?$|[a-z]Ids?$")
# Headers that are high-entropy by design and public: request ids, digests, traces, policies.
_PUBLIC_HEADER = re.compile(
    r"(?:^|[-_])(?:request[-_]?id|requestid|trace|span|correlation|etag|cf[-_]ray|amz[-_]id|amz[-_]cf)"
    r"|^(?:date|expires|last-modified|link|location|content-security-policy|report-to|nel|alt-svc|vary"
    r"|strict-transport-security|.*user-agent|server|via|x-served-by|x-timer|content-type|content-disposition"
    r"|accept.*|access-control-.*|x-stainless-.*|openai-.*|anthropic-.*)$"
)
_PLACEHOLDER = re.compile(
    r"^(?:<[^<>]*>|\*+|[xX]{4,}|\[?(?:REDACTED|FILTERED|MASKED|HIDDEN|SCRUBBED|DUMMY|PLACEHOLDER)\]?)$",
    re.IGNORECASE,
)
_CANDIDATE = re.compile(r"[A-Za-z0-9+/=_\-.~]{20,}")
_HEX = re.compile(r"^[0-9a-fA-F\-.]+$")
_MIN_COOKIE = 8  # `lang=en` is a preference, not a session
_AUTH_SCHEMES = ("bearer ", "basic ", "token ", "digest ", "oauth ", "apikey ")


@dataclass(frozen=True)
class Finding:
    """Something that looks like a secret: where it is (file, interaction, field) and why."""

    file: str
    interaction: int
    field: str  # "request.headers.Authorization", "response.body$.token", "request.uri?client_secret"
    kind: str
    value: str  # masked: the first characters and the length, never the whole secret

    def __str__(self) -> str:
        return f"{self.file}: interaction {self.interaction}: {self.field}: {self.kind} ({self.value})"


def mask(value: str) -> str:
    value = value.strip()
    return f"{value[:4]}… ({len(value)} chars)" if len(value) > 6 else f"… ({len(value)} chars)"


def shannon_entropy(text: str) -> float:
    """Bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def is_placeholder(value: str) -> bool:
    value = value.strip().strip('"')
    if not value:
        return True
    lowered = value.lower()
    for scheme in _AUTH_SCHEMES:
        if lowered.startswith(scheme):
            value = value[len(scheme) :].strip()
            break
    return bool(_PLACEHOLDER.match(value)) or "redacted" in value.lower() or "filtered" in value.lower()


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.match(name.lower().replace("-", "_")))


@dataclass
class SecretScanner:
    """Scans cassettes; `contract` adds its `securitySchemes` credential locations.

    Args:
        min_length: shortest string the entropy rule considers.
        min_entropy: bits per character above which such a string looks random.
    """

    contract: Contract | None = None
    min_length: int = 20
    min_entropy: float = 4.0
    max_length: int = 512  # longer runs are encoded payloads (images, signatures), not keys
    _headers: set[str] = field(default_factory=set, init=False)
    _query: set[str] = field(default_factory=set, init=False)
    _cookies: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        if self.contract is not None:
            headers, query, cookies = credential_locations(self.contract.security_schemes)
            self._headers = {name.lower() for name in headers}
            self._query, self._cookies = query, cookies

    # -- files ---------------------------------------------------------------------------

    def scan_file(self, path: str | Path) -> list[Finding]:
        """Every finding in one cassette file.

        Raises:
            CassetteError: the file is not a cassette (not YAML/JSON, no `interactions` list).
        """
        path = Path(path)
        data = read_cassette_data(path)
        findings: list[Finding] = []
        for index, interaction in enumerate(data["interactions"]):
            if not isinstance(interaction, dict):
                continue
            seen: set[str] = set()
            for where, kind, value in self.scan_interaction(interaction):
                if where not in seen:  # one finding per field: the first (strongest) reason
                    seen.add(where)
                    findings.append(Finding(str(path), index, where, kind, mask(value)))
        return findings

    # -- one interaction -------------------------------------------------------------------

    def scan_interaction(self, interaction: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
        for side in ("request", "response"):
            part = interaction.get(side)
            if not isinstance(part, dict):
                continue
            yield from self._headers_of(side, part.get("headers"))
            if side == "request" and isinstance(part.get("uri"), str):
                yield from self._uri(part["uri"])
            for key in ("body", "content", "parsed_body"):
                if key in part:
                    yield from self._body(f"{side}.body", part[key], entropy=side == "request")

    def _headers_of(self, side: str, headers: Any) -> Iterator[tuple[str, str, str]]:
        if not isinstance(headers, dict):
            return
        for name, values in headers.items():
            for value in values if isinstance(values, list) else [values]:
                if value is None:
                    continue
                yield from self._header(f"{side}.headers.{name}", str(name), str(value))

    def _header(self, where: str, name: str, value: str) -> Iterator[tuple[str, str, str]]:
        lowered = name.lower()
        yield from self._shapes(where, value)
        if lowered == "set-cookie":
            cookie_value = value.partition("=")[2].partition(";")[0]
            if len(cookie_value) >= _MIN_COOKIE and not is_placeholder(cookie_value):
                yield where, "cookie value not redacted", cookie_value
            return
        if lowered == "cookie":
            for pair in value.split(";"):
                cookie_name, _, cookie_value = pair.strip().partition("=")
                if len(cookie_value) >= _MIN_COOKIE and not is_placeholder(cookie_value):
                    yield f"{where}.{cookie_name}", "cookie value not redacted", cookie_value
            return
        if lowered in self._headers:
            if not is_placeholder(value):
                yield where, "securitySchemes credential", value
            return
        if lowered in CREDENTIAL_HEADERS or is_secret_name(lowered):
            if not is_placeholder(value):
                yield where, "credential header not redacted", value
            return
        if not _PUBLIC_HEADER.search(lowered):
            yield from self._entropy(where, value)

    def _uri(self, uri: str) -> Iterator[tuple[str, str, str]]:
        yield from self._shapes("request.uri", uri)
        for name, value in parse_qsl(urlsplit(uri).query, keep_blank_values=True):
            where = f"request.uri?{name}"
            if name in self._query:
                if not is_placeholder(value):
                    yield where, "securitySchemes credential", value
            elif is_secret_name(name):
                if not is_placeholder(value):
                    yield where, "credential parameter not redacted", value
            else:
                yield from self._entropy(where, value)

    def _body(self, where: str, body: Any, *, entropy: bool) -> Iterator[tuple[str, str, str]]:
        if isinstance(body, dict) and set(body) <= {"string", "encoding"}:
            body = body.get("string")
        if isinstance(body, dict | list):  # a body stored as a tree (custom serializers)
            yield from self._tree(where + "$", body, entropy=entropy)
            return
        text = _body_text(body)
        if text is None or not text.strip():
            return
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                document = json.loads(text)
            except ValueError:
                pass
            else:
                yield from self._tree(where + "$", document, entropy=entropy)
                return
        if re.fullmatch(r"[^\s=&]+=[^\s&]*(?:&[^\s=&]+=[^\s&]*)*", stripped.strip()):
            for name, value in parse_qsl(stripped.strip(), keep_blank_values=True):
                yield from self._leaf(f"{where}.{name}", name, value, entropy=entropy)
            return
        yield from self._shapes(where, text)

    def _tree(self, where: str, node: Any, *, entropy: bool) -> Iterator[tuple[str, str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                path = (
                    f"{where}.{key}"
                    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key))
                    else f"{where}[{key!r}]"
                )
                if isinstance(value, dict | list):
                    yield from self._tree(path, value, entropy=entropy)
                elif isinstance(value, str):
                    yield from self._leaf(path, str(key), value, entropy=entropy)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    yield from self._leaf(f"{where}[{index}]", "", item, entropy=entropy)
                else:
                    yield from self._tree(f"{where}[{index}]", item, entropy=entropy)

    def _leaf(self, where: str, name: str, value: str, *, entropy: bool) -> Iterator[tuple[str, str, str]]:
        yield from self._shapes(where, value)
        if name and is_secret_name(name) and not is_placeholder(value):
            yield where, "credential field not redacted", value
        elif entropy and not _ID_NAME.search(name):
            yield from self._entropy(where, value)

    # -- rules -----------------------------------------------------------------------------

    def _shapes(self, where: str, value: str) -> Iterator[tuple[str, str, str]]:
        for kind, pattern in TOKEN_SHAPES:
            match = pattern.search(value)
            if match and not is_placeholder(match.group(0)):
                yield where, kind, match.group(0)

    def _entropy(self, where: str, value: str) -> Iterator[tuple[str, str, str]]:
        for match in _CANDIDATE.finditer(unquote(value)):
            candidate = match.group(0).strip("=.-_~")
            if self.looks_random(candidate):
                yield where, f"high-entropy string ({shannon_entropy(candidate):.1f} bits/char)", candidate

    def looks_random(self, candidate: str) -> bool:
        if not self.min_length <= len(candidate) <= self.max_length:
            return False
        if _HEX.match(candidate) or _TYPED_ID.match(candidate):
            return False
        has_digit = any(c.isdigit() for c in candidate)
        has_letter = any(c.isalpha() for c in candidate)
        if not (has_digit and has_letter) or is_placeholder(candidate) or _wordlike(candidate):
            return False
        # A random string cannot reach log2(length) bits per character; short ones need some slack.
        return shannon_entropy(candidate) >= min(self.min_entropy, math.log2(len(candidate)) - 0.5)


def _wordlike(candidate: str) -> bool:
    """Mostly made of single-case words: a media type, a host name, a slug, not a key."""
    segments = [segment for segment in re.split(r"[/.+\-]", candidate) if segment]
    words = [s for s in segments if len(s) >= 2 and s.isalpha() and (s.islower() or s.isupper())]
    return len(words) * 2 >= len(segments)


def _body_text(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray):
        raw = bytes(body)
        if raw.startswith(b"\x1f\x8b"):
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError):
                return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None  # binary (images, archives): nothing a scanner can read reliably
    return None
