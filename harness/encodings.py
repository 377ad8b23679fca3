"""Content codings (gzip, deflate, br, zstd): which ones a stored body really carries, and undoing them.

Recorders disagree about what they store. vcrpy with requests stores the *decoded* body but keeps
`Content-Encoding: gzip`; with http.client or httpx it stores the bytes as they came. The header is
therefore no witness; the body is: a coding is applied when the body decodes with it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Sequence

IDENTITY = "identity"
# What we can undo; zstd only when the optional `zstandard` package is installed.
DECODABLE = ("gzip", "x-gzip", "deflate", "br", "zstd")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class UndecodableBody(ValueError):
    """The body does not carry the coding tried (or the codec is not installed)."""


def parse_codings(values: Iterable[str]) -> list[str]:
    """`Content-Encoding` values -> codings in the order they were applied, lower-cased.

    >>> parse_codings(["gzip, br"])
    ['gzip', 'br']
    """
    codings = []
    for value in values:
        for item in value.split(","):
            coding = item.strip().lower()
            if coding and coding != IDENTITY:
                codings.append(coding)
    return codings


def decode(body: bytes, coding: str) -> bytes:
    """Undo one content coding.

    Raises:
        UndecodableBody: `body` is not encoded with `coding`, or the codec is missing.
    """
    coding = coding.lower()
    try:
        if coding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if coding == "deflate":
            return _inflate(body)
        if coding == "br":
            import brotli

            result: bytes = brotli.decompress(body)
            return result
        if coding == "zstd":
            return _unzstd(body)
    except UndecodableBody:
        raise
    except Exception as exc:  # gzip.BadGzipFile, zlib.error, brotli.error, EOFError...
        raise UndecodableBody(f"not {coding}-encoded: {exc}") from None
    raise UndecodableBody(f"unknown content coding {coding!r}")


def _inflate(body: bytes) -> bytes:
    # "deflate" is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw deflate.
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body) + inflater.flush()
        except zlib.error:
            continue
        if inflater.eof and not inflater.unused_data:  # the whole body, not a lucky prefix
            return data
    raise UndecodableBody("not deflate-encoded")


def _unzstd(body: bytes) -> bytes:
    if not body.startswith(_ZSTD_MAGIC):
        raise UndecodableBody("not zstd-encoded (no zstd frame header)")
    try:
        import zstandard
    except ImportError:
        raise UndecodableBody("zstd body, but the `zstandard` package is not installed") from None
    result: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return result


def carries(body: bytes, coding: str) -> bool:
    """Whether `body` is encoded with `coding`. zstd is recognised by its frame header even when
    it cannot be decoded here."""
    if coding.lower() == "zstd" and body.startswith(_ZSTD_MAGIC):
        return True
    if coding.lower() == "br" and len(body) < 2:
        # Brotli has no magic number, and "3", "5", ";"... are each a whole (empty) brotli stream:
        # a one-byte body stored decoded must not pass for an encoded one.
        return False
    try:
        decode(body, coding)
    except UndecodableBody:
        return False
    return True


def applied_codings(declared: Sequence[str], body: bytes) -> list[str]:
    """The codings among `declared` (in applied order) that `body` actually carries.

    Codings are peeled from the outermost (last) one; the first that does not decode ends the
    search, and what was peeled so far is what the body carries. An empty body carries none.
    """
    applied: list[str] = []
    current = body
    for coding in reversed(declared):
        if not current or not carries(current, coding):
            break
        applied.insert(0, coding)
        try:
            current = decode(current, coding)
        except UndecodableBody:  # zstd recognised but not decodable: cannot look further in
            break
    return applied


def acceptable(accept_encoding: str | None, coding: str) -> bool:
    """Whether a client sending `Accept-Encoding: accept_encoding` can read `coding`.

    A missing header is read as identity only, as servers in practice do (curl without
    `--compressed` sends none and cannot read gzip), although RFC 9110 §12.5.3 allows any coding.
    """
    if not accept_encoding:
        return False
    coding = coding.lower()
    aliases = {coding, "gzip" if coding == "x-gzip" else coding, "x-gzip" if coding == "gzip" else coding}
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        quality = _quality(params)
        if name in aliases:
            return quality > 0
        if name == "*":
            wildcard = quality
    return wildcard is not None and wildcard > 0


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
