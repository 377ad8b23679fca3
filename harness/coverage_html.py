"""The coverage matrix as one self-contained HTML page (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

from html import escape

from harness.coverage import CoverageMatrix, Row, Source

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem;margin:0 0 .3rem}
h2{font-size:1.1rem;margin:2rem 0 .5rem;word-break:break-all}
.summary{margin:.3rem 0 1rem}
.bar{height:10px;background:#eaeef2;border-radius:5px;max-width:40rem}
.bar span{display:block;height:10px;border-radius:5px;background:#2da44e}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.chip{display:inline-block;margin:0 .3rem .3rem 0;padding:.1rem .45rem;border-radius:1rem;border:1px solid;
font:12px ui-monospace,monospace}
.chip small{margin-left:.3rem;letter-spacing:.05rem}
.covered{background:#dafbe1;border-color:#2da44e}
.missing{background:#fff;border-color:#d0d7de;color:#656d76}
.undeclared{background:#ffebe9;border-color:#cf222e}
.method{font-weight:600}
.muted{color:#656d76}
"""
_LETTERS = {"cassettes": "C", "journal": "J", "verify": "V"}


def render_html(matrix: CoverageMatrix) -> str:
    summary = matrix.summary()
    sources = ", ".join(
        f"{escape(source.value)}: {count} ({len(matrix.inputs[source])} input(s))"
        for source, count in summary.by_source.items()
    )
    undeclared = (
        f" <strong>{summary.undeclared}</strong> undeclared status(es) seen." if summary.undeclared else ""
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>API coverage</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>API coverage</h1>",
        f'<p class="summary"><strong>{summary.covered} of {summary.declared}</strong> declared responses '
        f"exercised ({summary.percent:.0f}%) — {sources}." + undeclared + "</p>",
        f'<div class="bar"><span style="width:{summary.percent:.1f}%"></span></div>',
        '<p class="legend muted">'
        '<span class="chip covered">200<small>CJV</small></span> exercised (C cassettes, J journal, '
        'V verify) <span class="chip missing">404</span> declared, never seen '
        '<span class="chip undeclared">500</span> seen but not declared</p>',
    ]
    for contract in matrix.contracts:
        rows = [row for row in matrix.rows if row.contract == contract.source]
        covered = sum(1 for row in rows for status in row.declared if row.covered(status))
        declared = sum(len(row.declared) for row in rows)
        parts.append(f"<h2>{escape(contract.source)} <span class='muted'>{covered}/{declared}</span></h2>")
        parts.append(
            "<table><thead><tr><th>Operation</th><th>Request</th><th>Statuses</th></tr></thead><tbody>"
        )
        parts.extend(_row(row) for row in rows)
        parts.append("</tbody></table>")
    if matrix.skipped:
        parts.append("<h2>Skipped inputs</h2><ul>")
        parts.extend(f"<li><code>{escape(item)}</code></li>" for item in matrix.skipped)
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _row(row: Row) -> str:
    chips = []
    for status in [*row.declared, *row.undeclared]:
        counts = row.counts.get(status, {})
        kind = "undeclared" if status not in row.declared else "covered" if row.covered(status) else "missing"
        seen = [source for source in Source if counts.get(source)]
        letters = "".join(_LETTERS[source.value] for source in seen)
        title = ", ".join(f"{source.value}: {counts[source]}" for source in seen) or "not seen"
        small = f"<small>{letters}</small>" if letters else ""
        chips.append(f'<span class="chip {kind}" title="{escape(title)}">{escape(status)}{small}</span>')
    operation = row.operation
    return (
        f"<tr><td><code>{escape(operation.name)}</code></td>"
        f'<td><span class="method">{escape(operation.method)}</span> '
        f"<code>{escape(operation.path)}</code></td>"
        f"<td>{''.join(chips)}</td></tr>"
    )
