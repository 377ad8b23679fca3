"""The replay lookup benchmark runs, checks both engines agree, and writes its report."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ROOT


def load_benchmark(monkeypatch):
    """benchmarks/ holds scripts, not a package: load the file as a module."""
    path = ROOT / "benchmarks" / "cassette_lookup.py"
    spec = importlib.util.spec_from_file_location("cassette_lookup", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_lookup_benchmark_writes_its_table_and_the_index_beats_the_linear_scan(tmp_path, monkeypatch):
    benchmark = load_benchmark(monkeypatch)
    report = tmp_path / "CASSETTES.md"
    rows = benchmark.main(["--sizes", "10,400", "--budget", "0.05", "--output", str(report)])
    assert [row.size for row in rows] == [10, 400]
    text = report.read_text()
    assert "| interactions | vcrpy `play_response` (µs/lookup) | harness `Replayer.play` (µs/lookup)" in text
    assert "| 400 |" in text
    # vcrpy tries all 400 interactions per lookup, we try one bucket: a wide margin on any machine
    assert rows[1].ratio > 3


def test_the_committed_report_covers_10_1k_and_100k_interactions():
    text = (ROOT / "benchmarks" / "CASSETTES.md").read_text()
    for size in ("| 10 |", "| 1,000 |", "| 100,000 |"):
        assert size in text
