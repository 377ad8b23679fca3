"""`harness verify` as users run it: output per finding, reports, exit codes 0/1/2."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from examples.todo_server import create_app
from harness.cli import main
from harness.live import LiveServer
from tests.conftest import TODO


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run `harness verify ...` in a scratch directory (schemathesis keeps its caches there)."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args):
        return CliRunner().invoke(main, ["verify", *map(str, args)], catch_exceptions=False)

    return invoke


def test_each_finding_shows_title_operation_curl_and_minimal_example(run, tmp_path):
    junit, report = tmp_path / "reports" / "verify.xml", tmp_path / "reports" / "verify.json"
    result = run(
        TODO,
        "--app",
        "tests.checks.buggy_todo_server:app",
        "--max-examples",
        "15",
        "--seed",
        "1",
        "--report",
        "junit",
        junit,
        "--report",
        "json",
        report,
    )

    assert result.exit_code == 1
    out = result.stdout
    assert "Server error; Undocumented status code — POST /tasks/" in out
    assert "Response violates schema — GET /tasks/{id}/" in out
    assert "Deleted resource still available — DELETE /tasks/{id}/" in out
    assert out.count("Reproduce with:") == 3 and out.count("Minimal example:") == 3
    assert "curl -X POST -H 'Content-Type: application/json' -d '{\"summary\": \"" in out
    assert '"description" is a required property' in out
    assert "3 finding(s):" in out and "seed 1" in out
    assert "Re-run the same cases with --seed 1." in out

    suite = ElementTree.parse(junit).getroot()
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert {"POST /tasks/", "GET /tasks/{id}/"} <= failed

    written = json.loads(report.read_text())
    assert written["kind"] == "harness-verify" and written["exit_code"] == 1
    assert {finding["operation"] for finding in written["findings"]} == {
        "POST /tasks/",
        "GET /tasks/{id}/",
        "DELETE /tasks/{id}/",
    }
    assert {"operation": "POST /tasks/", "status": 500} in [
        {key: row[key] for key in ("operation", "status")} for row in written["observed"]
    ]


def test_a_server_that_keeps_the_contract_exits_0(run):
    with LiveServer(create_app()) as server:
        result = run(
            TODO,
            "--url",
            server.url,
            "--include",
            "listTasks",
            "--include",
            "getTask",
            "--phases",
            "examples,fuzzing",
            "-n",
            "5",
            "--workers",
            "2",
        )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no failures: ")
    assert "2 operations, phases examples, fuzzing" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one target: --url URL (a running server) or --app MODULE:ATTR"),
        (["--url", "http://127.0.0.1:1", "--app", "examples.todo_server:app"], "give exactly one target"),
        (["--url", "http://127.0.0.1:1"], "cannot reach http://127.0.0.1:1: Connection refused"),
        (["--url", "ftp://127.0.0.1"], "--url 'ftp://127.0.0.1' is not an http(s) URL"),
        (["--app", "examples.todo_server"], "--app 'examples.todo_server' is not MODULE:ATTRIBUTE"),
        (["--app", "no_such_module:app"], "--app 'no_such_module:app': cannot import 'no_such_module'"),
        (["--app", "examples.todo_server:app", "--include", "nope"], "--include 'nope' matches no operation"),
        (
            ["--app", "examples.todo_server:app", "--phases", "smoke"],
            "smoke is not one of examples, coverage",
        ),
        (["--app", "examples.todo_server:app", "--workers", "99"], "'99' is not 1-64 or 'auto'"),
        (["--app", "examples.todo_server:app", "--checks", "no_500"], "unknown check 'no_500'; valid checks"),
        (["--app", "examples.todo_server:app", "-H", "X-Token"], "header 'X-Token' is not 'Name: value'"),
        (
            ["--app", "examples.todo_server:app", "--report", "html", "x.html"],
            "'html' is not one of 'junit', 'json'",
        ),
    ],
    ids=[
        "no-target",
        "two-targets",
        "unreachable",
        "not-http",
        "app-syntax",
        "app-import",
        "include",
        "phases",
        "workers",
        "checks",
        "header",
        "report-format",
    ],
)
def test_usage_errors_exit_2_with_the_fix(run, args, message):
    result = run(TODO, *args)

    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_a_missing_contract_exits_2(run, tmp_path):
    result = run(tmp_path / "nope.yaml", "--url", "http://127.0.0.1:1")

    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.stderr
