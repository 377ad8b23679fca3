"""What every command shares: turning library errors into clear exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from harness.errors import HarnessError


class HarnessUsageError(click.UsageError):
    """Exit 2 with the library's message: what, where and how to fix it."""


@contextmanager
def usage_errors() -> Iterator[None]:
    try:
        yield
    except HarnessError as exc:
        raise HarnessUsageError(str(exc)) from None


def parse_mounts(values: tuple[str, ...]) -> dict[str, str]:
    """`--mount github=/gh` -> {"github": "/gh"}."""
    mounts = {}
    for value in values:
        name, sep, prefix = value.partition("=")
        if not sep or not name or not prefix.startswith("/"):
            raise click.BadParameter(
                f"{value!r} is not NAME=/prefix (e.g. --mount github=/github)", param_hint="--mount"
            )
        mounts[name] = prefix
    return mounts
