"""Rate-limit policies (where they come from) and the limiter's headers."""

from __future__ import annotations

import pytest
import yaml

from harness.clock import Clock
from harness.contracts import ContractSet, load_contract
from harness.ratelimit import RateLimitConfigError, RateLimiter, RateLimitPolicy, RateLimits, load_rate_limits
from harness.state import MemoryStore
from tests.conftest import GITHUB, TODO


def _contract(tmp_path, name="api", extension=None, operation_extension=None, headers=()):
    response = {"description": "ok", "content": {"application/json": {"example": {"ok": True}}}}
    if headers:
        response["headers"] = {header: {"schema": {"type": "integer"}} for header in headers}
    operation = {"operationId": "ping", "responses": {"200": response}}
    if operation_extension is not None:
        operation["x-harness-rate-limit"] = operation_extension
    spec = {
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1"},
        "paths": {
            "/ping": {"get": operation},
            "/pong": {"get": {"operationId": "pong", "responses": {"200": response}}},
        },
    }
    if extension is not None:
        spec["x-harness-rate-limit"] = extension
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return load_contract(path)


def test_github_contract_is_limited_as_its_extension_says_and_todo_is_not():
    contracts = ContractSet([load_contract(TODO), load_contract(GITHUB)])
    limits = RateLimits(contracts)
    policy = limits.policy(contracts.find_operation("repos/get"))
    assert policy == RateLimitPolicy(limit=60, window=3600, resource="core", headers="github")
    assert policy.exceeded_status == 403  # GitHub's primary limit
    assert limits.policy(contracts.find_operation("listTasks")) is None


def test_declared_ietf_headers_turn_limiting_on_with_ietf_headers_and_429(tmp_path):
    contract = _contract(tmp_path, headers=["RateLimit", "RateLimit-Policy"])
    contracts = ContractSet([contract])
    policy = RateLimits(contracts).policy(contract.find_operation("ping"))
    assert policy.headers == "ietf" and policy.exceeded_status == 429 and policy.limit == 60


def test_operation_extension_overrides_the_contract_and_can_turn_it_off(tmp_path):
    contract = _contract(tmp_path, extension={"limit": 10, "window": 60}, operation_extension={"limit": 2})
    contracts = ContractSet([contract])
    limits = RateLimits(contracts)
    assert limits.policy(contract.find_operation("ping")) == RateLimitPolicy(limit=2, window=60)
    assert limits.policy(contract.find_operation("pong")) == RateLimitPolicy(limit=10, window=60)
    off = _contract(tmp_path, name="off", extension={"limit": 10}, operation_extension=False)
    assert RateLimits(ContractSet([off])).policy(off.find_operation("ping")) is None


def test_config_file_wins_over_the_contract_per_contract_and_per_operation(tmp_path):
    contract = _contract(tmp_path, extension={"limit": 10, "window": 60})
    config = tmp_path / "limits.yaml"
    config.write_text(
        "api:\n  limit: 100\n  operations:\n    ping: {limit: 5, resource: search, status: 429}\n"
    )
    settings, source = load_rate_limits(config)
    limits = RateLimits(ContractSet([contract]), settings, source)
    assert limits.policy(contract.find_operation("ping")) == RateLimitPolicy(
        limit=5, window=60, resource="search", status=429
    )
    assert limits.policy(contract.find_operation("pong")).limit == 100


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"nope": {"limit": 1}}, "limits.yaml: no served contract is named 'nope'; contracts: api"),
        ({"api": {"limit": 0}}, "limits.yaml: api: limit must be a positive number, got 0"),
        ({"api": {"limit": 1.5}}, "limits.yaml: api: limit must be a whole number, got 1.5"),
        (
            {"api": {"burst": 3}},
            "limits.yaml: api: unknown rate-limit setting(s) 'burst'; valid: limit, window",
        ),
        ({"api": {"status": 500}}, "limits.yaml: api: status must be 403 or 429, got 500"),
        ({"api": {"headers": "x"}}, "limits.yaml: api: headers must be one of github, ietf, both, got 'x'"),
        (
            {"api": {"operations": {"pnig": {"limit": 1}}}},
            "limits.yaml: api: no operation 'pnig'; operations: ping, pong",
        ),
        ({"api": 5}, "limits.yaml: api: give a mapping such as {limit: 60, window: 3600}, or false"),
    ],
)
def test_bad_rate_limit_settings_name_where_and_what_is_valid(tmp_path, config, message):
    contract = _contract(tmp_path)
    with pytest.raises(RateLimitConfigError) as error:
        RateLimits(ContractSet([contract]), config, "limits.yaml")
    assert message in str(error.value)


def test_limiter_counts_per_caller_and_reports_true_headers():
    now = [1_700_000_000.0]
    store = MemoryStore()
    limiter = RateLimiter(store, Clock(store, lambda: now[0]))
    policy = RateLimitPolicy(limit=2, window=60, headers="both")
    first = limiter.hit(policy, "api", "token-a", authenticated=True)
    assert first.headers() == [
        ("X-RateLimit-Limit", "2"),
        ("X-RateLimit-Remaining", "1"),
        ("X-RateLimit-Reset", "1700000060"),
        ("X-RateLimit-Used", "1"),
        ("X-RateLimit-Resource", "core"),
        ("RateLimit-Policy", '"core";q=2;w=60'),
        ("RateLimit", '"core";r=1;t=60'),
    ]
    limiter.hit(policy, "api", "token-a", authenticated=True)
    now[0] += 20
    spent = limiter.hit(policy, "api", "token-a", authenticated=True)
    assert spent.exceeded and spent.remaining == 0 and spent.seconds_to_reset == 40
    assert not limiter.hit(policy, "api", "token-b", authenticated=True).exceeded  # another caller
    assert limiter.current(policy, "api", "token-a", authenticated=True).used == 2
    now[0] += 40
    assert not limiter.hit(policy, "api", "token-a", authenticated=True).exceeded  # a new window


def test_authenticated_callers_can_get_a_higher_limit():
    policy = RateLimitPolicy(limit=60, authenticated_limit=5000)
    assert policy.limit_for(authenticated=True) == 5000 and policy.limit_for(authenticated=False) == 60
