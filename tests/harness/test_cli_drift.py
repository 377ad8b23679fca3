"""`harness drift` as users run it: grouped output, reports, exit codes 0/1/2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from harness.cli import main
from tests.conftest import TODO
from tests.harness.test_drift import cassette, exchange


def run(*args):
    return CliRunner().invoke(main, ["drift", *map(str, args)], catch_exceptions=False)


def test_findings_are_listed_per_cassette_and_interaction_and_exit_1(tmp_path):
    cassette(tmp_path, "tasks", exchange("GET", "/tasks/", 200, [{"id": 1}, {"id": 2}]))
    cassette(tmp_path, "clean", exchange("GET", "/tasks/", 200, []))

    result = run(TODO, tmp_path, "--report", "json", tmp_path / "out" / "drift.json")

    assert result.exit_code == 1
    assert result.stdout == (
        f"{tmp_path / 'tasks.yaml'}\n"
        "  #0 GET http://127.0.0.1:5000/tasks/ [200] → listTasks\n"
        '    response.body/0/summary: "summary" is a required property [required]; '
        "and 1 more at response.body/*/summary\n"
        "\n"
        "1 finding(s): 2 interaction(s) checked in 2 cassette(s)\n"
    )
    assert json.loads((tmp_path / "out" / "drift.json").read_text())["findings"][0]["pointer"] == "/0/summary"


def test_no_drift_exits_0_and_says_what_was_skipped(tmp_path):
    from vcr.request import Request

    other = (Request("GET", "https://cdn.example.com/logo.png", None, {}), exchange("GET", "/", 200)[1])
    path = cassette(tmp_path, "clean", exchange("GET", "/tasks/", 200, []), other)

    result = run(TODO, path, "--report", "junit", tmp_path / "drift.xml")

    assert result.exit_code == 0
    assert result.stdout == (
        "no drift: 1 interaction(s) checked in 1 cassette(s); 1 to other hosts skipped "
        "(cdn.example.com; see --host)\n"
    )
    assert (tmp_path / "drift.xml").read_text().count("<testcase ") == 1


def test_usage_errors_exit_2(tmp_path):
    missing_cassettes = run(TODO, tmp_path / "nope")
    assert missing_cassettes.exit_code == 2
    assert "nope: no such file or folder" in missing_cassettes.stderr

    missing_contract = run(tmp_path / "nope.yaml", tmp_path)
    assert missing_contract.exit_code == 2
    assert "nope.yaml: no such file" in missing_contract.stderr
