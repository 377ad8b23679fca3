"""Plain HTTP request and response values, free of any web framework."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

PROBLEM_JSON = "application/problem+json"
# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded or replayed.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


class Headers:
    """Case-insensitive, multi-valued headers that keep their order and spelling."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] | None = None):
        if isinstance(items, Mapping):
            items = items.items()
        self._items: list[tuple[str, str]] = [(str(k), str(v)) for k, v in (items or [])]

    def get(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self._items:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self._items if key.lower() == lowered]

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self._items.append((name, str(value)))

    def add(self, name: str, value: str) -> None:
        self._items.append((name, str(value)))

    def setdefault(self, name: str, value: str) -> None:
        if name not in self:
            self._items.append((name, str(value)))

    def remove(self, name: str) -> None:
        lowered = name.lower()
        self._items = [(key, value) for key, value in self._items if key.lower() != lowered]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        return Headers(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def as_dict(self) -> dict[str, str]:
        """One value per name (joined with ', '), for JSON journals."""
        merged: dict[str, str] = {}
        for key, value in self._items:
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return merged


@dataclass
class HttpRequest:
    """An incoming request as the mock sees it; `path` is still percent-encoded."""

    method: str
    path: str
    query_string: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    client_address: str = ""

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.get_all("Cookie"):
            try:
                jar.load(header)
            except Exception:
                continue
        return {name: morsel.value for name, morsel in jar.items()}

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path


class DeliveryMode(enum.StrEnum):
    """How a response ends: completely, or cut by a connection fault."""

    COMPLETE = "complete"
    DROP = "drop"  # the connection closes before any byte of the response
    RESET = "reset"  # a TCP reset after `cut_at` bytes of the body
    TRUNCATE = "truncate"  # `Content-Length` promises the whole body; `cut_at` bytes come, then EOF


@dataclass
class Delivery:
    """How the bytes travel (connection-level faults); the default is a plain, complete response."""

    delay: float = 0.0  # seconds before the status line
    chunk_size: int | None = None  # send the body in chunks of this many bytes...
    interval: float = 0.0  # ...this many seconds apart
    mode: DeliveryMode = DeliveryMode.COMPLETE
    cut_at: int | None = None  # bytes of the body sent before a RESET or TRUNCATE


@dataclass
class MockResponse:
    """What the mock answers: `source` says where it came from (example, generated, cassette, fault)."""

    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    source: str = ""
    delivery: Delivery | None = None
    reason: str | None = None

    @property
    def reason_phrase(self) -> str:
        if self.reason:
            return self.reason
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
