"""`harness verify`: property-test a server against its contract (schemathesis underneath)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli._common import HarnessUsageError, usage_errors

if TYPE_CHECKING:
    from harness.verify import VerifyResult

PHASES = ("examples", "coverage", "fuzzing", "stateful")
REPORTS = ("junit", "json")


def _comma_list(
    choices: tuple[str, ...] | None,
) -> Callable[[click.Context, click.Parameter, str], tuple[str, ...]]:
    """A callback turning 'a,b' into ('a', 'b'), refusing values outside `choices`."""

    def convert(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in (value or "").split(",") if item.strip())
        unknown = [item for item in items if choices is not None and item not in choices]
        if unknown:
            raise click.BadParameter(f"{', '.join(unknown)} is not one of {', '.join(choices or ())}")
        return items

    return convert


def _workers(value: str) -> int | str:
    if value == "auto" or (value.isdigit() and 1 <= int(value) <= 64):
        return value if value == "auto" else int(value)
    raise click.BadParameter(f"{value!r} is not 1-64 or 'auto'", param_hint="--workers")


@click.command()
@click.argument("contract", type=click.Path(path_type=Path))
@click.option("--url", metavar="URL", help="Base URL of the running server, with its base path.")
@click.option(
    "--app",
    "app_reference",
    metavar="MODULE:ATTR",
    help="A WSGI app to test in process, e.g. examples.todo_server:app (or module:factory()).",
)
@click.option("-n", "--max-examples", type=click.IntRange(min=1), help="Test cases per operation and phase.")
@click.option("--seed", type=int, help="Make the run reproducible (a random seed is printed otherwise).")
@click.option(
    "--include",
    multiple=True,
    metavar="OPERATION|TAG|PATH",
    help="Test only these: operationId, tag, path or 'METHOD /path' (repeatable; any match counts).",
)
@click.option(
    "-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Send with every request."
)
@click.option("-a", "--auth", metavar="USER:PASSWORD", help="HTTP basic credentials for every request.")
@click.option(
    "-w", "--workers", default="1", show_default=True, metavar="1-64|auto", help="Parallel workers."
)
@click.option(
    "--phases",
    callback=_comma_list(PHASES),
    default=",".join(PHASES),
    show_default=True,
    help="Comma-separated phases to run.",
)
@click.option(
    "--checks", callback=_comma_list(None), default="", help="Run only these checks (comma-separated)."
)
@click.option(
    "--exclude-checks", callback=_comma_list(None), default="", help="Skip these checks (comma-separated)."
)
@click.option(
    "--mode",
    type=click.Choice(["positive", "negative", "all"]),
    default="all",
    show_default=True,
    help="Generate valid data, invalid data, or both.",
)
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request.")
@click.option(
    "--report",
    "reports",
    type=(click.Choice(REPORTS), click.Path(path_type=Path)),
    multiple=True,
    metavar="FORMAT PATH",
    help="Write a report: 'junit PATH' (JUnit XML) or 'json PATH' (findings and statuses seen, for "
    "`harness coverage`). Repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show schemathesis' own output as it runs.")
def verify(
    contract: Path,
    url: str | None,
    app_reference: str | None,
    max_examples: int | None,
    seed: int | None,
    include: tuple[str, ...],
    headers: tuple[str, ...],
    auth: str | None,
    workers: str,
    phases: tuple[str, ...],
    checks: tuple[str, ...],
    exclude_checks: tuple[str, ...],
    mode: str,
    request_timeout: float | None,
    reports: tuple[tuple[str, Path], ...],
    verbose: bool,
) -> None:
    """Property-test a server against CONTRACT with schemathesis.

    Every operation, valid and invalid data, all checks, and stateful sequences that follow the
    contract's links. Exit status: 0 when nothing failed, 1 with findings, 2 on usage errors.

    \b
    Examples:
      harness verify contracts/todo.yaml --url http://127.0.0.1:5000
      harness verify contracts/todo.yaml --app examples.todo_server:app --max-examples 50 --seed 1
      harness verify contracts/todo.yaml --url http://127.0.0.1:5000 --include createTask \\
          --report junit reports/verify.xml --report json reports/verify.json
    """
    from harness.verify import VerifyOptions
    from harness.verify import verify as run_verify

    if (url is None) == (app_reference is None):
        raise HarnessUsageError("give exactly one target: --url URL (a running server) or --app MODULE:ATTR")
    junit = [path for kind, path in reports if kind == "junit"]
    json_reports = [path for kind, path in reports if kind == "json"]
    if len(junit) > 1:
        raise HarnessUsageError("--report junit is given more than once; pass one path")
    with usage_errors():
        options = VerifyOptions(
            max_examples=max_examples,
            seed=seed,
            include=include,
            headers=headers,
            auth=auth,
            workers=_workers(workers),
            phases=tuple(phases),  # type: ignore[arg-type]
            checks=checks,
            exclude_checks=exclude_checks,
            mode=mode,  # type: ignore[arg-type]
            request_timeout=request_timeout,
        )
        click.echo(f"Verifying {contract} against {url or 'app ' + str(app_reference)} …", err=True)
        result = run_verify(
            contract,
            url=url,
            app=app_reference,
            options=options,
            junit=junit[0] if junit else None,
            echo=(lambda line: click.echo(line, err=True)) if verbose else None,
        )
    for path in json_reports:
        result.write_json(path)
    click.echo(render(result))
    raise SystemExit(result.exit_code)


def render(result: VerifyResult) -> str:
    """Each finding with its title, operation, reproduction and minimal example; then a summary."""
    lines: list[str] = []
    for number, finding in enumerate(result.findings, 1):
        lines.append(f"{number}. {finding.title} — {finding.operation}")
        for failure in finding.failures:
            detail = failure.message.strip()
            if detail:
                lines.append(textwrap.indent(_clip(detail), "   "))
        if finding.status is not None:
            lines.append(f"   Response status: {finding.status}")
        lines.append("   Reproduce with:")
        lines.append(textwrap.indent(finding.curl or "(no request recorded)", "     "))
        lines.append("   Minimal example:")
        lines.append(
            textwrap.indent(json.dumps(finding.example, ensure_ascii=False, indent=2, default=str), "     ")
        )
        lines.append("")
    for error in result.errors:
        times = f" ({error.count} times)" if error.count > 1 else ""
        lines.append(f"Error{times}: {error.kind} on {error.operation}: {error.message}")
    if result.errors:
        lines.append("")
    verdict = (
        "no failures"
        if result.ok
        else f"{len(result.findings)} finding(s)"
        + (f", {len(result.errors)} error(s)" if result.errors else "")
    )
    phases = ", ".join(phase.value for phase in result.phases)
    lines.append(
        f"{verdict}: {result.test_cases} test cases, {result.operations} operations, phases {phases}, "
        f"seed {result.seed} ({result.duration:.1f} s)"
    )
    if not result.ok:
        if result.target.startswith("app "):
            lines.append(
                "The app was served on a free local port for the run: point the curl commands at yours."
            )
        lines.append(f"Re-run the same cases with --seed {result.seed}.")
    return "\n".join(lines)


def _clip(text: str, limit: int = 12) -> str:
    # A schema violation's message repeats the whole schema; what broke and the value are enough.
    if "\nSchema:\n" in text and "\nValue:\n" in text:
        head, _, rest = text.partition("\nSchema:\n")
        text = head.rstrip() + "\n\nValue:\n" + rest.partition("\nValue:\n")[2]
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join([*lines[:limit], f"… ({len(lines) - limit} more lines)"])
