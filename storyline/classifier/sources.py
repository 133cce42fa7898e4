"""Where pages come from in a batch: files, folders, standard input and JSONL files of page records.

Every input yields exactly one ``PageInput`` per page it holds, carrying either the page's content or
the one-line reason it could not be read, so a batch never drops a page silently.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storyline.classifier.reading import PAGE_SUFFIXES, ReadError, decode_page, gunzip, read_bytes

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class PageInput:
    """One page to predict: its source name and its text, or the error that stopped reading it."""

    source: str
    content: str | None = None
    kind: str | None = None
    error: str | None = None


def _bare_name(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def is_jsonl(path: Path) -> bool:
    return _bare_name(path).endswith(JSONL_SUFFIXES)


def _jsonl_records(lines: Iterable[bytes], origin: str, kind: str | None) -> Iterator[PageInput]:
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{origin}:{number}"
        try:
            record = json.loads(raw)
        except ValueError as error:
            yield PageInput(where, error=f"line {number} of {origin} is not JSON ({error})")
            continue
        if not isinstance(record, dict):
            yield PageInput(where, error=f"line {number} of {origin} is not a JSON object")
            continue
        source = str(record["id"]) if record.get("id") is not None else where
        html, text = record.get("html"), record.get("text")
        if isinstance(html, str):
            yield PageInput(source, html, kind or "html")
        elif isinstance(text, str):
            yield PageInput(source, text, kind or "text")
        else:
            yield PageInput(source, error="record has no 'html' or 'text' string")


def _looks_like_jsonl(data: bytes) -> bool:
    head = data.lstrip()[:1]
    if head != b"{":
        return False
    first = data.lstrip().split(b"\n", 1)[0]
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and ("html" in record or "text" in record)


def _file_inputs(path: Path, shown: str, kind: str | None, max_bytes: int | None) -> Iterator[PageInput]:
    if is_jsonl(path):
        try:
            data = read_bytes(path)
        except ReadError as error:
            yield PageInput(shown, error=str(error))
            return
        yield from _jsonl_records(data.splitlines(), shown, kind)
        return
    try:
        data = read_bytes(path, max_bytes)
        yield PageInput(shown, decode_page(data, shown), kind)
    except ReadError as error:
        yield PageInput(shown, error=str(error))


def _stdin_inputs(kind: str | None, max_bytes: int | None) -> Iterator[PageInput]:
    data = sys.stdin.buffer.read()
    try:
        if data[:2] == b"\x1f\x8b":
            data = gunzip(data, max_bytes)
        if _looks_like_jsonl(data):
            yield from _jsonl_records(data.splitlines(), "-", kind)
            return
        if max_bytes is not None and len(data) > max_bytes:
            raise ReadError(f"-: larger than {max_bytes} bytes")
        yield PageInput("-", decode_page(data, "-"), kind)
    except ReadError as error:
        yield PageInput("-", error=str(error))


def _is_page_file(path: Path) -> bool:
    name = _bare_name(path)
    return name.endswith(PAGE_SUFFIXES) or name.endswith(JSONL_SUFFIXES)


def iter_inputs(inputs: Iterable[str], kind: str | None = None, max_bytes: int | None = None) -> Iterator[PageInput]:
    """Every page of the given inputs, in order: folders are walked recursively in sorted order."""
    for item in inputs:
        if item == "-":
            yield from _stdin_inputs(kind, max_bytes)
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_page_file(p))
            for child in found:
                yield from _file_inputs(child, str(child), kind, max_bytes)
        elif path.exists():
            yield from _file_inputs(path, item, kind, max_bytes)
        else:
            yield PageInput(item, error=f"{item}: no such file or folder")
