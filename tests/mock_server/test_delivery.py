"""Connection faults over real sockets: slow, dribble, drop, reset, truncated.

Checked with requests, httpx, and a raw socket that tells a TCP reset from a clean close.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import requests

from harness import serve_mock
from tests.conftest import GITHUB, TODO


@pytest.fixture(scope="module")
def server():
    with serve_mock([TODO, GITHUB], mounts={"github": "/gh"}) as running:
        yield running


@pytest.fixture
def mock(server):
    server.reset()
    yield server
    # The server survives every fault: the next request is answered normally.
    assert requests.get(f"{server.url}/tasks/", timeout=30).status_code == 200


def raw_exchange(mock, path, fault):
    """Send a request on a plain socket; return (bytes received, how the connection ended)."""
    with socket.create_connection(("127.0.0.1", mock.server.port), timeout=30) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Harness-Fault: {fault}\r\n\r\n".encode())
        time.sleep(0.2)  # let the server finish, so a reset has arrived before we read
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, "reset"
        return received, "eof"


def split(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    return head.decode().split("\r\n")[0], headers, body


def test_slow_waits_before_the_status_line(mock):
    started = time.monotonic()
    response = requests.get(f"{mock.url}/tasks/", headers={"X-Harness-Fault": "slow; delay=0.4"}, timeout=30)
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200 and response.json()[0]["summary"] == "Do the laundry"
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{mock.url}/tasks/", headers={"X-Harness-Fault": "slow; delay=0.5"}, timeout=0.15)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{mock.url}/tasks/", headers={"X-Harness-Fault": "slow; delay=0.5"}, timeout=0.15)
    time.sleep(0.4)  # let the abandoned slow answers finish before the next test


def test_slow_delay_from_a_seeded_distribution_is_reproducible(mock):
    mock.add_fault("slow", operation="listTasks", delay="uniform(0.01, 0.1)", seed=5)
    for _ in range(3):
        requests.get(f"{mock.url}/tasks/", timeout=30)
    delays = [fault["delay_seconds"] for fault in mock.injected_faults()]
    mock.reset()
    mock.add_fault("slow", operation="listTasks", delay="uniform(0.01, 0.1)", seed=5)
    for _ in range(3):
        requests.get(f"{mock.url}/tasks/", timeout=30)
    assert [fault["delay_seconds"] for fault in mock.injected_faults()] == delays
    assert all(0.01 <= delay <= 0.1 for delay in delays) and len(set(delays)) == 3


def test_dribble_sends_the_whole_body_in_slow_chunks(mock):
    arrivals, chunks = [], []
    with requests.get(
        f"{mock.url}/gh/users/octocat",
        headers={"X-Harness-Fault": "dribble; chunk=256; interval=0.05"},
        timeout=30,
        stream=True,
    ) as response:
        for chunk in response.iter_content(chunk_size=256):
            arrivals.append(time.monotonic())
            chunks.append(chunk)
    body = b"".join(chunks)
    assert int(response.headers["Content-Length"]) == len(body) and body.startswith(b'{"login":"octocat"')
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(body) // 256 - 1)  # piece by piece, not at once
    with pytest.raises(requests.exceptions.ConnectionError):  # a read timeout between two chunks
        _ = requests.get(
            f"{mock.url}/gh/users/octocat",
            headers={"X-Harness-Fault": "dribble; chunk=512; interval=0.3"},
            timeout=0.15,
        ).content
    time.sleep(0.7)


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_drop_closes_the_connection_without_any_response(mock, client):
    started = time.monotonic()
    if client == "requests":
        with pytest.raises(
            requests.exceptions.ConnectionError, match="Remote end closed connection without response"
        ):
            requests.get(f"{mock.url}/tasks/", headers={"X-Harness-Fault": "drop"}, timeout=30)
    else:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            httpx.get(f"{mock.url}/tasks/", headers={"X-Harness-Fault": "drop"}, timeout=30)
    assert time.monotonic() - started < 1  # at once, not after a timeout
    assert mock.injected_faults()[0]["fault"] == "drop"


def test_drop_sends_not_a_single_byte(mock):
    assert raw_exchange(mock, "/tasks/", "drop") == (b"", "eof")


def test_reset_sends_part_of_the_body_then_a_tcp_reset(mock):
    received, ending = raw_exchange(mock, "/gh/users/octocat", "reset; at=100")
    status, headers, body = split(received)
    assert ending == "reset"
    assert status == "HTTP/1.1 200 OK" and len(body) == 100 and int(headers["Content-Length"]) > 100
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="Connection reset by peer"):
        requests.get(f"{mock.url}/gh/users/octocat", headers={"X-Harness-Fault": "reset"}, timeout=30)
    with pytest.raises(httpx.ReadError, match="Connection reset by peer"):
        httpx.get(f"{mock.url}/gh/users/octocat", headers={"X-Harness-Fault": "reset"}, timeout=30)


def test_truncated_promises_more_bytes_than_it_sends_then_closes(mock):
    received, ending = raw_exchange(mock, "/gh/users/octocat", "truncated")
    status, headers, body = split(received)
    assert ending == "eof" and status == "HTTP/1.1 200 OK"
    assert len(body) == int(headers["Content-Length"]) // 2
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(
            f"{mock.url}/gh/users/octocat", headers={"X-Harness-Fault": "truncated; at=10"}, timeout=30
        )
    with pytest.raises(httpx.RemoteProtocolError, match="received 10 bytes"):
        httpx.get(f"{mock.url}/gh/users/octocat", headers={"X-Harness-Fault": "truncated; at=10"}, timeout=30)


def test_connection_faults_compose_with_a_replacing_fault(mock):
    received, _ = raw_exchange(mock, "/tasks/", "unavailable, truncated; at=5")
    status, headers, body = split(received)
    assert status == "HTTP/1.1 503 Service Unavailable" and headers["Retry-After"] == "30" and len(body) == 5


def test_connection_faults_in_process_say_they_need_a_socket(todo_client):
    response = todo_client.get("/tasks/", headers={"X-Harness-Fault": "reset"})
    assert response.status_code == 501
    assert "serve the mock over HTTP (harness.serve_mock, `harness mock`)" in response.json["detail"]
