"""RFC 9457 problem details: the one shape every error the mock itself makes takes."""

from __future__ import annotations

import json
from typing import Any

from harness.http import PROBLEM_JSON, Headers, MockResponse


def problem(status: int, title: str, detail: str, *, source: str = "problem", **extra: Any) -> MockResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = Headers([("Content-Type", PROBLEM_JSON)])
    return MockResponse(status, headers, json.dumps(body, ensure_ascii=False).encode("utf-8"), source)
