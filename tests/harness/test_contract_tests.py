"""`contract_tests` / `contract_state_machine`: one line in a test module, schemathesis underneath."""

from __future__ import annotations

import os

import pytest

from harness.contract_tests import contract_tests
from harness.errors import ConfigurationError
from tests.conftest import ROOT, TODO


@pytest.fixture
def pytester(pytester, monkeypatch):
    """The subprocess imports this checkout (not an installed copy) and its examples."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return pytester


def test_one_line_turns_the_contract_into_tests_against_an_app_or_a_url(pytester):
    from examples.todo_server import create_app
    from harness.live import LiveServer

    pytester.makepyfile(
        test_todo_contract=f"""
from harness import contract_state_machine, contract_tests

test_todo_api = contract_tests({str(TODO)!r}, app="examples.todo_server:app", max_examples=5)
test_buggy_api = contract_tests({str(TODO)!r}, app="tests.checks.buggy_todo_server:app", max_examples=10)
TestBuggyWorkflows = contract_state_machine(
    {str(TODO)!r}, app="tests.checks.buggy_todo_server:app", max_examples=30, seed=1
)
"""
    )
    with LiveServer(create_app()) as server:
        pytester.makepyfile(
            test_remote=f"""
from harness import contract_tests

test_listing = contract_tests({str(TODO)!r}, url={server.url!r}, include=["listTasks"], max_examples=5)
"""
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rf")

    # One item per operation: 5 for the example server (all pass), 5 for the buggy one, 1 remote.
    result.assert_outcomes(passed=9, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_todo_contract.py::test_buggy_api[[]POST /tasks/[]]*",
            "FAILED test_todo_contract.py::test_buggy_api[[]GET /tasks/{id}/[]]*",
            "FAILED test_todo_contract.py::TestBuggyWorkflows::runTest*",
        ]
    )
    assert "Deleted resource still available" in result.stdout.str()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one target: url='http://…' or app=<WSGI app or 'module:attr'>"),
        (
            {"url": "http://127.0.0.1:1", "workers": 2},
            "unknown option(s) workers; valid options: auth, checks",
        ),
        ({"url": "http://127.0.0.1:1", "include": ["nope"]}, "--include 'nope' matches no operation"),
        ({"app": "examples.todo_server"}, "--app 'examples.todo_server' is not MODULE:ATTRIBUTE"),
        (
            {"app": "examples.todo_server:ap"},
            "--app 'examples.todo_server:ap': module 'examples.todo_server' has no 'ap'; "
            "it has app, create_app()",
        ),
    ],
    ids=["no-target", "workers", "include", "app-syntax", "app-attribute"],
)
def test_mistakes_fail_at_import_time_with_the_fix(kwargs, message):
    with pytest.raises(ConfigurationError) as raised:
        contract_tests(TODO, **kwargs)
    assert str(raised.value).startswith(message)
