"""Plain text to lines: each physical line is a line, blank lines separate paragraphs.

A paragraph hard-wrapped over several lines keeps one paragraph index, so the features can judge its
lines together. Link characters are those of URLs and markdown links, the only links plain text has.
Plain text's containers are its paragraphs inside sections, a section running from one heading-like
line to the next: what HTML's block elements give the container features.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storyline.classifier.page import Line, Page, visible_text

_LINKS = re.compile(r"\[([^\]\n]{1,500})\]\([^)\s]{1,2000}\)|(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)


def link_chars(text: str) -> int:
    """Non-space characters of ``text`` inside URLs or markdown links."""
    total = 0
    for match in _LINKS.finditer(text):
        span = match.group(1) if match.group(1) is not None else match.group(0)
        total += len(span) - span.count(" ")
    return total


# A line ending a sentence or clause (closing quotes and brackets aside) is not a heading.
_SENTENCE_TAIL = re.compile(r"[.!?:;,。！？；，][\"'”’»)\]]*$")
HEADING_MAX_CHARS = 80


def text_blocks(texts: Sequence[str], paragraphs: Sequence[int]) -> list[tuple[int, int, int]]:
    """Each line's containers, outermost first: the page (0), its section, its paragraph.

    A section starts at every heading-like line: one alone in its paragraph, at most
    ``HEADING_MAX_CHARS`` long, not ending a sentence. Ids are unique in the page: sections count from 1,
    paragraphs after the last section.
    """
    n = len(texts)
    sections: list[int] = []
    section = 1
    for i, text in enumerate(texts):
        alone = (i == 0 or paragraphs[i - 1] != paragraphs[i]) and (i + 1 == n or paragraphs[i + 1] != paragraphs[i])
        if i and alone and len(text) <= HEADING_MAX_CHARS and not _SENTENCE_TAIL.search(text):
            section += 1
        sections.append(section)
    base = section + 1 - min(paragraphs, default=0)
    return [(0, s, base + p) for s, p in zip(sections, paragraphs, strict=True)]


def line_blocks(lines: Sequence[Line]) -> list[tuple[int, ...]]:
    """The containers of a text page's lines: their own, or (lines made elsewhere, e.g. a labelled-lines
    file that left them out) those ``text_blocks`` gives."""
    if all(line.blocks for line in lines):
        return [line.blocks for line in lines]
    return list(text_blocks([line.text for line in lines], [line.paragraph for line in lines]))


def text_lines(text: str) -> list[Line]:
    """Split plain text into lines, numbering paragraphs across blank lines."""
    rows: list[tuple[str, int, int]] = []
    paragraph = 0
    for raw in text.splitlines():
        clean = visible_text(raw)
        if not clean:
            if rows and rows[-1][2] == paragraph:
                paragraph += 1
            continue
        links = link_chars(clean) if ("/" in clean or "](" in clean or "www." in clean) else 0
        rows.append((clean, links, paragraph))
    blocks = text_blocks([r[0] for r in rows], [r[2] for r in rows])
    return [Line(t, k, "", (), frozenset(), p, b) for (t, k, p), b in zip(rows, blocks, strict=True)]


def text_page(text: str, source: str = "") -> Page:
    """Segment a plain-text document into a ``Page``."""
    return Page(lines=text_lines(text), kind="text", source=source)
