"""The mock answering the to-do and GitHub contracts, in process through Flask's test client."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from harness.contracts import load_contract
from mock_server import create_app
from tests.conftest import GITHUB, TODO

TOKEN = {"Authorization": "token ghp_example"}


@pytest.fixture
def github():
    return create_app([GITHUB]).test_client()


# -- routing --------------------------------------------------------------------------------


def test_serves_the_first_example_of_the_default_status(todo_client):
    response = todo_client.get("/tasks/1/")
    assert response.status_code == 200
    assert response.json == {
        "id": 1,
        "summary": "Do the laundry",
        "description": "Whites at 60°C, then the towels.",
    }
    assert response.content_type == "application/json"


def test_unknown_path_is_a_problem_naming_the_closest_operations(todo_client):
    response = todo_client.get("/tasks/1")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert "GET /tasks/{id}/" in response.json["closest"]


def test_wrong_method_is_405_with_allow(todo_client):
    response = todo_client.patch("/tasks/1/")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, PUT"


def test_static_segment_wins_over_template(tmp_path):
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/users/{id}": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {"application/json": {"example": {"who": "by-id"}}},
                        }
                    }
                }
            },
            "/users/me": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {"application/json": {"example": {"who": "me"}}},
                        }
                    }
                }
            },
        },
    }
    path = tmp_path / "users.json"
    path.write_text(json.dumps(spec))
    client = create_app([path]).test_client()
    assert client.get("/users/me").json == {"who": "me"}
    assert client.get("/users/7").json == {"who": "by-id"}


def test_contracts_mount_on_their_base_path_or_a_prefix():
    petstore_like = create_app([TODO], mounts={"todo": "/todo"}).test_client()
    assert petstore_like.get("/todo/tasks/").status_code == 200
    assert petstore_like.get("/tasks/").status_code == 404


def test_two_contracts_on_one_server():
    client = create_app([TODO, GITHUB]).test_client()
    assert client.get("/tasks/").status_code == 200
    assert client.get("/users/octocat").json["login"] == "octocat"


# -- response choice ------------------------------------------------------------------------


def test_prefer_code_and_example_select_the_response(todo_client):
    missing = todo_client.get("/tasks/9/", headers={"Prefer": "code=404"})
    assert missing.status_code == 404
    assert "message" in missing.json
    other = todo_client.get("/tasks/2/", headers={"Prefer": "example=empty-description"})
    assert other.json["description"] == ""


def test_prefer_an_undeclared_code_or_unknown_example_is_a_clear_problem(todo_client):
    undeclared = todo_client.get("/tasks/1/", headers={"Prefer": "code=418"})
    assert undeclared.status_code == 400
    assert "declares no 418 response" in undeclared.json["detail"]
    unknown = todo_client.get("/tasks/1/", headers={"Prefer": "example=nope"})
    assert unknown.status_code == 404
    assert unknown.json["available"] == ["laundry", "empty-description"]


def test_dynamic_bodies_are_valid_and_reproducible_with_a_seed():
    contract = load_contract(TODO)
    schema = contract.raw["components"]["schemas"]["Task"]
    validator = jsonschema_rs.Draft4Validator(schema)

    def bodies(seed):
        client = create_app([TODO], dynamic=True, seed=seed).test_client()
        return [client.get(f"/tasks/{n}/").json for n in range(1, 6)]

    first, again, other = bodies(1), bodies(1), bodies(2)
    assert first == again
    assert first != other
    assert all(validator.is_valid(body) for body in first + other)


def test_prefer_dynamic_generates_instead_of_the_example(todo_client):
    bodies = {
        json.dumps(todo_client.get("/tasks/1/", headers={"Prefer": "dynamic=true"}).json) for _ in range(5)
    }
    assert len(bodies) > 1


def test_accept_negotiates_and_refuses_what_is_not_offered(todo_client):
    assert todo_client.get("/tasks/", headers={"Accept": "application/json"}).status_code == 200
    refused = todo_client.get("/tasks/", headers={"Accept": "text/csv"})
    assert refused.status_code == 406
    assert refused.json["available"] == ["application/json"]


def test_no_content_responses_have_no_body(todo_client):
    response = todo_client.delete("/tasks/1/")
    assert response.status_code == 204
    assert response.data == b""


# -- request validation ---------------------------------------------------------------------


def violations_of(response):
    """The violations the mock reports in its `X-Harness-Violations` header."""
    return json.loads(response.headers["X-Harness-Violations"])


def test_invalid_body_lists_every_violation(todo_client):
    response = todo_client.post("/tasks/", json={"summary": "x" * 130, "description": 5, "extra": True})
    assert response.status_code == 422
    found = {(v["location"], v["rule"]) for v in violations_of(response)}
    assert ("body/summary", "maxLength") in found
    assert ("body/description", "type") in found
    assert ("body", "additionalProperties") in found


def test_a_declared_error_response_is_what_the_client_gets(todo_client):
    # createTask declares 422 with the contract's Error body: clients parse what the real API sends.
    response = todo_client.post("/tasks/", json={"summary": "x" * 130})
    assert response.status_code == 422
    assert response.content_type == "application/json"
    assert response.json == {"message": "'summary' must be under 120 characters (got 130)."}


def test_without_a_declared_error_response_the_answer_is_problem_json(tmp_path):
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "get": {
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps(spec))
    response = create_app([path]).test_client().get("/items?limit=many")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.json["violations"] == violations_of(response)
    assert [(v["location"], v["rule"]) for v in response.json["violations"]] == [("query/limit", "type")]


def test_missing_required_field_points_at_the_field(todo_client):
    response = todo_client.post("/tasks/", json={"description": "no summary"})
    assert response.status_code == 422
    assert violations_of(response)[0]["location"] == "body/summary"
    assert violations_of(response)[0]["rule"] == "required"


def test_newline_in_summary_breaks_the_pattern(todo_client):
    response = todo_client.post("/tasks/", json={"summary": "two\nlines"})
    assert response.status_code == 422
    assert violations_of(response)[0]["rule"] == "pattern"


def test_unparsable_json_is_400_and_wrong_media_type_415(todo_client):
    broken = todo_client.post("/tasks/", data=b'{"summary": ', content_type="application/json")
    assert broken.status_code == 400
    assert broken.json == {"message": "The request body is not valid JSON."}  # the contract's 400
    assert violations_of(broken)[0]["rule"] == "parse"
    wrong = todo_client.post("/tasks/", data=b"summary=x", content_type="text/csv")
    # createTask declares no 415: the closest declared error response answers.
    assert wrong.status_code == 422
    assert violations_of(wrong)[0]["rule"] == "content-type"


def test_path_and_query_parameters_are_validated(github):
    bad_path = create_app([TODO]).test_client().get("/tasks/0/")
    # getTask declares no 422: a bad id is "no such task", the contract's 404.
    assert bad_path.status_code == 404
    assert violations_of(bad_path)[0]["location"] == "path/id"
    bad_query = github.get("/user/repos?per_page=500&visibility=secret", headers=TOKEN)
    assert bad_query.status_code == 422
    locations = {v["location"]: v for v in violations_of(bad_query)}
    assert locations["query/per_page"]["rule"] == "maximum"
    assert locations["query/per_page"]["value"] == "500"
    assert locations["query/visibility"]["rule"] == "enum"


def test_no_validate_lets_anything_through():
    client = create_app([TODO], validate=False).test_client()
    assert client.post("/tasks/", json={"nope": 1}).status_code == 201


def test_form_and_multipart_bodies_are_validated(tmp_path):
    schema = {
        "type": "object",
        "required": ["amount"],
        "properties": {
            "amount": {"type": "integer", "minimum": 1},
            "meta": {"type": "object", "properties": {"k": {"type": "string"}}},
        },
    }
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/charges": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {"schema": schema},
                            "multipart/form-data": {"schema": schema},
                        },
                    },
                    "responses": {
                        "200": {"description": "", "content": {"application/json": {"example": {"ok": True}}}}
                    },
                }
            }
        },
    }
    path = tmp_path / "charges.json"
    path.write_text(json.dumps(spec))
    client = create_app([path]).test_client()
    assert (
        client.post(
            "/charges", data="amount=5&meta[k]=v", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )
    bad = client.post("/charges", data="amount=0", content_type="application/x-www-form-urlencoded")
    assert bad.status_code == 422
    assert bad.json["violations"][0]["location"] == "body/amount"
    assert (
        client.post("/charges", data={"amount": "3"}, content_type="multipart/form-data").status_code == 200
    )
    missing = client.post("/charges", data={"other": "3"}, content_type="multipart/form-data")
    assert missing.json["violations"][0]["location"] == "body/amount"


# -- security -------------------------------------------------------------------------------


def test_missing_token_is_401_with_challenge_and_the_contracts_body(github):
    response = github.get("/user")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")
    assert set(response.json) >= {"message", "documentation_url"}


def test_token_grants_access_and_anonymous_operations_stay_open(github):
    assert github.get("/user", headers=TOKEN).status_code == 200
    assert github.get("/users/octocat").status_code == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer", 401), ("Basic !!!", 401), ("Basic dXNlcg==", 401), ("Basic dXNlcjpwdw==", 200)],
    ids=["missing", "wrong-scheme", "not-base64", "no-colon", "valid"],
)
def test_http_basic_credentials_are_checked(tmp_path, header, status):
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
        "paths": {"/me": {"get": {"responses": {"200": {"description": ""}}}}},
    }
    path = tmp_path / "basic.json"
    path.write_text(json.dumps(spec))
    client = create_app([path]).test_client()
    response = client.get("/me", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="t"'


# -- admin API ------------------------------------------------------------------------------


def test_journal_records_operation_violations_and_response(todo_client):
    todo_client.post("/tasks/", json={"summary": 1})
    todo_client.get("/tasks/")
    entries = todo_client.get("/__harness/requests").json["requests"]
    assert [e["operation"] for e in entries] == ["createTask", "listTasks"]
    assert entries[0]["violations"][0]["location"] == "body/summary"
    assert entries[0]["response"]["status"] == 422
    assert entries[1]["response"]["source"] == "example:laundry"
    todo_client.post("/__harness/reset")
    assert todo_client.get("/__harness/requests").json["requests"] == []


def test_health_reports_contracts(todo_client):
    health = todo_client.get("/__harness/health").json
    assert health["status"] == "ok"
    assert health["contracts"][0]["operations"] == 5


def test_vendor_json_accept_is_answered_with_json(github):
    response = github.get("/users/octocat", headers={"Accept": "application/vnd.github+json"})
    assert response.status_code == 200
    assert response.content_type == "application/json"


def test_a_path_parameter_holding_a_newline_still_reaches_its_operation(todo_client):
    # Flask's <path:> converter stops at a decoded newline and would answer its own HTML 404.
    response = todo_client.get("/tasks/a%0Ab/")
    assert response.status_code == 404
    assert response.content_type == "application/json"  # the contract's TaskNotFound
    assert violations_of(response)[0]["location"] == "path/id"


def test_a_request_answered_by_a_fault_is_still_validated_for_the_journal(todo_client):
    response = todo_client.post("/tasks/", json={"summary": 7}, headers={"X-Harness-Fault": "unavailable"})
    assert response.status_code == 503
    entry = todo_client.get("/__harness/requests").json["requests"][-1]
    assert [(v["location"], v["rule"]) for v in entry["violations"]] == [("body/summary", "type")]


def test_problem_errors_lists_every_violation_even_where_the_contract_declares_an_error_body():
    client = create_app([TODO], problem_errors=True).test_client()
    response = client.post("/tasks/", json={"summary": "x" * 130, "description": 5})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert {(v["location"], v["rule"]) for v in response.json["violations"]} == {
        ("body/summary", "maxLength"),
        ("body/description", "type"),
    }
    unparsable = client.post("/tasks/", data=b"{", content_type="application/json")
    assert (unparsable.status_code, unparsable.content_type) == (400, "application/problem+json")
    # the default answers with the contract's own 422 body, the violations in a header
    default = create_app([TODO]).test_client().post("/tasks/", json={"summary": "x" * 130})
    assert default.status_code == 422 and default.content_type == "application/json"
    assert "maxLength" in default.headers["X-Harness-Violations"]
