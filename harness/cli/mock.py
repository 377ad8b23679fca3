"""`harness mock`: serve contracts, and recorded cassettes, on a local port."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from harness.cli._common import parse_mounts, usage_errors
from harness.cli._replay import check_replay_options, describe, match_on_option, vcr_config_option


@click.command()
@click.argument("contracts", nargs=-1, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free one."
)
@click.option(
    "--mount",
    "mounts",
    multiple=True,
    metavar="NAME=/PREFIX",
    help="Serve a contract (named by its file stem) under a URL prefix instead of its servers' base path.",
)
@click.option("--dynamic", is_flag=True, help="Generate random (valid) bodies instead of examples.")
@click.option("--seed", type=int, default=None, help="Make --dynamic bodies reproducible.")
@click.option("--no-validate", is_flag=True, help="Do not validate requests against the contract.")
@click.option(
    "--problem-errors",
    is_flag=True,
    help="Answer invalid requests with a 422/400/415 application/problem+json listing every violation, "
    "even where the contract declares its own error response.",
)
@click.option(
    "--strict", is_flag=True, help="Refuse to start when a declared response admits no value (exit 2)."
)
@click.option(
    "--cassettes",
    "cassettes",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="vcrpy cassette file or directory (repeatable): recorded interactions answer first.",
)
@click.option(
    "--cassettes-only",
    is_flag=True,
    help="Answer requests no recording matches with 404 (listing the closest) instead of the contract.",
)
@click.option(
    "--match-on",
    callback=match_on_option,
    metavar="M1,M2,...",
    help="vcrpy matchers that must agree [default: method,path,query]; e.g. method,path,query,body.",
)
@click.option(
    "--allow-playback-repeats/--no-allow-playback-repeats",
    default=None,
    help="Once every matching recording has played, play them again [default: allowed], or answer "
    "as if none matched.",
)
@click.option(
    "--vcr-config",
    callback=vcr_config_option,
    metavar="MODULE:NAME",
    help="Your vcrpy/pytest-recording config (a dict or a function returning one), so its filters "
    "and matchers apply, e.g. tests.conftest:vcr_config.",
)
@click.option(
    "--faults",
    "faults",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Scenario file (YAML): fault rules, token scopes and rate limits to start with.",
)
@click.option(
    "--fault",
    "fault",
    multiple=True,
    metavar="NAME[:PROBABILITY]",
    help="Inject a fault into every request, or a share of them (e.g. unavailable:0.1); repeatable. "
    "--seed makes the draws reproducible.",
)
@click.option(
    "--rate-limits",
    "rate_limits",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Rate limits per contract and operation (YAML); wins over the contracts' x-harness-rate-limit.",
)
@click.option(
    "--state",
    default="memory",
    show_default=True,
    metavar="memory|redis://HOST:PORT/DB",
    help="Where counters, fault rules, the clock and the journal live; Redis shares them between workers.",
)
def mock(
    contracts: tuple[Path, ...],
    host: str,
    port: int,
    mounts: tuple[str, ...],
    dynamic: bool,
    seed: int | None,
    no_validate: bool,
    problem_errors: bool,
    strict: bool,
    cassettes: tuple[Path, ...],
    cassettes_only: bool,
    match_on: tuple[str, ...] | None,
    allow_playback_repeats: bool | None,
    vcr_config: dict[str, object] | None,
    faults: Path | None,
    fault: tuple[str, ...],
    rate_limits: Path | None,
    state: str,
) -> None:
    """Serve CONTRACTS (OpenAPI files) and recorded CASSETTES as a mock API.

    Recorded interactions (vcrpy cassettes) answer first; the contract answers the rest. With
    cassettes and no contract, the mock replays only.

    \b
    Example:
      harness mock contracts/todo.yaml
      curl http://127.0.0.1:8080/tasks/
      harness mock contracts/github.yaml --cassettes cassettes/github/
      harness mock --cassettes cassettes/anthropic/ --match-on method,path,body
    """
    check_replay_options(contracts, cassettes, cassettes_only, match_on, allow_playback_repeats, vcr_config)
    from werkzeug.serving import make_server

    from harness.live import AppHeadersHandler
    from mock_server import create_app
    from mock_server.app import engine_of
    from mock_server.replay import replayer_of

    with usage_errors():
        app = create_app(
            list(contracts),
            mounts=parse_mounts(mounts),
            validate=not no_validate,
            problem_errors=problem_errors,
            dynamic=dynamic,
            seed=seed,
            strict=strict,
            cassettes=list(cassettes),
            cassettes_only=cassettes_only,
            match_on=match_on,
            allow_playback_repeats=allow_playback_repeats,
            vcr_config=vcr_config,
            faults=faults,
            fault=fault,
            rate_limits=rate_limits,
            state=state,
        )
        engine = engine_of(app)
        for contract in engine.contracts.contracts:
            _ = contract.schema  # convert now: a contract schemathesis rejects fails before we listen
    try:
        server = make_server(host, port, app, threaded=True, request_handler=AppHeadersHandler)
    except OSError as exc:
        engine.close()
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port"
        ) from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for empty in engine.empty_responses:
        click.echo(f"warning: no value satisfies {empty}; requests for it get a 500", err=True)
    url = f"http://{host}:{server.server_port}"
    for contract in engine.contracts.contracts:
        prefix = contract.mount if contract.mount is not None else contract.base_path
        click.echo(
            f"Serving {contract.source}: {len(contract.operations)} operations at {url}{prefix or '/'}"
        )
    replayer = replayer_of(engine)
    if replayer is not None:
        summary, *skipped = describe(replayer)
        click.echo(summary)
        for line in skipped:
            click.echo(line, err=True)
    policies = engine.faults.rate_limits.listing(engine.contracts)
    rules = engine.faults.book.rules()
    if rules or policies or state != "memory":
        click.echo(
            f"Simulated failures: {len(rules)} fault rule(s), rate limits on {len(policies)} operation(s), "
            f"state in {state}"
        )
    click.echo(f"Mock listening on {url} (admin API at {url}/__harness/). Press Ctrl+C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()
        engine.close()
