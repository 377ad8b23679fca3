"""Send a response the way a `Delivery` says: late, in slow chunks, cut short, reset, or not at all.

Connection faults need the real socket (`werkzeug.socket` on werkzeug's server, `gunicorn.socket`
on gunicorn). Traps, verified with requests and httpx (TECH-NOTES §4.2):

- RST: set SO_LINGER(1, 0) and close the socket *before* the server's own close, which would send a
  FIN first (clients then see a clean EOF, not a reset). `socket.close()` defers the real close until
  the server releases its file objects, so the RST goes out when the server finishes the request.
- Stop iterating with a `ConnectionError`: werkzeug takes it for "client went away" and logs nothing;
  any other exception would make it log a traceback and try to write a 500.
- drop: shut the socket down before the status line; werkzeug's write then fails with EPIPE, which
  it treats as a dropped client, so it writes nothing else.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from harness.http import DeliveryMode, MockResponse
from mock_server.problems import problem


def _socket(environ: dict[str, Any]) -> socket.socket | None:
    found = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    return found if isinstance(found, socket.socket) else None


def _chunks(body: bytes, size: int | None) -> Iterator[bytes]:
    if not size:
        if body:
            yield body
        return
    for start in range(0, len(body), size):
        yield body[start : start + size]


def deliver(response: MockResponse, environ: dict[str, Any], sleep: Callable[[float], None]) -> Response:
    """A Flask response that carries out `response.delivery` (which must be set)."""
    delivery = response.delivery
    assert delivery is not None
    if delivery.delay > 0:
        sleep(delivery.delay)
    sock = _socket(environ)
    mode = delivery.mode
    if mode is not DeliveryMode.COMPLETE and sock is None:
        # A test client has no connection to break: say so rather than pretend.
        failed = problem(
            501,
            "Connection fault needs a real socket",
            f"the {mode.value} fault breaks the TCP connection; serve the mock over HTTP "
            "(harness.serve_mock, `harness mock`) to simulate it",
        )
        return _flask(failed, [failed.body], len(failed.body))
    if mode is DeliveryMode.DROP:
        assert sock is not None
        sock.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)  # never sent: the write fails on the closed socket
    body = response.body
    length = len(body)
    if mode in (DeliveryMode.RESET, DeliveryMode.TRUNCATE):
        cut = delivery.cut_at if delivery.cut_at is not None else len(body) // 2
        body = body[:cut]
        if mode is DeliveryMode.TRUNCATE:
            length = max(length, cut + 1)

    def stream() -> Iterator[bytes]:
        for index, chunk in enumerate(_chunks(body, delivery.chunk_size)):
            if index and delivery.interval > 0:
                sleep(delivery.interval)
            yield chunk
        if sock is None:
            return
        if mode is DeliveryMode.TRUNCATE:
            sock.shutdown(socket.SHUT_WR)  # EOF now, well short of Content-Length
        elif mode is DeliveryMode.RESET:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            raise ConnectionAbortedError("simulated connection reset")

    return _flask(response, stream(), length)


def _flask(response: MockResponse, body: Any, length: int) -> Response:
    headers = [(name, value) for name, value in response.headers.items() if name.lower() != "content-length"]
    flask_response = Response(
        body,
        status=f"{response.status} {response.reason_phrase}".strip(),
        headers=headers,
        direct_passthrough=True,
    )
    if "Content-Type" not in response.headers:
        del flask_response.headers["Content-Type"]
    flask_response.headers["Content-Length"] = str(length)
    return flask_response
