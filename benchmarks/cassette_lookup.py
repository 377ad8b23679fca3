"""Replay lookup cost as cassettes grow: our indexed `Replayer.play` vs vcrpy's linear `play_response`.

Both run in the same process, on the same interactions, with the same matchers (method, path, query)
and the same filters; each lookup is checked to return the same recorded response on both sides.

    python benchmarks/cassette_lookup.py                  # 10, 1k, 100k; writes benchmarks/CASSETTES.md
    python benchmarks/cassette_lookup.py --sizes 10,1000 --output -   # print the table only
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.http import Headers, HttpRequest  # noqa: E402
from harness.replay import RecordedCassette, Replay, Replayer  # noqa: E402

ORIGIN = "https://api.github.com"
MATCH_ON = ("method", "path", "query")
DEFAULT_SIZES = (10, 1_000, 100_000)


@dataclass
class Row:
    size: int
    build_ms: float
    vcrpy_us: float
    vcrpy_lookups: int
    ours_us: float
    ours_lookups: int

    @property
    def ratio(self) -> float:
        return self.vcrpy_us / self.ours_us


def recorded(size: int) -> list[tuple[str, str, str]]:
    """(method, path, query) of `size` interactions shaped like a GitHub client's: issues of many
    repositories, pages of lists, a few writes; some requests repeat (polling)."""
    rng = random.Random(size)
    shapes = []
    for n in range(size):
        owner, repo = f"org{n % 97}", f"repo{n % 1013}"
        kind = rng.random()
        if kind < 0.6:
            shapes.append(("GET", f"/repos/{owner}/{repo}/issues/{n}", ""))
        elif kind < 0.85:
            shapes.append(("GET", f"/repos/{owner}/{repo}/issues", f"state=open&page={n % 50}"))
        elif kind < 0.95:
            shapes.append(("POST", f"/repos/{owner}/{repo}/issues", ""))
        else:
            shapes.append(("GET", f"/repos/{owner}/{repo}", ""))
    return shapes


def vcrpy_cassette(shapes: list[tuple[str, str, str]]):
    """A vcrpy Cassette holding the interactions, as `Cassette.load` would after reading a file."""
    import vcr
    from vcr.cassette import Cassette
    from vcr.request import Request

    config = vcr.VCR().get_merged_config(
        path="<memory>", match_on=MATCH_ON, record_mode="none", allow_playback_repeats=True
    )
    for key in ("path_transformer", "func_path_generator", "record_on_exception"):
        config.pop(key, None)
    cassette = Cassette(**config)
    for index, (method, path, query) in enumerate(shapes):
        uri = f"{ORIGIN}{path}" + (f"?{query}" if query else "")
        response = {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"]},
            "body": {"string": f'{{"interaction": {index}}}'.encode()},
        }
        cassette.append(Request(method, uri, None, {"Accept": "application/json"}), response)
    return cassette


def time_lookups(lookup, targets, budget: float) -> tuple[float, int]:
    """Mean seconds per lookup over as many targets as fit in `budget` seconds (at least 3)."""
    done, started = 0, time.perf_counter()
    for target in targets:
        lookup(target)
        done += 1
        if done >= 3 and time.perf_counter() - started > budget:
            break
    return (time.perf_counter() - started) / done, done


def measure(size: int, budget: float) -> Row:
    import vcr
    from vcr.request import Request

    shapes = recorded(size)
    cassette = vcrpy_cassette(shapes)
    started = time.perf_counter()
    replayer = Replayer(
        [RecordedCassette(Path("<memory>"), "bench.yaml", cassette)],
        matchers=[vcr.VCR().matchers[name] for name in MATCH_ON],
        allow_playback_repeats=True,
    )
    build = time.perf_counter() - started

    rng = random.Random(0)
    picks = [rng.randrange(size) for _ in range(2_000)]
    # Check both find the same recording before timing (for requests recorded once: on repeated
    # ones, we play the next unplayed recording where vcrpy, allowed repeats, replays the first).
    counts = Counter(shapes)
    for index in [pick for pick in picks if counts[shapes[pick]] == 1][:20]:
        method, path, query = shapes[index]
        theirs = cassette.play_response(_vcr_request(Request, method, path, query))
        ours = replayer.play(HttpRequest(method, path, query, Headers({"Accept": "application/json"})))
        assert isinstance(ours, Replay) and ours.response.body == theirs["body"]["string"], (method, path)

    def vcrpy_lookup(index: int) -> None:
        method, path, query = shapes[index]
        cassette.play_response(_vcr_request(Request, method, path, query))

    def our_lookup(index: int) -> None:
        method, path, query = shapes[index]
        replayer.play(HttpRequest(method, path, query, Headers({"Accept": "application/json"})))

    vcrpy_seconds, vcrpy_count = time_lookups(vcrpy_lookup, picks, budget)
    ours_seconds, ours_count = time_lookups(our_lookup, picks, budget)
    return Row(size, build * 1000, vcrpy_seconds * 1e6, vcrpy_count, ours_seconds * 1e6, ours_count)


def _vcr_request(request_class, method: str, path: str, query: str):
    return request_class(
        method, f"{ORIGIN}{path}" + (f"?{query}" if query else ""), None, {"Accept": "application/json"}
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| interactions | vcrpy `play_response` (µs/lookup) | harness `Replayer.play` (µs/lookup) "
        "| speed-up | index build (ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.size:,} | {row.vcrpy_us:,.0f} ({row.vcrpy_lookups} lookups) "
            f"| {row.ours_us:,.0f} ({row.ours_lookups} lookups) | {row.ratio:,.1f}x | {row.build_ms:,.1f} |"
        )
    return "\n".join(lines)


def report(rows: list[Row]) -> str:
    import vcr

    return f"""# Cassette replay lookup

How long the mock takes to find the recorded answer to a request, as cassettes grow. Generated by
`python benchmarks/cassette_lookup.py` (do not edit by hand).

- **vcrpy `play_response`**: vcrpy {vcr.__version__}'s own lookup, which tries every interaction in turn.
- **harness `Replayer.play`**: ours. Interactions are indexed once by (method, path); vcrpy's matcher
  functions then run on that bucket only. The time includes everything a request costs the replayer:
  building the vcr Request, vcrpy's request filters, matching, play counting and the response.

Same process, same interactions (GitHub-shaped: issues of many repositories, list pages, writes),
same matchers (`{", ".join(MATCH_ON)}`), repeats allowed; each size first checks that both return
the same recording for the same requests. Lookups pick random recorded requests.

{table(rows)}

Our lookup stays flat from 10 to 100,000 interactions; vcrpy's grows linearly with the cassette.
The index is built once when the mock starts.

Machine: {platform.python_implementation()} {platform.python_version()} on {platform.system()} \
{platform.machine()}, {os.cpu_count()} CPUs (shared; compare ratios, not absolute numbers).
"""


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="interaction counts")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of lookups per engine and size")
    parser.add_argument(
        "--output", default=str(ROOT / "benchmarks" / "CASSETTES.md"), help="report file, or - for stdout"
    )
    options = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in options.sizes.split(",") if size.strip()]
    rows = []
    for size in sizes:
        row = measure(size, options.budget)
        print(
            f"{size:>7,} interactions: vcrpy {row.vcrpy_us:>10,.1f} µs, "
            f"ours {row.ours_us:>7,.1f} µs ({row.ratio:,.1f}x)",
            file=sys.stderr,
        )
        rows.append(row)
    if options.output == "-":
        print(table(rows))
    else:
        Path(options.output).write_text(report(rows), encoding="utf-8")
        print(f"wrote {options.output}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
