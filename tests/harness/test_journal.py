"""The journal keeps body excerpts compactly and shows them as text."""

from __future__ import annotations

import pytest

from harness.journal import BodyExcerpt, Journal

LIMIT = 4096


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"", ""),
        (b'{"id": 1}', '{"id": 1}'),
        ("é".encode() * 10, "é" * 10),
        (b"\xff\xfe", "\ufffd\ufffd"),
        (b"x" * LIMIT, "x" * LIMIT),
        (b"x" * (LIMIT + 1), "x" * LIMIT + "…"),
        # a multi-byte character cut by the limit becomes a replacement character
        (b"x" * (LIMIT - 1) + "é".encode(), "x" * (LIMIT - 1) + "\ufffd…"),
    ],
    ids=["empty", "json", "utf-8", "not-utf-8", "at-limit", "over-limit", "cut-character"],
)
def test_excerpt_shows_the_first_4_kib_as_text_with_a_marker_when_cut(body, shown):
    assert str(Journal().excerpt(body)) == shown


def test_a_body_within_the_limit_is_kept_without_copying():
    body = b'{"id": 1}'
    assert Journal().excerpt(body).head is body


def test_a_long_body_sent_again_shares_its_excerpt():
    # Given a cached answer longer than the limit, journaled twice
    journal = Journal()
    body = b"y" * (LIMIT * 2)
    first, second = journal.excerpt(body), journal.excerpt(body)
    # Then both entries hold the same excerpt, cut at the limit
    assert first is second
    assert first == BodyExcerpt(b"y" * LIMIT, truncated=True)
    # And an equal but distinct bytes object gets its own, equal excerpt
    other = b"y" * (LIMIT * 2)
    assert other is not body
    assert journal.excerpt(other) == first
    assert journal.excerpt(other) is not first


def test_a_shared_journal_round_trips_bodies_as_the_admin_api_shows_them():
    import time

    from harness.journal import JournalEntry, SharedJournal
    from harness.state import MemoryStore

    journal = SharedJournal(MemoryStore())
    long_body = b"x" * (LIMIT + 10)
    entry = JournalEntry(
        id=journal.next_id(),
        time=time.time(),
        method="POST",
        path="/tasks/",
        query="",
        request_headers={},
        request_body=journal.excerpt('{"summary": "é"}'.encode()),
        contract="todo",
        operation="createTask",
        violations=[],
        status=201,
        response_headers={},
        response_body=journal.excerpt(long_body),
        source="generated",
        duration_ms=1.0,
    )
    journal.append(entry)
    shown = journal.entries()[0].as_dict()
    assert shown["request"]["body"] == '{"summary": "é"}'
    assert shown["response"]["body"] == "x" * LIMIT + "…"


def test_entries_keep_header_pairs_and_show_them_as_the_admin_api_does(todo_app):
    # Given a request with a repeated header
    client = todo_app.test_client()
    client.get("/tasks/", headers=[("X-Tag", "a"), ("X-Tag", "b")])
    (entry,) = todo_app.extensions["harness"].journal.entries()
    # Then the entry keeps plain pairs (no per-request lookup index stays alive in the journal)
    assert isinstance(entry.request_headers, list) and isinstance(entry.response_headers, list)
    # And shows them merged, as before
    shown = entry.as_dict()
    assert shown["request"]["headers"]["X-Tag"] == "a, b"
    assert shown["response"]["headers"]["Content-Type"] == "application/json"
