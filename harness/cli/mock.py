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
    "--strict", is_flag=True, help="Refuse to start when a declared response admits no value (exit 2)."
)
def mock(
    contracts: tuple[Path, ...],
    host: str,
    port: int,
    mounts: tuple[str, ...],
    dynamic: bool,
    seed: int | None,
    no_validate: bool,
    strict: bool,
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
            strict=strict,
        )
        engine = engine_of(app)
        for contract in engine.contracts.contracts:
            _ = contract.schema  # convert now: a contract schemathesis rejects fails before we listen
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
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
    click.echo(f"Mock listening on {url} (admin API at {url}/__harness/). Press Ctrl+C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()
