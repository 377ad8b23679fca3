from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from harness.encodings import UndecodableBody, acceptable, applied_codings, decode, parse_codings

TEXT = b'{"login": "octocat", "id": 1}'
ENCODED = {
    "gzip": gzip.compress(TEXT),
    "deflate": zlib.compress(TEXT),
    "br": brotli.compress(TEXT),
}


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("coding", sorted(ENCODED))
def test_a_body_stored_encoded_carries_its_coding(coding):
    assert applied_codings([coding], ENCODED[coding]) == [coding]
    assert decode(ENCODED[coding], coding) == TEXT


@pytest.mark.parametrize("coding", sorted(ENCODED))
def test_a_body_stored_decoded_carries_no_coding_whatever_the_header_says(coding):
    assert applied_codings([coding], TEXT) == []


def test_raw_deflate_is_accepted_as_deflate():
    assert decode(_raw_deflate(TEXT), "deflate") == TEXT
    assert applied_codings(["deflate"], _raw_deflate(TEXT)) == ["deflate"]


def test_stacked_codings_are_peeled_from_the_outermost():
    both = brotli.compress(gzip.compress(TEXT))
    assert applied_codings(["gzip", "br"], both) == ["gzip", "br"]
    # only the outer layer was kept on disk
    assert applied_codings(["gzip", "br"], brotli.compress(TEXT)) == ["br"]
    # the outer layer was already undone: nothing can be trusted further in
    assert applied_codings(["gzip", "br"], gzip.compress(TEXT)) == []


def test_an_empty_body_carries_no_coding():
    assert applied_codings(["gzip"], b"") == []


@pytest.mark.parametrize("body", [b"3", b"7", b";"])
def test_a_one_byte_body_is_not_taken_for_brotli(body):
    assert brotli.decompress(body) == b""  # a whole, empty brotli stream...
    assert applied_codings(["br"], body) == []  # ...but a decoded "3" under a stale header is likelier


def test_decoding_the_wrong_coding_says_so():
    with pytest.raises(UndecodableBody, match="not gzip-encoded"):
        decode(TEXT, "gzip")
    with pytest.raises(UndecodableBody, match="unknown content coding 'compress'"):
        decode(TEXT, "compress")


def test_zstd_is_recognised_by_its_frame_header_even_without_the_codec():
    frame = b"\x28\xb5\x2f\xfd" + b"\x00" * 8
    assert applied_codings(["zstd"], frame) == ["zstd"]
    assert applied_codings(["zstd"], TEXT) == []


def test_parse_codings_splits_lists_and_drops_identity():
    assert parse_codings(["gzip, BR", "identity"]) == ["gzip", "br"]


@pytest.mark.parametrize(
    ("header", "coding", "expected"),
    [
        ("gzip, deflate", "gzip", True),
        ("gzip, deflate", "br", False),
        ("gzip;q=0, deflate", "gzip", False),
        ("*", "br", True),
        ("*;q=0", "br", False),
        ("br;q=0, *", "br", False),
        ("x-gzip", "gzip", True),
        ("GZIP", "gzip", True),
        (None, "gzip", False),
        ("", "gzip", False),
    ],
    ids=lambda value: repr(value),
)
def test_acceptable_reads_accept_encoding(header, coding, expected):
    assert acceptable(header, coding) is expected
