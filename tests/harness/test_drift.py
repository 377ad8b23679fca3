"""`harness.drift`: recorded interactions checked against the contract, finding by finding."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from vcr.request import Request

from harness.cassettes import cassette_dict, save_cassette
from harness.drift import check_drift
from tests.conftest import TODO, corpus_contract, corpus_path

ORIGIN = "http://127.0.0.1:5000"


def exchange(
    method, path, status, body=b"", *, request_body=None, content_type="application/json", headers=None
):
    request_headers = {"Content-Type": "application/json"} if request_body is not None else {}
    request = Request(method, ORIGIN + path, request_body, request_headers)
    if isinstance(body, (list, dict)):
        body = json.dumps(body).encode()
    response_headers = {"Content-Type": [content_type]} if body else {}
    response_headers.update(headers or {})
    return request, {
        "status": {"code": status, "message": ""},
        "headers": response_headers,
        "body": {"string": body},
    }


def cassette(tmp_path: Path, name: str, *interactions) -> Path:
    path = tmp_path / f"{name}.yaml"
    save_cassette(path, cassette_dict(interactions))
    return path


def located(report):
    return [(f.index, f.operation, f.location, f.rule) for f in report.findings]


def test_interactions_that_keep_the_contract_leave_no_findings(tmp_path):
    path = cassette(
        tmp_path,
        "clean",
        exchange("POST", "/tasks/", 201, {"id": 1}, request_body=b'{"summary": "Buy milk"}'),
        exchange("GET", "/tasks/1/", 200, {"id": 1, "summary": "Buy milk", "description": ""}),
        exchange("GET", "/tasks/", 200, [{"id": 1, "summary": "Buy milk"}]),
        exchange("DELETE", "/tasks/1/", 204),
        exchange("GET", "/tasks/9/", 404, {"message": "Task 9 does not exist."}),
    )

    report = check_drift(TODO, [path])

    assert report.findings == []
    assert report.exit_code == 0
    assert len(report.interactions) == 5


@pytest.mark.parametrize(
    ("interaction", "expected"),
    [
        (
            exchange("GET", "/tasks/1/", 200, {"id": 1, "summary": "Buy milk"}),
            ("getTask", "response.body/description", "required"),
        ),
        (
            exchange("GET", "/tasks/", 200, [{"id": 1, "summary": "a"}, {"id": "2", "summary": "b"}]),
            ("listTasks", "response.body/1/id", "type"),
        ),
        (
            exchange("GET", "/tasks/", 200, [{"id": 0, "summary": "a"}]),
            ("listTasks", "response.body/0/id", "minimum"),
        ),
        (
            exchange("DELETE", "/tasks/1/", 500, {"message": "boom"}),
            ("deleteTask", "response.status", "status"),
        ),
        (
            exchange("GET", "/tasks/", 200, b"<tasks/>", content_type="application/xml"),
            ("listTasks", "response.headers/Content-Type", "content-type"),
        ),
        (
            exchange("GET", "/tasks/", 200, b"[{", content_type="application/json"),
            ("listTasks", "response.body", "json"),
        ),
        (
            exchange(
                "POST", "/tasks/", 201, {"id": 1}, request_body=json.dumps({"summary": "x" * 130}).encode()
            ),
            ("createTask", "request.body/summary", "maxLength"),
        ),
        (
            exchange("POST", "/tasks/", 201, {"id": 1}, request_body=b'{"summary": "a", "priority": 1}'),
            ("createTask", "request.body", "additionalProperties"),
        ),
        (exchange("GET", "/tasks/abc/", 404, {"message": "no"}), ("getTask", "request.path/id", "type")),
        (exchange("GET", "/todos/", 200, []), (None, "request", "operation")),
        (exchange("PATCH", "/tasks/1/", 200, {}), (None, "request", "operation")),
    ],
    ids=[
        "missing-field",
        "array-item-type",
        "minimum",
        "undeclared-status",
        "undeclared-content-type",
        "unparsable-json",
        "request-body",
        "request-unknown-field",
        "path-parameter",
        "no-operation",
        "wrong-method",
    ],
)
def test_each_finding_names_cassette_index_operation_pointer_and_rule(tmp_path, interaction, expected):
    path = cassette(tmp_path, "drifted", exchange("GET", "/tasks/", 200, []), interaction)

    report = check_drift(TODO, [path])

    assert located(report) == [(1, *expected)]
    assert report.findings[0].cassette == str(path)
    assert report.exit_code == 1


def test_messages_say_what_was_expected(tmp_path):
    path = cassette(
        tmp_path,
        "messages",
        exchange("DELETE", "/tasks/1/", 500, {"message": "boom"}),
        exchange("GET", "/tasks/", 200, b"<tasks/>", content_type="application/xml"),
        exchange("PATCH", "/tasks/1/", 200, {}),
    )

    messages = [finding.message for finding in check_drift(TODO, [path]).findings]

    assert messages == [
        "500 is not declared (declared: 204, 404)",
        "application/xml is not declared (application/json)",
        "PATCH is not declared for /tasks/1/; declared: DELETE, GET, PUT",
    ]


def test_a_rule_broken_in_every_array_item_is_one_finding_with_a_count(tmp_path):
    items = [{"id": index + 1} for index in range(30)]  # every item lacks its summary
    path = cassette(tmp_path, "list", exchange("GET", "/tasks/", 200, items))

    [finding] = check_drift(TODO, [path]).findings

    assert (finding.location, finding.rule, finding.repeats) == ("response.body/0/summary", "required", 29)
    assert finding.pattern == "/*/summary"


def test_gzip_bodies_stored_as_binary_are_decoded_before_validation(tmp_path):
    valid = exchange("GET", "/tasks/", 200, gzip.compress(b'[{"id": 1, "summary": "a"}]'))
    invalid = exchange("GET", "/tasks/", 200, gzip.compress(b'[{"id": "one", "summary": "a"}]'))
    for _, response in (valid, invalid):
        response["headers"]["Content-Encoding"] = ["gzip"]
    path = cassette(tmp_path, "gzip", valid, invalid)
    assert b"!!binary" in path.read_bytes()

    assert located(check_drift(TODO, [path])) == [(1, "listTasks", "response.body/0/id", "type")]


def test_a_cassette_that_does_not_parse_is_a_finding_and_the_others_are_still_checked(tmp_path):
    (tmp_path / "broken.yaml").write_text("interactions: [{request: {body: null}}\n")
    cassette(tmp_path, "fine", exchange("GET", "/tasks/", 200, [{"id": 1}]))

    report = check_drift(TODO, [tmp_path])

    first, second = report.findings
    assert (Path(first.cassette).name, first.index, first.part, first.rule) == (
        "broken.yaml",
        None,
        "cassette",
        "parse",
    )
    assert first.message.startswith("vcrpy cannot load it: ")
    assert (Path(second.cassette).name, second.location) == ("fine.yaml", "response.body/0/summary")


def test_only_the_contracts_hosts_are_checked_unless_told_otherwise(tmp_path):
    elsewhere = Request("GET", "https://auth.example.com/token", None, {})
    path = cassette(
        tmp_path,
        "hosts",
        (elsewhere, {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b""}}),
        exchange("GET", "/tasks/", 200, []),
    )

    default = check_drift(TODO, [path])  # the contract's server is 127.0.0.1:5000
    assert default.findings == [] and default.out_of_scope == [(str(path), 0, "auth.example.com")]

    widened = check_drift(TODO, [path], hosts=["auth.example.com", "127.0.0.1"])
    assert located(widened) == [(0, None, "request", "operation")]


def test_the_contracts_base_path_is_part_of_the_match(tmp_path):
    contract = tmp_path / "versioned.yaml"
    contract.write_text(
        TODO.read_text().replace("- url: http://127.0.0.1:5000/", "- url: http://127.0.0.1:5000/api/v1")
    )
    path = cassette(
        tmp_path,
        "recorded",
        exchange("GET", "/api/v1/tasks/", 200, []),
        exchange("GET", "/tasks/", 200, []),
    )

    assert located(check_drift(contract, [path])) == [(1, None, "request", "operation")]


def test_reports_in_json_and_junit(tmp_path):
    path = cassette(
        tmp_path,
        "report",
        exchange("GET", "/tasks/", 200, []),
        exchange("GET", "/tasks/1/", 200, {"id": 1, "summary": "a"}),
    )
    report = check_drift(TODO, [path])

    report.write_json(tmp_path / "drift.json")
    report.write_junit(tmp_path / "drift.xml")

    written = json.loads((tmp_path / "drift.json").read_text())
    assert written["exit_code"] == 1 and written["interactions_checked"] == 2
    assert written["findings"] == [
        {
            "cassette": str(path),
            "index": 1,
            "operation": "getTask",
            "request": "GET http://127.0.0.1:5000/tasks/1/",
            "part": "response.body",
            "pointer": "/description",
            "rule": "required",
            "message": '"description" is a required property',
            "value": None,
            "repeats": 0,
        }
    ]
    suite = ElementTree.parse(tmp_path / "drift.xml").getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"#0 GET http://127.0.0.1:5000/tasks/", "#1 GET http://127.0.0.1:5000/tasks/1/"}
    assert cases["#0 GET http://127.0.0.1:5000/tasks/"].find("failure") is None
    assert cases["#1 GET http://127.0.0.1:5000/tasks/1/"].find("failure").get("message") == (
        'response.body/description: "description" is a required property [required]'
    )


# --- the shared corpus: real recordings against real contracts -------------------------------------


@pytest.fixture(scope="module")
def github_drift():
    spec = corpus_contract("specs", "github", "api.github.com.json.gz")
    return check_drift(spec, [corpus_path("cassettes", "codecov-shared-github")])


@pytest.fixture(scope="module")
def stripe_drift():
    spec = corpus_contract("specs", "stripe", "spec3.yaml.gz")
    return check_drift(spec, [corpus_path("cassettes", "saleor-stripe")])


def pinned(report):
    return [
        (Path(f.cassette).name, f.index, f.operation, f.location, f.rule, f.repeats) for f in report.findings
    ]


@pytest.mark.corpus
def test_github_cassettes_against_githubs_spec(github_drift):
    assert pinned(github_drift) == [
        ("test_delete_comment_not_found.yaml", 0, "issues/delete-comment", "response.status", "status", 0),
        (
            "test_get_commit_diff.yaml",
            0,
            "repos/get-commit",
            "response.headers/Content-Type",
            "content-type",
            0,
        ),
        (
            "test_get_pull_request_commits_paginated.yaml",
            1,
            "pulls/list-commits",
            "response.body/0/commit/verification/verified_at",
            "required",
            33,
        ),
        (
            "test_get_pull_request_commits_paginated.yaml",
            2,
            "pulls/list-commits",
            "response.body/0/commit/verification/verified_at",
            "required",
            99,
        ),
        ("test_get_repo_with_languages_graphql.yaml", 0, None, "request", "operation", 0),
    ]
    messages = [finding.message for finding in github_drift.findings]
    assert messages[0] == "404 is not declared (declared: 204)"
    assert messages[1].startswith("application/vnd.github.v3.diff is not declared (application/json, ")
    assert messages[4] == "no operation of the contract matches POST /graphql"
    # github.com (OAuth) and education.github.com are other services than the REST API.
    assert sorted(host for _, _, host in github_drift.out_of_scope) == ["education.github.com", "github.com"]
    assert len(github_drift.interactions) == 10


@pytest.mark.corpus
def test_stripe_2019_recordings_drift_from_the_2023_spec(stripe_drift):
    assert pinned(stripe_drift) == [
        ("test_authorize.yaml", 0, "PostPaymentIntents", "request.body/confirm", "type", 0),
        ("test_authorize_error_response.yaml", 0, "PostPaymentIntents", "request.body/confirm", "type", 0),
        ("test_refund.yaml", 1, "PostChargesChargeRefund", "response.body/amount_captured", "required", 0),
        ("test_refund.yaml", 1, "PostChargesChargeRefund", "response.body/disputed", "required", 0),
    ]
    assert stripe_drift.findings[0].message == '"True" is not of type "boolean"'
    assert len(stripe_drift.interactions) == 11  # 404s and 400s match the spec's `default` response


@pytest.mark.corpus
def test_cassettes_vcrpy_cannot_load_are_findings_not_crashes():
    report = check_drift(
        corpus_contract("specs", "openai", "openapi.yaml.gz"), [corpus_path("cassettes", "pydantic-ai")]
    )

    assert {f.rule for f in report.findings if f.part == "cassette"} == {"parse"}
    assert len([f for f in report.findings if f.part == "cassette"]) == 6
