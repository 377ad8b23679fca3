"""The request journal: what each request was, what it matched, what broke, and what was sent."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.http import Headers

if TYPE_CHECKING:
    from harness.state import StateStore

_BODY_EXCERPT = 4096


@dataclass(frozen=True, slots=True)
class BodyExcerpt:
    """The first `_BODY_EXCERPT` bytes of a body, decoded only when shown.

    A journal keeps thousands of these. Kept as bytes, a body up to the limit is shared with the
    response that sent it (cached answers reuse one bytes object), and a longer one costs one byte
    per byte: decoded eagerly, the "…" marker alone made every truncated excerpt a 2-byte-per-char
    str (8 KiB each).
    """

    head: bytes
    truncated: bool = False

    def __str__(self) -> str:
        text = self.head.decode("utf-8", errors="replace")
        return text + "…" if self.truncated else text


class _Excerpts:
    """Makes excerpts, reusing the last few made from the very same (immutable) bytes object."""

    _SIZE = 64

    def __init__(self, limit: int = _BODY_EXCERPT):
        self.limit = limit
        # id -> (the body itself, which keeps the id from being reused, and its excerpt)
        self._recent: dict[int, tuple[bytes, BodyExcerpt]] = {}

    def __call__(self, body: bytes) -> BodyExcerpt:
        if len(body) <= self.limit:
            return BodyExcerpt(body)
        known = self._recent.get(id(body))
        if known is not None and known[0] is body:
            return known[1]
        excerpt = BodyExcerpt(body[: self.limit], truncated=True)
        if len(self._recent) >= self._SIZE:
            self._recent.clear()
        self._recent[id(body)] = (body, excerpt)
        return excerpt


@dataclass(slots=True)
class JournalEntry:
    """One exchange. Headers are kept as the (name, value) pairs the exchange had, and turned into a
    name -> value mapping only when shown: a journal holds thousands of entries, mostly never shown."""

    id: int
    time: float
    method: str
    path: str
    query: str
    request_headers: list[tuple[str, str]] | dict[str, str]
    request_body: BodyExcerpt
    contract: str | None
    operation: str | None
    violations: list[dict[str, Any]]
    status: int
    response_headers: list[tuple[str, str]] | dict[str, str]
    response_body: BodyExcerpt
    source: str
    duration_ms: float
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)),
            "request": {
                "method": self.method,
                "path": self.path,
                "query": self.query,
                "headers": _shown(self.request_headers),
                "body": str(self.request_body),
            },
            "contract": self.contract,
            "operation": self.operation,
            "violations": self.violations,
            "response": {
                "status": self.status,
                "headers": _shown(self.response_headers),
                "body": str(self.response_body),
                "source": self.source,
            },
            "duration_ms": round(self.duration_ms, 3),
            **({"notes": self.notes} if self.notes else {}),
        }


def _shown(headers: list[tuple[str, str]] | dict[str, str]) -> dict[str, str]:
    return Headers.of_pairs(headers).as_dict() if isinstance(headers, list) else dict(headers)


class Journal:
    """A bounded, thread-safe log of exchanges; the oldest entries fall off past `capacity`."""

    def __init__(self, capacity: int = 10_000):
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._excerpts = _Excerpts()

    def excerpt(self, body: bytes) -> BodyExcerpt:
        """How an entry keeps a request or response body (see `BodyExcerpt`)."""
        if len(body) <= self._excerpts.limit:
            return BodyExcerpt(body)  # the body itself: nothing shared to guard
        with self._lock:
            return self._excerpts(body)

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def append(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, where: Callable[[JournalEntry], bool] | None = None) -> list[JournalEntry]:
        with self._lock:
            snapshot = list(self._entries)
        return [entry for entry in snapshot if where is None or where(entry)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SharedJournal(Journal):
    """The journal in a shared state store (Redis), so every worker's exchanges are in one list."""

    _ENTRIES = "journal"
    _IDS = "journal:ids"

    def __init__(self, store: StateStore, capacity: int = 10_000):
        super().__init__(capacity)
        self._store = store
        self._capacity = capacity

    def next_id(self) -> int:
        return self._store.incr(self._IDS)

    def append(self, entry: JournalEntry) -> None:
        data = {field.name: getattr(entry, field.name) for field in dataclasses.fields(entry)}
        # Bodies and headers travel as the admin API shows them.
        data["request_body"], data["response_body"] = str(entry.request_body), str(entry.response_body)
        data["request_headers"] = _shown(entry.request_headers)
        data["response_headers"] = _shown(entry.response_headers)
        self._store.push(self._ENTRIES, json.dumps(data, default=str), self._capacity)

    def entries(self, where: Callable[[JournalEntry], bool] | None = None) -> list[JournalEntry]:
        loaded = []
        for item in self._store.items(self._ENTRIES):
            data = json.loads(item)
            for key in ("request_body", "response_body"):
                data[key] = BodyExcerpt(data[key].encode("utf-8"))
            loaded.append(JournalEntry(**data))
        return [entry for entry in loaded if where is None or where(entry)]

    def clear(self) -> None:
        self._store.delete(self._ENTRIES, self._IDS)

    def __len__(self) -> int:
        return len(self._store.items(self._ENTRIES))


def journal_for(store: StateStore, capacity: int) -> Journal:
    """An in-process journal for in-memory state; a shared one when the state is shared."""
    from harness.state import MemoryStore

    return Journal(capacity) if isinstance(store, MemoryStore) else SharedJournal(store, capacity)
