"""`harness cassettes scan|list`: audit recorded cassettes (secrets, age) in CI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from harness.cli._common import usage_errors


@click.group()
def cassettes() -> None:
    """Audit cassettes: secrets that must not be committed, and recordings gone stale."""


def _files(paths: tuple[Path, ...]) -> list[Path]:
    from harness.cassettes import iter_cassette_files

    for path in paths:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
    files = list(iter_cassette_files(paths))
    if not files:
        raise click.UsageError(
            f"no cassette (.yaml, .yml, .json) under {', '.join(map(str, paths))}; "
            "pass cassette files or folders"
        )
    return files


@cassettes.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--contract",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also flag the header, query and cookie names its securitySchemes declare.",
)
@click.option(
    "--min-entropy",
    default=4.0,
    show_default=True,
    type=click.FloatRange(0, 8),
    help="Bits per character above which a long string looks random.",
)
def scan(paths: tuple[Path, ...], contract: Path | None, min_entropy: float) -> None:
    """Exit 1 when a cassette under PATHS holds something that looks like a secret.

    Each finding names the file, the interaction (from 0) and the field, e.g.
    request.headers.Authorization, request.uri?client_secret or response.body$.token.
    """
    from harness.cassettes import CassetteError
    from harness.contracts import load_contract
    from harness.scanner import SecretScanner

    with usage_errors():
        loaded = load_contract(contract) if contract is not None else None
    scanner = SecretScanner(loaded, min_entropy=min_entropy)
    files = _files(paths)
    findings = 0
    unreadable = 0
    dirty = 0
    for path in files:
        try:
            found = scanner.scan_file(path)
        except CassetteError as exc:
            unreadable += 1
            click.echo(f"error: {exc}", err=True)
            continue
        if found:
            dirty += 1
        findings += len(found)
        for finding in found:
            click.echo(str(finding))
    if findings:
        click.echo(
            f"\n{findings} possible secret(s) in {dirty} of {len(files)} cassette(s). "
            "Redact them (harness record redacts credentials; see `harness record --help`) and rotate any "
            "real credential that was committed.",
            err=True,
        )
        raise SystemExit(1)
    if unreadable:
        raise SystemExit(2)
    click.echo(f"No secrets found in {len(files)} cassette(s).")


@cassettes.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--max-age",
    metavar="DURATION",
    help="Exit 1 when a cassette was recorded longer ago than this (e.g. 30d, 12h, 2w).",
)
def list_cassettes(paths: tuple[Path, ...], max_age: str | None) -> None:
    """Show each cassette's age, upstream and interaction count (default PATH: cassettes/).

    The age comes from the `metadata.recorded_at` that `harness record` writes; cassettes recorded
    by other tools show their file's modification time instead (marked with *).
    """
    from harness.cassettes import CassetteError, format_age, parse_duration, summarize_cassette

    limit = None
    if max_age is not None:
        try:
            limit = parse_duration(max_age)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--max-age") from None
    files = _files(paths or (Path("cassettes"),))
    now = datetime.now(UTC)
    rows = []
    stale = 0
    unreadable = 0
    for path in files:
        try:
            summary = summarize_cassette(path)
        except CassetteError as exc:
            unreadable += 1
            click.echo(f"error: {exc}", err=True)
            continue
        age = summary.age(now)
        too_old = limit is not None and age > limit
        stale += too_old
        rows.append(
            (
                str(path),
                str(summary.interactions),
                format_age(age) + ("" if summary.from_metadata else "*"),
                summary.upstream or "-",
                "STALE" if too_old else "",
            )
        )
    headers = ("cassette", "interactions", "age", "upstream", "")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if any(row[2].endswith("*") for row in rows):
        click.echo("* no recorded_at metadata: age of the file's last modification", err=True)
    if stale:
        click.echo(
            f"\n{stale} cassette(s) older than {max_age}: re-record them (harness record --mode all).",
            err=True,
        )
        raise SystemExit(1)
    if unreadable:
        raise SystemExit(2)
