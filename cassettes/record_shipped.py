"""Re-create the shipped cassettes with the recorder, deterministically.

    python cassettes/record_shipped.py            # rewrites cassettes/todo/ and cassettes/github/
    python cassettes/record_shipped.py --out DIR  # writes them under DIR instead

- `todo/`: recorded against the reference server, `examples/todo_server.py`, on 127.0.0.1; URIs are
  stored under the contract's server URL, http://127.0.0.1:5000.
- `github/`: the real GitHub is not reachable from CI, so the upstream is the harness mock serving
  `contracts/github.yaml` (example bodies; `Prefer: code=...` for error statuses). URIs are stored
  under https://api.github.com, and each cassette's metadata says what stood in for it.

Every response is checked against its contract while it is recorded; the script fails on drift.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.live import LiveServer  # noqa: E402
from harness.mock import serve_mock  # noqa: E402
from harness.recorder import serve_recorder  # noqa: E402

TODO_CONTRACT = ROOT / "contracts" / "todo.yaml"
GITHUB_CONTRACT = ROOT / "contracts" / "github.yaml"
# A made-up token in GitHub's format: the recorder must keep it out of the cassettes.
TOKEN = "ghp_" + "0HarnessFakeToken0ForRecording00"[:36].ljust(36, "0")
GITHUB_STAND_IN = "harness mock serving contracts/github.yaml (the real API is not reachable from CI)"

Scenario = Callable[[requests.Session, str], None]


def todo_scenarios() -> dict[str, Scenario]:
    def lifecycle(client: requests.Session, base: str) -> None:
        client.get(f"{base}/tasks/")
        client.post(f"{base}/tasks/", json={"summary": "Do the laundry", "description": "Whites at 60°C"})
        client.get(f"{base}/tasks/1/")
        client.put(f"{base}/tasks/1/", json={"summary": "Do the laundry", "description": "Then the towels"})
        client.get(f"{base}/tasks/")
        client.delete(f"{base}/tasks/1/")
        client.get(f"{base}/tasks/1/")

    def errors(client: requests.Session, base: str) -> None:
        client.post(f"{base}/tasks/", data=b"{not json", headers={"Content-Type": "application/json"})
        client.post(f"{base}/tasks/", json={"summary": "x" * 120})
        client.post(f"{base}/tasks/", json={"summary": "ok", "priority": "high"})
        client.put(f"{base}/tasks/42/", json={"summary": "Nobody home"})
        client.delete(f"{base}/tasks/42/")

    return {"lifecycle": lifecycle, "errors": errors}


def github_scenarios() -> dict[str, Scenario]:
    """One cassette per (operation, status): every operation of contracts/github.yaml, errors too."""
    auth = {"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"}

    def get(path: str, status: int | None = None, *, token: bool = True) -> Scenario:
        def scenario(client: requests.Session, base: str) -> None:
            headers = dict(auth) if token else {"Accept": "application/vnd.github+json"}
            if status is not None:
                headers["Prefer"] = f"code={status}"
            client.get(f"{base}{path}", headers=headers)

        return scenario

    def create_issue(status: int | None = None, *, token: bool = True) -> Scenario:
        def scenario(client: requests.Session, base: str) -> None:
            headers = dict(auth) if token else {"Accept": "application/vnd.github+json"}
            if status is not None:
                headers["Prefer"] = f"code={status}"
            body = {"title": "Found a bug", "body": "I'm having a problem with this.", "labels": ["bug"]}
            client.post(f"{base}/repos/octocat/Hello-World/issues", json=body, headers=headers)

        return scenario

    return {
        "user-200": get("/user"),
        "user-401": get("/user", token=False),
        "user-403": get("/user", 403),
        "user-429": get("/user", 429),
        "user-503": get("/user", 503),
        "user-repos-200": get("/user/repos?visibility=public&sort=updated&per_page=2"),
        "user-repos-401": get("/user/repos", token=False),
        "user-repos-422": get("/user/repos?visibility=public", 422),
        "users-octocat-200": get("/users/octocat", token=False),
        "users-octocat-404": get("/users/nobody-here-404", 404),
        "repo-200": get("/repos/octocat/Hello-World"),
        "repo-403": get("/repos/octocat/secret-repo", 403),
        "repo-404": get("/repos/octocat/no-such-repo", 404),
        "repo-issues-200": get("/repos/octocat/Hello-World/issues?state=open&per_page=2"),
        "repo-issues-404": get("/repos/octocat/no-such-repo/issues", 404),
        "repo-issues-422": get("/repos/octocat/Hello-World/issues?state=open", 422),
        "issues-create-201": create_issue(),
        "issues-create-401": create_issue(token=False),
        "issues-create-403": create_issue(403),
        "issues-create-404": create_issue(404),
        "issues-create-410": create_issue(410),
        "issues-create-422": create_issue(422),
        "issues-create-503": create_issue(503),
    }


@contextmanager
def todo_upstream() -> Iterator[str]:
    from examples.todo_server import create_app

    with LiveServer(create_app()) as server:
        yield server.url


@contextmanager
def github_upstream() -> Iterator[str]:
    with serve_mock(GITHUB_CONTRACT) as mock:
        yield mock.url


def record_api(
    out: Path,
    api: str,
    scenarios: dict[str, Scenario],
    upstream: Callable[[], AbstractContextManager[str]],
    contract: Path,
    record_as: str,
    *,
    fresh_upstream: bool,
    metadata: dict[str, str] | None = None,
) -> list[Path]:
    """One cassette per scenario under `out/api/`; `fresh_upstream` restarts a stateful upstream."""
    folder = out / api
    if folder.exists():
        shutil.rmtree(folder)
    written = []
    with ExitStack() as shared:
        url = None if fresh_upstream else shared.enter_context(upstream())
        for name, scenario in scenarios.items():
            with ExitStack() as stack:
                base = url or stack.enter_context(upstream())
                cassette = folder / f"{name}.yaml"
                proxy = stack.enter_context(
                    serve_recorder(
                        base, cassette, mode="once", contract=contract, record_as=record_as, metadata=metadata
                    )
                )
                client = stack.enter_context(requests.Session())
                # Fixed client headers: the cassettes do not depend on the versions installed.
                client.headers.update(
                    {"User-Agent": "contract-harness/record_shipped", "Accept-Encoding": "gzip"}
                )
                scenario(client, proxy.url)
                if proxy.drift:
                    drift = "\n".join(map(str, proxy.drift))
                    raise SystemExit(f"{cassette}: the upstream drifted from {contract}:\n{drift}")
            written.append(cassette)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "cassettes", help="folder to write into")
    args = parser.parse_args(argv)
    written = record_api(
        args.out,
        "todo",
        todo_scenarios(),
        todo_upstream,
        TODO_CONTRACT,
        "http://127.0.0.1:5000",
        fresh_upstream=True,  # ids restart at 1 in every cassette
    )
    written += record_api(
        args.out,
        "github",
        github_scenarios(),
        github_upstream,
        GITHUB_CONTRACT,
        "https://api.github.com",
        fresh_upstream=False,  # the mock answers from the contract: no state to reset
        metadata={"recorded_from": GITHUB_STAND_IN},
    )
    print(f"Recorded {len(written)} cassettes under {args.out}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
