"""Cassettes: recorded HTTP interactions in vcrpy's format, read and written safely.

Files from vcrpy and pytest-recording load unchanged (YAML or JSON serializer, `!!binary` bodies,
the legacy httpx layout vcrpy still reads), and what we write loads in plain vcrpy. YAML is read
with a safe loader only. Writes are atomic: a temporary file is fsynced, then renamed over the
cassette, so a crash at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import ConfigurationError, HarnessError

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")


class CassetteError(HarnessError):
    """A cassette that cannot be read or written: names the file and the reason."""

    def __init__(self, path: str | Path, problem: str, *, hint: str = ""):
        self.path = str(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{path}: {problem}" + (f"\n  hint: {hint}" if hint else ""))


class CassetteNotFound(CassetteError, FileNotFoundError):
    def __init__(self, path: str | Path):
        super().__init__(path, "no such cassette")


@dataclass
class Interaction:
    """One recorded exchange. `response` has vcrpy's standard layout:
    {"status": {"code", "message"}, "headers": {name: [values]}, "body": {"string": bytes}}.
    """

    request: Any  # vcr.request.Request: method, uri, body (bytes | None), headers
    response: dict[str, Any]
    index: int

    @property
    def status(self) -> int:
        return int(self.response["status"]["code"])

    @property
    def body(self) -> bytes:
        body = self.response["body"].get("string") or b""
        return body.encode("utf-8") if isinstance(body, str) else bytes(body)


@dataclass
class Cassette:
    path: Path
    interactions: list[Interaction]
    metadata: dict[str, Any] = field(default_factory=dict)
    serializer: str = "yaml"


def serializer_for(path: Path, text: str | None = None) -> str:
    if path.suffix == ".json" or (text is not None and text.lstrip().startswith("{")):
        return "json"
    return "yaml"


def _serializer_module(name: str) -> Any:
    from vcr.serializers import jsonserializer, yamlserializer

    return jsonserializer if name == "json" else yamlserializer


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteNotFound(path) from None
    except UnicodeDecodeError as exc:
        raise CassetteError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_cassette(path: str | Path) -> Cassette:
    """Read a vcrpy cassette.

    Raises:
        CassetteNotFound: no such file.
        CassetteError: the file is not a cassette vcrpy can load; the message says why.
    """
    from vcr.serialize import deserialize

    path = Path(path)
    text = _read_text(path)
    serializer = serializer_for(path, text)
    try:
        loaded = deserialize(text, _serializer_module(serializer))
    except Exception as exc:  # vcrpy raises KeyError, TypeError, ValueError, yaml errors...
        raise CassetteError(
            path,
            f"vcrpy cannot load it: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            hint="a vcrpy cassette is a mapping with `interactions` (request/response pairs) and `version`",
        ) from None
    requests, responses, *rest = loaded
    metadata = dict(rest[0]) if rest and isinstance(rest[0], dict) else {}
    interactions = [
        Interaction(request, normalize_response(response), index)
        for index, (request, response) in enumerate(zip(requests, responses, strict=True))
    ]
    return Cassette(path, interactions, metadata, serializer)


def normalize_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy's standard response layout, converting the legacy httpx one vcrpy 4 wrote
    ({status_code, headers, content, http_version})."""
    if "status" in response and "body" in response:
        standard = {
            name: list(values) if isinstance(values, list) else [values]
            for name, values in (response.get("headers") or {}).items()
        }
        return {**response, "headers": standard}
    from http import HTTPStatus

    code = int(response.get("status_code", 200))
    try:
        message = HTTPStatus(code).phrase
    except ValueError:
        message = ""
    content = response.get("content", b"")
    headers: dict[str, list[str]] = {}
    raw_headers = response.get("headers") or {}
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    for name, value in pairs:
        headers.setdefault(str(name), []).extend(value if isinstance(value, list) else [str(value)])
    return {
        "status": {"code": code, "message": message},
        "headers": headers,
        "body": {"string": content.encode("utf-8") if isinstance(content, str) else content},
    }


def iter_cassette_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The cassette files named, and those under named directories (sorted, recursively)."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in CASSETTE_SUFFIXES)
        else:
            yield path


def cassette_dict(
    interactions: Iterable[tuple[Any, dict[str, Any]]], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What vcrpy's serializer takes: (vcr Request, response dict) pairs plus optional metadata."""
    pairs = list(interactions)
    data: dict[str, Any] = {
        "requests": [request for request, _ in pairs],
        "responses": [response for _, response in pairs],
    }
    if metadata:
        data["metadata"] = metadata
    return data


def save_cassette(path: str | Path, data: dict[str, Any], serializer: str | None = None) -> None:
    """Write atomically (temporary file in the same folder, fsync, rename), in vcrpy's format."""
    from vcr.serialize import serialize

    path = Path(path)
    serializer = serializer or serializer_for(path)
    text = serialize(data, _serializer_module(serializer))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


# -- reading without vcrpy, and summaries for `harness cassettes list` ---------------------------


def read_cassette_data(path: str | Path) -> dict[str, Any]:
    """The cassette as plain data, without vcrpy (so layouts vcrpy refuses can still be scanned)."""
    import yaml

    path = Path(path)
    text = _read_text(path)
    try:
        if path.suffix == ".json" or text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(text, Loader=loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise CassetteError(path, f"not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(
            path, "not a cassette", hint="a vcrpy cassette is a mapping with an `interactions` list"
        )
    return data


@dataclass(frozen=True)
class CassetteSummary:
    """What `harness cassettes list` shows about one cassette."""

    path: Path
    interactions: int
    recorded_at: datetime
    from_metadata: bool  # False: no `metadata.recorded_at`, so the file's modification time
    upstream: str

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.recorded_at


def summarize_cassette(path: str | Path) -> CassetteSummary:
    """Age, upstream and interaction count, from the recorder's metadata when it is there.

    Raises:
        CassetteError: the file is not a cassette.
    """
    path = Path(path)
    data = read_cassette_data(path)
    found = data.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    recorded_at = _parse_time(metadata.get("recorded_at"))
    from_metadata = recorded_at is not None
    if recorded_at is None:
        recorded_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    upstream = str(metadata.get("upstream") or "")
    if not upstream:
        origins = []
        for interaction in data["interactions"]:
            uri = (interaction.get("request") or {}).get("uri") if isinstance(interaction, dict) else None
            if isinstance(uri, str):
                parts = urlsplit(uri)
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in origins:
                    origins.append(origin)
        upstream = ", ".join(origins)
    return CassetteSummary(path, len(data["interactions"]), recorded_at, from_metadata, upstream)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # YAML turns an unquoted timestamp into a datetime
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """'30d', '12h', '1w2d', '90m', '45s' -> a timedelta.

    Raises:
        ConfigurationError: not a duration; the message gives the format.
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ConfigurationError(
            f"{text!r} is not a duration: use a number and a unit, s m h d w (e.g. 30d, 12h, 1w2d)"
        )
    return timedelta(seconds=sum(int(n) * _DURATION_UNITS[unit] for n, unit in _DURATION.findall(compact)))


def format_age(age: timedelta) -> str:
    """The largest whole unit: '45s', '12m', '5h', '3d', '10w'."""
    seconds = max(int(age.total_seconds()), 0)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit == "w" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
