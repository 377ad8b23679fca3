"""The replayer on its own: vcrpy's matching over an index, play order, repeats, header correction."""

from __future__ import annotations

import gzip
import json
import threading
import zlib

import brotli
import pytest

from harness.cassettes import CassetteNotFound
from harness.errors import ConfigurationError
from harness.http import Headers, HttpRequest
from harness.replay import Replay, Replayer, ReplayMiss, StoredResponse
from tests.recordings import interaction, write_cassette

API = "https://api.example.com"
JSON = {"Content-Type": "application/json"}


def get(path: str, query: str = "", **headers: str) -> HttpRequest:
    return HttpRequest("GET", path, query, Headers(headers))


def post(path: str, body: bytes, **headers: str) -> HttpRequest:
    return HttpRequest("POST", path, "", Headers({"Content-Type": "application/json", **headers}), body)


@pytest.fixture
def pages(tmp_path):
    """Three recordings of the same GET (a poll), then another path."""
    return write_cassette(
        tmp_path / "poll.yaml",
        [
            interaction("GET", f"{API}/jobs/1", body=b'{"state": "queued"}', headers=JSON),
            interaction("GET", f"{API}/jobs/1", body=b'{"state": "running"}', headers=JSON),
            interaction("GET", f"{API}/jobs/1", body=b'{"state": "done"}', headers=JSON),
            interaction("GET", f"{API}/jobs/2?verbose=1&page=2", status=404, message="Nope", body=b"{}"),
        ],
    )


def states(replayer: Replayer, times: int) -> list[str]:
    answers = []
    for _ in range(times):
        outcome = replayer.play(get("/jobs/1"))
        answers.append(json.loads(outcome.response.body)["state"] if isinstance(outcome, Replay) else "miss")
    return answers


def test_repeated_requests_play_in_recorded_order_then_repeat_from_the_first(pages):
    replayer = Replayer.load([pages])
    assert states(replayer, 5) == ["queued", "running", "done", "queued", "queued"]


def test_without_repeats_each_recording_plays_once(pages):
    replayer = Replayer.load([pages], allow_playback_repeats=False)
    assert states(replayer, 4) == ["queued", "running", "done", "miss"]
    miss = replayer.play(get("/jobs/1"))
    assert isinstance(miss, ReplayMiss)
    assert "all 3 matching recording(s) were played and allow_playback_repeats is off" in miss.reason
    assert [candidate.as_dict()["already_played"] for candidate in miss.closest] == [True, True, True]


def test_rewind_plays_from_the_start_again(pages):
    replayer = Replayer.load([pages], allow_playback_repeats=False)
    states(replayer, 3)
    replayer.rewind()
    assert states(replayer, 1) == ["queued"]


def test_play_counts_are_vcrpys_own(pages):
    replayer = Replayer.load([pages])
    outcome = replayer.play(get("/jobs/1"))
    assert isinstance(outcome, Replay) and outcome.play == 1
    cassette = replayer.cassettes[0].cassette
    assert dict(cassette.play_counts) == {0: 1}
    assert outcome.recording.source == f"cassette:{pages.name}#0"


def test_allow_playback_repeats_comes_from_vcr_config_unless_given(pages):
    assert Replayer.load([pages]).allow_playback_repeats is True
    assert (
        Replayer.load([pages], vcr_config={"allow_playback_repeats": False}).allow_playback_repeats is False
    )
    assert (
        Replayer.load([pages], vcr_config={"allow_playback_repeats": False}, allow_playback_repeats=True)
    ).allow_playback_repeats is True


def test_concurrent_identical_requests_each_get_their_own_recording(tmp_path):
    path = write_cassette(
        tmp_path / "many.yaml", [interaction("GET", f"{API}/n", body=str(n).encode()) for n in range(40)]
    )
    replayer = Replayer.load([path], allow_playback_repeats=False)
    answers: list[bytes] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            outcome = replayer.play(get("/n"))
            assert isinstance(outcome, Replay)
            with lock:
                answers.append(outcome.response.body)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=int) == [str(n).encode() for n in range(40)]


def test_query_order_does_not_matter_but_values_do(pages):
    replayer = Replayer.load([pages])
    hit = replayer.play(get("/jobs/2", "page=2&verbose=1"))
    assert isinstance(hit, Replay)
    assert (hit.response.status, hit.response.reason_phrase) == (404, "Nope")
    miss = replayer.play(get("/jobs/2", "page=3&verbose=1"))
    assert isinstance(miss, ReplayMiss)
    closest = miss.closest[0].as_dict()
    assert closest["interaction"] == "cassette:poll.yaml#3"
    assert closest["matched"] == ["method", "path"]
    assert [difference["matcher"] for difference in closest["differed"]] == ["query"]


def test_unmatched_request_lists_closest_interactions_with_the_matchers_that_differed(pages):
    miss = Replayer.load([pages]).play(HttpRequest("DELETE", "/jobs/1"))
    assert isinstance(miss, ReplayMiss)
    assert miss.reason == "no recording matches on method, path, query"
    first = miss.closest[0].as_dict()
    assert first == {
        "interaction": "cassette:poll.yaml#0",
        "request": "GET https://api.example.com/jobs/1",
        "matched": ["path", "query"],
        "differed": [{"matcher": "method", "difference": "DELETE != GET"}],
    }


def test_lookup_only_compares_recordings_of_the_same_method_and_path(tmp_path):
    calls = []

    def counting(r1, r2):
        calls.append(r2.uri)

    recorded = [interaction("GET", f"{API}/items/{n}") for n in range(500)]
    recorded += [interaction("POST", f"{API}/items/7"), interaction("GET", f"{API}/items/7?x=1")]
    path = write_cassette(tmp_path / "big.yaml", recorded)
    replayer = Replayer.load([path], match_on=["method", "path", "query", counting])
    assert isinstance(replayer.play(get("/items/7")), Replay)
    # the bucket of (GET, /items/7) only, never the other 500
    assert calls == [f"{API}/items/7", f"{API}/items/7?x=1"]


def test_body_matcher_compares_json_bodies_by_value(tmp_path):
    path = write_cassette(
        tmp_path / "chat.yaml",
        [
            interaction(
                "POST", f"{API}/chat", request_body=b'{"q": "a", "n": 1}', request_headers=JSON, body=b"A"
            ),
            interaction(
                "POST", f"{API}/chat", request_body=b'{"q": "b", "n": 1}', request_headers=JSON, body=b"B"
            ),
        ],
    )
    replayer = Replayer.load([path], match_on=["method", "path", "body"])
    hit = replayer.play(post("/chat", b'{"n": 1, "q": "b"}'))
    assert isinstance(hit, Replay) and hit.response.body == b"B"
    miss = replayer.play(post("/chat", b'{"n": 1, "q": "c"}'))
    assert isinstance(miss, ReplayMiss)
    assert [d["matcher"] for d in miss.closest[0].as_dict()["differed"]] == ["body"]


def test_scheme_host_and_port_match_the_recorded_origin_by_default(tmp_path):
    path = write_cassette(
        tmp_path / "two-hosts.yaml",
        [
            interaction("GET", "https://a.example.com:8443/x", body=b"a"),
            interaction("GET", "http://b.example.com/x", body=b"b"),
        ],
    )
    replayer = Replayer.load([path], match_on=["method", "scheme", "host", "port", "uri"])
    assert [replayer.play(get("/x")).response.body for _ in range(2)] == [b"a", b"b"]


def test_x_forwarded_host_makes_host_matchers_compare_it(tmp_path):
    path = write_cassette(
        tmp_path / "two-hosts.yaml",
        [
            interaction("GET", "https://a.example.com/x", body=b"a"),
            interaction("GET", "https://b.example.com/x", body=b"b"),
        ],
    )
    replayer = Replayer.load([path], match_on=["method", "host", "path"])
    request = HttpRequest(
        "GET", "/x", "", Headers({"X-Forwarded-Host": "b.example.com", "X-Forwarded-Proto": "https"})
    )
    assert replayer.play(request).response.body == b"b"
    assert isinstance(
        replayer.play(HttpRequest("GET", "/x", "", Headers({"X-Forwarded-Host": "c.example.com"}))),
        ReplayMiss,
    )


def test_vcr_config_filters_apply_to_incoming_requests(tmp_path):
    path = write_cassette(tmp_path / "f.yaml", [interaction("GET", f"{API}/search?q=x", body=b"found")])
    replayer = Replayer.load([path], vcr_config={"filter_query_parameters": ["api_key"]})
    assert replayer.play(get("/search", "q=x&api_key=secret")).response.body == b"found"
    assert isinstance(Replayer.load([path]).play(get("/search", "q=x&api_key=secret")), ReplayMiss)


def test_filter_sensitive_data_restores_the_secret_in_replayed_bodies(tmp_path):
    path = write_cassette(
        tmp_path / "s.yaml", [interaction("GET", f"{API}/me", body=b'{"token": "<TOKEN>"}')]
    )
    replayer = Replayer.load([path], vcr_config={"filter_sensitive_data": {"<TOKEN>": "tok_live_123"}})
    assert replayer.play(get("/me")).response.body == b'{"token": "tok_live_123"}'


def test_match_on_comes_from_vcr_config_unless_given(pages):
    assert Replayer.load([pages], vcr_config={"match_on": ["method", "path"]}).match_on == ["method", "path"]
    assert Replayer.load([pages], vcr_config={"match_on": ["path"]}, match_on=["method"]).match_on == [
        "method"
    ]
    assert Replayer.load([pages], vcr_config={"additional_matchers": ["body"]}).match_on == [
        "method",
        "path",
        "query",
        "body",
    ]


def test_bad_matcher_names_fail_up_front(pages):
    with pytest.raises(
        ConfigurationError, match="unknown matcher\\(s\\) 'bodyy' in match_on; valid matchers: body,"
    ):
        Replayer.load([pages], match_on=["method", "bodyy"])


def test_a_missing_path_fails_up_front(tmp_path):
    with pytest.raises(CassetteNotFound, match=r"nope\.yaml: no such cassette"):
        Replayer.load([tmp_path / "nope.yaml"])


def test_files_vcrpy_refuses_are_reported_while_the_others_load(tmp_path, pages):
    (tmp_path / "broken.yaml").write_text(
        "interactions:\n- request: {parsed_body: 1}\n  response: {}\nversion: 1\n"
    )
    (tmp_path / "unsafe.yaml").write_text(
        "interactions: !!python/object/apply:os.system ['true']\nversion: 1\n"
    )
    (tmp_path / "empty.yaml").write_text("")
    replayer = Replayer.load([tmp_path])
    assert [cassette.label for cassette in replayer.cassettes] == [
        f"{tmp_path.name}/empty.yaml",
        f"{tmp_path.name}/poll.yaml",
    ]
    refused = {error.path.rsplit("/", 1)[1]: error.problem for error in replayer.refused}
    assert set(refused) == {"broken.yaml", "unsafe.yaml"}
    assert refused["broken.yaml"].startswith("vcrpy cannot load it: TypeError")
    assert "python/object/apply" in refused["unsafe.yaml"]


def test_json_cassettes_binary_bodies_and_the_legacy_httpx_layout_replay(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    write_cassette(tmp_path / "a.json", [interaction("GET", f"{API}/a", body=b'{"a": 1}', headers=JSON)])
    write_cassette(tmp_path / "b.yaml", [interaction("GET", f"{API}/logo.png", body=png)])
    assert "!!binary" in (tmp_path / "b.yaml").read_text()
    (tmp_path / "c.yaml").write_text(
        "interactions:\n- request: {body: null, headers: {}, method: GET, uri: 'https://api.example.com/c'}\n"
        "  response:\n    content: '{\"c\": 3}'\n    headers: {Content-Type: application/json}\n"
        "    http_version: HTTP/1.1\n    status_code: 201\nversion: 1\n"
    )
    replayer = Replayer.load([tmp_path])
    assert replayer.play(get("/a")).response.body == b'{"a": 1}'
    assert replayer.play(get("/logo.png")).response.body == png
    legacy = replayer.play(get("/c"))
    assert (legacy.response.status, legacy.response.reason_phrase, legacy.response.body) == (
        201,
        "Created",
        b'{"c": 3}',
    )


# --- header correction ----------------------------------------------------------------------------------

BODY = b'{"message": "hello"}'
COMPRESS = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


def stored(headers, body, method="GET"):
    return StoredResponse(
        {"status": {"code": 200, "message": "OK"}, "headers": headers, "body": {"string": body}},
        head=method == "HEAD",
    )


@pytest.mark.parametrize("coding", sorted(COMPRESS))
def test_a_body_stored_encoded_is_served_byte_for_byte_with_its_coding(coding):
    encoded = COMPRESS[coding](BODY)
    response = stored({"Content-Encoding": [coding], "Content-Length": [str(len(encoded))]}, encoded)
    served, note = response.for_client("gzip, deflate, br", "s")
    assert served.body == encoded
    assert served.headers.get("Content-Encoding") == coding
    assert response.corrections == [] and note is None


@pytest.mark.parametrize("coding", sorted(COMPRESS))
def test_a_body_stored_decoded_loses_the_content_encoding_that_no_longer_describes_it(coding):
    response = stored({"Content-Encoding": [coding], "Content-Length": ["13"]}, BODY)
    served, _ = response.for_client("gzip, deflate, br", "s")
    assert served.body == BODY
    assert "Content-Encoding" not in served.headers
    assert response.corrections == [
        f"Content-Length 13 -> {len(BODY)} (stored body size)",
        f"Content-Encoding: {coding} -> no Content-Encoding (the stored body is not encoded so)",
    ]


@pytest.mark.parametrize("coding", sorted(COMPRESS))
def test_a_client_that_does_not_accept_the_stored_coding_gets_the_body_decoded(coding):
    response = stored({"Content-Encoding": [coding]}, COMPRESS[coding](BODY))
    served, note = response.for_client(None, "s")
    assert served.body == BODY
    assert "Content-Encoding" not in served.headers
    assert note == f"decoded {coding}: the client does not accept it"


def test_stale_content_length_and_chunked_transfer_encoding_are_dropped():
    response = stored(
        {
            "Content-Length": ["999"],
            "Transfer-Encoding": ["chunked"],
            "Connection": ["keep-alive"],
            "X-A": ["1"],
        },
        BODY,
    )
    served, _ = response.for_client("gzip", "s")
    assert served.headers.items() == [("X-A", "1")]  # the server frames the body itself
    assert "removed Transfer-Encoding: chunked (hop-by-hop)" in response.corrections


def test_repeated_headers_keep_every_value_in_order():
    response = stored({"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]}, b"")
    assert response.for_client(None, "s")[0].headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_head_responses_keep_their_content_encoding():
    response = stored({"Content-Encoding": ["gzip"], "Content-Length": ["120"]}, b"", method="HEAD")
    assert response.for_client("gzip", "s")[0].headers.get("Content-Encoding") == "gzip"
    assert response.corrections == []
