"""What a verify run found, read from the event stream schemathesis writes (`--report ndjson`).

Every scenario schemathesis finishes carries its test cases, the requests and responses, and the
checks that ran. From those this module builds:

- **findings**: one per (operation, check) — schemathesis' own rule for "unique failures", refined
  for schema violations by the status whose schema was broken — each with the checks' titles, the
  smallest failing example, and the requests that reproduce it as curl commands (for a stateful
  failure, the chain of calls that led there);
- **errors**: requests that got no answer (timeouts, connection resets), one per operation and kind;
- **observed** (operation label, status) pairs, which `harness coverage` reads.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STATUS_LINE = re.compile(r"response schema for status code (\S+?)\.?$", re.MULTILINE)
# Headers schemathesis sets on every request; they add nothing to a reproduction.
_NOISE_HEADERS = {"user-agent", "accept-encoding", "accept", "connection", "content-length"}


@dataclass(frozen=True)
class Step:
    """One request of a reproduction."""

    operation: str  # "POST /tasks/"
    method: str
    url: str
    curl: str
    example: dict[str, Any]  # the generated case: path_parameters, query, headers, body...

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "method": self.method,
            "url": self.url,
            "curl": self.curl,
            "example": self.example,
        }


@dataclass(frozen=True)
class Failure:
    check: str  # "not_a_server_error"
    code: str  # "ST101"
    title: str  # "Server error"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "code": self.code, "title": self.title, "message": self.message}


@dataclass
class Finding:
    """A way the server breaks its contract, with what reproduces it."""

    operation: str
    phase: str
    failures: list[Failure]
    steps: list[Step]
    status: int | None  # the status of the failing response

    @property
    def titles(self) -> list[str]:
        return [failure.title for failure in self.failures]

    @property
    def title(self) -> str:
        return "; ".join(self.titles)

    @property
    def curl(self) -> str:
        return "\n".join(step.curl for step in self.steps)

    @property
    def example(self) -> dict[str, Any]:
        """The failing request as generated (the last step of a sequence)."""
        return self.steps[-1].example if self.steps else {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "operation": self.operation,
            "phase": self.phase,
            "status": self.status,
            "failures": [failure.as_dict() for failure in self.failures],
            "curl": self.curl,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class RunError:
    """A request that got no usable answer: timeout, connection reset, schema the tool could not use."""

    operation: str
    kind: str
    message: str
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "kind": self.kind, "message": self.message, "count": self.count}


@dataclass
class RunEvents:
    findings: list[Finding] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    observed: Counter[tuple[str, int]] = field(default_factory=Counter)
    test_cases: int = 0
    operations: int = 0
    fatal: str | None = None


@dataclass
class _Candidate:
    key: tuple[str, ...]
    failure: Failure
    operation: str
    phase: str
    case_id: str
    scenario: int
    size: int
    order: int


def read_events(path: str | Path) -> RunEvents:
    """Parse schemathesis' NDJSON report into findings, errors and observed statuses."""
    result = RunEvents()
    scenarios: list[dict[str, Any]] = []
    errors: dict[tuple[str, str], RunError] = {}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            event = json.loads(line)
            kind, payload = next(iter(event.items()))
            if kind == "ScenarioFinished":
                scenarios.append(payload)
            elif kind == "NonFatalError":
                value = payload.get("value") or {}
                key = (str(payload.get("label", "")), str(value.get("type", "Error")))
                previous = errors.get(key)
                errors[key] = RunError(
                    key[0],
                    key[1],
                    previous.message if previous else _first_line(str(value.get("message", ""))),
                    (previous.count + 1) if previous else 1,
                )
            elif kind == "FatalError":
                value = payload.get("value") or payload
                result.fatal = _first_line(str(value.get("message", value)))
            elif kind == "LoadingFinished":
                statistic = payload.get("statistic") or {}
                result.operations = int((statistic.get("operations") or {}).get("selected", 0))
    result.errors = list(errors.values())
    candidates: list[_Candidate] = []
    for index, scenario in enumerate(scenarios):
        recorder = scenario.get("recorder") or {}
        cases = recorder.get("cases") or {}
        interactions = recorder.get("interactions") or {}
        for case_id, node in cases.items():
            value = node.get("value") or {}
            response = (interactions.get(case_id) or {}).get("response")
            if response:
                result.test_cases += 1
                label = f"{value.get('method', '').upper()} {value.get('path', '')}"
                result.observed[(label, int(response["status_code"]))] += 1
        candidates.extend(_candidates(index, scenario, len(candidates)))
    result.findings = _findings(candidates, scenarios)
    return result


def _candidates(index: int, scenario: dict[str, Any], order: int) -> Iterator[_Candidate]:
    recorder = scenario.get("recorder") or {}
    cases = recorder.get("cases") or {}
    for case_id, checks in (recorder.get("checks") or {}).items():
        for check in checks:
            info = (check.get("failure_info") or {}).get("failure")
            if check.get("status") != "failure" or not info:
                continue
            failure = Failure(
                check=str(check.get("name", "")),
                code=str(info.get("code", "")),
                title=str(info.get("title", "")),
                message=str(info.get("message", "")),
            )
            case = cases.get(case_id, {}).get("value") or {}
            operation = str(info.get("operation") or f"{case.get('method')} {case.get('path')}")
            order += 1
            yield _Candidate(
                key=_unique_key(operation, failure),
                failure=failure,
                operation=operation,
                phase=str(scenario.get("phase", "")),
                case_id=case_id,
                scenario=index,
                size=len(json.dumps(_example(case), sort_keys=True, default=str)),
                order=order,
            )


def _unique_key(operation: str, failure: Failure) -> tuple[str, ...]:
    """schemathesis' rule (one finding per operation per kind of failure); a schema violation is
    also told apart by the status whose schema it breaks."""
    if failure.code == "ST108":
        status = _STATUS_LINE.search(failure.message)
        return (operation, failure.code, failure.title, status.group(1) if status else "")
    return (operation, failure.code, failure.title)


def _findings(candidates: list[_Candidate], scenarios: list[dict[str, Any]]) -> list[Finding]:
    # For each unique failure keep the smallest failing example (schemathesis shrinks within a
    # phase; across phases the smallest one is the easiest to read), then group the kept failures
    # that share a test case into one finding.
    best: dict[tuple[str, ...], _Candidate] = {}
    for candidate in candidates:
        kept = best.get(candidate.key)
        if kept is None or (candidate.size, candidate.order) < (kept.size, kept.order):
            best[candidate.key] = candidate
    grouped: dict[tuple[int, str], list[_Candidate]] = {}
    for candidate in sorted(best.values(), key=lambda c: c.order):
        grouped.setdefault((candidate.scenario, candidate.case_id), []).append(candidate)
    findings = []
    for (scenario_index, case_id), group in grouped.items():
        recorder = scenarios[scenario_index].get("recorder") or {}
        operation = group[0].operation
        interaction = (recorder.get("interactions") or {}).get(case_id) or {}
        response = interaction.get("response") or {}
        findings.append(
            Finding(
                operation=operation,
                phase=group[0].phase,
                failures=[candidate.failure for candidate in group],
                steps=list(_steps(recorder, case_id, related_operation=operation)),
                status=response.get("status_code"),
            )
        )
    return findings


def _steps(recorder: dict[str, Any], case_id: str, *, related_operation: str) -> Iterator[Step]:
    """The failing request, preceded by what it depends on in a stateful sequence: its chain of
    parents, plus the latest earlier call of the failing operation when the failure is about
    another one (a DELETE that did not delete shows up on the GET that follows)."""
    cases: dict[str, Any] = recorder.get("cases") or {}
    order = list(cases)
    wanted: set[str] = set()

    def walk(start: str | None) -> None:
        while start is not None and start not in wanted and start in cases:
            wanted.add(start)
            start = cases[start].get("parent_id")

    walk(case_id)
    failing = cases.get(case_id, {}).get("value") or {}
    if _label(failing) != related_operation and case_id in order:
        for earlier in reversed(order[: order.index(case_id)]):
            if _label(cases[earlier].get("value") or {}) == related_operation:
                walk(earlier)
                break
    interactions = recorder.get("interactions") or {}
    for candidate in order:
        if candidate not in wanted:
            continue
        value = cases[candidate].get("value") or {}
        request = (interactions.get(candidate) or {}).get("request") or {}
        yield Step(
            operation=_label(value),
            method=str(request.get("method") or value.get("method", "")),
            url=str(request.get("uri", "")),
            curl=curl_command(request) if request else "",
            example=_example(value),
        )


def _label(case: dict[str, Any]) -> str:
    return f"{str(case.get('method', '')).upper()} {case.get('path', '')}"


def _example(case: dict[str, Any]) -> dict[str, Any]:
    """The generated parts of a case, as a reader wants them: no ids or generation metadata."""
    example: dict[str, Any] = {}
    for part in ("path_parameters", "query", "headers", "cookies"):
        if case.get(part):
            example[part] = case[part]
    if "body" in case and case["body"] is not None:
        example["body"] = _decode(case["body"])
        if case.get("media_type"):
            example["media_type"] = case["media_type"]
    return example


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$base64"}:
        raw = base64.b64decode(value["$base64"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"$base64": value["$base64"]}
    return value


def curl_command(request: dict[str, Any]) -> str:
    """A curl command line that sends this recorded request again."""
    parts = ["curl", "-X", str(request.get("method", "GET"))]
    headers: dict[str, Any] = request.get("headers") or {}
    for name, values in headers.items():
        if name.lower() in _NOISE_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.get("body")
    prefix = ""
    if isinstance(body, dict) and "$base64" in body:
        raw = base64.b64decode(body["$base64"])
        try:
            parts += ["-d", shlex.quote(raw.decode("utf-8"))]
        except UnicodeDecodeError:
            # Bytes a shell cannot quote: pipe them in, escaped for printf.
            escaped = "".join(f"\\x{byte:02x}" for byte in raw)
            prefix = f"printf '{escaped}' | "
            parts += ["--data-binary", "@-"]
    elif isinstance(body, str):
        parts += ["-d", shlex.quote(body)]
    parts.append(shlex.quote(str(request.get("uri", ""))))
    return prefix + " ".join(parts)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
