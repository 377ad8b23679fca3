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
import requests

urls = set()

def test_first(harness_mock):
    urls.add(harness_mock.url)
    assert requests.post(f"{harness_mock.url}/tasks/", json={"summary": "a"}).status_code == 201
    assert len(harness_mock.journal()) == 1

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
