"""`harness record`: a recording proxy in front of one upstream API."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from harness.cli._common import usage_errors

MODES = ("once", "new_episodes", "none", "all")


@click.command()
@click.option("--upstream", required=True, metavar="URL", help="The API to forward to (and nowhere else).")
@click.option(
    "--cassette",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cassette file to write, e.g. cassettes/github/user.yaml (.yaml, .yml or .json).",
)
@click.option(
    "--contract",
    type=click.Path(dir_okay=False, path_type=Path),
    help="OpenAPI contract: live responses are checked against it, and its credentials redacted.",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="new_episodes",
    show_default=True,
    help="vcrpy record mode: once, new_episodes, none or all, with vcrpy's meanings.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8081, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free one."
)
@click.option(
    "--record-as",
    metavar="URL",
    help="Store request URIs under this origin instead of --upstream's (a local stand-in for a real API).",
)
@click.option(
    "--redact-header", "redact_headers", multiple=True, metavar="NAME", help="More headers to redact."
)
@click.option(
    "--redact-query", "redact_query", multiple=True, metavar="NAME", help="More query parameters to redact."
)
@click.option(
    "--redact-field",
    "redact_fields",
    multiple=True,
    metavar="NAME",
    help="More JSON/form body fields to redact.",
)
@click.option(
    "--timeout", default=60.0, show_default=True, type=float, help="Seconds to wait for the upstream."
)
def record(
    upstream: str,
    cassette: Path,
    contract: Path | None,
    mode: str,
    host: str,
    port: int,
    record_as: str | None,
    redact_headers: tuple[str, ...],
    redact_query: tuple[str, ...],
    redact_fields: tuple[str, ...],
    timeout: float,
) -> None:
    """Record the traffic of clients pointed at this proxy into a cassette.

    Each request is forwarded to --upstream, the live response goes back to the client unchanged,
    and the interaction is appended to the cassette (credentials redacted) before that.

    \b
    Example:
      harness record --upstream https://api.github.com --cassette cassettes/github/user.yaml \\
          --contract contracts/github.yaml
      GITHUB_API_URL=http://127.0.0.1:8081 pytest tests/test_github_client.py
    """
    from werkzeug.serving import make_server

    from harness.live import AppHeadersHandler
    from harness.recorder import Recorder, print_event
    from harness.redaction import Redactor

    with usage_errors():
        redactor = Redactor.for_contract(
            contract, headers=redact_headers, query_parameters=redact_query, body_fields=redact_fields
        )
        recorder = Recorder(
            upstream,
            cassette,
            mode=mode,
            redactor=redactor,
            contract=contract,
            record_as=record_as,
            timeout=timeout,
            on_event=print_event,
        )
    try:
        server = make_server(host, port, recorder, threaded=True, request_handler=AppHeadersHandler)
    except OSError as exc:
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port"
        ) from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url = f"http://{host}:{server.server_port}"
    checking = f", checking responses against {contract}" if contract else ""
    click.echo(f"Recording {url} -> {recorder.upstream} into {cassette} (mode {mode}{checking}).", nl=True)
    click.echo("Point your client at the URL above. Press Ctrl+C to stop.")
    try:
        server.serve_forever()  # returns on Ctrl+C: werkzeug swallows the KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo(f"Stopped. {len(recorder.interactions)} interaction(s) in {cassette}.")
