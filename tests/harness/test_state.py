"""The state stores: the same behaviour in memory and in a real redis-server, and atomic counting."""

from __future__ import annotations

import threading

import pytest

from harness.clock import Clock
from harness.errors import ConfigurationError
from harness.state import MemoryStore, RedisStore, StateError, open_store


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        created = MemoryStore()
    else:
        created = open_store(request.getfixturevalue("redis_state"))
        assert isinstance(created, RedisStore)
    yield created
    created.clear()
    created.close()


def test_counters_hashes_and_capped_lists(store):
    assert store.incr("hits") == 1
    assert store.incr("hits", 4) == 5
    assert store.incr_float("offset", 1.5) == 1.5
    assert store.set_if_absent("started", "a") is True
    assert store.set_if_absent("started", "b") is False
    assert store.get("started") == "a"
    store.hash_set("rules", "1", "one")
    store.hash_set("rules", "2", "two")
    assert store.hash_delete("rules", "1") is True
    assert store.hash_delete("rules", "1") is False
    assert store.hash_items("rules") == {"2": "two"}
    for item in "abcd":
        store.push("journal", item, cap=3)
    assert store.items("journal") == ["b", "c", "d"]
    store.delete("journal", "hits")
    assert store.items("journal") == [] and store.get("hits") is None


def test_window_counts_up_to_the_limit_then_refuses_until_it_resets(store):
    first = store.window_hit("caller", 1000.0, 60, 2)
    assert (first.used, first.reset, first.allowed) == (1, 1060.0, True)
    assert store.window_hit("caller", 1010.0, 60, 2).allowed is True
    refused = store.window_hit("caller", 1059.0, 60, 2)
    assert (refused.used, refused.reset, refused.allowed) == (2, 1060.0, False)
    assert store.window_peek("caller", 1059.0).used == 2
    # When
    renewed = store.window_hit("caller", 1060.0, 60, 2)
    # Then a new window starts at the first request after the last one ended
    assert (renewed.used, renewed.reset, renewed.allowed) == (1, 1120.0, True)
    assert store.window_peek("nobody", 1060.0) is None


def test_concurrent_requests_never_take_more_than_the_limit(store):
    allowed = []
    lock = threading.Lock()

    def hammer():
        for _ in range(25):
            count = store.window_hit("busy", 5000.0, 3600, 40)
            with lock:
                allowed.append(count.allowed)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 40 and len(allowed) == 100


def test_clear_removes_everything_of_this_store_only(store, redis_server):
    store.incr("mine")
    other = open_store(f"{redis_server}?prefix=someone-else")
    try:
        other.incr("theirs")
        store.clear()
        assert store.get("mine") is None
        assert other.get("theirs") == "1"
    finally:
        other.clear()
        other.close()


def test_clock_offset_is_shared_through_the_store(store):
    now = [1_700_000_000.0]
    first, second = Clock(store, lambda: now[0]), Clock(store, lambda: now[0])
    first.advance(3600)
    assert second.now() == 1_700_003_600.0
    second.set(1_800_000_000)
    assert first.now() == 1_800_000_000.0
    first.sleep(30)  # what clients get injected: waiting moves the mock's time
    assert second.now() == 1_800_000_030.0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgres://x",
            "--state 'postgres://x' is not a state store; use 'memory' (the default) or redis://",
        ),
        ("redis://127.0.0.1:1/0", "--state redis://127.0.0.1:1/0: cannot reach Redis"),
    ],
)
def test_unusable_state_urls_are_refused_with_the_fix(url, message):
    with pytest.raises(StateError) as error:
        open_store(url)
    assert message in str(error.value)
    assert isinstance(error.value, ConfigurationError)


def test_a_prefix_with_glob_characters_is_taken_literally_by_clear(redis_server):
    odd, near = open_store(f"{redis_server}?prefix=team[1]*"), open_store(f"{redis_server}?prefix=team1x")
    try:
        odd.incr("hits")
        near.incr("hits")
        odd.clear()
        assert odd.get("hits") is None and near.get("hits") == "1"
    finally:
        near.clear()
        odd.close()
        near.close()
