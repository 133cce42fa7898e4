"""Labelled pages for training and evaluation: the shared ``pages.jsonl.gz`` sets or folders of pages.

A folder holds pages (``.html``/``.htm``/``.txt``, optionally ``.gz``) each with its gold text beside it
as ``NAME.gold.txt`` (or, for HTML pages, ``NAME.txt``).
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from storyline.training.labelfile import LabelFileError, LabelledLines, is_label_file, read_labels

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset path that cannot be read as labelled pages."""


@dataclass
class LabelledPage:
    """One page with its gold: the unit of training and evaluation."""

    id: str
    dataset: str
    content: str
    kind: str  # "html" or "text"
    gold: str | None  # None where the set has only snippets
    group: str  # site or domain: cross-validation never splits a group
    page_type: str | None = None
    split: str | None = None
    with_snippets: list[str] = field(default_factory=list)
    without_snippets: list[str] = field(default_factory=list)
    lines: LabelledLines | None = None
    """A page from a labelled-lines file: already segmented, each line marked by a person."""


def _site(record: dict) -> str:
    for key in ("domain", "site"):
        if record.get(key):
            return str(record[key]).lower()
    url = record.get("url")
    if url:
        host = urlsplit(str(url)).hostname or ""
        if host:
            return host.lower().removeprefix("www.")
    return str(record.get("id", ""))


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def dataset_name(path: Path) -> str:
    """A set's display name: the folder that holds ``pages.jsonl.gz``, or the folder itself."""
    path = Path(path)
    if path.is_file():
        return path.parent.name or path.stem
    return path.name


def read_jsonl_pages(path: Path, name: str | None = None) -> Iterator[LabelledPage]:
    """Pages of a shared-data ``pages.jsonl(.gz)`` file."""
    name = name or dataset_name(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as stream:  # type: ignore[operator]
            for number, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as error:
                    raise DatasetError(f"{path}:{number}: not a JSON record ({error.msg})") from None
                html, text = record.get("html"), record.get("text")
                if not isinstance(html, str) and not isinstance(text, str):
                    raise DatasetError(f"{path}:{number}: record has neither 'html' nor 'text'")
                gold = record.get("gold")
                yield LabelledPage(
                    id=str(record.get("id", number)),
                    dataset=name,
                    content=html if isinstance(html, str) else text,
                    kind="html" if isinstance(html, str) else "text",
                    gold=gold if isinstance(gold, str) else None,
                    group=_site(record),
                    page_type=record.get("page_type"),
                    split=record.get("split"),
                    with_snippets=_as_list(record.get("with")),
                    without_snippets=_as_list(record.get("without")),
                )
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read ({error})") from None


_PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt")


def _strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def read_folder_pages(folder: Path) -> Iterator[LabelledPage]:
    """Pages of a folder with a gold text beside each page (``NAME.gold.txt`` or, for HTML, ``NAME.txt``)."""
    from storyline.classifier.reading import decode, read_bytes, sniff_kind

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    names = {str(p) for p in files}
    for path in files:
        base = _strip_gz(path.name)
        if base.endswith(".gold.txt") or not base.endswith(_PAGE_SUFFIXES):
            continue
        stem = base.rsplit(".", 1)[0]
        gold_path = path.with_name(stem + ".gold.txt")
        if str(gold_path) not in names and not base.endswith(".txt"):
            gold_path = path.with_name(stem + ".txt")
        if str(gold_path) not in names:
            if base.endswith(".txt") and any(
                str(path.with_name(stem + s)) in names or str(path.with_name(stem + s + ".gz")) in names
                for s in (".html", ".htm", ".xhtml")
            ):
                continue  # this .txt is the gold of an HTML page
            log.warning("%s: no gold text beside it, skipped", path)
            continue
        content = decode(read_bytes(path))
        gold = decode(read_bytes(gold_path))
        rel = path.relative_to(folder)
        yield LabelledPage(
            id=str(rel),
            dataset=folder.name,
            content=content,
            kind=sniff_kind(content, path.name),
            gold=gold,
            group=str(rel.parent) if str(rel.parent) != "." else str(rel),
        )


def labelled_lines_pages(files: list[Path], name: str, root: Path | None = None) -> Iterator[LabelledPage]:
    """Pages of labelled-lines files (``storyline label`` output, corrected by a person)."""
    for path in files:
        try:
            items = read_labels(path)
        except LabelFileError as error:
            raise DatasetError(str(error)) from None
        where = path.relative_to(root) if root else path
        for number, item in enumerate(items):
            unsure = "?" in item.marks
            source = item.page.source or f"{where}#{number}"
            yield LabelledPage(
                id=source,
                dataset=name,
                content="",
                kind=item.page.kind,
                gold=None if unsure else item.gold,
                group=str(where.parent) if str(where.parent) != "." else source,
                lines=item,
            )


def read_pages(path: str | Path) -> Iterator[LabelledPage]:
    """Labelled pages from a ``pages.jsonl.gz`` file, a folder holding one, a folder of pages + golds,
    or labelled-lines files (a file, or a folder of them)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if is_label_file(path):
        return labelled_lines_pages([path], path.parent.name or path.name)
    if path.is_dir():
        inner = path / "pages.jsonl.gz"
        if inner.is_file():
            return read_jsonl_pages(inner, path.name)
        label_files = sorted(p for p in path.rglob("*") if p.is_file() and is_label_file(p))
        if label_files:
            return labelled_lines_pages(label_files, path.name, path)
        return read_folder_pages(path)
    if _strip_gz(path.name).endswith(".jsonl"):
        return read_jsonl_pages(path)
    raise DatasetError(f"{path}: expected a pages.jsonl(.gz) file or a folder of pages with gold texts")
