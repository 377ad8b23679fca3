"""Which declared responses are exercised, and by what: the operations-by-statuses matrix.

Three sources fill it:

- **cassettes**: recorded interactions (requests to the contract's hosts, matched to operations);
- **journal**: what client tests sent through the mock (`GET /__harness/requests` saved to a file,
  or collected by the pytest plugin during a session);
- **verify**: the statuses `harness verify` saw (its `--report json`).

A status observed for an operation counts for the declared response that covers it (`404`, else
`4XX`, else `default`); a status the operation does not declare is listed as undeclared.

    matrix = CoverageMatrix([load_contract("contracts/todo.yaml")])
    matrix.add_cassettes(["cassettes/"])
    matrix.add_journal_file("journal.json")
    matrix.add_verify_report("verify.json")
    matrix.write_json("coverage.json"); matrix.write_html("coverage.html")
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.cassettes import CassetteError, iter_cassette_files, load_cassette
from harness.contracts import Contract, ContractSet, Operation
from harness.drift import contract_hosts
from harness.errors import ConfigurationError
from harness.routing import RouteMatch


class Source(enum.StrEnum):
    """Where an observation comes from."""

    CASSETTES = "cassettes"
    JOURNAL = "journal"
    VERIFY = "verify"


@dataclass
class Row:
    """One operation: its declared statuses and how often each source exercised them."""

    contract: str
    operation: Operation
    declared: list[str]
    counts: dict[str, dict[Source, int]] = field(default_factory=dict)  # status key -> source -> count

    @property
    def undeclared(self) -> list[str]:
        return [key for key in self.counts if key not in self.declared]

    def covered(self, status: str) -> bool:
        return any(self.counts.get(status, {}).values())

    def record(self, code: int, source: Source, count: int = 1) -> None:
        key = next((k for k in (str(code), f"{str(code)[0]}XX", "default") if k in self.declared), str(code))
        bucket = self.counts.setdefault(key, {})
        bucket[source] = bucket.get(source, 0) + count


@dataclass
class Summary:
    declared: int
    covered: int
    by_source: dict[Source, int]
    undeclared: int

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.declared if self.declared else 100.0


class CoverageMatrix:
    """Operations by declared statuses of one or more contracts, filled from the three sources."""

    def __init__(self, contracts: Sequence[Contract]):
        if not contracts:
            raise ConfigurationError("coverage needs at least one contract (--contract PATH)")
        self.contracts = list(contracts)
        self.routes = ContractSet(self.contracts)
        self.rows = [
            Row(contract.source, operation, operation.declared_statuses)
            for contract in self.contracts
            for operation in contract.operations
        ]
        self._by_operation = {id(row.operation): row for row in self.rows}
        self.inputs: dict[Source, list[str]] = {source: [] for source in Source}
        self.unmatched: dict[Source, int] = dict.fromkeys(Source, 0)
        self.skipped: list[str] = []  # inputs that could not be read, with why

    def row(self, operation: Operation) -> Row:
        return self._by_operation[id(operation)]

    # -- sources ------------------------------------------------------------------------------

    def add_cassettes(self, paths: Iterable[str | Path], *, hosts: Sequence[str] | None = None) -> None:
        """Interactions recorded to the contracts' hosts (or `hosts`), matched to operations."""
        scope = (
            {h.lower() for h in hosts}
            if hosts is not None
            else set().union(*map(contract_hosts, self.contracts))
        )
        for path in iter_cassette_files(paths):
            self.inputs[Source.CASSETTES].append(str(path))
            try:
                cassette = load_cassette(path)
            except CassetteError as exc:
                self.skipped.append(f"{path}: {exc.problem}")
                continue
            for interaction in cassette.interactions:
                parts = urlsplit(str(interaction.request.uri))
                if scope and (parts.hostname or "").lower() not in scope:
                    continue
                self._observe(
                    str(interaction.request.method), parts.path or "/", interaction.status, Source.CASSETTES
                )

    def add_journal(self, entries: Iterable[Mapping[str, Any]], *, name: str = "journal") -> None:
        """Entries of the mock's journal, as `GET /__harness/requests` lists them."""
        self.inputs[Source.JOURNAL].append(name)
        for entry in entries:
            status = (entry.get("response") or {}).get("status")
            if not isinstance(status, int):
                continue
            operation = self._journal_operation(entry)
            if operation is None:
                self.unmatched[Source.JOURNAL] += 1
            else:
                self.row(operation).record(status, Source.JOURNAL)

    def add_journal_file(self, path: str | Path) -> None:
        data = _read_json(path, "journal")
        entries = data.get("requests") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ConfigurationError(
                f"{path}: not a journal; save the mock's `GET /__harness/requests` answer (a JSON object "
                "with `requests`) or a list of its entries"
            )
        self.add_journal(entries, name=str(path))

    def add_verify_report(self, path: str | Path) -> None:
        """The (operation, status) pairs a `harness verify --report json` run saw."""
        data = _read_json(path, "verify report")
        if not isinstance(data, dict) or data.get("kind") != "harness-verify":
            raise ConfigurationError(
                f"{path}: not a verify report; write one with `harness verify ... --report json PATH`"
            )
        self.inputs[Source.VERIFY].append(str(path))
        for item in data.get("observed") or []:
            operation = self._find(str(item.get("operation", "")), str(data.get("contract", "")))
            if operation is None:
                self.unmatched[Source.VERIFY] += int(item.get("count", 1))
            else:
                self.row(operation).record(int(item["status"]), Source.VERIFY, int(item.get("count", 1)))

    def _observe(self, method: str, path: str, status: int, source: Source) -> None:
        matched = self.routes.match(method.upper(), path)
        if isinstance(matched, RouteMatch):
            self.row(matched.target).record(status, source)
        else:
            self.unmatched[source] += 1

    def _journal_operation(self, entry: Mapping[str, Any]) -> Operation | None:
        name, contract_name = entry.get("operation"), entry.get("contract")
        if name:
            for contract in self.contracts:
                if contract_name in (None, contract.name):
                    found = contract.find_operation(str(name))
                    if found is not None:
                        return found
        request = entry.get("request") or {}
        matched = self.routes.match(str(request.get("method", "")).upper(), str(request.get("path", "")))
        return matched.target if isinstance(matched, RouteMatch) else None

    def _find(self, label: str, source: str) -> Operation | None:
        ordered = sorted(self.contracts, key=lambda contract: contract.source != source)
        for contract in ordered:
            found = contract.find_operation(label)
            if found is not None:
                return found
        return None

    # -- results ------------------------------------------------------------------------------

    def summary(self) -> Summary:
        declared = [(row, status) for row in self.rows for status in row.declared]
        by_source = {
            source: sum(1 for row, status in declared if row.counts.get(status, {}).get(source))
            for source in Source
        }
        return Summary(
            declared=len(declared),
            covered=sum(1 for row, status in declared if row.covered(status)),
            by_source=by_source,
            undeclared=sum(len(row.undeclared) for row in self.rows),
        )

    def as_dict(self) -> dict[str, Any]:
        summary = self.summary()
        return {
            "kind": "harness-coverage",
            "contracts": [contract.source for contract in self.contracts],
            "inputs": {source.value: paths for source, paths in self.inputs.items()},
            "summary": {
                "declared": summary.declared,
                "covered": summary.covered,
                "percent": round(summary.percent, 1),
                "by_source": {source.value: count for source, count in summary.by_source.items()},
                "undeclared": summary.undeclared,
                "unmatched": {source.value: count for source, count in self.unmatched.items()},
            },
            "skipped": self.skipped,
            "operations": [
                {
                    "contract": row.contract,
                    "operation": row.operation.name,
                    "method": row.operation.method,
                    "path": row.operation.path,
                    "statuses": [
                        {
                            "status": status,
                            "declared": status in row.declared,
                            **{source.value: row.counts.get(status, {}).get(source, 0) for source in Source},
                        }
                        for status in [*row.declared, *row.undeclared]
                    ],
                }
                for row in self.rows
            ],
        }

    def write_json(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def write_html(self, path: str | Path) -> None:
        from harness.coverage_html import render_html

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(self), encoding="utf-8")

    def render_text(self) -> str:
        """The matrix in long form: one line per (operation, status), then the summary."""
        lines = []
        width = max((len(row.operation.name) for row in self.rows), default=10)
        for contract in self.contracts:
            lines.append(contract.source)
            lines.append(
                f"  {'operation':<{width}}  {'status':<8}" + "".join(f"{s.value:>11}" for s in Source)
            )
            for row in (r for r in self.rows if r.contract == contract.source):
                for index, status in enumerate([*row.declared, *row.undeclared]):
                    name = row.operation.name if index == 0 else ""
                    label = status if status in row.declared else f"{status}!"
                    counts = "".join(f"{row.counts.get(status, {}).get(s, 0) or '-':>11}" for s in Source)
                    lines.append(f"  {name:<{width}}  {label:<8}{counts}")
            lines.append("")
        summary = self.summary()
        sources = ", ".join(f"{source.value} {count}" for source, count in summary.by_source.items())
        lines.append(
            f"{summary.covered} of {summary.declared} declared responses exercised ({summary.percent:.0f}%): "
            f"{sources}"
        )
        if summary.undeclared:
            lines.append(f"{summary.undeclared} undeclared status(es) seen (marked !)")
        for item in self.skipped:
            lines.append(f"skipped {item}")
        return "\n".join(lines)


def _read_json(path: str | Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such {what} file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: the {what} is not JSON ({exc})") from None


class SessionCoverage:
    """Collects the journal of a pytest session's mock (before each reset) and writes the matrix."""

    def __init__(self, target: str | Path, cassettes: Sequence[str | Path] = ()):
        self.target = Path(target)
        self.cassettes = list(cassettes)
        self.contracts: list[Contract] = []
        self.entries: list[dict[str, Any]] = []

    @property
    def paths(self) -> tuple[Path, Path]:
        """Where the JSON and HTML go: `--harness-coverage reports/api` -> api.json, api.html."""
        base = self.target.with_suffix("") if self.target.suffix in (".json", ".html") else self.target
        return base.with_name(base.name + ".json"), base.with_name(base.name + ".html")

    def collect(self, entries: Iterable[Mapping[str, Any]]) -> None:
        for entry in entries:  # only what coverage needs: journals keep bodies
            request = entry.get("request") or {}
            self.entries.append(
                {
                    "contract": entry.get("contract"),
                    "operation": entry.get("operation"),
                    "request": {"method": request.get("method"), "path": request.get("path")},
                    "response": {"status": (entry.get("response") or {}).get("status")},
                }
            )

    def write(self) -> CoverageMatrix | None:
        if not self.contracts:
            return None
        matrix = CoverageMatrix(self.contracts)
        if self.cassettes:
            matrix.add_cassettes(self.cassettes)
        matrix.add_journal(self.entries, name="pytest session")
        json_path, html_path = self.paths
        matrix.write_json(json_path)
        matrix.write_html(html_path)
        return matrix
