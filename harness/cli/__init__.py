"""The `harness` command: thin wrappers that parse options, call the library and report.

Exit codes: 0 success, 1 contract failures found, 2 usage errors (bad options, broken contracts).
"""

from __future__ import annotations

import click

from harness.cli.cassettes import cassettes
from harness.cli.coverage import coverage
from harness.cli.drift import drift
from harness.cli.mock import mock
from harness.cli.record import record
from harness.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="contract-harness", prog_name="harness")
def main() -> None:
    """Contract mocks, cassettes, simulated failures and property tests for HTTP APIs."""


main.add_command(mock)
main.add_command(record)
main.add_command(cassettes)
main.add_command(verify)
main.add_command(drift)
main.add_command(coverage)
