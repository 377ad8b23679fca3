"""The mock's WSGI entry: mock requests go straight to the engine, admin requests to Flask.

`create_app` still returns the Flask app (the admin API under `/__harness/` is Flask routes), but
its `wsgi_app` is wrapped in `MockWSGI`, which answers every other request itself: the environ
becomes an `HttpRequest` and the engine's `MockResponse` a WSGI response, without Flask's request
context, URL map, werkzeug request and response objects, none of which the mock's catch-all used (a
Petstore request took ~130 µs in process through Flask, ~40 µs without). What a client sees is what
Flask sent: same status line, headers, HEAD and 1xx/204/304 handling, 500 on an error; responses
that need werkzeug's header corrections take werkzeug's path.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from harness.http import Headers, HttpRequest, MockResponse
from harness.live import UNDERSCORE_HEADERS
from mock_server.app import ADMIN_PREFIX, METHODS

if TYPE_CHECKING:
    from flask import Flask

    from harness.contracts import ContractSet
    from mock_server.engine import MockEngine

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The catch-all's methods; another method goes to Flask, which answers 405 as it always did.
_MOCK_METHODS = {method: method for method in METHODS}
_ADMIN_END = len(ADMIN_PREFIX)
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_SPECIAL_HEADERS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
_NAMES_CACHED = 1024


class MockWSGI:
    """Wraps the Flask app's `wsgi_app`: `/__harness/...` (and unknown methods) go to Flask, the rest
    to the engine."""

    def __init__(self, engine: MockEngine, app: Flask, flask_wsgi_app: WSGIApp):
        self.engine = engine
        self.app = app
        self.flask_wsgi_app = flask_wsgi_app
        self.read_request = RequestReader(engine.contracts)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path_info: str = environ.get("PATH_INFO", "")
        sent = environ.get("REQUEST_METHOD", "GET")
        method = _MOCK_METHODS.get(sent) or sent.upper()  # the shared "GET" (journal entries keep it)
        if method not in _MOCK_METHODS or (
            path_info.startswith(ADMIN_PREFIX) and path_info[_ADMIN_END : _ADMIN_END + 1] in "/"
        ):
            return self.flask_wsgi_app(environ, start_response)
        try:
            response = self.engine.handle(self.read_request(environ, method))
            if response.delivery is not None:  # connection faults: late, slow, cut or dropped
                from mock_server.delivery import deliver

                return deliver(response, environ, self.engine.faults.sleep)(environ, start_response)
            return wsgi_response(response, environ, start_response)
        except Exception as exc:
            return self._internal_error(exc, environ, start_response, method)

    def _internal_error(
        self, exc: Exception, environ: dict[str, Any], start_response: Callable[..., Any], method: str
    ) -> Iterable[bytes]:
        """What Flask does with an exception in a view: raise it when testing, else log it and 500."""
        app = self.app
        propagate = app.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = app.testing or app.debug
        if propagate:
            raise exc
        app.logger.error(f"Exception on {environ.get('PATH_INFO', '')} [{method}]", exc_info=exc)
        return InternalServerError()(environ, start_response)


class RequestReader:
    """Turns a WSGI environ into the `HttpRequest` the engine sees: the raw (percent-encoded) path,
    the query string, headers and the body bytes."""

    def __init__(self, contracts: ContractSet):
        self._names = _HeaderNames(contracts)

    def __call__(self, environ: dict[str, Any], method: str | None = None) -> HttpRequest:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_uri and raw_uri[0] == "/":
            # Keep the path percent-encoded so `/users/a%2Fb` stays one segment.
            path = raw_uri.partition("?")[0]
        else:
            path_info = environ.get("PATH_INFO") or ""
            path = quote("/" + path_info.encode("latin-1").decode("utf-8", "replace").lstrip("/"))
        return HttpRequest(
            method=method or environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            query_string=environ.get("QUERY_STRING", ""),
            headers=Headers.of_pairs(self._names.headers(environ)),
            body=_body(environ),
            client_address=environ.get("REMOTE_ADDR") or "",
        )


class _HeaderNames:
    """Header names from environ keys (`HTTP_USER_AGENT` -> `User-Agent`), computed once per key.

    A header whose name has an underscore reaches the app in one of two ways. From our own request
    handler (`harness.live.AppHeadersHandler`) it comes under `UNDERSCORE_HEADERS` with its exact name,
    and the environ keys mean what they say. From a server that maps `api_key` and `Api-Key` both to
    `HTTP_API_KEY` (gunicorn `--header-map dangerous`, Flask's test client), the key is ambiguous:
    it is read back as the contracts spell the name (`api_key`), so a spec's header still matches.
    """

    def __init__(self, contracts: ContractSet):
        self._plain: dict[str, str] = {}
        self._ambiguous: dict[str, str] | None = None
        self._contracts = contracts

    def headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        exact = environ.get(UNDERSCORE_HEADERS)
        names = self._plain if exact is not None else self._ambiguous_names()
        pairs = []
        for key, value in environ.items():
            if key[:5] == "HTTP_":
                if key == "HTTP_CONTENT_TYPE" or key == "HTTP_CONTENT_LENGTH":
                    continue
                name = names.get(key)
                if name is None:
                    name = key[5:].replace("_", "-").title()
                    if len(names) < _NAMES_CACHED:  # clients choose header names: keep the cache bounded
                        names[key] = name
                pairs.append((name, value))
            elif key in _SPECIAL_HEADERS and value:
                pairs.append((_SPECIAL_HEADERS[key], value))
        if exact:
            pairs.extend(exact)
        return pairs

    def _ambiguous_names(self) -> dict[str, str]:
        if self._ambiguous is None:
            self._ambiguous = {
                "HTTP_" + name.upper().replace("-", "_"): name
                for name in underscored_header_names(self._contracts)
            }
        return self._ambiguous


def underscored_header_names(contracts: ContractSet) -> list[str]:
    """Header names with an underscore that the contracts read: apiKey schemes and header parameters."""
    from harness.documents import follow_refs

    found: dict[str, None] = {}

    def add(parameter: Any, contract_raw: dict[str, Any]) -> None:
        parameter = follow_refs(contract_raw, parameter)
        if isinstance(parameter, dict) and parameter.get("in") == "header":
            name = parameter.get("name")
            if isinstance(name, str) and "_" in name:
                found[name] = None

    for contract in contracts.contracts:
        for scheme in contract.security_schemes.values():
            add(scheme, contract.raw)
        for operation in contract.operations:
            declared = [
                *operation.path_item.get("parameters", []),
                *operation.definition.get("parameters", []),
            ]
            for parameter in declared:
                add(parameter, contract.raw)
    return list(found)


def _body(environ: dict[str, Any]) -> bytes:
    """The request body as werkzeug's `Request.get_data()` reads it (no body without a length)."""
    if "wsgi.input_terminated" not in environ and not environ.get("CONTENT_LENGTH"):
        return b""
    stream: io.RawIOBase = get_input_stream(environ)  # type: ignore[assignment]
    return stream.read() or b""


def wsgi_response(
    response: MockResponse, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Send `response` exactly as a Flask `Response` made of it would go out, in a fraction of the time."""
    status = response.status
    reason = response.reason or _REASONS.get(status)
    body = response.body
    headers: list[tuple[str, str]] = []
    length_at = -1
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-length":
            if length_at >= 0:
                continue
            length_at = len(headers)
        elif lowered in ("location", "content-location") or "\n" in value or "\r" in value:
            return _werkzeug_response(response)(environ, start_response)
        headers.append((name, value))
    if status < 200 or status in (204, 304) or reason is None:
        return _werkzeug_response(response)(environ, start_response)
    length = ("Content-Length", str(len(body)))
    if length_at >= 0:
        headers[length_at] = length
    else:
        headers.append(length)
    start_response(f"{status} {reason}", headers)
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _werkzeug_response(response: MockResponse) -> Response:
    """The response through werkzeug, for what it corrects: Location IRIs, 1xx/204/304 bodies and
    headers, status codes without a reason, header values with a newline (refused)."""
    reason = response.reason or _REASONS.get(response.status)
    sent = Response(
        response.body,
        status=f"{response.status} {reason}" if reason else str(response.status),
        headers=response.headers.items(),
    )
    if "Content-Type" not in response.headers:
        del sent.headers["Content-Type"]  # werkzeug's text/html default would be a lie
    return sent
