"""Longer property runs, excluded from the default run: `bash scripts/test -m slow`.

The default suite runs the same checks with a few dozen examples each; these push the example
counts up to find the rarer responses (deep optional fields, long arrays, odd unicode) that break a
client or a generator.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from examples import todo_client
from examples.github_client import GitHubClient, GitHubError
from harness import check_client, serve_mock
from tests.conftest import GITHUB, TODO

pytestmark = pytest.mark.slow

MANY = settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))


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
def test_the_todo_client_survives_hundreds_of_responses_and_faults(operation, call):
    with serve_mock(TODO) as mock:
        check_client(mock, operation, lambda: call(mock.url), raises=(todo_client.TodoError,), settings=MANY)


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("users/get-authenticated", lambda client: client.get_authenticated_user()),
        ("issues/list-for-repo", lambda client: client.list_issues("octocat", "hello")),
        ("issues/create", lambda client: client.create_issue("octocat", "hello", "Bug")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_github_client_survives_hundreds_of_responses_and_faults(operation, call):
    with serve_mock(GITHUB) as mock, GitHubClient("ghp_x", base_url=mock.url, sleep=lambda _: None) as client:
        check_client(mock, operation, lambda: call(client), raises=(GitHubError,), settings=MANY)


@pytest.mark.parametrize("seed", range(40))
def test_dynamic_github_bodies_keep_the_contract_for_many_seeds(seed):
    import schemathesis
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from mock_server import create_app

    schema = schemathesis.openapi.from_path(GITHUB)
    client = create_app([GITHUB], dynamic=True, seed=seed, validate=False).test_client()
    for path, params in [
        ("/repos/{owner}/{repo}/issues", {"owner": "o", "repo": "r"}),
        ("/users/{username}", {"username": "octocat"}),
        ("/user/repos", {}),
    ]:
        concrete = path.format(**params)
        response = client.get(concrete, headers={"Authorization": "token x"})
        case = schema[path]["GET"].Case(method="GET", path_parameters=params)
        case.validate_response(response, checks=[response_schema_conformance])
