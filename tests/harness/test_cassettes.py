from __future__ import annotations

import pytest
import vcr
from vcr.request import Request

from harness.cassettes import (
    CassetteError,
    CassetteNotFound,
    cassette_dict,
    iter_cassette_files,
    load_cassette,
    save_cassette,
)
from tests.conftest import CORPUS, corpus_path

RESPONSE = {
    "status": {"code": 200, "message": "OK"},
    "headers": {"Content-Type": ["application/json"]},
    "body": {"string": b'{"a": 1}'},
}


def test_round_trip_loads_in_plain_vcrpy(tmp_path):
    path = tmp_path / "c.yaml"
    request = Request("GET", "https://api.example.com/a?x=1", None, {"Accept": "application/json"})
    binary = {**RESPONSE, "body": {"string": b"\x89PNG\xff\x00"}}
    save_cassette(
        path, cassette_dict([(request, RESPONSE), (request, binary)], {"recorded_at": "2026-01-01"})
    )
    loaded = load_cassette(path)
    assert [i.status for i in loaded.interactions] == [200, 200]
    assert loaded.interactions[1].body == b"\x89PNG\xff\x00"
    assert loaded.metadata == {"recorded_at": "2026-01-01"}
    # plain vcrpy reads what we wrote
    from vcr.persisters.filesystem import FilesystemPersister
    from vcr.serializers import yamlserializer

    requests, responses, *_ = FilesystemPersister.load_cassette(str(path), serializer=yamlserializer)
    assert requests[0].uri == "https://api.example.com/a?x=1"
    assert responses[1]["body"]["string"] == b"\x89PNG\xff\x00"
    assert vcr.__version__.startswith("9")


def test_json_cassettes_round_trip(tmp_path):
    path = tmp_path / "c.json"
    save_cassette(path, cassette_dict([(Request("POST", "http://h/x", b'{"k": 1}', {}), RESPONSE)]))
    assert path.read_text().lstrip().startswith("{")
    assert load_cassette(path).interactions[0].request.body == b'{"k": 1}'


def test_atomic_write_leaves_no_temporary_files_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "c.yaml"
    save_cassette(path, cassette_dict([(Request("GET", "http://h/", None, {}), RESPONSE)]))
    before = path.read_bytes()
    with pytest.raises(AttributeError):  # fails while serializing, before anything touches the file
        save_cassette(path, cassette_dict([(object(), {})]))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_errors_name_the_file_and_the_reason(tmp_path):
    with pytest.raises(CassetteNotFound):
        load_cassette(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: a mapping\n")
    with pytest.raises(CassetteError, match=r"bad\.yaml: vcrpy cannot load it: KeyError"):
        load_cassette(bad)
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("interactions: !!python/object/apply:os.system ['echo hi']\nversion: 1\n")
    with pytest.raises(CassetteError, match=r"unsafe\.yaml"):
        load_cassette(unsafe)


def test_legacy_httpx_layout_is_normalized():
    path = corpus_path("cassettes", "codecov-shared-github", "test_get_pull_request_fail.yaml")
    interaction = load_cassette(path).interactions[0]
    assert interaction.status == 404
    assert interaction.response["status"]["message"] == "Not Found"
    assert b"documentation_url" in interaction.body


@pytest.mark.corpus
def test_iterates_corpus_directories_recursively():
    corpus_path("cassettes")
    files = list(iter_cassette_files([CORPUS / "cassettes"]))
    assert len(files) == 31
    assert all(f.suffix in (".yaml", ".json") for f in files)
