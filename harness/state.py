"""Where the mock keeps what must survive between requests: rate-limit counters, fault rules, the clock.

`MemoryStore` serves one process. `RedisStore` lets several worker processes or hosts share one state,
so that a limit of 60 means 60 across all of them: every update is one atomic Redis command or one Lua
script, never a read-then-write from Python.

    store = open_store("redis://127.0.0.1:6379/0")   # or "memory"
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from harness.errors import ConfigurationError


class StateError(ConfigurationError):
    """The state store cannot be used: a bad URL, or a Redis server that cannot be reached."""


@dataclass(frozen=True)
class WindowCount:
    """A rate-limit window after one request: how much of it is used and when it resets (epoch s)."""

    used: int
    reset: float
    allowed: bool


class StateStore(Protocol):
    """Shared, atomic state. Keys are plain strings; each store adds its own namespace."""

    url: str

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def set_if_absent(self, key: str, value: str) -> bool: ...
    def incr(self, key: str, amount: int = 1) -> int: ...
    def incr_float(self, key: str, amount: float) -> float: ...
    def hash_set(self, key: str, field: str, value: str) -> None: ...
    def hash_items(self, key: str) -> dict[str, str]: ...
    def hash_delete(self, key: str, field: str) -> bool: ...
    def push(self, key: str, value: str, cap: int) -> None: ...
    def items(self, key: str) -> list[str]: ...
    def delete(self, *keys: str) -> None: ...

    def window_hit(self, key: str, now: float, window: float, limit: int) -> WindowCount:
        """Count one request in the window at `key` (a new window starts at the first request after
        the last one ended); refused, and not counted, once `limit` requests are used."""
        ...

    def window_peek(self, key: str, now: float) -> WindowCount | None: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


class MemoryStore:
    """In-process state behind one lock: the default, for a single server process."""

    url = "memory"

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._values.get(key)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def set_if_absent(self, key: str, value: str) -> bool:
        with self._lock:
            if key in self._values:
                return False
            self._values[key] = value
            return True

    def incr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            value = int(self._values.get(key, 0)) + amount
            self._values[key] = value
        return value

    def incr_float(self, key: str, amount: float) -> float:
        with self._lock:
            value = float(self._values.get(key, 0.0)) + amount
            self._values[key] = value
        return value

    def hash_set(self, key: str, field: str, value: str) -> None:
        with self._lock:
            self._values.setdefault(key, {})[field] = value

    def hash_items(self, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._values.get(key, {}))

    def hash_delete(self, key: str, field: str) -> bool:
        with self._lock:
            return self._values.get(key, {}).pop(field, None) is not None

    def push(self, key: str, value: str, cap: int) -> None:
        with self._lock:
            items = self._values.setdefault(key, [])
            items.append(value)
            if len(items) > cap:
                del items[: len(items) - cap]

    def items(self, key: str) -> list[str]:
        with self._lock:
            return list(self._values.get(key, []))

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def window_hit(self, key: str, now: float, window: float, limit: int) -> WindowCount:
        with self._lock:
            used, reset = self._values.get(key, (0, 0.0))
            if now >= reset:
                used, reset = 0, now + window
            allowed = used < limit
            if allowed:
                used += 1
            self._values[key] = (used, reset)
        return WindowCount(used, reset, allowed)

    def window_peek(self, key: str, now: float) -> WindowCount | None:
        with self._lock:
            found = self._values.get(key)
        if found is None or now >= found[1]:
            return None
        return WindowCount(found[0], found[1], True)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def close(self) -> None:
        pass


# One script, so that concurrent workers never both take the last request of a window.
_WINDOW_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
local used = tonumber(redis.call('HGET', KEYS[1], 'used'))
if (not reset) or now >= reset then
  reset = now + window
  used = 0
end
local allowed = 0
if used < limit then
  used = used + 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'reset', tostring(reset), 'used', used)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {used, tostring(reset), allowed}
"""


class RedisStore:
    """State in Redis under `prefix`, shared by every mock process pointed at the same server and db.

    Args:
        url: `redis://[:password@]host:port/db`, `rediss://…` or `unix:///path?db=N`; a `prefix`
            query parameter sets the key namespace (default `harness`).
    """

    def __init__(self, url: str, *, prefix: str | None = None):
        try:
            import redis
        except ImportError:
            raise StateError(
                f"--state {url}: the redis package is not installed; "
                "install it with: pip install 'contract-harness[redis]'"
            ) from None
        query = parse_qs(urlsplit(url).query)
        self.prefix = (prefix or query.pop("prefix", ["harness"])[0]).rstrip(":") + ":"
        self.url = url
        self._client: Any = None
        try:
            self._client = redis.Redis.from_url(url.split("?")[0] + _rest_query(query), decode_responses=True)
            self._client.ping()
        except (redis.RedisError, ValueError) as exc:
            if self._client is not None:
                self._client.close()
            raise StateError(
                f"--state {url}: cannot reach Redis ({exc}); start redis-server or fix the URL "
                "(redis://host:port/db)"
            ) from None
        self._window_hit = self._client.register_script(_WINDOW_HIT)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> str | None:
        value = self._client.get(self._key(key))
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        self._client.set(self._key(key), value)

    def set_if_absent(self, key: str, value: str) -> bool:
        return bool(self._client.set(self._key(key), value, nx=True))

    def incr(self, key: str, amount: int = 1) -> int:
        return int(self._client.incrby(self._key(key), amount))

    def incr_float(self, key: str, amount: float) -> float:
        return float(self._client.incrbyfloat(self._key(key), amount))

    def hash_set(self, key: str, field: str, value: str) -> None:
        self._client.hset(self._key(key), field, value)

    def hash_items(self, key: str) -> dict[str, str]:
        return dict(self._client.hgetall(self._key(key)))

    def hash_delete(self, key: str, field: str) -> bool:
        return bool(self._client.hdel(self._key(key), field))

    def push(self, key: str, value: str, cap: int) -> None:
        pipe = self._client.pipeline()  # MULTI/EXEC: push and trim as one step
        pipe.rpush(self._key(key), value)
        pipe.ltrim(self._key(key), -cap, -1)
        pipe.execute()

    def items(self, key: str) -> list[str]:
        return list(self._client.lrange(self._key(key), 0, -1))

    def delete(self, *keys: str) -> None:
        if keys:
            self._client.delete(*(self._key(key) for key in keys))

    def window_hit(self, key: str, now: float, window: float, limit: int) -> WindowCount:
        # The window is judged by the mock's clock (which tests move); the Redis TTL only collects
        # garbage, so it is generous.
        ttl = max(60, math.ceil(window) + 60)
        used, reset, allowed = self._window_hit(keys=[self._key(key)], args=[repr(now), window, limit, ttl])
        return WindowCount(int(used), float(reset), bool(int(allowed)))

    def window_peek(self, key: str, now: float) -> WindowCount | None:
        used, reset = self._client.hmget(self._key(key), "used", "reset")
        if reset is None or now >= float(reset):
            return None
        return WindowCount(int(used or 0), float(reset), True)

    def clear(self) -> None:
        pattern = "".join("\\" + char if char in "*?[]\\" else char for char in self.prefix) + "*"
        keys = list(self._client.scan_iter(match=pattern, count=500))
        for start in range(0, len(keys), 500):
            self._client.delete(*keys[start : start + 500])

    def close(self) -> None:
        self._client.close()


def _rest_query(query: dict[str, list[str]]) -> str:
    pairs = [f"{name}={value}" for name, values in query.items() for value in values]
    return "?" + "&".join(pairs) if pairs else ""


def open_store(url: str | None) -> StateStore:
    """`memory` (or None) for in-process state, `redis://host:port/db` for state shared by workers."""
    if url is None or url == "memory":
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    raise StateError(
        f"--state {url!r} is not a state store; use 'memory' (the default) or redis://host:port/db"
    )
