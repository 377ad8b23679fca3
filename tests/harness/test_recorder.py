"""The recording proxy over real HTTP: upstreams and clients on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import vcr
import yaml

from examples.todo_server import create_app as create_todo_server
from harness import ConfigurationError, RecordMode, serve_recorder
from harness.cassettes import load_cassette
from harness.live import LiveServer
from harness.redaction import PLACEHOLDER
from tests.conftest import TODO
from tests.harness.upstreams import PNG, create_drifting_todo, create_web_upstream

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2


@pytest.fixture
def todo_upstream():
    with LiveServer(create_todo_server()) as server:
        yield server


@pytest.fixture
def web_upstream():
    with LiveServer(create_web_upstream()) as server:
        yield server


def hits(server: LiveServer) -> list[str]:
    return server.app.config["hits"]


def todo_session(base: str) -> list[requests.Response]:
    """What a to-do client does: create, read, update, list, delete, and miss."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    return [
        requests.post(f"{base}/tasks/", json={"summary": "Buy milk", "description": "2 l"}, headers=auth),
        requests.get(f"{base}/tasks/1/", headers=auth),
        requests.put(f"{base}/tasks/1/", json={"summary": "Buy oat milk"}, headers=auth),
        requests.get(f"{base}/tasks/", headers=auth),
        requests.delete(f"{base}/tasks/1/", headers=auth),
        requests.get(f"{base}/tasks/1/", headers=auth),
        requests.post(f"{base}/tasks/", data=b"not json", headers={"Content-Type": "application/json"}),
    ]


def essentials(response: requests.Response) -> tuple[int, str, bytes]:
    return response.status_code, response.headers.get("Content-Type", ""), response.content


def test_the_client_gets_the_live_response_and_the_cassette_gets_the_interaction(todo_upstream, tmp_path):
    cassette = tmp_path / "cassettes" / "todo" / "session.yaml"
    # When
    with serve_recorder(todo_upstream.url, cassette, mode="once") as proxy:
        through_proxy = todo_session(proxy.url)
    # Then: the same answers as straight from a fresh upstream
    with LiveServer(create_todo_server()) as fresh:
        direct = todo_session(fresh.url)
    assert [essentials(r) for r in through_proxy] == [essentials(r) for r in direct]
    assert [r.status_code for r in through_proxy] == [201, 200, 200, 200, 204, 404, 400]
    loaded = load_cassette(cassette)
    assert [(i.request.method, i.status) for i in loaded.interactions] == [
        ("POST", 201),
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
        ("DELETE", 204),
        ("GET", 404),
        ("POST", 400),
    ]
    assert loaded.interactions[0].request.uri == f"{todo_upstream.url}/tasks/"
    text = cassette.read_text()
    assert TOKEN not in text
    assert f"Bearer {PLACEHOLDER}" in text


def test_a_recorded_cassette_replays_the_same_responses_in_plain_vcrpy(tmp_path):
    cassette = tmp_path / "todo.yaml"
    with LiveServer(create_todo_server()) as upstream:
        with serve_recorder(upstream.url, cassette, mode="once") as proxy:
            live = todo_session(proxy.url)
        base = upstream.url
    # The upstream is gone: only the cassette can answer now.
    with vcr.use_cassette(str(cassette), record_mode="none"):
        replayed = todo_session(base)
    assert [essentials(r) for r in replayed] == [essentials(r) for r in live]


def test_gzip_bodies_reach_the_client_encoded_and_the_cassette_decoded(web_upstream, tmp_path):
    cassette = tmp_path / "web.yaml"
    with serve_recorder(web_upstream.url, cassette) as proxy:
        live = requests.get(f"{proxy.url}/gz", stream=True)
        raw = live.raw.read(decode_content=False)
    # Then: the client saw the upstream's bytes, its encoding and its real cookies
    assert raw.startswith(b"\x1f\x8b")
    assert live.headers["Content-Encoding"] == "gzip"
    assert int(live.headers["Content-Length"]) == len(raw)
    assert live.raw.headers.getlist("Set-Cookie")[0].startswith("session=s3ss10n-v4lue-0123456789")
    # and the cassette holds the decoded body with headers that agree with it, cookies redacted
    stored = load_cassette(cassette).interactions[0].response
    body = stored["body"]["string"]
    assert body.startswith(b'{"compressed": true')
    assert "Content-Encoding" not in stored["headers"]
    assert stored["headers"]["Content-Length"] == [str(len(body))]
    assert stored["headers"]["Set-Cookie"] == [
        f"session={PLACEHOLDER}; HttpOnly; Path=/",
        f"theme={PLACEHOLDER}; Path=/",
    ]
    assert "s3ss10n" not in cassette.read_text()
    # and plain vcrpy replays it as JSON
    with vcr.use_cassette(str(cassette), record_mode="none"):
        assert requests.get(f"{web_upstream.url}/gz").json()["items"] == list(range(50))


def test_replay_through_the_mock_gives_the_recorded_responses(todo_upstream, web_upstream, tmp_path):
    pytest.importorskip("mock_server.replay", reason="replay by the mock server is issue 3, part 1")
    from harness import serve_mock

    todo, web = tmp_path / "todo.yaml", tmp_path / "web.yaml"
    with serve_recorder(todo_upstream.url, todo, record_as="http://127.0.0.1:5000") as proxy:
        live = todo_session(proxy.url)
    with serve_recorder(web_upstream.url, web) as proxy:
        live_gzip = requests.get(f"{proxy.url}/gz")
    with serve_mock(TODO, cassettes=[todo]) as mock:
        replayed = todo_session(mock.url)
    with serve_mock(TODO, cassettes=[web], cassettes_only=True) as mock:
        replayed_gzip = requests.get(f"{mock.url}/gz")
    assert [(r.status_code, r.json() if r.content else None) for r in replayed] == [
        (r.status_code, r.json() if r.content else None) for r in live
    ]
    assert (replayed_gzip.status_code, replayed_gzip.json()) == (live_gzip.status_code, live_gzip.json())
    assert replayed_gzip.cookies.keys() == ["session", "theme"]  # names kept, values redacted


def test_credentials_never_reach_disk_even_when_the_upstream_echoes_them(web_upstream, tmp_path):
    cassette = tmp_path / "secrets.yaml"
    with serve_recorder(web_upstream.url, cassette) as proxy:
        echoed = requests.get(
            f"{proxy.url}/me?page=2&access_token={TOKEN}", headers={"Authorization": f"token {TOKEN}"}
        )
        login = requests.post(f"{proxy.url}/login", json={"user": "ada", "password": "correct-horse"})
    # The client still gets the live, unredacted answers
    assert echoed.json()["you_sent"] == f"token {TOKEN}"
    assert login.json()["access_token"] == "at-esroh-tcerroc"
    text = cassette.read_text()
    for secret in (TOKEN, "correct-horse", "esroh-tcerroc"):
        assert secret not in text
    interactions = load_cassette(cassette).interactions
    assert interactions[0].request.uri.endswith(f"/me?page=2&access_token={PLACEHOLDER}")
    assert b'"password":"<REDACTED>"' in interactions[1].request.body


def test_binary_bodies_redirects_and_empty_responses_pass_through_unchanged(web_upstream, tmp_path):
    cassette = tmp_path / "misc.yaml"
    with serve_recorder(web_upstream.url, cassette) as proxy:
        png = requests.get(f"{proxy.url}/logo.png")
        moved = requests.get(f"{proxy.url}/old", allow_redirects=False)
        deleted = requests.delete(f"{proxy.url}/empty")
        head = requests.head(f"{proxy.url}/logo.png")
    assert png.content == PNG
    assert (moved.status_code, moved.headers["Location"]) == (302, "/new")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert head.status_code == 200
    assert hits(web_upstream) == ["GET /logo.png", "GET /old", "DELETE /empty", "HEAD /logo.png"]
    stored = load_cassette(cassette).interactions
    assert stored[0].body == PNG
    assert "!!binary" in cassette.read_text()


def test_concurrent_clients_each_get_their_own_answer_and_all_are_recorded(web_upstream, tmp_path):
    cassette = tmp_path / "busy.yaml"
    with serve_recorder(web_upstream.url, cassette) as proxy, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: requests.get(f"{proxy.url}/count/{n}").json()["n"], range(40)))
    assert answers == list(range(40))
    recorded = sorted(i.request.uri.rsplit("/", 1)[1] for i in load_cassette(cassette).interactions)
    assert recorded == sorted(str(n) for n in range(40))


# -- record modes ---------------------------------------------------------------------------------


def record(upstream: str, cassette, mode: str, *paths: str) -> list[requests.Response]:
    with serve_recorder(upstream, cassette, mode=mode) as proxy:
        return [requests.get(f"{proxy.url}{path}") for path in paths]


def recorded_paths(cassette) -> list[str]:
    return ["/" + i.request.uri.split("/", 3)[3] for i in load_cassette(cassette).interactions]


def test_once_records_a_new_cassette_then_only_replays_it(web_upstream, tmp_path):
    cassette = tmp_path / "once.yaml"
    record(web_upstream.url, cassette, "once", "/count/1", "/count/2")
    before = cassette.read_bytes()
    # When: the cassette exists
    known, unknown = record(web_upstream.url, cassette, "once", "/count/1", "/count/3")
    # Then
    assert known.json() == {"n": 1}
    assert unknown.status_code == 409
    problem = unknown.json()
    assert problem["mode"] == "once"
    assert "record mode 'once' does not add to an existing cassette" in problem["detail"]
    assert "GET /count/3" in problem["detail"]
    assert problem["closest"]
    assert problem["hint"] == "use --mode new_episodes to add it, or --mode all to re-record the cassette"
    assert hits(web_upstream) == ["GET /count/1", "GET /count/2"]  # neither went upstream
    assert cassette.read_bytes() == before


def test_new_episodes_replays_known_requests_and_records_new_ones(web_upstream, tmp_path):
    cassette = tmp_path / "episodes.yaml"
    record(web_upstream.url, cassette, "new_episodes", "/count/1")
    answers = record(web_upstream.url, cassette, "new_episodes", "/count/1", "/count/2")
    assert [a.json()["n"] for a in answers] == [1, 2]
    assert hits(web_upstream) == ["GET /count/1", "GET /count/2"]
    assert recorded_paths(cassette) == ["/count/1", "/count/2"]


def test_none_never_records_not_even_a_new_cassette(web_upstream, tmp_path):
    cassette = tmp_path / "none.yaml"
    (refused,) = record(web_upstream.url, cassette, "none", "/count/1")
    assert refused.status_code == 409
    assert "record mode 'none' never records" in refused.json()["detail"]
    assert not cassette.exists()
    assert hits(web_upstream) == []


def test_all_re_records_replacing_the_interactions_it_matches_and_keeping_the_rest(web_upstream, tmp_path):
    cassette = tmp_path / "all.yaml"
    record(web_upstream.url, cassette, "once", "/count/1", "/count/2")
    record(web_upstream.url, cassette, "all", "/count/2", "/count/3")
    assert hits(web_upstream) == ["GET /count/1", "GET /count/2", "GET /count/2", "GET /count/3"]
    assert recorded_paths(cassette) == ["/count/1", "/count/2", "/count/3"]


def test_an_unknown_record_mode_is_refused_listing_the_valid_ones(tmp_path):
    with pytest.raises(
        ConfigurationError,
        match=r"'sometimes' is not a record mode; valid modes are: once, new_episodes, none, all",
    ):
        RecordMode.parse("sometimes")
    with pytest.raises(ConfigurationError, match="valid modes are"):
        serve_recorder("http://127.0.0.1:9", tmp_path / "c.yaml", mode="sometimes")


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ("api.example.com", "is not an http(s) URL"),
        ("ftp://api.example.com", "is not an http(s) URL"),
        ("https://user:pw@api.example.com", "must not carry credentials, a query or a fragment"),
    ],
)
def test_an_unusable_upstream_is_refused_up_front(upstream, message, tmp_path):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        serve_recorder(upstream, tmp_path / "c.yaml")


def test_a_broken_cassette_is_refused_instead_of_overwritten(web_upstream, tmp_path):
    from harness.cassettes import CassetteError

    cassette = tmp_path / "broken.yaml"
    cassette.write_text("interactions: [oops\n")
    with pytest.raises(CassetteError, match=r"broken\.yaml"):
        serve_recorder(web_upstream.url, cassette)
    assert cassette.read_text() == "interactions: [oops\n"


# -- not an open proxy -----------------------------------------------------------------------------


def raw_request(url: str, request_line: str) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"{request_line}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_it_is_not_an_open_proxy(web_upstream, tmp_path):
    with (
        LiveServer(create_web_upstream()) as elsewhere,
        serve_recorder(web_upstream.url, tmp_path / "c.yaml") as proxy,
    ):
        foreign = raw_request(proxy.url, f"GET {elsewhere.url}/count/1 HTTP/1.1")
        tunnel = raw_request(proxy.url, f"CONNECT {elsewhere.url.removeprefix('http://')} HTTP/1.1")
        own = raw_request(proxy.url, f"GET {web_upstream.url}/count/7 HTTP/1.1")
        assert hits(elsewhere) == []
    assert foreign.startswith(b"HTTP/1.1 403")
    assert f"forwards to {web_upstream.url} only".encode() in foreign
    assert tunnel.startswith(b"HTTP/1.1 405")
    assert own.startswith(b"HTTP/1.1 200") and own.endswith(b'{"n":7}\n')
    assert hits(web_upstream) == ["GET /count/7"]


def test_an_unreachable_upstream_is_a_502_and_nothing_is_recorded(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    cassette = tmp_path / "down.yaml"
    with serve_recorder(dead, cassette, timeout=5) as proxy:
        answer = requests.get(f"{proxy.url}/anything")
    assert answer.status_code == 502
    assert answer.json()["title"] == "Upstream unreachable"
    assert "nothing was recorded" in answer.json()["detail"]
    assert not cassette.exists()


# -- metadata and drift ----------------------------------------------------------------------------


def test_metadata_says_when_and_from_where_and_plain_vcrpy_still_loads_it(web_upstream, tmp_path):
    cassette = tmp_path / "meta.yaml"
    record(web_upstream.url, cassette, "new_episodes", "/count/1")
    first = yaml.safe_load(cassette.read_text())["metadata"]
    assert first["upstream"] == web_upstream.url
    assert first["recorder"].startswith("contract-harness")
    assert first["recorded_at"] <= first["updated_at"]
    # Adding an episode keeps the original recording time
    record(web_upstream.url, cassette, "new_episodes", "/count/2")
    assert yaml.safe_load(cassette.read_text())["metadata"]["recorded_at"] == first["recorded_at"]
    with vcr.use_cassette(str(cassette), record_mode="none") as loaded:
        assert loaded.get_metadata("upstream", None) == web_upstream.url
        assert requests.get(f"{web_upstream.url}/count/2").json() == {"n": 2}


def test_record_as_stores_uris_under_the_real_apis_origin(web_upstream, tmp_path):
    cassette = tmp_path / "as.yaml"
    with serve_recorder(web_upstream.url, cassette, record_as="https://api.example.com/v2") as proxy:
        requests.get(f"{proxy.url}/count/5")
    assert load_cassette(cassette).interactions[0].request.uri == "https://api.example.com/v2/count/5"
    metadata = load_cassette(cassette).metadata
    assert (metadata["upstream"], metadata["recorded_from"]) == (
        "https://api.example.com/v2",
        web_upstream.url,
    )


def test_live_responses_are_checked_against_the_contract_as_they_are_recorded(tmp_path):
    events = []
    with (
        LiveServer(create_drifting_todo()) as upstream,
        serve_recorder(upstream.url, tmp_path / "drift.yaml", contract=TODO, on_event=events.append) as proxy,
    ):
        created = requests.post(f"{proxy.url}/tasks/", json={"summary": "x"})
        teapot = requests.get(f"{proxy.url}/tasks/")
        fine = requests.get(f"{proxy.url}/tasks/3/")
        drift = proxy.drift
    # The client is not affected
    assert (created.status_code, teapot.status_code, fine.status_code) == (201, 418, 200)
    assert [(d.operation, d.status, d.pointer, d.violation.rule) for d in drift] == [
        ("createTask", 201, "body#/id", "type"),
        ("listTasks", 418, "status", "status"),
    ]
    assert str(drift[0]) == (
        'POST /tasks/ [createTask] -> 201: body#/id: "one" is not of type "integer" [type] (got one)'
    )
    assert "418 is not declared (declared: 200)" in str(drift[1])
    assert [len(event.drift) for event in events] == [1, 1, 0]


def test_recording_waits_for_the_save_before_answering(web_upstream, tmp_path):
    """Each answered request is already on disk: what the kill -9 guarantee rests on."""
    cassette = tmp_path / "sync.yaml"
    seen = []
    with serve_recorder(web_upstream.url, cassette) as proxy:
        for n in range(5):
            requests.get(f"{proxy.url}/count/{n}")
            seen.append(len(load_cassette(cassette).interactions))
    assert seen == [1, 2, 3, 4, 5]
    assert [p.name for p in tmp_path.iterdir()] == ["sync.yaml"]  # no temporary files left


def test_the_proxy_is_thread_safe_while_replaying_and_recording(web_upstream, tmp_path):
    cassette = tmp_path / "mixed.yaml"
    record(web_upstream.url, cassette, "new_episodes", *(f"/count/{n}" for n in range(10)))
    barrier = threading.Barrier(4)

    def client(offset: int) -> list[int]:
        barrier.wait()
        with requests.Session() as session:
            return [session.get(f"{proxy.url}/count/{n}").json()["n"] for n in range(offset, 20, 4)]

    with (
        serve_recorder(web_upstream.url, cassette, mode="new_episodes") as proxy,
        ThreadPoolExecutor(4) as pool,
    ):
        results = list(pool.map(client, range(4)))
    assert sorted(n for chunk in results for n in chunk) == list(range(20))
    assert sorted(recorded_paths(cassette)) == sorted(f"/count/{n}" for n in range(20))


def test_a_response_that_cannot_be_saved_is_withheld_and_not_recorded(web_upstream, tmp_path):
    cassette = tmp_path / "binary.json"  # vcrpy's JSON serializer cannot hold binary bodies
    with serve_recorder(web_upstream.url, cassette) as proxy:
        text = requests.get(f"{proxy.url}/count/1")
        binary = requests.get(f"{proxy.url}/logo.png")
        after = requests.get(f"{proxy.url}/count/2")
    assert (text.status_code, after.status_code) == (200, 200)
    assert binary.status_code == 500
    assert binary.json()["title"] == "Cannot write the cassette"
    assert binary.json()["hint"] == "binary bodies need a .yaml cassette"
    assert recorded_paths(cassette) == ["/count/1", "/count/2"]
