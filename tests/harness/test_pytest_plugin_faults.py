"""The pytest plugin's fault marker, `harness_mock.fault(...)` and `harness_mock.clock`."""

from __future__ import annotations

from tests.conftest import GITHUB, ROOT


def test_marker_fixture_and_clock_drive_faults_per_test(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's plugin, whichever one is installed
    pytester.makeconftest(
        f"""
import pytest

@pytest.fixture(scope="session")
def harness_contracts():
    return [{str(GITHUB)!r}]
"""
    )
    pytester.makepyfile(
        """
import pytest
import requests

def statuses(mock, path, count):
    return [requests.get(f"{mock.url}{path}", timeout=30).status_code for _ in range(count)]

@pytest.mark.harness_fault("unavailable", operation="repos/get", times=2)
def test_marker_adds_a_rule_for_this_test(harness_mock):
    assert statuses(harness_mock, "/repos/o/r", 3) == [503, 503, 200]

def test_next_test_starts_without_it(harness_mock):
    assert harness_mock.faults() == []
    assert statuses(harness_mock, "/repos/o/r", 1) == [200]

def test_fault_context_manager_lasts_for_the_block(harness_mock):
    with harness_mock.fault("rate_limited", operation="issues/list-for-repo", times=2) as rule:
        assert rule["fault"] == "rate_limited"
        assert statuses(harness_mock, "/repos/o/r/issues", 3) == [403, 403, 200]
    assert harness_mock.faults() == []
    assert [fault["fault"] for fault in harness_mock.injected_faults()] == ["rate_limited", "rate_limited"]

def test_clock_moves_the_rate_limit_window(harness_mock):
    first = requests.get(f"{harness_mock.url}/users/octocat", timeout=30)
    harness_mock.clock.advance(3600)
    second = requests.get(f"{harness_mock.url}/users/octocat", timeout=30)
    assert first.headers["X-RateLimit-Remaining"] == second.headers["X-RateLimit-Remaining"] == "59"
    assert int(second.headers["X-RateLimit-Reset"]) >= int(first.headers["X-RateLimit-Reset"]) + 3600

@pytest.mark.harness_fault("unavaliable")
def test_bad_marker(harness_mock):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.harness_fault('unavaliable'): "
            "unknown fault 'unavaliable'; valid faults: unauthorized*"
        ]
    )
    result.stdout.no_fnmatch_line("*During handling*")
