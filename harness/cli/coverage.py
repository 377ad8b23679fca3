"""`harness coverage`: which declared responses cassettes, client tests and verify runs exercise."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli._common import usage_errors


@click.command()
@click.option(
    "--contract",
    "contracts",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="OpenAPI contract whose operations and statuses make the matrix (repeatable).",
)
@click.option(
    "--cassettes",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Cassette file or folder (repeatable).",
)
@click.option(
    "--journal",
    "journals",
    multiple=True,
    type=click.Path(path_type=Path),
    help="The mock's journal saved from GET /__harness/requests (repeatable).",
)
@click.option(
    "--verify-report",
    "verify_reports",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A `harness verify --report json` file (repeatable).",
)
@click.option(
    "--host", "hosts", multiple=True, help="Count cassette requests to this host (default: the contracts')."
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the matrix as JSON.")
@click.option(
    "--html", "html_path", type=click.Path(path_type=Path), help="Write a self-contained HTML page."
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    help="Exit 1 when fewer than this percentage of declared responses are exercised.",
)
def coverage(
    contracts: tuple[Path, ...],
    cassettes: tuple[Path, ...],
    journals: tuple[Path, ...],
    verify_reports: tuple[Path, ...],
    hosts: tuple[str, ...],
    json_path: Path | None,
    html_path: Path | None,
    fail_under: float | None,
) -> None:
    """Print the matrix of operations by declared statuses and what exercised each.

    Sources: recorded cassettes, the mock's journal (client tests), and verify runs. Exit status:
    0, or 1 below --fail-under; 2 on usage errors.

    \b
    Example:
      curl -s http://127.0.0.1:8080/__harness/requests > journal.json
      harness coverage --contract contracts/todo.yaml --cassettes cassettes/ --journal journal.json \\
          --verify-report verify.json --json coverage.json --html coverage.html
    """
    from harness.contracts import load_contract
    from harness.coverage import CoverageMatrix

    with usage_errors():
        matrix = CoverageMatrix([load_contract(path) for path in contracts])
        if cassettes:
            matrix.add_cassettes(cassettes, hosts=hosts or None)
        for journal in journals:
            matrix.add_journal_file(journal)
        for report in verify_reports:
            matrix.add_verify_report(report)
    if json_path is not None:
        matrix.write_json(json_path)
    if html_path is not None:
        matrix.write_html(html_path)
    click.echo(matrix.render_text())
    if fail_under is not None and matrix.summary().percent < fail_under:
        click.echo(
            f"coverage {matrix.summary().percent:.1f}% is under --fail-under {fail_under:g}%", err=True
        )
        raise SystemExit(1)
