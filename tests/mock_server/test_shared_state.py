"""Several mock workers sharing one state in a real redis-server: limits, rules, clock and journal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import requests
import yaml

from harness import serve_mock
from tests.conftest import GITHUB, ROOT, TODO

TOKEN = {"Authorization": "token ghp_example"}


@pytest.fixture
def workers(redis_state):
    """Two mock servers (as two workers would be) on one Redis namespace, limit 5 per caller."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                serve_mock(
                    [TODO, GITHUB], state=redis_state, rate_limits={"github": {"limit": 5, "window": 60}}
                )
            )
            for _ in range(2)
        ]


def test_a_limit_counts_requests_across_all_workers(workers):
    answers = [
        requests.get(f"{workers[i % 2].url}/users/octocat", headers=TOKEN, timeout=30) for i in range(7)
    ]
    assert [answer.status_code for answer in answers] == [200] * 5 + [403] * 2
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == [
        "4",
        "3",
        "2",
        "1",
        "0",
        "0",
        "0",
    ]


def test_rules_clock_and_journal_are_shared(workers):
    first, second = workers
    created = requests.post(
        f"{first.url}/__harness/faults",
        json={"fault": "unavailable", "operation": "listTasks", "times": 2},
        timeout=30,
    )
    assert created.status_code == 201
    statuses = [
        requests.get(f"{worker.url}/tasks/", timeout=30).status_code for worker in (second, first, second)
    ]
    assert statuses == [503, 503, 200]
    assert requests.get(f"{second.url}/__harness/faults", timeout=30).json()["faults"][0]["injected"] == 2
    requests.post(f"{first.url}/__harness/clock", json={"advance": 3600}, timeout=30)
    assert requests.get(f"{second.url}/__harness/clock", timeout=30).json()["offset"] == pytest.approx(3600)
    journal = requests.get(f"{first.url}/__harness/requests", timeout=30).json()["requests"]
    assert [entry["response"]["status"] for entry in journal] == [503, 503, 200]
    assert [entry["id"] for entry in journal] == [1, 2, 3]
    assert journal[0]["notes"]["faults"][0]["rule"] == created.json()["faults"][0]["id"]


def test_reset_through_one_worker_resets_them_all(workers):
    first, second = workers
    requests.post(
        f"{first.url}/__harness/faults", json={"fault": "drop", "operation": "listTasks"}, timeout=30
    )
    requests.get(f"{first.url}/users/octocat", timeout=30)
    requests.post(f"{second.url}/__harness/reset", timeout=30)
    assert requests.get(f"{first.url}/tasks/", timeout=30).status_code == 200
    assert requests.get(f"{first.url}/users/octocat", timeout=30).headers["X-RateLimit-Remaining"] == "4"
    assert len(second.journal()) == 2


def _start(args):
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "mock", *args, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "Press Ctrl+C" in line or not line:
            break
    match = re.search(r"http://127\.0\.0\.1:\d+", lines[-1])
    if match is None:
        process.kill()
        process.communicate()
        pytest.fail("the mock did not start: " + "".join(lines))
    return process, match.group(0), "".join(lines)


def test_two_mock_processes_share_one_limit_and_install_the_scenario_once(redis_state, tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "faults": [{"fault": "server_error", "operation": "repos/get", "times": 1}],
                "rate_limits": {"github": {"limit": 4}},
            }
        )
    )
    args = [str(GITHUB), "--state", redis_state, "--faults", str(scenario)]
    processes = []
    try:
        for _ in range(2):
            processes.append(_start(args))
        urls = [url for _, url, _ in processes]
        assert (
            "Simulated failures: 1 fault rule(s), rate limits on 6 operation(s), state in redis://"
            in processes[0][2]
        )
        assert len(requests.get(f"{urls[1]}/__harness/faults", timeout=30).json()["faults"]) == 1
        statuses = [
            requests.get(f"{urls[i % 2]}/repos/o/r", headers=TOKEN, timeout=30).status_code for i in range(6)
        ]
        # The first answer is the scenario's one server_error; the limit of 4 holds across both processes.
        assert statuses == [500, 200, 200, 200, 200, 403]
    finally:
        for process, _, _ in processes:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=10)
