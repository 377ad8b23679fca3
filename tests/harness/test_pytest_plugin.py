from __future__ import annotations

from tests.conftest import TODO


def test_fixture_serves_the_contract_once_per_session_and_resets_per_test(pytester):
    pytester.makeconftest(
        f"""
import pytest

@pytest.fixture(scope="session")
def harness_contracts():
    return [{str(TODO)!r}]
"""
    )
    pytester.makepyfile(
        """
import pytest
import requests

urls = set()

def test_first(harness_mock):
    urls.add(harness_mock.url)
    assert requests.post(f"{harness_mock.url}/tasks/", json={"summary": "a"}).status_code == 201
    assert len(harness_mock.journal()) == 1

@pytest.mark.harness_allow_violations
def test_second_starts_with_an_empty_journal(harness_mock):
    urls.add(harness_mock.url)
    assert harness_mock.journal() == []
    requests.post(f"{harness_mock.url}/tasks/", json={"summary": 5})
    assert harness_mock.violations()[0]["location"] == "body/summary"
    assert harness_mock.journal(operation="createTask")[0]["response"]["status"] == 422

def test_one_server_for_the_session():
    assert len(urls) == 1
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_command_line_contract_wins_and_a_bad_one_is_a_usage_error(pytester):
    pytester.makepyfile(
        """
def test_uses_mock(harness_mock):
    pass
"""
    )
    result = pytester.runpytest_subprocess("--harness-contract", "missing.yaml", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*harness_mock cannot start: missing.yaml: no such file*"])


def test_a_request_that_breaks_the_contract_fails_the_test_at_teardown(pytester):
    pytester.makepyfile(
        f"""
import pytest
import requests

@pytest.fixture(scope="session")
def harness_contracts():
    return [{str(TODO)!r}]

def test_sends_a_bad_task(harness_mock):
    requests.post(f"{{harness_mock.url}}/tasks/", json={{"summary": "x" * 200}})

def test_calls_an_unknown_path(harness_mock):
    requests.get(f"{{harness_mock.url}}/task/1")

@pytest.mark.harness_allow_violations
def test_opted_out(harness_mock):
    requests.post(f"{{harness_mock.url}}/tasks/", json={{}})

def test_clean(harness_mock):
    requests.get(f"{{harness_mock.url}}/tasks/")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*requests sent to the mock broke the contract:*",
            "*POST /tasks/ [[]createTask[]]: body/summary: xxx*… is longer than 119 characters*",
            "*GET /task/1: matched no operation of the contract (404)*",
        ]
    )
