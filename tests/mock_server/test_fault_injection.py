"""Simulated failures over real HTTP: the catalogue, rules, the admin API, rate limits, scopes, journal."""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from harness import serve_mock
from harness.compiled import compiled
from tests.conftest import GITHUB, TODO

TOKEN = {"Authorization": "token ghp_example"}


@pytest.fixture(scope="module")
def server():
    with serve_mock([TODO, GITHUB], mounts={"github": "/gh"}) as running:
        yield running


@pytest.fixture
def mock(server):
    server.reset()
    return server


def get(mock, path, fault=None, **kwargs):
    headers = {**TOKEN, **kwargs.pop("headers", {})}
    if fault is not None:
        headers["X-Harness-Fault"] = fault
    return requests.get(f"{mock.url}{path}", headers=headers, timeout=30, **kwargs)


def last_faults(mock):
    return mock.journal()[-1]["notes"]["faults"]


# -- the catalogue -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "off_contract"),
    [
        ("unauthorized", 401, False),
        ("forbidden", 403, False),
        ("unavailable", 503, False),
        ("server_error", 500, True),
        ("bad_gateway", 502, True),
        ("gateway_timeout", 504, True),
    ],
)
def test_status_faults_answer_their_status_and_are_journaled(mock, fault, status, off_contract):
    response = get(mock, "/gh/user", fault)
    assert response.status_code == status
    assert last_faults(mock) == [
        {"fault": fault, "source": "header", "status": status, "off_contract": off_contract}
    ]
    if off_contract:  # GitHub's /user declares no 500/502/504: the mock's own problem+json
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["detail"] == f"simulated {fault} fault on users/get-authenticated"


def test_unauthorized_sends_the_contracts_401_body_and_a_challenge(mock):
    response = get(mock, "/gh/user", "unauthorized")
    assert response.json()["message"] == "Requires authentication"
    assert response.headers["WWW-Authenticate"].startswith('ApiKey realm="GitHub REST API')


def test_forbidden_sends_the_contracts_plain_403_not_its_rate_limit_example(mock):
    response = get(mock, "/gh/user", "forbidden")
    assert response.json()["message"] == "Resource not accessible by personal access token"
    assert "Retry-After" not in response.headers  # a Retry-After would make clients treat it as a rate limit
    assert response.headers["X-RateLimit-Remaining"] == "60"  # the true state, not the contract's example


def test_unavailable_says_when_to_retry(mock):
    assert get(mock, "/gh/user", "unavailable").headers["Retry-After"] == "30"
    response = get(mock, "/gh/user", "unavailable; retry_after=5")
    assert response.headers["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"  # the contract's 503 body


def test_fault_on_an_operation_declaring_nothing_for_it_is_problem_json_marked_off_contract(mock):
    response = get(mock, "/tasks/", "unavailable")
    assert response.status_code == 503 and response.json()["title"] == "Service Unavailable"
    assert last_faults(mock)[0]["off_contract"] is True


def test_query_parameter_chooses_a_fault_for_clients_that_cannot_set_headers(mock):
    response = requests.get(f"{mock.url}/tasks/", params={"harness_fault": "bad_gateway"}, timeout=30)
    assert response.status_code == 502
    assert last_faults(mock)[0]["source"] == "query"


def test_unknown_fault_is_a_400_listing_the_valid_faults(mock):
    response = get(mock, "/tasks/", "unavaliable")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "unknown fault 'unavaliable'; valid faults: unauthorized, forbidden"
    )
    assert "rate_limited" in response.json()["choices"]


@pytest.mark.parametrize("variant", ["truncated", "trailing_garbage", "html", "empty", "invalid_utf8"])
def test_malformed_json_is_a_200_json_response_that_does_not_parse(mock, variant):
    response = get(mock, "/gh/repos/octocat/hello", f"malformed_json; variant={variant}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert last_faults(mock)[0]["variant"] == variant


@pytest.mark.parametrize(
    ("variant", "change"), [("missing_required", "removed"), ("wrong_type", "/id is string, not integer")]
)
def test_wrong_schema_is_valid_json_that_the_response_schema_rejects(mock, variant, change):
    response = get(mock, "/gh/repos/octocat/hello", f"wrong_schema; variant={variant}")
    body = response.json()
    operation = mock.engine.contracts.find_operation("repos/get")
    validator = compiled(operation).catalog.variant("200").media[0].validator
    assert response.status_code == 200
    assert not validator.is_valid(body)
    assert change in last_faults(mock)[0]["change"]


# -- rate limits -----------------------------------------------------------------------------------


def test_forced_rate_limit_is_githubs_primary_limit(mock):
    now = mock.clock.now()
    response = get(mock, "/gh/users/octocat", "rate_limited")
    assert response.status_code == 403
    headers = response.headers
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"], headers["X-RateLimit-Used"]) == (
        "60",
        "0",
        "60",
    )
    assert headers["X-RateLimit-Resource"] == "core"
    assert now + 3590 < int(headers["X-RateLimit-Reset"]) <= now + 3601
    assert "Retry-After" not in headers
    assert response.json()["message"].startswith("API rate limit exceeded")


def test_rate_limit_status_style_and_header_options(mock):
    as_429 = get(mock, "/gh/users/octocat", "rate_limited; status=429")
    assert as_429.status_code == 429 and as_429.json()["message"].startswith("API rate limit exceeded")
    secondary = get(mock, "/gh/users/octocat", "rate_limited; style=secondary; status=403")
    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "60"
    assert secondary.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert get(mock, "/gh/users/octocat", "rate_limited; style=secondary").status_code == 429
    ietf = get(mock, "/gh/users/octocat", "rate_limited; headers=ietf")
    assert ietf.headers["RateLimit-Policy"] == '"core";q=60;w=3600'
    assert ietf.headers["RateLimit"].startswith('"core";r=0;t=')
    assert "X-RateLimit-Limit" not in ietf.headers
    assert get(mock, "/tasks/", "rate_limited").status_code == 429  # not a GitHub-style contract


def test_every_response_carries_the_true_remaining_count_until_the_budget_is_spent(mock):
    remaining = [int(get(mock, "/gh/users/octocat").headers["X-RateLimit-Remaining"]) for _ in range(60)]
    assert remaining == list(range(59, -1, -1))
    spent = get(mock, "/gh/users/octocat")
    assert spent.status_code == 403 and spent.json()["message"].startswith("API rate limit exceeded")
    assert spent.headers["X-RateLimit-Remaining"] == "0" and spent.headers["X-RateLimit-Used"] == "60"
    assert last_faults(mock) == [
        {"fault": "rate_limited", "status": 403, "source": "rate_limit", "off_contract": False}
    ]


def test_spent_budget_comes_back_when_the_clock_passes_the_reset(mock):
    with serve_mock(GITHUB, rate_limits={"github": {"limit": 2, "window": 60}}) as limited:
        assert [get(limited, "/users/octocat").status_code for _ in range(3)] == [200, 200, 403]
        reset = int(get(limited, "/users/octocat").headers["X-RateLimit-Reset"])
        clock = requests.post(f"{limited.url}/__harness/clock", json={"advance": 30}, timeout=30).json()
        assert get(limited, "/users/octocat").status_code == 403  # still inside the window
        requests.post(f"{limited.url}/__harness/clock", json={"now": reset}, timeout=30)
        renewed = get(limited, "/users/octocat")
        assert renewed.status_code == 200 and renewed.headers["X-RateLimit-Remaining"] == "1"
        assert clock["offset"] == pytest.approx(30, abs=0.01)


def test_limits_count_per_token_and_per_address_for_anonymous_callers(mock):
    with serve_mock(GITHUB, rate_limits={"github": {"limit": 1}}) as limited:
        assert get(limited, "/users/octocat").status_code == 200
        assert get(limited, "/users/octocat").status_code == 403
        other = get(limited, "/users/octocat", headers={"Authorization": "token another"})
        assert other.status_code == 200
        anonymous = requests.get(f"{limited.url}/users/octocat", timeout=30)
        assert anonymous.status_code == 200 and anonymous.headers["X-RateLimit-Remaining"] == "0"
        assert requests.get(f"{limited.url}/users/octocat", timeout=30).status_code == 403


def test_operations_in_another_resource_have_their_own_budget(mock):
    limits = {"github": {"limit": 1, "operations": {"users/get-by-username": {"resource": "search"}}}}
    with serve_mock(GITHUB, rate_limits=limits) as limited:
        assert get(limited, "/users/octocat").status_code == 200
        assert get(limited, "/users/octocat").status_code == 403
        repo = get(limited, "/repos/octocat/hello")
        assert repo.status_code == 200 and repo.headers["X-RateLimit-Resource"] == "core"
        policies = requests.get(f"{limited.url}/__harness/rate-limits", timeout=30).json()["policies"]
        assert {
            "contract": "github",
            "operation": "users/get-by-username",
            "limit": 1,
            "window": 3600.0,
            "resource": "search",
            "status": 403,
            "headers": "github",
        } in policies


# -- rules through the admin API ---------------------------------------------------------------------


def test_admin_rules_fail_the_next_n_matching_requests_and_list_their_counts(mock):
    created = requests.post(
        f"{mock.url}/__harness/faults",
        json={"fault": "unavailable", "operation": "repos/get", "times": 2},
        timeout=30,
    )
    assert created.status_code == 201
    rule_id = created.json()["faults"][0]["id"]
    statuses = [get(mock, "/gh/repos/octocat/hello").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert get(mock, "/gh/users/octocat").status_code == 200  # another operation
    listed = requests.get(f"{mock.url}/__harness/faults", timeout=30).json()
    assert listed["faults"] == [
        {
            "id": rule_id,
            "fault": "unavailable",
            "operation": "repos/get",
            "times": 2,
            "seen": 3,
            "injected": 2,
        }
    ]
    assert listed["catalogue"]["slow"] == ["delay"]
    assert [entry["notes"]["faults"][0]["rule"] for entry in mock.journal()[:2]] == [rule_id, rule_id]


def test_rules_match_method_and_path_pattern_and_wait_after_successes(mock):
    requests.post(
        f"{mock.url}/__harness/faults",
        json={"fault": "server_error", "method": "GET", "path": "/gh/repos/*", "after": 2},
        timeout=30,
    )
    statuses = [get(mock, "/gh/repos/octocat/hello").status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 500]
    assert get(mock, "/gh/users/octocat").status_code == 200


def test_seeded_probability_is_reproducible_across_runs():
    runs = []
    for _ in range(2):
        with serve_mock(TODO) as fresh:
            rule = {"fault": "unavailable", "probability": 0.5, "seed": 3}
            requests.post(f"{fresh.url}/__harness/faults", json=rule, timeout=30)
            runs.append([requests.get(f"{fresh.url}/tasks/", timeout=30).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert 3 <= runs[0].count(503) <= 17


@pytest.mark.parametrize(
    ("rule", "detail", "choice"),
    [
        ({"fault": "flood"}, "unknown fault 'flood'; valid faults: unauthorized", "drop"),
        ({"fault": "unavailable", "probability": 1.2}, "probability 1.2 is outside 0..1", None),
        (
            {"fault": "unavailable", "operation": "listTask"},
            "matches no operation of the served contracts",
            "listTasks",
        ),
        ({"fault": "slow", "pace": 1}, "unknown key(s) 'pace'; valid keys for 'slow'", "delay"),
    ],
)
def test_invalid_rules_are_refused_with_a_422_listing_the_choices(mock, rule, detail, choice):
    response = requests.post(f"{mock.url}/__harness/faults", json=rule, timeout=30)
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    if choice is not None:
        assert choice in response.json()["choices"]
    assert requests.get(f"{mock.url}/__harness/faults", timeout=30).json()["faults"] == []


def test_delete_clears_rules_and_reset_clears_everything(mock):
    for _ in range(2):
        requests.post(
            f"{mock.url}/__harness/faults", json={"fault": "drop", "operation": "listTasks"}, timeout=30
        )
    assert requests.delete(f"{mock.url}/__harness/faults/1", timeout=30).json() == {
        "status": "removed",
        "id": 1,
    }
    missing = requests.delete(f"{mock.url}/__harness/faults/1", timeout=30)
    assert missing.status_code == 404 and missing.json()["detail"] == "no fault rule 1; rules: 2"
    assert requests.delete(f"{mock.url}/__harness/faults", timeout=30).json() == {"status": "cleared"}
    assert requests.get(f"{mock.url}/tasks/", timeout=30).status_code == 200
    requests.post(
        f"{mock.url}/__harness/faults", json={"fault": "drop", "operation": "listTasks"}, timeout=30
    )
    requests.post(f"{mock.url}/__harness/clock", json={"advance": 99}, timeout=30)
    get(mock, "/gh/users/octocat")
    requests.post(f"{mock.url}/__harness/reset", timeout=30)
    assert requests.get(f"{mock.url}/__harness/faults", timeout=30).json()["faults"] == []
    assert requests.get(f"{mock.url}/__harness/clock", timeout=30).json()["offset"] == 0
    assert get(mock, "/gh/users/octocat").headers["X-RateLimit-Remaining"] == "59"
    assert len(mock.journal()) == 1


def test_clock_changes_must_name_advance_or_now(mock):
    response = requests.post(f"{mock.url}/__harness/clock", json={"forward": 10}, timeout=30)
    assert response.status_code == 422 and response.json()["choices"] == ["advance", "now"]
    moved = requests.post(f"{mock.url}/__harness/clock", json={"now": 2_000_000_000}, timeout=30).json()
    assert moved["now"] == pytest.approx(2_000_000_000, abs=1)


def test_scenario_rules_come_back_after_reset(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump({"faults": [{"fault": "unavailable", "operation": "listTasks", "times": 1}]})
    )
    with serve_mock(TODO, faults=scenario) as scripted:
        assert [requests.get(f"{scripted.url}/tasks/", timeout=30).status_code for _ in range(2)] == [
            503,
            200,
        ]
        scripted.reset()
        assert requests.get(f"{scripted.url}/tasks/", timeout=30).status_code == 503


def test_cli_style_shortcuts_inject_a_share_of_requests():
    with (
        serve_mock(TODO, fault=["server_error:1"]) as always,
        serve_mock(TODO, fault=["server_error:0"]) as never,
    ):
        assert requests.get(f"{always.url}/tasks/", timeout=30).status_code == 500
        assert requests.get(f"{never.url}/tasks/", timeout=30).status_code == 200


# -- OAuth scopes ------------------------------------------------------------------------------------


@pytest.fixture
def oauth_contract(tmp_path):
    flows = {
        "authorizationCode": {
            "authorizationUrl": "https://example.com/a",
            "tokenUrl": "https://example.com/t",
            "scopes": {"notes:read": "read", "notes:write": "write"},
        }
    }
    ok = {"description": "ok", "content": {"application/json": {"example": {"id": 1}}}}
    denied = {
        "description": "no",
        "content": {"application/json": {"example": {"error": "insufficient_scope"}}},
    }
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Notes", "version": "1"},
        "components": {"securitySchemes": {"oauth": {"type": "oauth2", "flows": flows}}},
        "paths": {
            "/notes": {
                "get": {
                    "operationId": "listNotes",
                    "security": [{"oauth": ["notes:read"]}],
                    "responses": {"200": ok},
                },
                "post": {
                    "operationId": "createNote",
                    "security": [{"oauth": ["notes:write"]}],
                    "responses": {"201": ok, "403": denied},
                },
            }
        },
    }
    path = tmp_path / "notes.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_token_without_the_required_scope_gets_403_not_401(oauth_contract, tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("tokens:\n  reader: {scopes: ['notes:read']}\n")
    with serve_mock(oauth_contract, faults=scenario) as notes:
        reader = {"Authorization": "Bearer reader"}
        assert requests.get(f"{notes.url}/notes", headers=reader, timeout=30).status_code == 200
        denied = requests.post(f"{notes.url}/notes", headers=reader, timeout=30)
        assert denied.status_code == 403 and denied.json() == {"error": "insufficient_scope"}
        assert denied.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="notes:write"'
        assert notes.injected_faults()[-1] == {
            "request": "POST /notes",
            "fault": "forbidden",
            "source": "scopes",
            "status": 403,
            "missing_scopes": ["notes:write"],
            "off_contract": False,
        }
        assert requests.post(f"{notes.url}/notes", timeout=30).status_code == 401  # no token at all
        unknown = requests.post(f"{notes.url}/notes", headers={"Authorization": "Bearer other"}, timeout=30)
        assert unknown.status_code == 201  # a token the mock was told nothing about passes
        granted = requests.post(
            f"{notes.url}/__harness/tokens", json={"token": "other", "scopes": []}, timeout=30
        )
        assert granted.status_code == 201
        listing = requests.get(f"{notes.url}/__harness/tokens", timeout=30).json()["tokens"]
        assert listing == {"reader": ["notes:read"], "other": []}
        undeclared = requests.get(f"{notes.url}/notes", headers={"Authorization": "Bearer other"}, timeout=30)
        assert undeclared.status_code == 403 and undeclared.json()["missing_scopes"] == ["notes:read"]
        assert notes.injected_faults()[-1]["off_contract"] is True  # listNotes declares no 403


def test_journal_keeps_every_injected_fault(mock):
    get(mock, "/gh/user", "unavailable, slow; delay=0")
    entry = mock.journal()[-1]
    assert entry["response"]["status"] == 503
    assert [fault["fault"] for fault in entry["notes"]["faults"]] == ["unavailable", "slow"]
    assert json.loads(json.dumps(mock.injected_faults()))[0]["request"] == "GET /gh/user"
