"""JUnit XML, the report format every CI system reads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

# Characters XML 1.0 forbids even as character references.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class JunitCase:
    classname: str
    name: str
    failures: list[tuple[str, str]] = field(default_factory=list)  # (message, details)
    error: str | None = None


def write_junit(path: str | Path, suite: str, cases: Sequence[JunitCase]) -> None:
    """One <testsuite> with a <testcase> per case; a failing case holds one <failure> per problem."""
    root = ElementTree.Element(
        "testsuites",
        tests=str(len(cases)),
        failures=str(sum(1 for case in cases if case.failures)),
        errors=str(sum(1 for case in cases if case.error)),
    )
    element = ElementTree.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(1 for case in cases if case.failures)),
        errors=str(sum(1 for case in cases if case.error)),
    )
    for case in cases:
        node = ElementTree.SubElement(
            element, "testcase", classname=_clean(case.classname), name=_clean(case.name)
        )
        for message, details in case.failures:
            failure = ElementTree.SubElement(node, "failure", message=_clean(message))
            failure.text = _clean(details)
        if case.error:
            ElementTree.SubElement(node, "error", message=_clean(case.error)).text = _clean(case.error)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.indent(root)
    path.write_bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))


def _clean(text: str) -> str:
    return _ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)
