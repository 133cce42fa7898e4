"""Where pages come from in a batch: files, folders, globs, lists of paths, JSONL files of page records,
WARC archives and standard input.

Every input yields exactly one ``PageInput`` per page it holds, carrying the page (or the file to read it
from) or the one-line reason it could not be read, so a batch never drops a page silently.

Everything streams. A folder is walked lazily, a JSONL or WARC file is read record by record, and a page
file is only *named* here (``PageInput.path``): the process that predicts it reads and decodes it, so
that reading runs in parallel and the main process holds only the pages in flight. Likewise, with
``defer`` (the command line's batches), a JSONL record is only delimited here (its offset in the file, or
its line if the file is compressed or piped) and parsed by the process that predicts it (``resolve``).
Inputs are expanded in two steps, ``iter_units`` (paths, cheap: what a Dask client sends to its
workers) and ``expand_unit`` (the pages of a JSONL or WARC container, read where the unit is processed).
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from storyline.classifier.page import Page
from storyline.classifier.reading import GZIP_MAGIC, PAGE_SUFFIXES, ReadError, decode_page, read_bytes

JSONL_SUFFIXES = (".jsonl", ".ndjson")
WARC_SUFFIXES = (".warc",)
_GLOB_CHARS = re.compile(r"[*?[]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest JSONL line read, as a multiple of ``max_bytes``: JSON escaping grows text at most 6 times.
_JSON_GROWTH = 6


@dataclass(frozen=True, slots=True)
class PageInput:
    """One page to predict: its source name and its content (or a file to read it from), or an error."""

    source: str
    content: str | bytes | Page | None = None
    kind: str | None = None
    error: str | None = None
    path: str | None = None
    """A page file to read where the page is predicted (``content`` is then None)."""
    name: str | None = None
    """Relative path of this page's output under ``--output-dir`` (without the ``.txt``)."""
    url: str | None = None
    """The page's URL where the input gives one (WARC-Target-URI, a JSONL record's ``url``)."""
    charset: str | None = None
    """The charset the HTTP response declared (WARC), tried before the page's own declaration."""
    record: bytes | tuple[int, int] | None = None
    """A JSONL record read but not parsed yet (``defer``): its line, or its ``(offset, size)`` in the
    file ``path``. ``source`` is then its ``FILE:LINE`` and ``name`` its container's; ``resolve`` parses it."""


@dataclass(frozen=True, slots=True)
class Container:
    """A JSONL or WARC file, whose pages are read by whichever process handles it."""

    path: str
    shown: str
    name: str
    format: str  # "jsonl" or "warc"
    kind: str | None = None


Unit = PageInput | Container


def _bare_name(path: Path | str) -> str:
    name = os.path.basename(str(path)).lower()
    return name[:-3] if name.endswith(".gz") else name


def is_jsonl(path: Path | str) -> bool:
    return _bare_name(path).endswith(JSONL_SUFFIXES)


def is_warc(path: Path | str) -> bool:
    return _bare_name(path).endswith(WARC_SUFFIXES)


def is_container(path: Path | str) -> bool:
    """Whether a path holds many pages (JSONL or WARC) rather than being one page."""
    return is_jsonl(path) or is_warc(path)


def _is_batch_file(path: Path | str) -> bool:
    name = _bare_name(path)
    return name.endswith(PAGE_SUFFIXES) or name.endswith(JSONL_SUFFIXES) or name.endswith(WARC_SUFFIXES)


def is_glob(item: str) -> bool:
    return bool(_GLOB_CHARS.search(item))


def safe_name(text: str, limit: int = 150) -> str:
    """A file-name-safe rendering of a source id (a record id, a WARC-Record-ID, a URL)."""
    name = _UNSAFE.sub("_", text).strip("._") or "page"
    return name[:limit]


def relative_name(path: str) -> str:
    """Where a path as given lands under an output folder: relative, no ``..``, no ``.`` parts."""
    parts = [("__" if part == ".." else part) for part in PurePosixPath(path.replace(os.sep, "/")).parts]
    parts = [part for part in parts if part not in ("/", ".", "")]
    return "/".join(parts) or "page"


# --- expanding command-line items into units -----------------------------------------------------------


def _walk(root: Path) -> Iterator[Path]:
    """Batch files under ``root``, depth first in sorted name order; hidden entries are skipped."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        elif entry.is_file() and _is_batch_file(entry.name):
            yield path


def _sniff_warc(path: Path) -> bool:
    """Whether a file of unknown suffix is a WARC archive (plain or gzip-compressed)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
            if head[:2] == GZIP_MAGIC:
                stream.seek(0)
                with gzip.GzipFile(fileobj=stream) as inflated:
                    head = inflated.read(8)
    except (OSError, EOFError, zlib.error):
        return False
    return head.startswith(b"WARC/")


def _file_unit(path: Path, shown: str, name: str, kind: str | None, explicit: bool) -> Unit:
    if is_jsonl(path):
        return Container(str(path), shown, name, "jsonl", kind)
    if is_warc(path) or (explicit and not _is_batch_file(path) and _sniff_warc(path)):
        return Container(str(path), shown, name, "warc", kind)
    return PageInput(shown, kind=kind, path=str(path), name=name)


def _item_units(item: str, kind: str | None) -> Iterator[Unit]:
    path = Path(item)
    if path.is_dir():
        for child in _walk(path):
            yield _file_unit(child, str(child), child.relative_to(path).as_posix(), kind, explicit=False)
    elif path.exists():
        yield _file_unit(path, item, relative_name(item) if not path.is_absolute() else path.name, kind, True)
    elif is_glob(item):
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            yield PageInput(item, error=f"{item}: no file matches", name=safe_name(item))
        for match in matches:
            yield from _item_units(match, kind)
    else:
        yield PageInput(item, error=f"{item}: no such file or folder", name=relative_name(item))


def read_input_list(path: str) -> Iterator[str]:
    """The paths of an ``--input-list`` file (``-`` = standard input), one a line; blank lines skipped."""
    stream: IO[str]
    if path == "-":
        stream = sys.stdin
    else:
        try:
            stream = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        except OSError as error:
            raise ReadError(f"{path}: {error.strerror or error}") from None
    try:
        for line in stream:
            item = line.rstrip("\r\n")
            if item.strip():
                yield item
    finally:
        if stream is not sys.stdin:
            stream.close()


def iter_units(
    inputs: Iterable[str],
    kind: str | None = None,
    max_bytes: int | None = None,
    input_lists: Iterable[str] = (),
    defer: bool = False,
) -> Iterator[Unit]:
    """The units of the given inputs, in order: the items given, then those of each input list.

    Folders are walked recursively in sorted order; a glob (quoted, so the shell left it alone) is
    expanded in sorted order; ``-`` is standard input, which is read here (it cannot be read twice).
    """
    for item in _all_items(inputs, input_lists):
        if item == "-":
            yield from stdin_inputs(kind, max_bytes, defer=defer)
        else:
            yield from _item_units(item, kind)


def _all_items(inputs: Iterable[str], input_lists: Iterable[str]) -> Iterator[str]:
    yield from inputs
    for listing in input_lists:
        yield from read_input_list(listing)


def iter_inputs(
    inputs: Iterable[str],
    kind: str | None = None,
    max_bytes: int | None = None,
    input_lists: Iterable[str] = (),
    defer: bool = False,
) -> Iterator[PageInput]:
    """Every page of the given inputs, in order (see ``iter_units``), containers read record by record.

    With ``defer``, JSONL records are only delimited here and parsed where they are predicted (see
    ``PageInput.record`` and ``resolve``): a batch's main process then hands out offsets, not pages.
    """
    for unit in iter_units(inputs, kind, max_bytes, input_lists, defer):
        yield from expand_unit(unit, max_bytes, defer)


def expand_unit(unit: Unit, max_bytes: int | None = None, defer: bool = False) -> Iterator[PageInput]:
    """The pages of a unit: itself for a page, or the records of a JSONL or WARC container."""
    if isinstance(unit, PageInput):
        yield unit
    elif unit.format == "jsonl":
        yield from _jsonl_file(unit, max_bytes, defer)
    else:
        from storyline.classifier.warc import warc_inputs

        yield from warc_inputs(unit.path, unit.shown, unit.name, unit.kind, max_bytes)


# --- JSONL records -------------------------------------------------------------------------------------


def record_input(record: object, where: str, container: str, kind: str | None) -> PageInput:
    """The page of one JSONL record ``{"id", "html"}`` or ``{"id", "text"}`` (``url`` is kept)."""
    if not isinstance(record, dict):
        return PageInput(where, error=f"{where}: not a JSON object", name=f"{container}/{safe_name(where)}")
    source = str(record["id"]) if record.get("id") is not None else where
    name = f"{container}/{safe_name(source)}"
    url = record.get("url") if isinstance(record.get("url"), str) else None
    html, text = record.get("html"), record.get("text")
    if isinstance(html, str):
        return PageInput(source, html, kind or "html", name=name, url=url)
    if isinstance(text, str):
        return PageInput(source, text, kind or "text", name=name, url=url)
    return PageInput(source, error="record has no 'html' or 'text' string", name=name, url=url)


def _bounded_lines(stream: IO[bytes], limit: int | None) -> Iterator[bytes | None]:
    """Lines of a binary stream; a line longer than ``limit`` is skipped and yields None instead."""
    if limit is None:
        yield from stream
        return
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
            yield None
        else:
            yield line


def _line_limit(max_bytes: int | None) -> int | None:
    return None if max_bytes is None else _JSON_GROWTH * max_bytes + 65536


def _oversized(where: str, number: int, origin: str, container: str, max_bytes: int | None) -> PageInput:
    message = f"line {number} of {origin} is larger than {max_bytes} bytes"
    return PageInput(where, error=message, name=f"{container}/{safe_name(where)}")


def _parse_record(raw: bytes, where: str, number: int, origin: str, container: str, kind: str | None) -> PageInput:
    """The page of one JSONL line (a blank line excluded): its record's, or an error if it is not JSON."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError) as error:
        return PageInput(
            where,
            error=f"line {number} of {origin} is not JSON ({error})",
            name=f"{container}/{safe_name(where)}",
        )
    return record_input(record, where, container, kind)


def jsonl_records(
    stream: IO[bytes],
    origin: str,
    container: str,
    kind: str | None,
    max_bytes: int | None,
    defer: bool = False,
) -> Iterator[PageInput]:
    """The pages of a JSONL stream, one per non-blank line; a broken line is an error record.

    With ``defer`` a line is yielded unparsed (``PageInput.record``), for ``resolve`` to parse later.
    """
    limit = _line_limit(max_bytes)
    number = 0
    try:
        for number, raw in enumerate(_bounded_lines(stream, limit), 1):
            where = f"{origin}:{number}"
            if raw is None:
                yield _oversized(where, number, origin, container, max_bytes)
            elif not raw.strip():
                continue
            elif defer:
                yield PageInput(where, kind=kind, name=container, record=raw)
            else:
                yield _parse_record(raw, where, number, origin, container, kind)
    except (OSError, EOFError, zlib.error) as error:
        yield PageInput(origin, error=f"{origin}: unreadable after line {number} ({error})", name=container)


def _open_binary(path: str) -> IO[bytes]:
    stream = open(path, "rb")  # noqa: SIM115
    if stream.read(2) == GZIP_MAGIC:
        stream.seek(0)
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    stream.seek(0)
    return stream


def _jsonl_file(unit: Container, max_bytes: int | None, defer: bool = False) -> Iterator[PageInput]:
    try:
        stream = _open_binary(unit.path)
    except OSError as error:
        yield PageInput(unit.shown, error=f"{unit.shown}: {error.strerror or error}", name=unit.name)
        return
    with stream:
        if defer and isinstance(stream, io.BufferedReader) and _regular(stream):
            yield from _spans(stream, unit, max_bytes)
        else:
            yield from jsonl_records(stream, unit.shown, unit.name, unit.kind, max_bytes, defer)


_BLANK = frozenset(b" \t\n\r\x0b\x0c")
#: Bytes read at once when looking for a JSONL file's line ends.
_BLOCK = 1 << 20


def _regular(stream: IO[bytes]) -> bool:
    """Whether a stream is a regular file, which another process can open and read at an offset."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _spans(stream: IO[bytes], unit: Container, max_bytes: int | None) -> Iterator[PageInput]:
    """The records of an uncompressed JSONL file as ``(offset, size)`` spans, numbered and checked as
    ``jsonl_records`` does (blank lines skipped, overlong ones error records), without keeping a line."""
    origin, container, limit = unit.shown, unit.name, _line_limit(max_bytes)
    number = start = base = 0  # start: the offset of the current line; base: that of the block
    blank = True  # the current line holds only whitespace so far

    def span(stop: int, newline: bool) -> PageInput | None:
        where = f"{origin}:{number}"
        if limit is not None and stop - start - newline > limit:
            return _oversized(where, number, origin, container, max_bytes)
        if blank:
            return None
        return PageInput(where, kind=unit.kind, path=unit.path, name=container, record=(start, stop - start))

    try:
        while block := stream.read(_BLOCK):
            at = 0
            while at < len(block):
                end = block.find(b"\n", at)
                stop = len(block) if end < 0 else end + 1
                if blank and (block[at] not in _BLANK or block[at:stop].strip()):
                    blank = False
                if end < 0:
                    break  # the line goes on in the next block
                number += 1
                item = span(base + stop, True)
                if item is not None:
                    yield item
                start, blank, at = base + stop, True, stop
            base += len(block)
        if start < base:  # a last line without a newline
            number += 1
            item = span(base, False)
            if item is not None:
                yield item
    except OSError as error:
        yield PageInput(origin, error=f"{origin}: unreadable after line {number} ({error})", name=container)


def resolve(item: PageInput) -> PageInput:
    """The page of a deferred JSONL record (``PageInput.record``), read and parsed here; else ``item``."""
    if item.record is None:
        return item
    where, container = item.source, item.name or ""
    origin, _, line = where.rpartition(":")
    number = int(line)
    raw = item.record
    if not isinstance(raw, bytes):
        offset, size = raw
        try:
            with open(item.path or "", "rb") as stream:
                stream.seek(offset)
                raw = stream.read(size)
        except OSError as error:
            raw = b""
            problem = f"{error.strerror or error}"
        else:
            problem = "the file changed while it was read"
        if len(raw) != size:
            message = f"line {number} of {origin} is unreadable ({problem})"
            return PageInput(where, error=message, name=f"{container}/{safe_name(where)}")
    return _parse_record(raw, where, number, origin, container, item.kind)


# --- standard input ------------------------------------------------------------------------------------


class _Prefixed(io.RawIOBase):
    """A stream that gives back bytes already read from it, then the rest: sniffing without seeking."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(view), len(self._head))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _looks_like_jsonl(head: bytes) -> bool:
    """Whether a stream's first bytes are a JSONL record of a page (an HTML or text page never is)."""
    stripped = head.lstrip()
    if stripped[:1] != b"{":
        return False
    first, newline, _ = stripped.partition(b"\n")
    if newline:
        try:
            record = json.loads(first)
        except ValueError:
            return False
        return isinstance(record, dict) and ("html" in record or "text" in record)
    return bool(re.search(rb'"(html|text)"\s*:', first))


def stdin_inputs(
    kind: str | None = None, max_bytes: int | None = None, stream: IO[bytes] | None = None, defer: bool = False
) -> Iterator[PageInput]:
    """The pages on standard input: one page, a JSONL stream of records, or a WARC archive (any gzipped)."""
    source: IO[bytes] = stream if stream is not None else sys.stdin.buffer
    head = source.read(65536)
    if head[:2] == GZIP_MAGIC:
        inflated = gzip.GzipFile(fileobj=io.BufferedReader(_Prefixed(head, source)))
        try:
            head = inflated.read(65536)
        except (OSError, EOFError, zlib.error) as error:
            yield PageInput("-", error=f"-: corrupt gzip data ({error})", name="stdin")
            return
        source = inflated  # type: ignore[assignment]
    whole: IO[bytes] = io.BufferedReader(_Prefixed(head, source))
    if head.startswith(b"WARC/"):
        from storyline.classifier.warc import warc_inputs

        yield from warc_inputs(whole, "-", "stdin", kind, max_bytes)
    elif _looks_like_jsonl(head):
        yield from jsonl_records(whole, "-", "stdin", kind, max_bytes, defer)
    else:
        try:
            data = whole.read() if max_bytes is None else whole.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as error:
            yield PageInput("-", error=f"-: unreadable ({error})", name="stdin")
            return
        if max_bytes is not None and len(data) > max_bytes:
            yield PageInput("-", error=f"-: larger than {max_bytes} bytes", name="stdin")
        else:
            yield PageInput("-", data, kind, name="stdin")


# --- reading a page's content (in the process that predicts it) ---------------------------------------


def _fits(content: str | bytes, max_bytes: int | None) -> bool:
    if max_bytes is None:
        return True
    if isinstance(content, bytes):
        return len(content) <= max_bytes
    if len(content) > max_bytes:
        return False
    return len(content) * 4 <= max_bytes or len(content.encode("utf-8", "surrogatepass")) <= max_bytes


def _decode_with_charset(data: bytes, charset: str, source: str) -> str:
    """Decode with the charset HTTP declared (as browsers do before the page's own), else as usual."""
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_page(data, source)


def load_content(item: PageInput, max_bytes: int | None = None) -> str | Page:
    """The text of a page input: read from its file or taken from its content, within ``max_bytes``.

    Raises ``ReadError`` (one line) for an unreadable, binary or oversized page.
    """
    if item.content is None:
        if item.path is None:
            raise ReadError(f"{item.source}: no content")
        data = read_bytes(item.path, max_bytes)
        return decode_page(data, item.source)
    if isinstance(item.content, Page):
        return item.content
    if not _fits(item.content, max_bytes):
        raise ReadError(f"{item.source}: larger than {max_bytes} bytes")
    if isinstance(item.content, str):
        return item.content
    if item.charset:
        return _decode_with_charset(item.content, item.charset, item.source)
    return decode_page(item.content, item.source)
