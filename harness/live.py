"""Serve a WSGI app on a real socket in a background thread, for tests and the pytest plugin."""

from __future__ import annotations

import contextlib
import io
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

# The environ key under which `AppHeadersHandler` hands over the request headers whose names contain
# "_" (as (name, value) pairs, names exactly as sent), which WSGI servers drop (see the handler).
UNDERSCORE_HEADERS = "harness.underscore_headers"

_ACCESS_LOG = logging.getLogger("werkzeug")
# An unread request body up to this size is read and discarded so the connection can carry the
# next request; a larger one closes the connection instead.
_DRAIN_LIMIT = 1 << 20


class AppHeadersHandler(WSGIRequestHandler):
    """werkzeug's request handler, with what the mock (and any app served with it) needs from a server:

    - **HTTP/1.1 keep-alive.** werkzeug's own handler answers every request with `Connection: close`
      (http.server cannot tell where an unread request body ends). This one limits `wsgi.input` to
      the request's `Content-Length` (or its chunked body), reads and discards what the app left
      unread, and keeps the connection for the next request, up to `keep_alive_timeout` seconds idle.
      It closes when the client asks, for HTTP/1.0, when a response is cut short (connection
      faults), after an error, and on a single-threaded server.
    - **One write per small response**: status line, headers and the first body chunk go out in one
      `send`, and Nagle's algorithm is off, so keep-alive never waits on a delayed ACK.
    - **The app's own `Server` and `Date`.** http.server writes its own before the app's headers,
      so a replayed response would carry two of each; these are sent only when the app sends none.
    - **Header names with an underscore.** Servers map `api_key` and `Api-Key` to the same
      `HTTP_API_KEY` and so drop the first kind (werkzeug, gunicorn ≥ 22), lest a client spoof a
      header a proxy vouches for. This handler hands them over apart, under
      `environ[UNDERSCORE_HEADERS]` with their names exactly as sent, which cannot be mistaken for
      the dashed ones (`mock_server.wsgi` reads them).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    keep_alive_timeout = 5.0
    _date: tuple[int, str] = (0, "")

    # -- the connection: one request after another ------------------------------------------------

    def handle_one_request(self) -> None:
        """http.server's `handle_one_request`, waiting at most `keep_alive_timeout` for a request line."""
        server, connection = self.server, self.connection
        idle: set[socket.socket] | None = getattr(server, "idle_connections", None)
        if idle is not None:
            with server.idle_lock:  # type: ignore[attr-defined]
                if server.stopping:  # type: ignore[attr-defined]
                    self.close_connection = True
                    return
                idle.add(connection)
        try:
            # A pipelined request already in the buffer is read at once; otherwise wait, not forever.
            connection.settimeout(self.keep_alive_timeout)
            self.raw_requestline = self.rfile.readline(65537)
            connection.settimeout(self.timeout)
        except OSError:  # idle too long (TimeoutError), reset, or shut by LiveServer.stop
            self.close_connection = True
            return
        finally:
            if idle is not None:
                with server.idle_lock:  # type: ignore[attr-defined]
                    idle.discard(connection)
        if len(self.raw_requestline) > 65536:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(414)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():  # an error response was sent
            return
        if self.request_version != "HTTP/1.1" or not (server.multithread or server.multiprocess):
            self.close_connection = True  # HTTP/1.0 framing, or a server that would block on an idle client
        self.run_wsgi()
        self.wfile.flush()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[UNDERSCORE_HEADERS] = [
            (name, value.replace("\r\n", "")) for name, value in self.headers.items() if "_" in name
        ]
        if "wsgi.input_terminated" not in environ:  # not chunked: the body is Content-Length bytes
            length = environ.get("CONTENT_LENGTH")
            if not length:
                environ["wsgi.input"] = io.BytesIO()
            elif length.isdigit():
                environ["wsgi.input"] = LimitedStream(self.rfile, int(length))  # type: ignore[arg-type]
            else:  # werkzeug reads an invalid length as 0; where the body ends is anyone's guess
                environ["wsgi.input"] = io.BytesIO()
                self.close_connection = True
            environ["wsgi.input_terminated"] = True
        elif environ.get("CONTENT_LENGTH"):
            self.close_connection = True  # chunked *and* a length: a smuggling attempt, serve it and close
        return environ

    # -- one request: the WSGI call and the response ------------------------------------------------

    def run_wsgi(self) -> None:
        self.environ = environ = self.make_environ()
        response = _ResponseWriter(self, environ["REQUEST_METHOD"])
        try:
            iterable = self.server.app(environ, response.start_response)
            try:
                for data in iterable:
                    response.write(data)
                response.finish()
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception as exc:
            if self.server.passthrough_errors:
                raise
            self.close_connection = True
            if not response.sent_headers:  # roll back to a 500, as werkzeug does
                try:
                    response.reset()
                    for data in InternalServerError()(environ, response.start_response):
                        response.write(data)
                    response.finish()
                except Exception:
                    pass
            from werkzeug.debug.tbtools import DebugTraceback

            self.server.log("error", f"Error on request:\n{DebugTraceback(exc).render_traceback_text()}")
            self._finish_request_body(environ["wsgi.input"])
            return
        if response.misframed:
            self.close_connection = True
        self._finish_request_body(environ["wsgi.input"])

    def _finish_request_body(self, body: Any) -> None:
        """Read what the app left of the request body, so the next request starts where it should."""
        if isinstance(body, LimitedStream):
            remaining = body.limit - body.tell() if not body.is_exhausted else 0
        elif isinstance(body, io.BytesIO):
            remaining = 0  # no body
        else:
            remaining = -1  # chunked: unknown until read
        if remaining == 0 or self.close_connection:
            if remaining != 0 and self.close_connection:
                self._discard_pending_input()
            return
        if remaining > _DRAIN_LIMIT:
            self.close_connection = True
            self._discard_pending_input()
            return
        try:
            read = 0
            while chunk := body.read(65536):
                read += len(chunk)
                if read > _DRAIN_LIMIT:
                    self.close_connection = True
                    return
        except Exception:  # the client went away mid-body (werkzeug's ClientDisconnected, OSError)
            self.close_connection = True

    def _discard_pending_input(self) -> None:
        """Before closing with a request body unread, take what the client already sent, so that it
        sees the response rather than a reset (werkzeug's own handler does this on every request)."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.connection, selectors.EVENT_READ)
                total = 0
                while total < 10_000_000 and selector.select(timeout=0.01):
                    data = self.rfile.read1(65536)
                    if not data:
                        break
                    total += len(data)
        except (OSError, ValueError):
            pass

    # -- what the response headers add ------------------------------------------------------------

    def date_header(self) -> str:
        """`Date` for now, formatted once per second."""
        now = int(time.time())
        second, text = AppHeadersHandler._date
        if second != now:
            text = self.date_time_string(now)
            AppHeadersHandler._date = (now, text)
        return text

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if _ACCESS_LOG.isEnabledFor(logging.INFO):  # werkzeug formats the line before it asks
            super().log_request(code, size)


class _ResponseWriter:
    """The WSGI `start_response`/`write` of one request: frames the body (Content-Length, chunked or
    none) and sends the status line and headers together with the first chunk."""

    def __init__(self, handler: AppHeadersHandler, method: str):
        self.handler = handler
        self.method = method
        self.status_line: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent_headers = False
        self.chunked = False
        self.bodiless = False
        self.length: int | None = None
        self.written = 0

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.sent_headers:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status_line is not None:
            raise AssertionError("Headers already set")
        self.status_line, self.headers = status, headers
        return self.write

    def reset(self) -> None:
        self.status_line, self.headers = None, []

    def write(self, data: bytes) -> None:
        assert self.status_line is not None, "write() before start_response"
        assert isinstance(data, bytes), "applications must write bytes"
        handler = self.handler
        if not self.sent_headers:
            head = self._head()
            self.sent_headers = True
            if self.bodiless or not data:
                handler.wfile.write(head)
                return
            data = self._frame(data)
            handler.wfile.write(head + data)
            return
        if data and not self.bodiless:
            handler.wfile.write(self._frame(data))

    def _frame(self, data: bytes) -> bytes:
        self.written += len(data)
        if self.chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def finish(self) -> None:
        if not self.sent_headers:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    @property
    def misframed(self) -> bool:
        """The body was not its `Content-Length` (a truncated-body fault): only EOF can end it."""
        return self.length is not None and not self.bodiless and self.written != self.length

    def _head(self) -> bytes:
        handler = self.handler
        status = self.status_line
        assert status is not None
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        handler.log_request(code)
        lines = [f"{handler.protocol_version} {code} {reason}\r\n"]
        names = set()
        for name, value in self.headers:
            lowered = name.lower()
            names.add(lowered)
            if lowered == "content-length":
                try:
                    self.length = int(value)
                except ValueError:
                    handler.close_connection = True
            elif lowered == "connection" and value.lower() == "close":
                handler.close_connection = True
            lines.append(f"{name}: {value}\r\n")
        self.bodiless = self.method == "HEAD" or code < 200 or code in (204, 304)
        if "server" not in names:
            lines.append(f"Server: {handler.version_string()}\r\n")
        if "date" not in names:
            lines.append(f"Date: {handler.date_header()}\r\n")
        if self.length is None and not self.bodiless and "transfer-encoding" not in names:
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
                lines.append("Transfer-Encoding: chunked\r\n")
            else:
                handler.close_connection = True  # the end of the body is the end of the connection
        if handler.close_connection and "connection" not in names:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")


class _LiveWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server, which knows its idle keep-alive connections so `stop` closes them."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.idle_connections: set[socket.socket] = set()
        self.idle_lock = threading.Lock()
        self.stopping = False

    def close_idle_connections(self) -> None:
        with self.idle_lock:
            self.stopping = True
            idle = list(self.idle_connections)
            self.idle_connections.clear()
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # the waiting handler sees EOF and ends


class LiveServer:
    """A threaded werkzeug server on `host:port` (0 picks a free port); use as a context manager."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        request_handler: type[WSGIRequestHandler] | None = None,
    ):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        self.app = app
        self._server: BaseWSGIServer = _LiveWSGIServer(host, port, app, request_handler or AppHeadersHandler)
        self.host = host
        self.port = self._server.server_port
        # A short poll interval makes stop() take milliseconds instead of half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name=f"live-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        if isinstance(self._server, _LiveWSGIServer):
            self._server.close_idle_connections()
        self._server.server_close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
