"""The replay options of `harness mock`: parsing `--match-on` and `--vcr-config`, and the banner."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.errors import ConfigurationError

if TYPE_CHECKING:
    from harness.replay import Replayer


def match_on_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    """`--match-on method,path,query`, checked against vcrpy's matcher names."""
    if value is None:
        return None
    from harness.matchers import parse_match_on

    try:
        return parse_match_on(value)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def vcr_config_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> Mapping[str, Any] | None:
    """`--vcr-config MODULE:NAME`: a dict, or a function returning one (a pytest-recording
    `vcr_config` fixture works: it is called undecorated)."""
    if value is None:
        return None
    module_name, sep, attribute = value.partition(":")
    if not sep or not module_name or not attribute:
        raise click.BadParameter(
            f"{value!r} is not MODULE:NAME (e.g. --vcr-config tests.conftest:vcr_config)",
            ctx=ctx,
            param=param,
        )
    sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: modules of the project being mocked
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise click.BadParameter(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}", ctx=ctx, param=param
        ) from None
    finally:
        sys.path.pop(0)
    try:
        found = getattr(module, attribute)
    except AttributeError:
        raise click.BadParameter(f"{module_name} has no {attribute!r}", ctx=ctx, param=param) from None
    if callable(found):
        function = getattr(found, "__wrapped__", found)  # a pytest fixture refuses direct calls
        try:
            found = function()
        except TypeError as exc:
            raise click.BadParameter(
                f"{value} must take no arguments to be used here ({exc})", ctx=ctx, param=param
            ) from None
    if not isinstance(found, Mapping):
        raise click.BadParameter(
            f"{value} is of type {type(found).__name__}, not a dict", ctx=ctx, param=param
        )
    return found


def check_replay_options(
    contracts: Sequence[Path],
    cassettes: Sequence[Path],
    cassettes_only: bool,
    match_on: Sequence[str] | None,
    allow_playback_repeats: bool | None,
    vcr_config: Mapping[str, Any] | None,
) -> None:
    """Something to serve, and no replay option without --cassettes."""
    if not contracts and not cassettes:
        raise click.UsageError("nothing to serve: pass CONTRACTS (OpenAPI files), --cassettes PATH, or both")
    given = [
        name
        for name, used in (
            ("--cassettes-only", cassettes_only),
            ("--match-on", match_on is not None),
            ("--allow-playback-repeats", allow_playback_repeats is not None),
            ("--vcr-config", vcr_config is not None),
        )
        if used
    ]
    if given and not cassettes:
        raise click.UsageError(f"{', '.join(given)} applies to replay: add --cassettes PATH")


def describe(replayer: Replayer) -> list[str]:
    """Banner lines: what is replayed, how it matches, and each cassette vcrpy refused."""
    repeats = "repeats allowed" if replayer.allow_playback_repeats else "each recording plays once"
    lines = [
        f"Replaying {len(replayer)} recorded interaction(s) from {len(replayer.cassettes)} cassette(s) "
        f"(matching on {', '.join(replayer.match_on)}; {repeats})"
    ]
    lines.extend(f"Skipped cassette {error}" for error in replayer.refused)
    return lines
