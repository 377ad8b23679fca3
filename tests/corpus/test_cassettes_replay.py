"""Every real-world cassette of the shared corpus that vcrpy 9 loads replays over HTTP, to requests
and to httpx, with the recorded status and body; the files vcrpy refuses are reported, not fatal."""

from __future__ import annotations

import gzip
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import jsonserializer, yamlserializer

from harness import serve_mock
from harness.cassettes import iter_cassette_files
from harness.live import LiveServer
from harness.replay import Replayer
from mock_server import create_app
from tests.conftest import corpus_path

pytestmark = pytest.mark.corpus

NOT_SENT = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


def vcrpy_verdicts(folder: Path) -> dict[Path, str | None]:
    """What plain vcrpy 9 says of each file: None when it loads, else its error."""
    verdicts: dict[Path, str | None] = {}
    for path in iter_cassette_files([folder]):
        serializer = jsonserializer if path.suffix == ".json" else yamlserializer
        try:
            FilesystemPersister.load_cassette(str(path), serializer=serializer)
        except Exception as exc:
            verdicts[path] = f"{type(exc).__name__}: {exc}"
        else:
            verdicts[path] = None
    return verdicts


def recorded_interactions(paths: list[Path]):
    """(request, status, body as a client reads it), in cassette order then recorded order."""
    from harness.cassettes import load_cassette

    for path in paths:
        for interaction in load_cassette(path).interactions:
            body = interaction.body
            if body[:2] == b"\x1f\x8b":  # stored as sent, gzip-encoded: clients read it decoded
                body = gzip.decompress(body)
            yield path, interaction.request, interaction.status, body


def sent(request) -> tuple[str, str, bytes | None, dict[str, str]]:
    parts = urlsplit(request.uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = request.body_bytes
    headers = {name: value for name, value in request.headers.items() if name.lower() not in NOT_SENT}
    return request.method, target, body if body else None, headers


@pytest.fixture(scope="module")
def corpus():
    folder = corpus_path("cassettes")
    verdicts = vcrpy_verdicts(folder)
    loadable = [path for path, error in verdicts.items() if error is None]
    with serve_mock([], cassettes=loadable) as mock:
        yield verdicts, loadable, mock


def test_the_corpus_holds_what_the_manifest_says(corpus):
    verdicts, loadable, _ = corpus
    assert len(verdicts) == 31
    assert len(loadable) == 25
    assert {path.parent.name for path, error in verdicts.items() if error} == {"pydantic-ai"}


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_every_cassette_vcrpy_loads_replays_its_recorded_status_and_body(corpus, client):
    _, loadable, mock = corpus
    mock.reset()
    # Sent in recorded order: identical requests (the same POST /v1/messages in several files) are
    # answered by their recordings in that order, so each request meets its own recording.
    expected = list(recorded_interactions(loadable))
    assert len(expected) == 43
    got = []
    with requests.Session() as session, httpx.Client(timeout=10) as httpx_client:
        for _, request, _, _ in expected:
            method, target, body, headers = sent(request)
            if client == "requests":
                response = session.request(method, mock.url + target, data=body, headers=headers, timeout=10)
                got.append((response.status_code, response.content))
            else:
                answer = httpx_client.request(method, mock.url + target, content=body, headers=headers)
                got.append((answer.status_code, answer.content))
    mismatches = [
        f"{path.name}: {request.method} {request.uri}"
        for (path, request, status, body), answer in zip(expected, got, strict=True)
        if answer != (status, body)
    ]
    assert mismatches == []
    assert all(entry["response"]["source"].startswith("cassette:") for entry in mock.journal())


def test_files_vcrpy_refuses_are_reported_with_the_file_and_the_reason_while_the_others_load(corpus):
    verdicts, loadable, _ = corpus
    replayer = Replayer.load([corpus_path("cassettes")])
    assert sorted(cassette.path for cassette in replayer.cassettes) == sorted(loadable)
    refused = {Path(error.path): error.problem for error in replayer.refused}
    assert set(refused) == {path for path, error in verdicts.items() if error}
    for path, reason in refused.items():
        assert reason.startswith(
            "vcrpy cannot load it: TypeError: Request.__init__() got an unexpected keyword"
        )
        assert "parsed_body" in reason
        assert str(path) in str(next(error for error in replayer.refused if Path(error.path) == path))


# Headers the mock corrects (the stored body is whole and decoded where the client needs it) or that
# the two transports frame differently.
FRAMING = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}


def through_vcrpy(path: Path, client: str) -> list[tuple] | str:
    """Each interaction of `path` replayed by plain vcrpy to `client`, or why vcrpy could not."""
    import vcr

    answers = []
    try:
        with vcr.use_cassette(str(path), record_mode="none"), httpx.Client() as httpx_client:
            for _, request, _, _ in recorded_interactions([path]):
                method, target, body, headers = sent(request)
                parts = urlsplit(request.uri)
                url = f"{parts.scheme}://{parts.netloc}{target}"
                if client == "requests":
                    response = requests.request(method, url, data=body, headers=headers, timeout=10)
                    answers.append(_seen(response.status_code, response.headers.items(), response.content))
                else:
                    answer = httpx_client.request(method, url, content=body, headers=headers)
                    answers.append(_seen(answer.status_code, answer.headers.multi_items(), answer.content))
    except Exception as exc:  # vcrpy's own replay fails on some real cassettes (see the README)
        return f"{type(exc).__name__}: {exc}"
    return answers


def _seen(status, headers, body) -> tuple:
    kept = sorted((name.lower(), value) for name, value in headers if name.lower() not in FRAMING)
    return status, kept, body


class OneCassetteAtATime:
    """A WSGI app serving a mock of one cassette at a time, so one server serves them all in turn."""

    def __init__(self):
        self.app = None

    def serve(self, path: Path) -> None:
        self.app = create_app([], cassettes=[path], allow_playback_repeats=False)

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_where_plain_vcrpy_replays_a_corpus_cassette_the_mock_gives_the_same_responses(corpus, client):
    _, loadable, _ = corpus
    switch = OneCassetteAtATime()
    compared = []
    with (
        LiveServer(switch) as server,
        requests.Session() as session,
        httpx.Client(timeout=10) as httpx_client,
    ):
        for path in loadable:
            expected = through_vcrpy(path, client)
            recorded = list(recorded_interactions([path]))
            if isinstance(expected, str) or [answer[::2] for answer in expected] != [
                (status, body) for _, _, status, body in recorded
            ]:
                continue  # vcrpy itself does not give the recorded answer; the test above covers the mock
            switch.serve(path)
            got = []
            for _, request, _, _ in recorded:
                method, target, body, headers = sent(request)
                if client == "requests":
                    response = session.request(
                        method, server.url + target, data=body, headers=headers, timeout=10
                    )
                    got.append(_seen(response.status_code, response.headers.items(), response.content))
                else:
                    answer = httpx_client.request(method, server.url + target, content=body, headers=headers)
                    got.append(_seen(answer.status_code, answer.headers.multi_items(), answer.content))
            assert got == expected, path.name
            compared.append(path.name)
    # vcrpy 9.4.2 gives the recorded answers for 12 cassettes through requests (it cannot replay the
    # legacy httpx layout there, and hands httpx-recorded gzip bytes to requests undecoded) and for
    # 24 of 25 through httpx (it gunzips a body aiohttp stored decoded).
    assert len(compared) >= {"requests": 12, "httpx": 24}[client], compared
