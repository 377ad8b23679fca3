"""Responses queued by tests for the next matching requests (the client-check API).

A property test draws a response the contract allows, queues it for an operation, calls the client
and checks what the client made of it. The queue answers last in the pipeline, after credentials
and validation, so a client that sends a bad request still gets the 4xx a real server would send.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from harness.http import MockResponse
from mock_server.engine import Exchange, Next


@dataclass
class _Queued:
    operation: str
    response: MockResponse
    remaining: int


class ServedResponses:
    """FIFO of responses per operation name (operationId or 'GET /path' label)."""

    def __init__(self) -> None:
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def push(self, operation: str, response: MockResponse, times: int = 1) -> None:
        with self._lock:
            self._queue.append(_Queued(operation, response, times))

    def take(self, operation: str, label: str) -> MockResponse | None:
        with self._lock:
            for entry in self._queue:
                if entry.operation in (operation, label):
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        self._queue.remove(entry)
                    return entry.response
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"operation": entry.operation, "status": entry.response.status, "remaining": entry.remaining}
                for entry in self._queue
            ]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse:
        operation = exchange.operation
        if operation is not None:
            queued = self.take(operation.name, operation.label)
            if queued is not None:
                return MockResponse(
                    queued.status,
                    queued.headers.copy(),
                    queued.body,
                    queued.source or "served",
                    queued.delivery,
                )
        return call_next(exchange)
