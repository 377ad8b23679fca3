"""`harness mock`: serve contracts on a local port."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from harness.cli._common import parse_mounts, usage_errors


@click.command()
@click.argument("contracts", nargs=-1, required=True, type=click.Path(path_type=Path))
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
    faults: Path | None,
    fault: tuple[str, ...],
    rate_limits: Path | None,
    state: str,
) -> None:
    """Serve CONTRACTS (OpenAPI files) as a mock API.

    \b
    Example:
      harness mock contracts/todo.yaml
      curl http://127.0.0.1:8080/tasks/
    """
    from werkzeug.serving import make_server

    from mock_server import create_app
    from mock_server.app import engine_of

    with usage_errors():
        app = create_app(
            list(contracts),
            mounts=parse_mounts(mounts),
            validate=not no_validate,
            dynamic=dynamic,
            seed=seed,
            faults=faults,
            fault=fault,
            rate_limits=rate_limits,
            state=state,
        )
        engine = engine_of(app)
        for contract in engine.contracts.contracts:
            _ = contract.schema  # convert now: a contract schemathesis rejects fails before we listen
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        engine.close()
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port"
        ) from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url = f"http://{host}:{server.server_port}"
    for contract in engine.contracts.contracts:
        prefix = contract.mount if contract.mount is not None else contract.base_path
        click.echo(
            f"Serving {contract.source}: {len(contract.operations)} operations at {url}{prefix or '/'}"
        )
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
