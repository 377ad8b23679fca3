"""The mock over real HTTP: the CLI as users start it, and clients in other libraries."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
import requests

from harness import serve_mock
from tests.conftest import GITHUB, ROOT, TODO, corpus_path


@pytest.fixture
def cli_mock():
    """`python -m harness mock` as a user runs it, on a free port."""
    yield from run_cli(str(TODO), str(GITHUB), "--mount", "github=/gh")


def run_cli(*arguments):
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "mock", *arguments, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        banner.append(line)
        if "Press Ctrl+C to stop" in line:
            break
    else:  # pragma: no cover - diagnostics
        process.kill()
        process.stdout.close()
        pytest.fail("the mock did not start: " + "".join(banner))
    url = re.search(r"http://127\.0\.0\.1:\d+", banner[-1]).group(0)
    yield url, "".join(banner)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    process.stdout.close()


def test_cli_prints_url_operation_counts_and_how_to_stop(cli_mock):
    url, banner = cli_mock
    assert f"contracts/todo.yaml: 5 operations at {url}/" in banner
    assert f"contracts/github.yaml: 6 operations at {url}/gh" in banner
    assert "Press Ctrl+C to stop" in banner
    assert requests.get(f"{url}/tasks/1/", timeout=5).json()["id"] == 1
    assert requests.get(f"{url}/gh/users/octocat", timeout=5).json()["login"] == "octocat"
    assert requests.get(f"{url}/__harness/health", timeout=5).json()["status"] == "ok"


def test_cli_refuses_a_broken_contract_with_exit_2(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        '200': {$ref: '#/components/responses/Nope'}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "harness", "mock", str(broken), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 2
    assert (
        f"{broken}#/paths/~1a/get/responses/200: $ref '#/components/responses/Nope' does not resolve"
        in result.stderr
    )
    assert "Mock listening" not in result.stdout


def test_cli_rejects_a_malformed_mount():
    result = subprocess.run(
        [sys.executable, "-m", "harness", "mock", str(TODO), "--mount", "todo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "is not NAME=/prefix" in result.stderr


def test_requests_and_httpx_clients_get_the_same_answers():
    with serve_mock(TODO) as mock:
        with httpx.Client(base_url=mock.url) as client:
            created = client.post("/tasks/", json={"summary": "Buy milk"})
            listed = client.get("/tasks/")
        assert created.status_code == 201 and created.json() == {"id": 1}
        assert listed.json() == requests.get(f"{mock.url}/tasks/", timeout=5).json()
        head = requests.head(f"{mock.url}/tasks/", timeout=5)
        assert head.status_code == 200 and head.content == b""
        assert [entry["operation"] for entry in mock.journal()] == [
            "createTask",
            "listTasks",
            "listTasks",
            "listTasks",
        ]


def test_examples_todo_client_works_against_the_mock():
    from examples import todo_client

    with serve_mock(TODO) as mock:
        assert todo_client.create_task("Buy milk", base_url=mock.url) == 1
        assert todo_client.list_tasks(base_url=mock.url) == [{"id": 1, "summary": "Do the laundry"}]
        assert todo_client.get_task(1, base_url=mock.url)["summary"] == "Do the laundry"
        todo_client.delete_task(1, base_url=mock.url)
        assert mock.violations() == []


def test_examples_github_client_works_against_the_mock():
    from examples.github_client import GitHubClient, NotFoundError

    session = requests.Session()
    with (
        serve_mock(GITHUB) as mock,
        GitHubClient("ghp_example", base_url=mock.url, session=session) as client,
    ):
        assert client.get_authenticated_user()["login"] == "octocat"
        assert client.get_repo("octocat", "Hello-World")["full_name"]
        issues = client.list_issues("octocat", "Hello-World", state="open", per_page=10)
        assert isinstance(issues, list)
        created = client.create_issue("octocat", "Hello-World", "Found a bug", body="details", labels=["bug"])
        assert created["number"]
        assert mock.violations() == []
        session.headers["Prefer"] = "code=404"  # Prism's way to ask for the contract's 404
        with pytest.raises(NotFoundError) as raised:
            client.get_user("nobody")
        assert raised.value.status == 404
    session.close()


@pytest.mark.corpus
def test_cli_keeps_connections_alive_and_passes_petstores_api_key_header():
    petstore = corpus_path("specs", "petstore", "openapi.yaml")
    cli = run_cli(str(petstore))
    url, _ = next(cli)
    try:
        port = int(url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers = []
        for _ in range(2):
            # `api_key` has an underscore: werkzeug's own handler would drop it (401)
            connection.request("GET", "/api/v3/store/inventory", headers={"api_key": "x"})
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Connection"), response.read()))
            assert connection.sock is not None  # still open: the same connection serves the next one
        assert [(status, connection_header) for status, connection_header, _ in answers] == [(200, None)] * 2
        connection.close()
    finally:
        next(cli, None)
