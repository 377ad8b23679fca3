"""Build vcrpy cassettes for tests: interactions as plain data, written in vcrpy's own format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vcr.request import Request

from harness.cassettes import cassette_dict, save_cassette


def interaction(
    method: str,
    uri: str,
    *,
    status: int = 200,
    message: str = "OK",
    body: bytes | str = b"",
    headers: Mapping[str, str | list[str]] | None = None,
    request_body: bytes | None = None,
    request_headers: Mapping[str, str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """One (vcr Request, response dict) pair; `body` is stored as given (bytes become !!binary)."""
    response = {
        "status": {"code": status, "message": message},
        "headers": {
            name: value if isinstance(value, list) else [value] for name, value in (headers or {}).items()
        },
        "body": {"string": body},
    }
    return Request(method, uri, request_body, dict(request_headers or {})), response


def write_cassette(path: Path, interactions: Sequence[tuple[Any, dict[str, Any]]]) -> Path:
    save_cassette(path, cassette_dict(interactions))
    return path
