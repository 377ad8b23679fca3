"""`harness mock` options for simulated failures: bad values are usage errors (exit 2) with the choices."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import main
from tests.conftest import GITHUB, TODO


def run(*args):
    return CliRunner().invoke(main, ["mock", str(TODO), str(GITHUB), "--port", "0", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--fault", "unavaliable"],
            "--fault unavaliable: unknown fault 'unavaliable'; valid faults: unauthorized,",
        ),
        (["--fault", "unavailable:1.5"], "--fault unavailable:1.5: probability '1.5' is outside 0..1"),
        (["--fault", "slow:x"], "--fault slow:x: probability 'x' is outside 0..1"),
        (["--faults", "missing.yaml"], "missing.yaml: no such scenario file"),
        (
            ["--state", "mongodb://x"],
            "--state 'mongodb://x' is not a state store; use 'memory' (the default)",
        ),
        (["--state", "redis://127.0.0.1:1/0"], "--state redis://127.0.0.1:1/0: cannot reach Redis"),
    ],
)
def test_bad_fault_options_are_usage_errors_listing_what_is_valid(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Mock listening" not in result.output


def test_scenario_rules_are_checked_against_the_contracts_before_listening(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("faults:\n  - {fault: unavailable}\n  - {fault: drop, operation: repos/gett}\n")
    result = run("--faults", str(scenario))
    assert result.exit_code == 2
    assert (
        f"{scenario}: faults[1]: fault rule for operation 'repos/gett' matches no operation" in result.output
    )


def test_rate_limits_file_errors_name_the_file(tmp_path):
    limits = tmp_path / "limits.yaml"
    limits.write_text("gihtub: {limit: 10}\n")
    result = run("--rate-limits", str(limits))
    assert result.exit_code == 2
    assert f"{limits}: no served contract is named 'gihtub'; contracts: github, todo" in result.output
