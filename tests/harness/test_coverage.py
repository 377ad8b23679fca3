"""`harness.coverage`: operations by declared statuses, filled from cassettes, journals and verify."""

from __future__ import annotations

import json
import os
import re
from collections import Counter

import pytest
import requests
from click.testing import CliRunner

from harness import serve_mock
from harness.cli import main
from harness.contracts import load_contract
from harness.coverage import CoverageMatrix, Source
from harness.errors import ConfigurationError
from harness.verify import VerifyResult
from tests.conftest import ROOT, TODO
from tests.harness.test_drift import cassette, exchange


@pytest.fixture
def inputs(tmp_path):
    """One input per source: a cassette, a journal saved from the admin API, a verify report."""
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    cassette(
        cassettes,
        "recorded",
        exchange("POST", "/tasks/", 201, {"id": 1}, request_body=b'{"summary": "a"}'),
        exchange("DELETE", "/tasks/1/", 500, {"message": "boom"}),
    )
    with serve_mock(TODO) as mock:
        requests.post(f"{mock.url}/tasks/", json={"summary": "Buy milk"}, timeout=5)
        requests.get(f"{mock.url}/tasks/", timeout=5)
        requests.get(f"{mock.url}/tasks/1/", headers={"Prefer": "code=404"}, timeout=5)
        journal = tmp_path / "journal.json"
        journal.write_text(requests.get(f"{mock.url}/__harness/requests", timeout=5).text)
    report = tmp_path / "verify.json"
    VerifyResult(
        contract=str(TODO),
        target="app",
        seed=1,
        findings=[],
        errors=[],
        observed=Counter(
            {("GET /tasks/{id}/", 404): 2, ("PUT /tasks/{id}/", 422): 3, ("TRACE /tasks/", 405): 1}
        ),
        test_cases=6,
        operations=5,
        phases=(),
        duration=0.1,
    ).write_json(report)
    return cassettes, journal, report


def counts(matrix, operation, status):
    row = matrix.row(matrix.contracts[0].find_operation(operation))
    return {source.value: row.counts.get(status, {}).get(source, 0) for source in Source}


def test_each_source_fills_its_column_of_the_matrix(inputs):
    cassettes, journal, report = inputs
    matrix = CoverageMatrix([load_contract(TODO)])

    matrix.add_cassettes([cassettes])
    matrix.add_journal_file(journal)
    matrix.add_verify_report(report)

    assert counts(matrix, "createTask", "201") == {"cassettes": 1, "journal": 1, "verify": 0}
    assert counts(matrix, "listTasks", "200") == {"cassettes": 0, "journal": 1, "verify": 0}
    assert counts(matrix, "getTask", "404") == {"cassettes": 0, "journal": 1, "verify": 2}
    assert counts(matrix, "updateTask", "422") == {"cassettes": 0, "journal": 0, "verify": 3}
    assert counts(matrix, "updateTask", "200") == {"cassettes": 0, "journal": 0, "verify": 0}
    delete = matrix.row(matrix.contracts[0].find_operation("deleteTask"))
    assert delete.undeclared == ["500"]  # seen in a recording, not in the contract
    summary = matrix.summary()
    assert (summary.declared, summary.covered, summary.undeclared) == (12, 4, 1)
    assert summary.by_source == {Source.CASSETTES: 1, Source.JOURNAL: 3, Source.VERIFY: 2}
    assert matrix.unmatched[Source.VERIFY] == 1  # TRACE /tasks/ is no operation


def test_a_status_counts_for_the_range_or_default_that_declares_it(tmp_path):
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "get": {
                    "operationId": "listItems",
                    "responses": {
                        "200": {"description": ""},
                        "4XX": {"description": ""},
                        "default": {"description": ""},
                    },
                }
            }
        },
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps(document))
    matrix = CoverageMatrix([load_contract(path)])
    row = matrix.rows[0]

    for code in (200, 404, 429, 503):
        row.record(code, Source.JOURNAL)

    assert {status: bucket[Source.JOURNAL] for status, bucket in row.counts.items()} == {
        "200": 1,
        "4XX": 2,
        "default": 1,
    }
    assert row.undeclared == []


def test_json_and_self_contained_html(inputs, tmp_path):
    cassettes, journal, report = inputs
    matrix = CoverageMatrix([load_contract(TODO)])
    matrix.add_cassettes([cassettes])
    matrix.add_journal_file(journal)
    matrix.add_verify_report(report)

    matrix.write_json(tmp_path / "out" / "coverage.json")
    matrix.write_html(tmp_path / "out" / "coverage.html")

    data = json.loads((tmp_path / "out" / "coverage.json").read_text())
    assert data["summary"] == {
        "declared": 12,
        "covered": 4,
        "percent": 33.3,
        "by_source": {"cassettes": 1, "journal": 3, "verify": 2},
        "undeclared": 1,
        "unmatched": {"cassettes": 0, "journal": 0, "verify": 1},
    }
    delete = next(op for op in data["operations"] if op["operation"] == "deleteTask")
    assert delete["statuses"] == [
        {"status": "204", "declared": True, "cassettes": 0, "journal": 0, "verify": 0},
        {"status": "404", "declared": True, "cassettes": 0, "journal": 0, "verify": 0},
        {"status": "500", "declared": False, "cassettes": 1, "journal": 0, "verify": 0},
    ]
    html = (tmp_path / "out" / "coverage.html").read_text()
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert not re.search(r"<(script|link|img)\b|\burl\(|https?://", html)  # nothing to fetch
    assert '<span class="chip covered" title="cassettes: 1, journal: 1">201<small>CJ</small></span>' in html
    assert '<span class="chip undeclared" title="cassettes: 1">500<small>C</small></span>' in html
    assert '<span class="chip missing" title="not seen">204</span>' in html


def test_names_are_escaped_in_html(tmp_path):
    spec = TODO.read_text().replace("operationId: listTasks", "operationId: '<script>alert(1)</script>'")
    path = tmp_path / "todo.yaml"
    path.write_text(spec)
    matrix = CoverageMatrix([load_contract(path)])
    matrix.write_html(tmp_path / "c.html")
    html = (tmp_path / "c.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_inputs_that_are_not_what_they_claim_are_usage_errors(tmp_path):
    matrix = CoverageMatrix([load_contract(TODO)])
    (tmp_path / "x.json").write_text('{"kind": "harness-drift"}')
    with pytest.raises(ConfigurationError, match="not a verify report; write one with `harness verify"):
        matrix.add_verify_report(tmp_path / "x.json")
    with pytest.raises(ConfigurationError, match=re.escape("x.json: not a journal; save the mock's")):
        matrix.add_journal_file(tmp_path / "x.json")
    with pytest.raises(ConfigurationError, match=re.escape("nope.json: no such journal file")):
        matrix.add_journal_file(tmp_path / "nope.json")
    with pytest.raises(ConfigurationError, match="at least one contract"):
        CoverageMatrix([])


def test_cli_prints_the_matrix_writes_json_and_html_and_can_fail_under(inputs, tmp_path):
    cassettes, journal, report = inputs
    args = ["coverage", "--contract", str(TODO), "--cassettes", str(cassettes), "--journal", str(journal)]
    args += [
        "--verify-report",
        str(report),
        "--json",
        str(tmp_path / "c.json"),
        "--html",
        str(tmp_path / "c.html"),
    ]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["operation", "status", "cassettes", "journal", "verify"]
    assert lines[3].split() == ["createTask", "201", "1", "1", "-"]
    assert "  500!" in result.stdout
    assert lines[-2] == "4 of 12 declared responses exercised (33%): cassettes 1, journal 3, verify 2"
    assert (tmp_path / "c.json").exists() and (tmp_path / "c.html").exists()

    failing = CliRunner().invoke(main, [*args, "--fail-under", "50"])
    assert failing.exit_code == 1
    assert "coverage 33.3% is under --fail-under 50%" in failing.stderr

    broken = CliRunner().invoke(main, ["coverage", "--contract", str(TODO), "--verify-report", str(journal)])
    assert broken.exit_code == 2
    assert "not a verify report" in broken.stderr


def test_the_pytest_plugin_writes_the_sessions_coverage(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
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

def test_create(harness_mock):
    assert requests.post(f"{harness_mock.url}/tasks/", json={"summary": "a"}).status_code == 201

def test_list_twice(harness_mock):
    requests.get(f"{harness_mock.url}/tasks/")
    requests.get(f"{harness_mock.url}/tasks/")

def test_missing_task(harness_mock):
    assert requests.get(f"{harness_mock.url}/tasks/9/", headers={"Prefer": "code=404"}).status_code == 404
"""
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--harness-coverage", "reports/api.html")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["harness coverage: 3 of 12 declared responses exercised (25%); written to reports/api.json and *"]
    )
    data = json.loads((pytester.path / "reports" / "api.json").read_text())
    seen = {
        (op["operation"], status["status"]): status["journal"]
        for op in data["operations"]
        for status in op["statuses"]
        if status["journal"]
    }
    assert seen == {("createTask", "201"): 1, ("listTasks", "200"): 2, ("getTask", "404"): 1}
    assert (pytester.path / "reports" / "api.html").read_text().startswith("<!doctype html>")
