"""Replay: answer requests from recorded interactions, matched exactly as vcrpy matches them.

    cassette files ──vcrpy Cassette.load (safe YAML/JSON, user's filters and hooks)──▶ recordings
    recordings ──indexed once by (method, path)──▶ buckets
    request ──as a vcr Request on the recorded origin, filtered──▶ its bucket ──vcrpy matchers──▶
        the first matching recording not played yet, else (repeats allowed) the first match

vcrpy does the loading, the filtering (`before_record_request`, `filter_headers`...,
`filter_sensitive_data`, load hooks) and the matching; play counts live in each vcrpy `Cassette`
(`play_counts`), so `rewind()` and `all_played` keep their meaning. What is ours: the index (vcrpy
scans every interaction for every request), the lock around play counts (vcrpy has none), and
turning a stored response into one every client can read (`StoredResponse`).
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.cassettes import CassetteError, CassetteNotFound, iter_cassette_files, load_cassette
from harness.encodings import UndecodableBody, acceptable, applied_codings, decode, parse_codings
from harness.http import HOP_BY_HOP_HEADERS, Headers, HttpRequest, MockResponse
from harness.matchers import DEFAULT_MATCH_ON, Matcher, index_fields, matcher_names, replay_vcr

# Never forwarded from a recording: they describe the recorded connection, not the content
# (and WSGI forbids applications to set them). Content-Length is recomputed from the body.
HOP_BY_HOP = HOP_BY_HOP_HEADERS
CLOSEST_LIMIT = 5
# Recordings scored for a miss's diagnostics at most: a miss stays cheap with 100k recordings.
_DIAGNOSTIC_POOL = 300


@dataclass(frozen=True)
class RecordedCassette:
    """One loaded cassette file. `label` names it in journals: `github/issues.yaml`."""

    path: Path
    label: str
    cassette: Any = field(repr=False)  # vcr.cassette.Cassette


class StoredResponse:
    """A recorded response made servable: status, reason, headers and body bytes as recorded, with
    the headers that no longer describe the stored body corrected.

    - `Content-Encoding` names only the codings the stored body really carries (vcrpy + requests
      stores decoded bodies under `Content-Encoding: gzip`);
    - `Content-Length` and hop-by-hop headers (`Transfer-Encoding: chunked`...) are dropped: the
      body is stored whole and the server frames it.
    A client that does not accept the stored coding gets the body decoded.
    """

    def __init__(self, response: Mapping[str, Any], *, head: bool = False):
        status = response.get("status") or {}
        self.status = int(status.get("code", 200))
        self.reason: str | None = status.get("message") or None
        raw = (response.get("body") or {}).get("string") or b""
        self.body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        self.corrections: list[str] = []
        headers = Headers()
        declared: list[str] = []
        for name, values in (response.get("headers") or {}).items():
            values = values if isinstance(values, list) else [values]
            lowered = str(name).lower()
            if lowered in HOP_BY_HOP:
                self.corrections.append(f"removed {name}: {', '.join(map(str, values))} (hop-by-hop)")
                continue
            if lowered == "content-length":
                if not head and [str(len(self.body))] != [str(value).strip() for value in values]:
                    self.corrections.append(
                        f"Content-Length {', '.join(map(str, values))} -> {len(self.body)} (stored body size)"
                    )
                continue
            if lowered == "content-encoding":
                declared.extend(parse_codings(map(str, values)))
                continue
            for value in values:
                headers.add(str(name), str(value))
        self.codings = applied_codings(declared, self.body) if not head else declared
        if self.codings != declared:
            kept = f"Content-Encoding: {', '.join(self.codings)}" if self.codings else "no Content-Encoding"
            self.corrections.append(
                f"Content-Encoding: {', '.join(declared)} -> {kept} (the stored body is not encoded so)"
            )
        if self.codings:
            headers.add("Content-Encoding", ", ".join(self.codings))
        self.headers = headers

    @cached_property
    def decoded_body(self) -> bytes | None:
        """The body with every coding undone, or None when a codec is missing."""
        body = self.body
        try:
            for coding in reversed(self.codings):
                body = decode(body, coding)
        except UndecodableBody:
            return None
        return body

    def for_client(self, accept_encoding: str | None, source: str) -> tuple[MockResponse, str | None]:
        """A fresh response for a client sending `Accept-Encoding: accept_encoding`, and a note
        when the body had to be decoded for it."""
        headers = self.headers.copy()
        body, note = self.body, None
        unreadable = [coding for coding in self.codings if not acceptable(accept_encoding, coding)]
        if unreadable and self.decoded_body is not None:
            body = self.decoded_body
            headers.remove("Content-Encoding")
            note = f"decoded {', '.join(unreadable)}: the client does not accept it"
        return MockResponse(self.status, headers, body, source, reason=self.reason), note


@dataclass(eq=False)
class Recording:
    """One recorded interaction: where it is, its vcr Request and its response dict."""

    cassette: RecordedCassette
    index: int  # its position in the cassette: vcrpy's play_counts key
    order: int  # its position across all cassettes: the order recordings are tried in
    request: Any = field(repr=False)  # vcr.request.Request, after the user's filters
    response: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return f"<Recording {self.source}: {self.describe()}>"

    @property
    def source(self) -> str:
        return f"cassette:{self.cassette.label}#{self.index}"

    @cached_property
    def origin(self) -> str:
        parts = urlsplit(self.request.uri)
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def stored(self) -> StoredResponse:
        return StoredResponse(self.response, head=str(self.request.method).upper() == "HEAD")

    @property
    def plays(self) -> int:
        return int(self.cassette.cassette.play_counts[self.index])

    def describe(self) -> str:
        return f"{self.request.method} {self.request.uri}"


@dataclass
class Replay:
    """A request answered from a recording; `play` counts from 1."""

    recording: Recording
    play: int
    response: MockResponse
    notes: list[str] = field(default_factory=list)

    def as_note(self) -> dict[str, Any]:
        return {
            "source": self.recording.source,
            "file": str(self.recording.cassette.path),
            "interaction": self.recording.index,
            "play": self.play,
            "recorded_request": self.recording.describe(),
            **({"corrections": self.notes} if self.notes else {}),
        }


@dataclass
class Candidate:
    """A recording close to a request that none matched, and how it differs."""

    recording: Recording
    matched: list[str]
    differed: list[tuple[str, str]]
    already_played: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "interaction": self.recording.source,
            "request": self.recording.describe(),
            "matched": self.matched,
            "differed": [{"matcher": name, "difference": message} for name, message in self.differed],
            **({"already_played": True} if self.already_played else {}),
        }


@dataclass
class ReplayMiss:
    """No recording answers: why, and the closest recordings (most matchers passed first)."""

    request: str
    reason: str
    closest: list[Candidate]

    def as_note(self) -> dict[str, Any]:
        return {"reason": self.reason, "closest": [candidate.as_dict() for candidate in self.closest]}


class Replayer:
    """Recorded interactions from vcrpy cassettes, indexed for lookup, played in recorded order.

    Build it with `Replayer.load(paths, ...)`. `play(request)` answers a request: each matching
    recording plays once, in recorded order; when all have played, `allow_playback_repeats` says
    whether they play again (from the first, as vcrpy picks) or the request goes unanswered.
    Thread-safe.
    """

    def __init__(
        self,
        cassettes: Sequence[RecordedCassette],
        *,
        matchers: Sequence[Matcher],
        allow_playback_repeats: bool = True,
        refused: Sequence[CassetteError] = (),
    ):
        self.cassettes = list(cassettes)
        self.matchers = list(matchers)
        self.match_on = [matcher.__name__ for matcher in self.matchers]
        self.allow_playback_repeats = allow_playback_repeats
        self.refused = list(refused)
        self._lock = threading.Lock()
        self.recordings: list[Recording] = []
        for cassette in self.cassettes:
            for index, (request, response) in enumerate(cassette.cassette.data):
                self.recordings.append(Recording(cassette, index, len(self.recordings), request, response))
        self._by_method, self._by_path = index_fields(self.matchers)
        self._buckets: dict[tuple[str, str], list[Recording]] = {}
        self._by_path_only: dict[str, list[Recording]] = {}
        for recording in self.recordings:
            self._buckets.setdefault(self._key(recording.request), []).append(recording)
            self._by_path_only.setdefault(_path_of(recording.request), []).append(recording)
        self._paths = sorted(self._by_path_only)
        self._default_origin = self.recordings[0].origin if self.recordings else "http://replay.invalid"

    @classmethod
    def load(
        cls,
        paths: Iterable[str | Path],
        *,
        match_on: Sequence[str | Matcher] | None = None,
        allow_playback_repeats: bool | None = None,
        vcr_config: Mapping[str, Any] | None = None,
    ) -> Replayer:
        """Load cassette files, and the cassettes under directories (recursively, sorted).

        Args:
            paths: cassette files (.yaml, .yml, .json) or directories of them.
            match_on: vcrpy matcher names (or matcher functions); default: `vcr_config`'s
                `match_on`, else method, path and query.
            allow_playback_repeats: play recordings again once each has played; default:
                `vcr_config`'s value, else True.
            vcr_config: what pytest-recording's `vcr_config` fixture returns (filters, hooks,
                `decode_compressed_response`...), so recordings and requests are filtered alike.

        Files vcrpy cannot load are skipped and listed in `refused` with the reason.

        Raises:
            CassetteNotFound: a path does not exist.
            ConfigurationError: an unknown matcher or `vcr_config` key.
        """
        from vcr.cassette import Cassette

        if isinstance(paths, str | Path):
            paths = [paths]
        config = dict(vcr_config or {})
        chosen = tuple(match_on) if match_on is not None else tuple(config.pop("match_on", DEFAULT_MATCH_ON))
        config.pop("match_on", None)
        repeats_configured = config.pop("allow_playback_repeats", True)
        repeats = bool(repeats_configured if allow_playback_repeats is None else allow_playback_repeats)
        recorder = replay_vcr(config, chosen)
        names = matcher_names(chosen, list(recorder.matchers))
        # get_merged_config appends vcr_config's additional_matchers, as vcrpy does.
        additional = tuple(config.get("additional_matchers") or ())
        if additional:
            matcher_names(additional, list(recorder.matchers))
        cassettes: list[RecordedCassette] = []
        refused: list[CassetteError] = []
        for given, file in _cassette_files(paths):
            merged = recorder.get_merged_config(
                **{
                    **config,
                    "path": str(file),
                    "match_on": names,
                    "record_mode": "none",
                    "allow_playback_repeats": repeats,
                    "persister": SafePersister,
                }
            )
            for key in ("path_transformer", "func_path_generator", "record_on_exception"):
                merged.pop(key, None)  # decorator-only arguments
            try:
                cassette = Cassette.load(**merged)
            except CassetteError as exc:
                refused.append(exc)
                continue
            except Exception as exc:  # a vcr_config hook that failed on this file
                refused.append(CassetteError(file, f"vcr_config hooks failed: {type(exc).__name__}: {exc}"))
                continue
            cassettes.append(RecordedCassette(file, _label(given, file), cassette))
        matchers = [recorder.matchers[name] for name in (*names, *additional)]
        return cls(cassettes, matchers=matchers, allow_playback_repeats=repeats, refused=refused)

    def __len__(self) -> int:
        return len(self.recordings)

    def _key(self, request: Any) -> tuple[str, str]:
        return (
            str(request.method) if self._by_method else "",
            _path_of(request) if self._by_path else "",
        )

    def play(self, request: HttpRequest) -> Replay | ReplayMiss:
        """Answer `request` from the first matching recording that may play, and count the play."""
        probe = _Probe(self, request)
        if probe.first is None:
            return ReplayMiss(
                request.method + " " + request.target,
                "vcr_config filters drop this request (ignore_hosts, or before_record_request "
                "returned None), so no recording can match it",
                [],
            )
        bucket = self._buckets.get(self._key(probe.first), [])
        matches = [recording for recording in bucket if self._matches(probe.on(recording), recording)]
        chosen, play = None, 0
        with self._lock:
            for recording in matches:
                if recording.plays == 0:
                    chosen = recording
                    break
            if chosen is None and matches and self.allow_playback_repeats:
                chosen = matches[0]
            if chosen is not None:
                chosen.cassette.cassette.play_counts[chosen.index] += 1
                play = chosen.plays
        if chosen is None:
            return self._miss(request, probe, matches)
        response, note = chosen.stored.for_client(request.headers.get("Accept-Encoding"), chosen.source)
        notes = list(chosen.stored.corrections) + ([note] if note else [])
        return Replay(chosen, play, response, notes)

    def _matches(self, incoming: Any, recording: Recording) -> bool:
        from vcr.matchers import requests_match

        return bool(requests_match(incoming, recording.request, self.matchers))

    def _miss(self, request: HttpRequest, probe: _Probe, matches: list[Recording]) -> ReplayMiss:
        described = f"{request.method} {request.target}"
        if matches:
            return ReplayMiss(
                described,
                f"all {len(matches)} matching recording(s) were played and allow_playback_repeats is off "
                "(POST /__harness/reset rewinds them)",
                [
                    Candidate(recording, list(self.match_on), [], True)
                    for recording in matches[:CLOSEST_LIMIT]
                ],
            )
        from vcr.matchers import get_matchers_results

        scored = []
        for rank, recording in enumerate(self._diagnostic_pool(probe.first)):
            passed, failed = get_matchers_results(probe.on(recording), recording.request, self.matchers)
            if passed:
                scored.append((-len(passed), rank, Candidate(recording, list(passed), list(failed))))
        scored.sort(key=lambda item: item[:2])
        closest = [candidate for *_, candidate in scored[:CLOSEST_LIMIT]]
        reason = (
            f"no recording matches on {', '.join(self.match_on)}"
            if self.recordings
            else "no cassette holds any recording"
        )
        return ReplayMiss(described, reason, closest)

    def _diagnostic_pool(self, incoming: Any) -> list[Recording]:
        """Recordings worth scoring for a miss, nearest first: same method and path, same path,
        then the paths sorting next to the request's (they share its longest prefix)."""
        pool: list[Recording] = []
        seen: set[int] = set()

        def take(recordings: Iterable[Recording]) -> None:
            for recording in recordings:
                if len(pool) >= _DIAGNOSTIC_POOL:
                    return
                if recording.order not in seen:
                    seen.add(recording.order)
                    pool.append(recording)

        path = _path_of(incoming)
        take(self._buckets.get(self._key(incoming), []))
        take(self._by_path_only.get(path, []))
        position = bisect.bisect_left(self._paths, path)
        neighbours = self._paths[max(0, position - CLOSEST_LIMIT) : position + CLOSEST_LIMIT]
        neighbours.sort(key=lambda other: -_common_prefix(other, path))
        for other in neighbours:
            take(self._by_path_only[other][: 2 * CLOSEST_LIMIT])
        if len(self.recordings) <= _DIAGNOSTIC_POOL:
            take(self.recordings)
        return pool

    def rewind(self) -> None:
        """Forget every play, as `POST /__harness/reset` does."""
        with self._lock:
            for cassette in self.cassettes:
                cassette.cassette.rewind()

    def summary(self) -> list[dict[str, Any]]:
        """Per cassette: its file, how many recordings it holds and how many have played."""
        with self._lock:
            return [
                {
                    "file": str(cassette.path),
                    "label": cassette.label,
                    "interactions": len(cassette.cassette.data),
                    "played": sum(1 for count in cassette.cassette.play_counts.values() if count),
                }
                for cassette in self.cassettes
            ]


class _Probe:
    """The incoming request as vcr Requests: filtered once, then re-hosted on each recorded origin,
    so scheme/host/port/uri matchers compare what the client addressed: the recorded API.

    A request naming its origin with `X-Forwarded-Host` (and `X-Forwarded-Proto`, default http)
    keeps it, and those matchers compare it with the recorded one.
    """

    def __init__(self, replayer: Replayer, request: HttpRequest):
        from vcr.request import Request

        forwarded = request.headers.get("X-Forwarded-Host")
        proto = (request.headers.get("X-Forwarded-Proto") or "http").split(",")[0].strip()
        self.fixed = f"{proto}://{forwarded.split(',')[0].strip()}" if forwarded else None
        origin = self.fixed or replayer._default_origin
        headers = dict(request.headers.items())
        raw = Request(request.method, origin + request.target, request.body or None, headers)
        cassettes = replayer.cassettes
        self.first: Any = cassettes[0].cassette.filter_request(raw) if cassettes else raw
        self._origin = origin
        self._rehosted: dict[str, Any] = {}

    def on(self, recording: Recording) -> Any:
        if self.fixed is not None or recording.origin == self._origin:
            return self.first
        found = self._rehosted.get(recording.origin)
        if found is None:
            found = copy.copy(self.first)
            parts = urlsplit(self.first.uri)
            found.uri = recording.origin + parts.path + (f"?{parts.query}" if parts.query else "")
            self._rehosted[recording.origin] = found
        return found


class SafePersister:
    """vcrpy persister reading cassettes with `harness.cassettes.load_cassette`: safe YAML or JSON
    by content, the legacy httpx layout normalized, and errors naming the file and the reason."""

    @classmethod
    def load_cassette(cls, cassette_path: str | Path, serializer: Any) -> tuple[Any, ...]:
        from vcr.persisters.filesystem import CassetteNotFoundError

        path = Path(cassette_path)
        if path.is_file() and not path.read_bytes().strip():
            raise CassetteNotFoundError()  # vcrpy reads an empty file as an empty cassette
        loaded = load_cassette(path)
        requests = [interaction.request for interaction in loaded.interactions]
        responses = [interaction.response for interaction in loaded.interactions]
        return (requests, responses, loaded.metadata) if loaded.metadata else (requests, responses)

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: Any, serializer: Any) -> None:
        raise NotImplementedError("replay never writes cassettes")


def _cassette_files(paths: Iterable[str | Path]) -> Iterable[tuple[Path, Path]]:
    for given in map(Path, paths):
        if not given.exists():
            raise CassetteNotFound(given)
        for file in iter_cassette_files([given]):
            yield given, file


def _label(given: Path, file: Path) -> str:
    if given.is_dir():
        return f"{given.resolve().name}/{file.relative_to(given).as_posix()}"
    return file.name


def _path_of(request: Any) -> str:
    return str(request.path) or "/"  # vcrpy: an empty path is "/" (RFC 3986 §6.2.3)


def _common_prefix(left: str, right: str) -> int:
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count
