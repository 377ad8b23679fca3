"""Client checks: responses drawn from the contract, served over HTTP, and what clients make of them."""

from __future__ import annotations

import contextlib
import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_headers_conformance, response_schema_conformance

from examples import todo_client
from examples.github_client import GitHubClient, GitHubError
from harness import ClientCheckFailure, ConfigurationError, check_client, responses_for, serve_mock
from tests.conftest import GITHUB, TODO

FEW = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def draw(strategy):
    """One value, the way a test gets it (`.example()` is for interactive use only)."""
    drawn = []

    @settings(max_examples=1, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def take(value):
        drawn.append(value)

    take()
    return drawn[0]


@pytest.fixture(scope="module")
def todo_mock():
    with serve_mock(TODO) as mock:
        yield mock


@pytest.fixture(scope="module")
def github_mock():
    with serve_mock(GITHUB) as mock:
        yield mock


# -- the strategies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "operation", "path", "params"),
    [
        (TODO, "getTask", "/tasks/{id}/", {"id": "1"}),
        (TODO, "listTasks", "/tasks/", {}),
        (GITHUB, "issues/list-for-repo", "/repos/{owner}/{repo}/issues", {"owner": "o", "repo": "r"}),
        (GITHUB, "users/get-authenticated", "/user", {}),
    ],
    ids=["getTask", "listTasks", "list-issues", "get-user"],
)
def test_drawn_responses_keep_the_contract(contract, operation, path, params):
    schema = schemathesis.openapi.from_path(contract)
    seen_statuses = set()

    @FEW
    @given(response=responses_for(contract, operation))
    def check(response):
        seen_statuses.add(response.status)
        method = "GET"
        st_operation = schema[path][method]
        case = st_operation.Case(method=method, path_parameters=params)
        received = schemathesis.Response(
            status_code=response.status,
            headers={name: [value] for name, value in response.headers},
            content=response.body,
            request=requests.Request(method, "http://localhost" + path).prepare(),
            elapsed=0.0,
            verify=True,
        )
        case.validate_response(received, checks=[response_schema_conformance, response_headers_conformance])

    check()
    declared = {int(code) for code in schema[path]["GET"].responses.status_codes}
    assert seen_statuses <= declared
    assert len(seen_statuses) >= min(2, len(declared))


def test_statuses_can_be_narrowed_and_unknown_ones_are_refused():
    @FEW
    @given(response=responses_for(TODO, "getTask", statuses=[404]))
    def only_404(response):
        assert response.status == 404

    only_404()
    with pytest.raises(ConfigurationError, match="getTask declares none of the statuses"):
        draw(responses_for(TODO, "getTask", statuses=[418]))


def test_drawn_response_reads_as_http():
    text = repr(draw(responses_for(TODO, "getTask", statuses=[404])))
    assert text.startswith("HTTP/1.1 404 Not Found   <- getTask\nContent-Type: application/json\n\n{")


# -- serving them ---------------------------------------------------------------------------


def test_the_documented_property_test_flow(todo_mock):
    @FEW
    @given(response=responses_for(TODO, "getTask"))
    def get_task_returns_what_was_served_or_raises_its_error(response):
        with todo_mock.serving(response):
            try:
                task = todo_client.get_task(1, base_url=todo_mock.url)
            except todo_client.TaskNotFound:
                assert response.status == 404
                return
        assert response.status == 200
        assert task == json.loads(response.body)

    get_task_returns_what_was_served_or_raises_its_error()


def test_serving_a_response_the_client_never_asks_for_is_an_error(todo_mock):
    response = draw(responses_for(TODO, "getTask"))
    with (
        pytest.raises(AssertionError, match="the client never requested getTask"),
        todo_mock.serving(response),
    ):
        todo_client.list_tasks(base_url=todo_mock.url)
    # nothing leaks into the next example
    assert todo_mock.engine.served.pending() == []


def test_served_responses_over_the_admin_api(todo_mock):
    todo_mock.reset()
    queued = requests.post(
        f"{todo_mock.url}/__harness/responses",
        json={"operation": "getTask", "status": 404, "json": {"message": "gone"}, "times": 2},
        timeout=5,
    )
    assert queued.status_code == 201
    assert [requests.get(f"{todo_mock.url}/tasks/1/", timeout=5).status_code for _ in range(3)] == [
        404,
        404,
        200,
    ]
    unknown = requests.post(f"{todo_mock.url}/__harness/responses", json={"operation": "nope"}, timeout=5)
    assert unknown.status_code == 422
    assert "getTask" in unknown.json()["known"]


# -- the ready-made check -------------------------------------------------------------------


def fragile_get_task(task_id, base_url):
    """Trusts the server: no status check, indexes straight into the body."""
    return requests.get(f"{base_url}/tasks/{task_id}/", timeout=5).json()["summary"].strip()


def test_a_fragile_client_fails_with_the_shrunk_response(todo_mock):
    with pytest.raises(ClientCheckFailure) as failure:
        check_client(
            todo_mock,
            "getTask",
            lambda: fragile_get_task(1, todo_mock.url),
            raises=(ValueError,),
            faults=False,
            settings=FEW,
        )
    message = str(failure.value)
    assert "KeyError escaped the client when getTask answered (it may raise: ValueError)" in message
    # hypothesis shrinks to the 404 with the smallest error body, shown as the HTTP the client got
    assert message.endswith(
        'HTTP/1.1 404 Not Found   <- getTask\nContent-Type: application/json\n\n{"message":""}'
    )


def test_faults_are_served_too_and_shown_by_name(todo_mock):
    def reads_the_body(task_id, base_url):
        response = requests.get(f"{base_url}/tasks/{task_id}/", timeout=5)
        return response.json() if response.ok else None

    with pytest.raises(ClientCheckFailure) as failure:
        check_client(todo_mock, "getTask", lambda: reads_the_body(1, todo_mock.url), settings=FEW)
    # the allowed responses all parse; only a fault can break it (malformed JSON, a cut connection)
    assert "\nFAULT " in str(failure.value)
    assert todo_mock.faults() == []  # every example's rule is gone again


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("listTasks", lambda url: todo_client.list_tasks(base_url=url)),
        ("getTask", lambda url: todo_client.get_task(1, base_url=url)),
        ("createTask", lambda url: todo_client.create_task("Buy milk", base_url=url)),
        ("updateTask", lambda url: todo_client.update_task(1, "Buy milk", base_url=url)),
        ("deleteTask", lambda url: todo_client.delete_task(1, base_url=url)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_todo_client_survives_every_allowed_response(todo_mock, operation, call):
    check_client(
        todo_mock, operation, lambda: call(todo_mock.url), raises=(todo_client.TodoError,), settings=FEW
    )


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("users/get-authenticated", lambda client: client.get_authenticated_user()),
        ("repos/list-for-authenticated-user", lambda client: client.list_my_repos(per_page=10)),
        ("users/get-by-username", lambda client: client.get_user("octocat")),
        ("repos/get", lambda client: client.get_repo("octocat", "hello")),
        ("issues/list-for-repo", lambda client: client.list_issues("octocat", "hello")),
        ("issues/create", lambda client: client.create_issue("octocat", "hello", "Bug")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_github_client_survives_every_allowed_response(github_mock, operation, call):
    with GitHubClient("ghp_example", base_url=github_mock.url, sleep=lambda _: None, max_retries=0) as client:
        check_client(github_mock, operation, lambda: call(client), raises=(GitHubError,), settings=FEW)


def test_a_client_sending_bad_requests_fails_the_check(todo_mock):
    def sloppy_create():
        # survives every answer, even a dropped connection; only its request is wrong
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{todo_mock.url}/tasks/", json={"summary": 42}, timeout=5)
        todo_client.create_task("ok", base_url=todo_mock.url)

    with pytest.raises(
        ClientCheckFailure, match=r"the client sent requests that break the contract:\n.*body/summary"
    ):
        check_client(todo_mock, "createTask", sloppy_create, raises=(todo_client.TodoError,), settings=FEW)
