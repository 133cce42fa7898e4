"""The two types every stage passes along: a ``Page`` is a sequence of ``Line`` s.

A line keeps only what the features need: its text, how much of it sits inside links, the block it
came from and that block's ancestry, and the paragraph it belongs to (a hard-wrapped paragraph of a text
page spans several lines, and those lines are judged together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Characters a browser never draws: the soft hyphen (shown only where it breaks a word at a line's end),
#: the zero-width space, the word joiner and the byte-order mark. German and Finnish sites put a soft
#: hyphen between every syllable ("Mit\xadtel\xadal\xadter"), which a reader never sees: kept, they split
#: a word's tokens and hide a quoted phrase from a search of the text. Zero-width (non-)joiners are kept:
#: they change how Persian, Indic scripts and emoji are drawn.
_INVISIBLE = re.compile("[\xad\u200b\u2060\ufeff]")


def visible_text(raw: str) -> str:
    """``raw`` as a reader sees it: without invisible characters, whitespace runs as one space, stripped."""
    return " ".join(_INVISIBLE.sub("", raw).split())


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a page: the unit that is classified as story or chrome."""

    text: str
    link_chars: int = 0
    """Non-space characters of ``text`` that sit inside links (or are URLs / markdown links)."""
    tag: str = ""
    """Block tag the line came from (``p``, ``h2``, ``li``, ``td``, ``div``...); empty for plain text."""
    ancestors: tuple[str, ...] = ()
    """Tags of the block's ancestors, outermost first (``html`` and ``body`` left out)."""
    markers: frozenset[str] = frozenset()
    """Lower-cased tokens of the ``class`` and ``id`` attributes of the block and its ancestors."""
    paragraph: int = 0
    """Index of the paragraph the line belongs to: lines of one paragraph share it."""
    blocks: tuple[int, ...] = ()
    """Page-unique ids of the containers of the line, outermost first (HTML: its block elements; plain
    text: the page, its section, its paragraph): lines that share a container share its id, so features
    can weigh whole containers."""


@dataclass(slots=True)
class Page:
    """A page split into lines, with where it came from and what kind of document it was."""

    lines: list[Line]
    kind: str = "html"
    """``html`` or ``text``: which segmenter made the lines (and which model head judges them)."""
    source: str = ""
    title: str = ""
    """The HTML ``<title>`` (empty for text pages): headlines echo it."""
    meta: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]
