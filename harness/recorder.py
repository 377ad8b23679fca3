"""The recording proxy: clients talk to it, it talks to one upstream, and it writes the cassette.

    client ──▶ Recorder (WSGI, 127.0.0.1) ──▶ upstream (only that one: not an open proxy)
                  │ record mode: replay from the cassette, refuse, or forward
                  │ redact → check against the contract (drift) → append → atomic save
                  ◀── the live response, byte for byte, once the interaction is on disk

Record modes mean what they mean in vcrpy, whose `Cassette` decides (so the same `match_on`
rules apply): `once` records into a new cassette and only replays an existing one; `new_episodes`
replays known requests and records the others; `none` only replays; `all` always forwards, and
re-recorded interactions replace the ones they match. A request the mode does not allow to record
gets `409 Conflict` (application/problem+json naming the mode, the cassette and the closest
recorded requests), like vcrpy's `CannotOverwriteExistingCassetteException`.

Each interaction is saved (temporary file, fsync, rename) before its response goes back to the
client, so killing the recorder, even with SIGKILL, never loses an answered interaction.
"""

from __future__ import annotations

import enum
import gzip
import json
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from werkzeug.wrappers import Request

from harness.cassettes import CassetteError, cassette_dict, load_cassette, save_cassette, serializer_for
from harness.drift import Drift, DriftDetector
from harness.errors import ConfigurationError
from harness.http import HOP_BY_HOP_HEADERS, PROBLEM_JSON
from harness.live import LiveServer
from harness.redaction import Redactor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from harness.contracts import Contract

HOP_BY_HOP = HOP_BY_HOP_HEADERS
DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query")  # vcrpy's default


class RecordMode(enum.StrEnum):
    """vcrpy's record modes, with vcrpy's meanings."""

    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    NONE = "none"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | RecordMode) -> RecordMode:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(mode.value for mode in cls)
            raise ConfigurationError(f"{value!r} is not a record mode; valid modes are: {valid}") from None


@dataclass(frozen=True)
class RecordEvent:
    """What the recorder did with one request, for the console and for tests."""

    action: str  # "recorded", "replayed", "refused", "failed"
    method: str
    target: str
    status: int
    index: int | None = None  # the interaction's position in the cassette
    drift: tuple[Drift, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        where = f" (#{self.index})" if self.index is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.action} {self.method} {self.target} -> {self.status}{where}{detail}"


def harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"contract-harness {version('contract-harness')}"
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "contract-harness"


def validate_upstream(upstream: str) -> str:
    """`https://api.example.com[/base]`, without a trailing slash, query or fragment."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"--upstream {upstream!r} is not an http(s) URL; give the API's base URL, "
            "e.g. https://api.example.com or http://127.0.0.1:5000/v1"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(
            f"--upstream {upstream!r} must not carry credentials, a query or a fragment: "
            "pass only scheme, host, port and base path"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class Recorder:
    """A WSGI app that forwards to `upstream` and records into `cassette` (thread-safe).

    Args:
        upstream: the API's base URL; requests go there and nowhere else.
        cassette: the cassette file (`.yaml`/`.yml`, or `.json`), created with its folders.
        mode: a `RecordMode` (or its name).
        redactor: what to keep out of the cassette (default: `Redactor.for_contract(contract)`).
        contract: an OpenAPI contract: live responses are checked against it (see `drift`) and its
            `securitySchemes` add credentials to redact.
        record_as: store request URIs under this origin instead of the upstream's, e.g. when a
            local stand-in plays the real API (`https://api.github.com`).
        match_on: vcrpy matcher names deciding which recorded interaction a request replays.
        metadata: extra entries for the cassette's `metadata` mapping.
        timeout: seconds to wait for the upstream.
        on_event: called with a `RecordEvent` after each request.
    """

    def __init__(
        self,
        upstream: str,
        cassette: str | Path,
        *,
        mode: str | RecordMode = RecordMode.NEW_EPISODES,
        redactor: Redactor | None = None,
        contract: str | Path | Contract | None = None,
        record_as: str | None = None,
        match_on: Sequence[str] = DEFAULT_MATCH_ON,
        metadata: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        on_event: Callable[[RecordEvent], None] | None = None,
    ):
        import requests

        from harness.contracts import Contract, load_contract

        self.upstream = validate_upstream(upstream)
        self.record_as = validate_upstream(record_as) if record_as else None
        self.path = Path(cassette)
        self.mode = RecordMode.parse(mode)
        loaded_contract = (
            contract if isinstance(contract, Contract) or contract is None else load_contract(contract)
        )
        self.redactor = redactor or Redactor.for_contract(loaded_contract)
        self.detector = DriftDetector([loaded_contract]) if loaded_contract is not None else None
        self.timeout = timeout
        self.on_event = on_event
        self.events: list[RecordEvent] = []
        self.drift: list[Drift] = []
        self._extra_metadata = dict(metadata or {})
        self._lock = threading.Lock()
        self._started = _now()
        self._cassette, self._metadata = self._load(match_on)
        self._loaded = list(self._cassette.data)
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or netrc credentials from the environment
        self._session.headers.clear()  # forward the client's headers, not requests' defaults
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # stateless

    def _load(self, match_on: Sequence[str]) -> tuple[Any, dict[str, Any]]:
        import vcr
        from vcr.cassette import Cassette

        metadata: dict[str, Any] = {}
        if self.path.exists():
            # Our loader first: vcrpy treats a cassette it cannot parse as empty, and would overwrite it.
            metadata = dict(load_cassette(self.path).metadata)
        elif self.path.suffix not in (".yaml", ".yml", ".json"):
            raise ConfigurationError(
                f"{self.path}: a cassette file ends in .yaml, .yml or .json (e.g. cassettes/api/name.yaml)"
            )
        try:
            config = vcr.VCR(
                record_mode=self.mode.value,
                match_on=tuple(match_on),
                before_record_request=self.redactor.request,
                serializer=serializer_for(self.path),
            ).get_merged_config(path=str(self.path))
        except KeyError as exc:
            raise ConfigurationError(
                f"{exc.args[0]!r} is not a vcrpy matcher; use: method, scheme, host, port, path, query, "
                "uri, headers, body, raw_body"
            ) from None
        for key in ("path_transformer", "func_path_generator", "record_on_exception"):
            config.pop(key, None)
        return Cassette.load(**config), metadata

    def close(self) -> None:
        """Release the upstream connections (the cassette is always saved already)."""
        self._session.close()

    # -- the WSGI side ----------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        status, reason, headers, body = self.handle(request)
        start_response(f"{status} {reason}".rstrip(), headers)
        return [body]

    def handle(self, request: Request) -> tuple[int, str, list[tuple[str, str]], bytes]:
        from vcr.request import Request as VcrRequest

        target = self._target(request)
        if isinstance(target, tuple):
            return target
        url = (self.upstream + target) if target != "*" else self.upstream
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("host", "content-length")
        ]
        body = request.get_data(cache=False)
        recorded_uri = (self.record_as + target) if self.record_as else url
        vcr_request = VcrRequest(request.method, recorded_uri, body or None, _header_dict(headers))

        recorded: dict[str, Any] | None = None
        closest: list[str] | None = None
        with self._lock:
            if self._cassette.can_play_response_for(vcr_request):
                recorded = self._cassette.play_response(vcr_request)
                index = next(i for i, (_, r) in enumerate(self._cassette.data) if r is recorded)
            elif self._cassette.write_protected:
                closest = [str(r) for r, _, _ in self._cassette.find_requests_with_most_matches(vcr_request)]
        if recorded is not None:
            self._emit(RecordEvent("replayed", request.method, target, recorded["status"]["code"], index))
            return _replayed(recorded, request.method)
        if closest is not None:
            return self._refuse(request.method, target, closest[:3])

        try:
            live = self._forward(request.method, url, headers, body)
        except Exception as exc:  # requests' connection errors, timeouts, invalid responses
            detail = f"{type(exc).__name__}: {exc}"
            self._emit(RecordEvent("failed", request.method, target, 502, detail=detail))
            return _problem(
                502,
                "Upstream unreachable",
                f"{request.method} {url} failed: {detail}; nothing was recorded",
                upstream=self.upstream,
            )
        status, reason, live_headers, raw = live
        stored = _stored_response(status, reason, live_headers, raw, request.method)
        drift: list[Drift] = []
        if self.detector is not None:
            content_type = _first(stored["headers"], "content-type")
            drift = self.detector.check(
                request.method, urlsplit(url).path, status, content_type, stored["body"]["string"]
            )
        redacted_request, redacted_response = self.redactor.interaction(vcr_request, stored)
        failure: Exception | None = None
        with self._lock:
            self._cassette.append(redacted_request, redacted_response)
            index = len(self._cassette.data) - 1
            try:
                self._save()
            except Exception as exc:  # a full disk, or a body the JSON serializer cannot hold
                self._cassette.data.pop()
                failure = exc
            else:
                self.drift.extend(drift)
        if failure is not None:
            detail = f"{type(failure).__name__}: {failure}"
            self._emit(RecordEvent("failed", request.method, target, 500, detail=detail))
            return _problem(
                500,
                "Cannot write the cassette",
                f"{self.path}: {detail}; the interaction was not recorded, so its response is withheld",
                hint="binary bodies need a .yaml cassette" if self.path.suffix == ".json" else "",
            )
        self._emit(RecordEvent("recorded", request.method, target, status, index, tuple(drift)))
        client_headers = [(n, v) for n, v in live_headers if n.lower() not in HOP_BY_HOP]
        if request.method != "HEAD" and not any(n.lower() == "content-length" for n, _ in client_headers):
            client_headers.append(("Content-Length", str(len(raw))))
        return status, reason, client_headers, raw

    def _target(self, request: Request) -> str | tuple[int, str, list[tuple[str, str]], bytes]:
        """The path and query to append to the upstream URL, or the refusal of a foreign target."""
        raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
        raw = raw.encode("latin-1").decode("utf-8", "replace") if raw else request.full_path
        if request.method == "CONNECT":
            return _problem(
                405,
                "Not a forward proxy",
                f"CONNECT is not supported: this recorder forwards plain requests to {self.upstream} only",
            )
        if raw.startswith(("http://", "https://")):
            parts = urlsplit(raw)
            upstream = urlsplit(self.upstream)
            if (parts.scheme, parts.netloc) != (upstream.scheme, upstream.netloc):
                return _problem(
                    403,
                    "Not an open proxy",
                    f"this recorder forwards to {self.upstream} only, not to {parts.scheme}://{parts.netloc}",
                    upstream=self.upstream,
                )
            base = upstream.path.rstrip("/")
            path = parts.path[len(base) :] if base and parts.path.startswith(base) else parts.path
            raw = path + (f"?{parts.query}" if parts.query else "")
        if not raw.startswith("/"):
            return _problem(400, "Bad request target", f"{raw!r} is not a path; send /path?query")
        return raw

    def _forward(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        response = self._session.request(
            method,
            url,
            headers=_header_dict(headers),
            data=body or None,
            allow_redirects=False,
            stream=True,
            timeout=self.timeout,
        )
        try:
            raw = b"" if method == "HEAD" else response.raw.read(decode_content=False)
            headers_out = [(str(n), str(v)) for n, v in response.raw.headers.items()]
            return response.status_code, response.reason or "", headers_out, raw
        finally:
            response.close()

    def _refuse(
        self, method: str, target: str, closest: list[str]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        if self.mode is RecordMode.NONE:
            why = "record mode 'none' never records"
            hint = "use --mode new_episodes to record new requests"
        else:
            why = "record mode 'once' does not add to an existing cassette"
            hint = "use --mode new_episodes to add it, or --mode all to re-record the cassette"
        self._emit(RecordEvent("refused", method, target, 409, detail=why))
        return _problem(
            409,
            "Not in the cassette",
            f"{why}, and {self.path} has no unplayed interaction matching {method} {target}",
            mode=self.mode.value,
            cassette=str(self.path),
            closest=closest,
            hint=hint,
        )

    def _emit(self, event: RecordEvent) -> None:
        with self._lock:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # -- the cassette -----------------------------------------------------------------------

    @property
    def interactions(self) -> list[tuple[Any, dict[str, Any]]]:
        """What the cassette file holds now: (vcr Request, response dict) pairs."""
        with self._lock:
            return self._to_save()

    def _to_save(self) -> list[tuple[Any, dict[str, Any]]]:
        from vcr.matchers import requests_match

        data = list(self._cassette.data)
        if self.mode is not RecordMode.ALL:
            return data
        # vcrpy's "all": re-recorded interactions replace the loaded ones they match.
        loaded = data[: len(self._loaded)]
        recorded = data[len(self._loaded) :]
        match_on = self._cassette._match_on
        kept = [
            (old, response)
            for old, response in loaded
            if not any(requests_match(new, old, match_on) for new, _ in recorded)
        ]
        return kept + recorded

    def _save(self) -> None:
        interactions = self._to_save()
        now = _now()
        kept_old = any(pair in interactions for pair in self._loaded)
        metadata = {
            **self._metadata,
            "recorded_at": self._metadata.get("recorded_at", self._started) if kept_old else self._started,
            "updated_at": now,
            "upstream": self.record_as or self.upstream,
            "recorder": harness_version(),
            **self._extra_metadata,
        }
        if self.record_as:
            metadata.setdefault("recorded_from", self.upstream)
        try:
            save_cassette(self.path, cassette_dict(interactions, metadata))
        except OSError as exc:
            raise CassetteError(self.path, f"cannot write it: {exc.strerror}") from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _header_dict(headers: list[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _first(headers: Mapping[str, list[str]], name: str) -> str:
    for key, values in headers.items():
        if key.lower() == name and values:
            return str(values[0])
    return ""


def decode_body(raw: bytes, content_encoding: str) -> bytes | None:
    """`raw` without its content codings (applied in order, so undone in reverse); None when one of
    them is unknown (then the cassette keeps the encoded bytes and the header)."""
    body = raw
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif coding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:  # raw deflate, as some servers send it
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif coding == "br":
            try:
                import brotli
            except ImportError:
                return None
            body = brotli.decompress(body)
        else:
            return None
    return body


def _stored_response(
    status: int, reason: str, headers: list[tuple[str, str]], raw: bytes, method: str
) -> dict[str, Any]:
    """vcrpy's response layout with the body decoded and headers that agree with it."""
    encoding = ", ".join(v for n, v in headers if n.lower() == "content-encoding")
    body: bytes | None = raw
    if encoding and raw:
        try:
            body = decode_body(raw, encoding)
        except (OSError, zlib.error, EOFError, ValueError):
            body = None
    decoded = body is not None and bool(encoding) and bool(raw)
    stored_headers: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP or (decoded and lowered == "content-encoding"):
            continue
        if lowered == "content-length" and method != "HEAD":
            continue
        stored_headers.setdefault(name, []).append(value)
    final = body if body is not None else raw
    if method != "HEAD" and (final or any(n.lower() == "content-length" for n, _ in headers)):
        stored_headers["Content-Length"] = [str(len(final))]
    return {
        "status": {"code": status, "message": reason},
        "headers": stored_headers,
        "body": {"string": final},
    }


def _replayed(recorded: dict[str, Any], method: str) -> tuple[int, str, list[tuple[str, str]], bytes]:
    body = recorded["body"].get("string") or b""
    body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    headers: list[tuple[str, str]] = []
    for name, values in recorded["headers"].items():
        lowered = name.lower()
        if lowered in HOP_BY_HOP or lowered == "content-length":
            continue
        # Recordings made by vcrpy with requests keep Content-Encoding but hold the decoded body.
        if lowered == "content-encoding" and not body.startswith(b"\x1f\x8b"):
            continue
        headers.extend((name, str(value)) for value in (values if isinstance(values, list) else [values]))
    if method != "HEAD":
        headers.append(("Content-Length", str(len(body))))
    code = int(recorded["status"]["code"])
    return code, str(recorded["status"].get("message") or _phrase(code)), headers, body


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _problem(
    status: int, title: str, detail: str, **extra: Any
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
        ensure_ascii=False,
    ).encode("utf-8")
    headers = [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body)))]
    return status, _phrase(status), headers, body


@dataclass
class RunningRecorder:
    """A recorder listening on 127.0.0.1: point clients at `url`."""

    recorder: Recorder
    server: LiveServer
    started: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def drift(self) -> list[Drift]:
        return list(self.recorder.drift)

    def stop(self) -> None:
        self.server.stop()
        self.recorder.close()

    def __enter__(self) -> RunningRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_recorder(
    upstream: str, cassette: str | Path, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningRecorder:
    """Start a recording proxy in a background thread (a free port by default).

    Example:
        with serve_recorder("https://api.github.com", "cassettes/github/user.yaml") as proxy:
            requests.get(f"{proxy.url}/user", headers={"Authorization": f"Bearer {token}"})
    """
    recorder = Recorder(upstream, cassette, **options)
    return RunningRecorder(recorder, LiveServer(recorder, host, port).start())


def print_event(event: RecordEvent) -> None:
    """The console reporter of `harness record`: one line per request, drift on stderr."""
    print(event, flush=True)
    for drift in event.drift:
        print(f"drift: {drift}", file=sys.stderr, flush=True)
