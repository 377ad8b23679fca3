from __future__ import annotations

import re

import pytest

from harness.routing import DuplicateRoute, RouteMatch, Router


@pytest.fixture
def router():
    r = Router()
    for method, template in [
        ("GET", "/users/{id}"),
        ("GET", "/users/me"),
        ("DELETE", "/users/{user_id}"),
        ("GET", "/Accounts/{Sid}.json"),
        ("GET", "/Accounts/{Sid}"),
        ("GET", "/tasks/"),
        ("GET", "/repos/{owner}/{repo}/issues"),
    ]:
        r.add(method, template, f"{method} {template}")
    return r


@pytest.mark.parametrize(
    ("method", "path", "target", "params"),
    [
        ("GET", "/users/me", "GET /users/me", {}),
        ("GET", "/users/42", "GET /users/{id}", {"id": "42"}),
        ("DELETE", "/users/7", "DELETE /users/{user_id}", {"user_id": "7"}),
        ("GET", "/Accounts/AC1.json", "GET /Accounts/{Sid}.json", {"Sid": "AC1"}),
        ("GET", "/Accounts/AC1", "GET /Accounts/{Sid}", {"Sid": "AC1"}),
        (
            "GET",
            "/repos/octo/hello/issues",
            "GET /repos/{owner}/{repo}/issues",
            {"owner": "octo", "repo": "hello"},
        ),
        ("GET", "/users/a%2Fb", "GET /users/{id}", {"id": "a/b"}),
        ("HEAD", "/users/7", "GET /users/{id}", {"id": "7"}),
    ],
    ids=[
        "static-wins",
        "template",
        "same-shape-other-name",
        "mixed-segment",
        "bare-param",
        "nested",
        "encoded-slash",
        "head",
    ],
)
def test_match(router, method, path, target, params):
    matched = router.match(method, path)
    assert isinstance(matched, RouteMatch)
    assert (matched.target, matched.path_parameters) == (target, params)


def test_wrong_method_lists_every_allowed_method(router):
    miss = router.match("POST", "/users/42")
    assert miss.is_wrong_method
    assert miss.allowed == ("DELETE", "GET")


def test_a_concrete_path_is_matched_before_the_method(router):
    # OpenAPI: concrete paths match before templated ones; /users/me declares GET only, so a
    # DELETE there is a 405, not DELETE /users/{user_id} with user_id "me".
    miss = router.match("DELETE", "/users/me")
    assert miss.is_wrong_method
    assert miss.allowed == ("GET",)


@pytest.mark.parametrize("path", ["/tasks", "/users/", "/users", "/nothing/here"])
def test_unknown_paths_miss(router, path):
    miss = router.match("GET", path)
    assert not isinstance(miss, RouteMatch)
    assert not miss.is_wrong_method


def test_closest_suggests_the_trailing_slash_route(router):
    assert router.closest("GET", "/tasks")[0] == ("GET", "/tasks/")


def test_duplicate_routes_are_refused():
    r = Router()
    r.add("GET", "/a/{x}", 1)
    with pytest.raises(DuplicateRoute, match=re.escape("GET /a/{y} clashes with GET /a/{x}")):
        r.add("GET", "/a/{y}", 2)
