"""The live server's request handler over real sockets: keep-alive, framing, header names with "_".

Each test serves a small WSGI app with `LiveServer` (which uses `AppHeadersHandler`) and talks to it
with http.client or a raw socket, so what goes over the wire is what is asserted.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from harness.live import UNDERSCORE_HEADERS, AppHeadersHandler, LiveServer


class Recorder:
    """A WSGI app that answers `ok <n>` and remembers each request's environ (and what it read)."""

    def __init__(self, *, read_body=True, body=None, headers=None):
        self.environs = []
        self.bodies = []
        self.read_body = read_body
        self.body = body
        self.headers = headers or []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.environs.append(environ)
            count = len(self.environs)
        self.bodies.append(environ["wsgi.input"].read() if self.read_body else None)
        body = self.body if self.body is not None else f"ok {count}".encode()
        headers = [("Content-Type", "text/plain"), *self.headers]
        if isinstance(body, bytes):
            headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return body if not isinstance(body, bytes) else [body]

    @property
    def client_ports(self):
        return {environ["REMOTE_PORT"] for environ in self.environs}


def exchange(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def raw(port, request: bytes, *, timeout=5.0) -> bytes:
    """Send raw bytes; read until the server closes the connection (or `timeout` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


@pytest.fixture
def served():
    servers = []

    def serve(app):
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def test_http_1_1_requests_share_one_connection(served):
    # Given an app on the live server
    app = Recorder()
    server = served(app)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    # When three requests go over one HTTP/1.1 connection
    answers = [exchange(connection, "GET", f"/{n}") for n in range(3)]
    # Then all are answered, none says it closes, and the server saw a single client connection
    assert [body for _, body in answers] == [b"ok 1", b"ok 2", b"ok 3"]
    assert all(response.getheader("Connection") is None for response, _ in answers)
    assert len(app.client_ports) == 1
    connection.close()


def test_a_request_body_the_app_did_not_read_is_skipped_before_the_next_request(served):
    # Given an app that never reads request bodies
    app = Recorder(read_body=False)
    server = served(app)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    # When a POST with a body it ignores is followed by a GET on the same connection
    _, first = exchange(connection, "POST", "/upload", body=b"x" * 70_000)
    response, second = exchange(connection, "GET", "/after")
    # Then the body was not taken for the next request line
    assert (first, second, response.status) == (b"ok 1", b"ok 2", 200)
    assert [environ["PATH_INFO"] for environ in app.environs] == ["/upload", "/after"]
    assert len(app.client_ports) == 1
    connection.close()


def test_the_app_reads_exactly_the_declared_body_even_when_it_asks_for_more(served):
    app = Recorder()
    server = served(app)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    exchange(connection, "POST", "/a", body=b'{"n": 1}', headers={"Content-Type": "application/json"})
    exchange(connection, "GET", "/b")
    # read() with no size stops at Content-Length instead of waiting for the next request's bytes
    assert app.bodies == [b'{"n": 1}', b""]
    connection.close()


def test_a_chunked_request_body_is_read_and_the_connection_kept(served):
    app = Recorder()
    server = served(app)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    # (http.client sends an iterator body chunked)
    exchange(connection, "POST", "/chunks", body=iter([b"ab", b"cd"]))
    _, body = exchange(connection, "GET", "/next")
    assert app.environs[0]["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert app.bodies[0] == b"abcd" and body == b"ok 2"
    assert len(app.client_ports) == 1
    connection.close()


def test_a_streamed_response_without_length_is_sent_chunked_on_a_kept_connection(served):
    app = Recorder(body=iter([b"one ", b"two"]))
    server = served(app)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    response, body = exchange(connection, "GET", "/stream")
    assert body == b"one two" and response.getheader("Transfer-Encoding") == "chunked"
    app.body = b"again"
    assert exchange(connection, "GET", "/again")[1] == b"again"
    assert len(app.client_ports) == 1
    connection.close()


@pytest.mark.parametrize(
    ("request_line", "headers"),
    [("GET / HTTP/1.1", "Host: x\r\nConnection: close\r\n"), ("GET / HTTP/1.0", "")],
    ids=["client-asks-to-close", "http-1.0"],
)
def test_the_connection_closes_when_the_client_asks_or_speaks_http_1_0(served, request_line, headers):
    server = served(Recorder())
    started = time.monotonic()
    received = raw(server.port, f"{request_line}\r\n{headers}\r\n".encode())
    # The server closed at once (raw() reads until EOF) and said so
    assert time.monotonic() - started < 2
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in received and received.endswith(b"ok 1")


def test_a_response_shorter_than_its_content_length_ends_with_the_connection(served):
    # Given an app whose body falls short of its Content-Length (what the `truncated` fault does)
    def short(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return [b"12345"]

    server = served(short)
    started = time.monotonic()
    received = raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    # Then the client gets EOF right after the bytes (not a hang until a timeout)
    assert received.endswith(b"\r\n\r\n12345") and time.monotonic() - started < 2


def test_pipelined_requests_are_answered_in_order(served):
    server = served(Recorder())
    received = raw(
        server.port,
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert received.index(b"ok 1") < received.index(b"ok 2")


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout():
    class Impatient(AppHeadersHandler):
        keep_alive_timeout = 0.2

    with LiveServer(Recorder(), request_handler=Impatient) as server:
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.05)
        assert connection.recv(65536).endswith(b"ok 1")
        # Nothing more is sent: the server hangs up after its keep-alive timeout
        started = time.monotonic()
        assert connection.recv(65536) == b""
        assert 0.1 < time.monotonic() - started < 3
        connection.close()


def test_stopping_the_server_closes_its_idle_keep_alive_connections():
    server = LiveServer(Recorder()).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    assert exchange(connection, "GET", "/")[1] == b"ok 1"
    # When the server stops while the connection idles
    started = time.monotonic()
    server.stop()
    # Then the kept connection is closed too: nothing answers on it any more
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        exchange(connection, "GET", "/after-stop")
    assert time.monotonic() - started < 3
    connection.close()


def test_the_apps_server_and_date_headers_replace_the_servers_own(served):
    app = Recorder(headers=[("Server", "GitHub.com"), ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")])
    server = served(app)
    received = raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = received.partition(b"\r\n\r\n")[0].decode()
    assert head.count("Server:") == 1 and "Server: GitHub.com" in head
    assert head.count("Date:") == 1 and "Date: Mon, 01 Jan 2024 00:00:00 GMT" in head
    plain = raw(served(Recorder()).port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").decode()
    assert "\r\nServer: Werkzeug/" in plain and "\r\nDate: " in plain


def test_header_names_with_an_underscore_reach_the_app_apart_from_dashed_ones(served):
    # Given a request with `api_key` and the differently named `Api-Key`
    app = Recorder()
    server = served(app)
    raw(
        server.port,
        b"GET / HTTP/1.1\r\nHost: x\r\napi_key: secret\r\nApi-Key: other\r\nConnection: close\r\n\r\n",
    )
    (environ,) = app.environs
    # Then the underscored one is handed over under its own key, exactly as sent, and cannot be
    # confused with (or overwrite) the dashed one, which keeps its CGI name
    assert environ[UNDERSCORE_HEADERS] == [("api_key", "secret")]
    assert environ["HTTP_API_KEY"] == "other"


def test_an_app_error_is_a_500_and_closes_the_connection(served, caplog):
    def broken(environ, start_response):
        raise RuntimeError("boom")

    server = served(broken)
    received = raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 500 INTERNAL SERVER ERROR")
    assert b"\r\nConnection: close\r\n" in received
