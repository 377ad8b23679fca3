"""Where the mock's start-up goes, phase by phase, in a fresh interpreter.

    python3 -m benchmarks.startup_phases SPEC PATH   # prints one JSON object

Each phase is what `harness mock SPEC` does before it can answer `GET PATH`, timed in the same
order, with the resident memory after it (VmRSS, MiB) and the peak so far (VmHWM).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
STARTED_AT = time.time()  # comparable with the parent's clock: interpreter start is the gap


def memory() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    rss = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
    hwm = re.search(r"^VmHWM:\s+(\d+)", status, re.MULTILINE)
    return (int(rss[1]) / 1024 if rss else 0.0, int(hwm[1]) / 1024 if hwm else 0.0)


def main(spec: str, path: str) -> dict[str, object]:
    phases: list[dict[str, object]] = []
    last = STARTED

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        rss, hwm = memory()
        phases.append({"phase": name, "seconds": now - last, "rss_mib": rss, "hwm_mib": hwm})
        last = now

    import flask  # noqa: F401

    import harness.cli  # noqa: F401
    import mock_server.app  # noqa: F401

    mark("imports: click, Flask, harness, mock_server")
    from harness.contracts import Contract, ContractSet
    from harness.documents import read_document
    from mock_server.app import build_flask_app
    from mock_server.engine import MockEngine

    document = read_document(spec)
    mark("read the spec: gunzip, json.loads, structure and $ref checks")
    contract = Contract(document)
    app = build_flask_app(MockEngine(ContractSet([contract])))
    mark("operations, routing trie, Flask app")
    _ = contract.schema
    mark("schemathesis.openapi.from_dict (with its lazy imports)")
    response = app.test_client().get(path)
    mark(f"first request (compiles its operation): {response.status_code}")
    return {"started_at": STARTED_AT, "total_seconds": last - STARTED, "phases": phases}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])), flush=True)
    os._exit(0)  # skip tearing down a large heap: it is not start-up
