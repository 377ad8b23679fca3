"""`harness drift`: check recorded cassettes against a contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli._common import usage_errors

if TYPE_CHECKING:
    from harness.drift import DriftReport

REPORTS = ("junit", "json")


@click.command()
@click.argument("contract", type=click.Path(path_type=Path))
@click.argument("cassettes", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="HOST",
    help="Check requests to this host (repeatable); default: the hosts of the contract's servers.",
)
@click.option(
    "--report",
    "reports",
    type=(click.Choice(REPORTS), click.Path(path_type=Path)),
    multiple=True,
    metavar="FORMAT PATH",
    help="Write a report: 'junit PATH' (JUnit XML) or 'json PATH'. Repeatable.",
)
def drift(
    contract: Path, cassettes: tuple[Path, ...], hosts: tuple[str, ...], reports: tuple[tuple[str, Path], ...]
) -> None:
    """Check every interaction recorded in CASSETTES (files or folders) against CONTRACT.

    The request must match an operation and be valid; the status must be declared; the response's
    Content-Type, headers and body must be valid against it. Exit status: 0 when every interaction
    keeps the contract, 1 with findings, 2 on usage errors.

    \b
    Example:
      harness drift contracts/github.yaml cassettes/github/ --report junit reports/drift.xml
    """
    from harness.drift import check_drift

    with usage_errors():
        for path in cassettes:
            if not path.exists():
                raise click.BadParameter(f"{path}: no such file or folder", param_hint="CASSETTES")
        report = check_drift(contract, cassettes, hosts=hosts or None)
    for kind, path in reports:
        if kind == "junit":
            report.write_junit(path)
        else:
            report.write_json(path)
    click.echo(render(report))
    raise SystemExit(report.exit_code)


def render(report: DriftReport) -> str:
    """Findings grouped by cassette and interaction, then a summary line."""
    lines: list[str] = []
    for finding in report.unreadable:
        lines += [finding.cassette, f"  cannot be read: {finding.message} [{finding.rule}]", ""]
    current = None
    for checked in report.interactions:
        if not checked.findings:
            continue
        if checked.cassette != current:
            if current is not None:
                lines.append("")
            current = checked.cassette
            lines.append(checked.cassette)
        operation = f" → {checked.operation.name}" if checked.operation is not None else ""
        lines.append(f"  #{checked.index} {checked.request} [{checked.status}]{operation}")
        for finding in checked.findings:
            value = (
                f" (got {finding.value})" if finding.value is not None and finding.rule != "required" else ""
            )
            more = (
                f"; and {finding.repeats} more at {finding.part}{finding.pattern}" if finding.repeats else ""
            )
            lines.append(f"    {finding.location}: {finding.message} [{finding.rule}]{value}{more}")
    if current is not None:
        lines.append("")
    count = len(report.findings)
    verdict = f"{count} finding(s)" if count else "no drift"
    summary = (
        f"{verdict}: {len(report.interactions)} interaction(s) checked in {len(report.cassettes)} cassette(s)"
    )
    if report.out_of_scope:
        hosts = sorted({host for _, _, host in report.out_of_scope})
        summary += f"; {len(report.out_of_scope)} to other hosts skipped ({', '.join(hosts)}; see --host)"
    lines.append(summary)
    return "\n".join(lines)
