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

if TYPE_CHECKING:
    from harness.state import StateStore

_BODY_EXCERPT = 4096


def body_text(body: bytes, limit: int = _BODY_EXCERPT) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return text + "…" if len(body) > limit else text


@dataclass
class JournalEntry:
    id: int
    time: float
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: str
    contract: str | None
    operation: str | None
    violations: list[dict[str, Any]]
    status: int
    response_headers: dict[str, str]
    response_body: str
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
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "contract": self.contract,
            "operation": self.operation,
            "violations": self.violations,
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_body,
                "source": self.source,
            },
            "duration_ms": round(self.duration_ms, 3),
            **({"notes": self.notes} if self.notes else {}),
        }


class Journal:
    """A bounded, thread-safe log of exchanges; the oldest entries fall off past `capacity`."""

    def __init__(self, capacity: int = 10_000):
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

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
        self._store.push(self._ENTRIES, json.dumps(dataclasses.asdict(entry), default=str), self._capacity)

    def entries(self, where: Callable[[JournalEntry], bool] | None = None) -> list[JournalEntry]:
        loaded = [JournalEntry(**json.loads(item)) for item in self._store.items(self._ENTRIES)]
        return [entry for entry in loaded if where is None or where(entry)]

    def clear(self) -> None:
        self._store.delete(self._ENTRIES, self._IDS)

    def __len__(self) -> int:
        return len(self._store.items(self._ENTRIES))


def journal_for(store: StateStore, capacity: int) -> Journal:
    """An in-process journal for in-memory state; a shared one when the state is shared."""
    from harness.state import MemoryStore

    return Journal(capacity) if isinstance(store, MemoryStore) else SharedJournal(store, capacity)
