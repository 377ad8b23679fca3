"""Scenario files: what a mock starts with, and clear errors for what it cannot use."""

from __future__ import annotations

import pytest

from harness.scenario import Scenario, ScenarioError


def test_scenario_file_gives_rules_tokens_limits_and_seed(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "seed: 7\n"
        "faults:\n  - {fault: unavailable, operation: repos/get, times: 2}\n"
        "tokens:\n  read-only: {scopes: ['read:user']}\n  legacy: [repo]\n"
        "rate_limits:\n  github: {limit: 10}\n"
    )
    scenario = Scenario.load(path)
    assert scenario.seed == 7
    assert scenario.faults == [{"fault": "unavailable", "operation": "repos/get", "times": 2}]
    assert scenario.tokens == {"read-only": ["read:user"], "legacy": ["repo"]}
    assert scenario.rate_limits == {"github": {"limit": 10}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fautls: []\n", "unknown key(s) 'fautls'; a scenario has: seed, faults, tokens, rate_limits"),
        ("faults: {fault: drop}\n", "faults is a list of rules such as [{fault: unavailable, times: 2}]"),
        ("seed: abc\n", "seed must be an integer, got 'abc'"),
        ("tokens:\n  t: {scopes: repo}\n", "tokens: t: give the scopes as a list of strings"),
        ("faults: [\n", "the scenario file is not valid YAML (line 2, column 1)"),
        ("- a\n", "a scenario file holds a mapping at the top, got list"),
    ],
)
def test_bad_scenario_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        Scenario.load(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_scenario_file_is_named(tmp_path):
    with pytest.raises(ScenarioError, match=r"missing\.yaml: no such scenario file"):
        Scenario.load(tmp_path / "missing.yaml")
