"""`harness.verify`: schemathesis' property tests against real servers on 127.0.0.1."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from flask import Flask, Response, request

from examples.todo_server import create_app as create_todo_app
from harness.contracts import load_contract
from harness.errors import ConfigurationError, ContractError
from harness.live import LiveServer
from harness.verify import Phase, VerifyOptions, resolve_includes, verify
from tests.conftest import TODO

PLANTED = {
    (("Server error", "Undocumented status code"), "POST /tasks/"),
    (("Response violates schema",), "GET /tasks/{id}/"),
    (("Deleted resource still available",), "DELETE /tasks/{id}/"),
}


@pytest.fixture
def workdir(tmp_path):
    """schemathesis keeps its crash cache and example database here, not in the checkout."""
    return tmp_path


def test_example_todo_server_keeps_its_contract(workdir):
    result = verify(
        TODO, app=create_todo_app(), options=VerifyOptions(max_examples=20, seed=1), workdir=workdir
    )

    assert result.findings == [] and result.errors == []
    assert result.exit_code == 0
    assert result.operations == 5
    assert result.test_cases > 100
    # Stateful sequences created tasks and then deleted them through the links.
    assert result.observed[("POST /tasks/", 201)] > 0
    assert result.observed[("DELETE /tasks/{id}/", 204)] > 0


def test_planted_bugs_are_exactly_the_findings(workdir):
    result = verify(
        TODO,
        app="tests.checks.buggy_todo_server:app",
        options=VerifyOptions(max_examples=20, seed=1),
        workdir=workdir,
    )

    assert {(tuple(finding.titles), finding.operation) for finding in result.findings} == PLANTED
    assert result.exit_code == 1
    by_operation = {finding.operation: finding for finding in result.findings}

    server_error = by_operation["POST /tasks/"]
    assert server_error.status == 500
    assert 100 < len(server_error.example["body"]["summary"]) <= 119  # long, yet valid
    assert server_error.curl.startswith("curl -X POST -H 'Content-Type: application/json' -d ")
    assert server_error.curl.endswith("/tasks/")

    missing_field = by_operation["GET /tasks/{id}/"]
    assert '"description" is a required property' in missing_field.failures[0].message
    assert missing_field.curl.startswith("curl -X GET http://127.0.0.1:")

    stale_delete = by_operation["DELETE /tasks/{id}/"]
    assert stale_delete.phase == "stateful"
    methods = [step.method for step in stale_delete.steps]
    assert methods[-2:] == ["DELETE", "GET"]  # the delete, then the read that still finds it
    assert stale_delete.steps[-1].url == stale_delete.steps[-2].url
    assert stale_delete.curl.count("curl ") == len(stale_delete.steps)


REDIRECT_CONTRACT = """
openapi: 3.0.3
info: {title: Items, version: '1'}
paths:
  /items/:
    get:
      operationId: listItems
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: integer}}
"""


@pytest.mark.parametrize("elsewhere_host", ["127.0.0.2", "127.0.0.1"], ids=["other-host", "other-port"])
def test_verify_never_follows_a_redirect_to_another_host(tmp_path, elsewhere_host):
    contract = tmp_path / "items.yaml"
    contract.write_text(REDIRECT_CONTRACT)
    reached = []
    elsewhere = Flask("elsewhere")

    @elsewhere.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    def record(path):
        reached.append(f"{request.method} /{path}")
        return Response("[]", 200, {"Content-Type": "application/json"})

    with LiveServer(elsewhere, host=elsewhere_host) as other:
        redirector = Flask("redirector")

        @redirector.route("/items/", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        def redirect():
            return Response("", 302, {"Location": f"{other.url}/items/"})

        with LiveServer(redirector) as target:
            # Control: a client that follows redirects does end up on the other server.
            assert requests.get(f"{target.url}/items/", timeout=5).url == f"{other.url}/items/"
            assert reached == ["GET /items/"]
            reached.clear()
            result = verify(
                contract,
                url=target.url,
                options=VerifyOptions(max_examples=5, seed=1, phases=(Phase.EXAMPLES, Phase.FUZZING)),
                workdir=tmp_path,
            )

    assert reached == []
    assert ("Undocumented status code", "GET /items/", 302) in {
        (failure.title, finding.operation, finding.status)
        for finding in result.findings
        for failure in finding.failures
    }


def test_headers_and_basic_auth_reach_every_request(tmp_path):
    seen = []
    lock = threading.Lock()
    app = create_todo_app()

    @app.before_request
    def remember():
        with lock:
            seen.append((request.headers.get("X-Team"), request.authorization))

    with LiveServer(app) as server:
        result = verify(
            TODO,
            url=server.url,
            options=VerifyOptions(
                max_examples=3,
                seed=1,
                include=("listTasks",),
                headers=("X-Team: checks",),
                auth="ada:s3cret",
                phases=(Phase.EXAMPLES, Phase.FUZZING),
            ),
            workdir=tmp_path,
        )

    assert result.ok
    assert seen and all(team == "checks" for team, _ in seen)
    assert {(auth.username, auth.password) for _, auth in seen if auth} == {("ada", "s3cret")}
    assert {label for label, _ in result.observed} <= {"GET /tasks/"} | {
        f"{method} /tasks/" for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY")
    }


@pytest.mark.parametrize(
    ("value", "labels"),
    [
        ("createTask", ["POST /tasks/"]),
        (
            "tasks",
            ["GET /tasks/", "POST /tasks/", "GET /tasks/{id}/", "PUT /tasks/{id}/", "DELETE /tasks/{id}/"],
        ),
        ("/tasks/{id}/", ["GET /tasks/{id}/", "PUT /tasks/{id}/", "DELETE /tasks/{id}/"]),
        ("delete /tasks/{id}/", ["DELETE /tasks/{id}/"]),
    ],
    ids=["operation-id", "tag", "path", "label"],
)
def test_include_selects_by_operation_tag_path_or_label(value, labels):
    assert resolve_includes(load_contract(TODO), [value]) == labels


def test_include_that_matches_nothing_lists_valid_values():
    with pytest.raises(ConfigurationError) as raised:
        resolve_includes(load_contract(TODO), ["createTodo"])
    message = str(raised.value)
    assert message.startswith("--include 'createTodo' matches no operation of ")
    assert "operationIds (createTask, deleteTask, getTask, listTasks, updateTask)" in message
    assert "tags (tasks)" in message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"phases": ("examples", "smoke")},
            "unknown phase 'smoke'; valid phases: examples, coverage, fuzzing, stateful",
        ),
        ({"checks": ("no_500",)}, "unknown check 'no_500'; valid checks: not_a_server_error, "),
        ({"headers": ("X-Token abc",)}, "header 'X-Token abc' is not 'Name: value'"),
        ({"auth": "ada"}, "auth 'ada' is not 'user:password'"),
        ({"workers": 0}, "workers must be 1-64 or 'auto', got 0"),
        ({"max_examples": 0}, "max_examples must be at least 1, got 0"),
        ({"mode": "both"}, "unknown mode 'both'; valid modes: positive, negative, all"),
    ],
    ids=["phase", "check", "header", "auth", "workers", "max-examples", "mode"],
)
def test_options_are_validated_up_front(options, message):
    with pytest.raises(ConfigurationError, match="^" + re.escape(message)):
        VerifyOptions(**options)


def test_unreachable_url_is_a_configuration_error_before_anything_runs(tmp_path):
    with LiveServer(Flask("gone")) as server:
        url = server.url  # a port that was free a moment ago and is closed now
    with pytest.raises(
        ConfigurationError, match=f"^cannot reach {url}: Connection refused; start the server"
    ):
        verify(TODO, url=url, workdir=tmp_path)


def test_exactly_one_target_is_required():
    with pytest.raises(ConfigurationError, match="give exactly one target"):
        verify(TODO)
    with pytest.raises(ConfigurationError, match="give exactly one target"):
        verify(TODO, url="http://127.0.0.1:1", app=create_todo_app())


def test_broken_contract_fails_before_schemathesis_starts(tmp_path):
    with pytest.raises(ContractError, match="no such file"):
        verify(tmp_path / "missing.yaml", url="http://127.0.0.1:1")
