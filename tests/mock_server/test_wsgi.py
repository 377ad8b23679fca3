"""MockWSGI: mock requests reach the engine without Flask, and leave as Flask would have sent them."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests
from werkzeug.test import EnvironBuilder

from harness import serve_mock
from harness.http import Delivery, DeliveryMode, Headers, MockResponse
from mock_server import create_app
from mock_server.app import to_flask_response
from mock_server.wsgi import MockWSGI, underscored_header_names, wsgi_response
from tests.conftest import TODO, corpus_path

API_KEY_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "keys", "version": "1"},
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "api_key"}}},
    "paths": {
        "/inventory": {
            "get": {
                "security": [{"key": []}],
                "parameters": [
                    {"name": "X_Trace_Id", "in": "header", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {"description": "", "content": {"application/json": {"example": {"n": 1}}}}
                },
            }
        }
    },
}


@pytest.fixture
def api_key_app(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(API_KEY_SPEC))
    return create_app([path])


def call(app, environ):
    """One WSGI call: (status, headers, body)."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, list(headers)

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        if hasattr(iterable, "close"):
            iterable.close()
    return captured["status"], captured["headers"], body


# -- dispatch ---------------------------------------------------------------------------------------


def test_mock_requests_skip_flask_and_admin_requests_use_it(todo_app):
    # Given a Flask hook that counts the requests Flask handles
    seen = []
    todo_app.before_request(lambda: seen.append(1))
    client = todo_app.test_client()
    # When a mock request and an admin request come in
    assert client.get("/tasks/1/").status_code == 200
    assert client.get("/__harness/health").json["status"] == "ok"
    # Then only the admin request went through Flask
    assert len(seen) == 1
    assert isinstance(todo_app.wsgi_app, MockWSGI)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/__harness", 404), ("/__harness/nope", 404), ("/__harnessed", 404)],
    ids=["prefix-itself", "unknown-admin-path", "lookalike"],
)
def test_paths_under_the_admin_prefix_that_are_not_admin_routes_still_reach_the_engine(
    todo_client, path, expected
):
    response = todo_client.get(path)
    assert response.status_code == expected
    assert response.json["title"] == "No operation matches"


def test_a_method_the_mock_does_not_serve_gets_flasks_405(todo_client):
    response = todo_client.open("/tasks/", method="PROPFIND")
    assert response.status_code == 405


def test_options_and_head_reach_the_engine(todo_client):
    options = todo_client.options("/tasks/1/")
    assert options.status_code == 405 and options.headers["Allow"] == "DELETE, GET, PUT"
    head = todo_client.head("/tasks/1/")
    get = todo_client.get("/tasks/1/")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(get.data)) == get.headers["Content-Length"]


def test_the_request_keeps_its_raw_path_query_headers_and_body(todo_app):
    # Given a request with an encoded slash, a query string and a JSON body
    client = todo_app.test_client()
    client.post("/tasks/?verbose=1&x=%2F", json={"summary": "Buy milk"}, headers={"X-Trace": "t1"})
    client.get("/tasks/a%2Fb/")
    entries = client.get("/__harness/requests").json["requests"]
    created, odd = entries
    # Then the engine saw them as sent
    assert created["request"]["query"] == "verbose=1&x=%2F"
    assert created["request"]["body"] == '{"summary": "Buy milk"}'
    assert created["request"]["headers"]["X-Trace"] == "t1"
    assert created["request"]["headers"]["Content-Type"] == "application/json"
    assert created["response"]["status"] == 201
    assert odd["request"]["path"] == "/tasks/a%2Fb/"


def test_a_body_without_content_length_is_read_when_the_server_terminates_the_input(todo_app):
    # (werkzeug's dev server sets wsgi.input_terminated for chunked requests)
    environ = EnvironBuilder(
        path="/tasks/", method="POST", headers={"Content-Type": "application/json"}
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(b'{"summary": "chunked"}')
    environ["wsgi.input_terminated"] = True
    status, _, body = call(todo_app, environ)
    assert status == "201 Created" and json.loads(body) == {"id": 1}


def test_a_request_without_raw_uri_is_quoted_from_path_info(todo_app):
    environ = EnvironBuilder(path="/tasks/1/").get_environ()
    environ.pop("RAW_URI"), environ.pop("REQUEST_URI")
    assert call(todo_app, environ)[0] == "200 OK"


def test_an_engine_error_is_a_logged_500_or_raises_when_testing(todo_app, caplog, monkeypatch):
    engine = todo_app.extensions["harness"]

    def broken(request):
        raise RuntimeError("engine broke")

    monkeypatch.setattr(engine, "handle", broken)
    environ = EnvironBuilder(path="/tasks/").get_environ()
    with caplog.at_level(logging.ERROR):
        status, _, body = call(todo_app, environ)
    assert status == "500 INTERNAL SERVER ERROR" and b"Internal Server Error" in body
    assert "Exception on /tasks/ [GET]" in caplog.text
    todo_app.testing = True
    with pytest.raises(RuntimeError, match="engine broke"):
        call(todo_app, EnvironBuilder(path="/tasks/").get_environ())


# -- responses: what Flask would have sent -------------------------------------------------------------


RESPONSES = {
    "json": MockResponse(200, Headers([("Content-Type", "application/json"), ("X-A", "1")]), b'{"a": 1}'),
    "no-content-type": MockResponse(200, Headers([("X-A", "1")]), b"plain"),
    "stale-length": MockResponse(200, Headers([("Content-Length", "99"), ("Content-Length", "98")]), b"abc"),
    "repeated-header": MockResponse(200, Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]), b""),
    "recorded-reason": MockResponse(200, Headers(), b"x", reason="Okay"),
    "no-reason": MockResponse(599, Headers(), b"x"),
    "no-content": MockResponse(204, Headers([("Content-Length", "0"), ("Content-Type", "text/plain")]), b""),
    "not-modified": MockResponse(304, Headers([("Content-Type", "text/plain"), ("ETag", '"1"')]), b"x"),
    "iri-location": MockResponse(201, Headers([("Location", "/tâches/1")]), b""),
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("name", list(RESPONSES))
def test_responses_leave_exactly_as_a_flask_response_sends_them(todo_app, name, method):
    response = RESPONSES[name]
    environ = EnvironBuilder(path="/x", method=method).get_environ()
    ours = call(lambda env, start: wsgi_response(response, env, start), environ)
    with todo_app.test_request_context("/x", method=method):
        flask_response = to_flask_response(response)
    theirs = call(flask_response, environ)
    assert ours == theirs


def test_a_header_value_with_a_newline_is_refused_as_flask_refuses_it():
    response = MockResponse(200, Headers([("X-Bad", "a\r\nSet-Cookie: injected=1")]), b"")
    environ = EnvironBuilder(path="/x").get_environ()
    with pytest.raises(ValueError, match="newline"):
        call(lambda env, start: wsgi_response(response, env, start), environ)


def test_a_response_with_a_delivery_goes_through_the_connection_fault_path(todo_app):
    # Given the engine answering with a connection fault, in process (no socket to break)
    response = MockResponse(200, Headers(), b"abc", delivery=Delivery(mode=DeliveryMode.RESET))
    todo_app.extensions["harness"].handle = lambda request: response
    status, _, body = call(todo_app, EnvironBuilder(path="/tasks/").get_environ())
    # Then mock_server.delivery says it needs a real socket
    assert status == "501 Not Implemented"
    assert json.loads(body)["title"] == "Connection fault needs a real socket"


# -- header names with an underscore -----------------------------------------------------------------


def test_the_contracts_underscored_header_names_are_known(api_key_app):
    engine = api_key_app.extensions["harness"]
    assert underscored_header_names(engine.contracts) == ["api_key", "X_Trace_Id"]


def test_an_underscored_header_from_a_server_that_merges_names_is_read_as_the_contract_spells_it(api_key_app):
    # Flask's test client (like gunicorn --header-map dangerous) turns `api_key` into HTTP_API_KEY
    client = api_key_app.test_client()
    response = client.get("/inventory", headers={"api_key": "k", "X_Trace_Id": "7"})
    assert response.status_code == 200, response.json
    entry = client.get("/__harness/requests").json["requests"][-1]
    assert entry["request"]["headers"]["api_key"] == "k" and entry["violations"] == []


def test_over_http_an_underscored_header_authenticates_and_a_dashed_lookalike_does_not(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(API_KEY_SPEC))
    with serve_mock(path) as mock:
        url = f"{mock.url}/inventory"
        exact = requests.get(url, headers={"api_key": "k", "X_Trace_Id": "7"}, timeout=10)
        lookalike = requests.get(url, headers={"Api-Key": "k", "X-Trace-Id": "7"}, timeout=10)
        assert exact.status_code == 200, exact.text
        # `Api-Key` is another header: the spec's `api_key` is missing, as on a strict server
        assert lookalike.status_code == 401
        assert "missing API key: the header 'api_key' is required" in lookalike.json()["detail"]
        assert mock.violations()[0]["location"] == "security"


@pytest.mark.corpus
def test_petstores_api_key_header_reaches_the_mock_over_http():
    petstore = corpus_path("specs", "petstore", "openapi.yaml")
    with serve_mock(petstore) as mock:
        with_key = requests.get(f"{mock.url}/api/v3/store/inventory", headers={"api_key": "x"}, timeout=10)
        without = requests.get(f"{mock.url}/api/v3/store/inventory", timeout=10)
        pet = requests.get(f"{mock.url}/api/v3/pet/1", headers={"api_key": "x"}, timeout=10)
    assert with_key.status_code == 200 and isinstance(with_key.json(), dict)
    assert without.status_code == 401
    assert pet.status_code == 200 and pet.json()["name"]


def test_todo_contract_has_no_underscored_headers():
    app = create_app([TODO])
    assert underscored_header_names(app.extensions["harness"].contracts) == []
