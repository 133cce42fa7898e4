"""Labelled-lines files: pages as lines with a story/chrome mark each, for people to correct and models to learn.

The text form is meant for any editor. A file holds one or more pages; each starts with a header line
``== {"source": ..., "kind": ..., "title": ...}`` (JSON), followed by one line per page line, fields
separated by tabs:

    mark  p_story  link_chars  paragraph  blocks  tag  ancestors  markers  text

- ``mark``: ``S`` story, ``C`` chrome, ``?`` unsure (left out of training and evaluation). This is the
  column a person edits.
- ``p_story``: the probability the labelling model gave (``-`` if none): a guide, never read as a label.
- ``link_chars``, ``paragraph``, ``blocks`` (block ids joined by ``.``), ``tag``, ``ancestors`` (joined by
  ``/``), ``markers`` (class/id tokens, space-separated): what the features need that the text does not
  carry; ``-`` stands for an empty field.
- ``text``: the line itself.

Lines starting with ``#`` are comments. Reading a file and writing it back gives the same bytes. The JSONL
form (``.labels.jsonl``) holds one page object per line with the same fields, for programs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from storyline.classifier.page import Line, Page

MARKS = {"S": True, "C": False, "?": None}
HEADER = (
    "# storyline labelled lines, format 1. Edit the first column: S = story, C = chrome, ? = unsure (ignored).\n"
    "# columns: mark  p_story  link_chars  paragraph  blocks  tag  ancestors  markers  text\n"
)
TEXT_SUFFIX = ".labels"
JSONL_SUFFIX = ".labels.jsonl"


class LabelFileError(ValueError):
    """A labelled-lines file that cannot be read; the message names the file and line."""


@dataclass
class LabelledLines:
    """A segmented page with a mark per line (``S``, ``C`` or ``?``) and, optionally, model probabilities."""

    page: Page
    marks: list[str]
    probabilities: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.marks) != len(self.page.lines):
            raise ValueError("one mark per line is needed")
        if not self.probabilities:
            self.probabilities = [None] * len(self.marks)

    @property
    def labels(self) -> np.ndarray:
        """Story (True) or chrome (False) per line; unsure lines are False and not ``labelled``."""
        return np.array([MARKS[m] is True for m in self.marks], dtype=bool)

    @property
    def labelled(self) -> np.ndarray:
        return np.array([MARKS[m] is not None for m in self.marks], dtype=bool)

    @property
    def gold(self) -> str:
        """The story text the marks define."""
        return "\n".join(line.text for line, m in zip(self.page.lines, self.marks, strict=True) if m == "S")


def _field(values: Iterable[object], sep: str) -> str:
    text = sep.join(str(v) for v in values)
    return text or "-"


def _split(text: str, sep: str) -> list[str]:
    return [] if text == "-" else text.split(sep)


def format_page(item: LabelledLines) -> str:
    """One page in the text form."""
    head = {"source": item.page.source, "kind": item.page.kind, "title": item.page.title}
    rows = ["== " + json.dumps(head, ensure_ascii=False)]
    for line, mark, p in zip(item.page.lines, item.marks, item.probabilities, strict=True):
        rows.append(
            "\t".join(
                [
                    mark,
                    "-" if p is None else f"{p:.3f}",
                    str(line.link_chars),
                    str(line.paragraph),
                    _field(line.blocks, "."),
                    line.tag or "-",
                    _field(line.ancestors, "/"),
                    _field(sorted(line.markers), " "),
                    line.text,
                ]
            )
        )
    return "\n".join(rows) + "\n"


def write_labels(items: Sequence[LabelledLines], path: str | Path) -> None:
    """Write pages as a labelled-lines file (the JSONL form when the name ends in ``.labels.jsonl``)."""
    path = Path(path)
    if path.name.endswith(JSONL_SUFFIX):
        text = "".join(json.dumps(to_json(item), ensure_ascii=False) + "\n" for item in items)
    else:
        text = HEADER + "".join(format_page(item) for item in items)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def parse_labels(text: str, origin: str = "labels") -> list[LabelledLines]:
    """Pages of a labelled-lines file's text."""
    items: list[LabelledLines] = []
    head: dict[str, str] | None = None
    lines: list[Line] = []
    marks: list[str] = []
    probs: list[float | None] = []

    def close() -> None:
        if head is not None:
            page = Page(
                lines=list(lines),
                kind=head.get("kind", "html"),
                source=head.get("source", ""),
                title=head.get("title", ""),
            )
            items.append(LabelledLines(page, list(marks), list(probs)))

    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{origin}:{number}"
        if not raw or raw.startswith("#"):
            continue
        if raw.startswith("== "):
            close()
            try:
                head = json.loads(raw[3:])
            except ValueError:
                raise LabelFileError(f"{where}: a page header must be '== ' and a JSON object") from None
            if not isinstance(head, dict) or head.get("kind") not in ("html", "text"):
                raise LabelFileError(f"{where}: the page header needs a kind of html or text")
            lines, marks, probs = [], [], []
            continue
        if head is None:
            raise LabelFileError(f"{where}: a line before the first page header ('== {{...}}')")
        parts = raw.split("\t", 8)
        if len(parts) != 9:
            raise LabelFileError(f"{where}: expected 9 tab-separated fields, found {len(parts)}")
        mark, p, link, paragraph, blocks, tag, ancestors, markers, text_ = parts
        if mark not in MARKS:
            raise LabelFileError(f"{where}: the mark must be S, C or ?, not {mark!r}")
        try:
            lines.append(
                Line(
                    text_,
                    int(link),
                    "" if tag == "-" else tag,
                    tuple(_split(ancestors, "/")),
                    frozenset(_split(markers, " ")),
                    int(paragraph),
                    tuple(int(b) for b in _split(blocks, ".")),
                )
            )
            probs.append(None if p == "-" else float(p))
        except ValueError:
            raise LabelFileError(f"{where}: p_story, link_chars, paragraph and blocks must be numbers") from None
        marks.append(mark)
    close()
    return items


def to_json(item: LabelledLines) -> dict[str, object]:
    """The JSONL form of a page."""
    return {
        "source": item.page.source,
        "kind": item.page.kind,
        "title": item.page.title,
        "lines": [
            {
                "mark": mark,
                "p_story": p,
                "text": line.text,
                "link_chars": line.link_chars,
                "paragraph": line.paragraph,
                "blocks": list(line.blocks),
                "tag": line.tag,
                "ancestors": list(line.ancestors),
                "markers": sorted(line.markers),
            }
            for line, mark, p in zip(item.page.lines, item.marks, item.probabilities, strict=True)
        ],
    }


def from_json(record: dict[str, object], where: str = "record") -> LabelledLines:
    try:
        rows = record["lines"]
        assert isinstance(rows, list)
        lines = [
            Line(
                str(r["text"]),
                int(r["link_chars"]),
                str(r["tag"]),
                tuple(r["ancestors"]),
                frozenset(r["markers"]),
                int(r["paragraph"]),
                tuple(int(b) for b in r["blocks"]),
            )
            for r in rows
        ]
        marks = [str(r["mark"]) for r in rows]
        probs = [None if r.get("p_story") is None else float(r["p_story"]) for r in rows]
    except (KeyError, TypeError, ValueError, AssertionError):
        raise LabelFileError(f"{where}: not a labelled page record") from None
    if any(m not in MARKS for m in marks):
        raise LabelFileError(f"{where}: marks must be S, C or ?")
    page = Page(
        lines=lines,
        kind=str(record.get("kind", "html")),
        source=str(record.get("source", "")),
        title=str(record.get("title", "")),
    )
    return LabelledLines(page, marks, probs)


def read_labels(path: str | Path) -> list[LabelledLines]:
    """Pages of a labelled-lines file, text or JSONL form."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabelFileError(f"{path}: cannot read ({error})") from None
    if path.name.endswith(JSONL_SUFFIX):
        items = []
        for number, raw in enumerate(text.splitlines(), 1):
            if raw.strip():
                try:
                    record = json.loads(raw)
                except ValueError:
                    raise LabelFileError(f"{path}:{number}: not JSON") from None
                items.append(from_json(record, f"{path}:{number}"))
        return items
    return parse_labels(text, str(path))


def is_label_file(path: Path) -> bool:
    return path.name.endswith((TEXT_SUFFIX, JSONL_SUFFIX))
