"""Plain text to lines: each physical line is a line, blank lines separate paragraphs.

A paragraph hard-wrapped over several lines keeps one paragraph index, so the features can judge its
lines together. Link characters are those of URLs and markdown links, the only links plain text has.
"""

from __future__ import annotations

import re

from storyline.classifier.page import Line, Page

_WS = re.compile(r"\s+")
_LINKS = re.compile(r"\[([^\]\n]{1,500})\]\([^)\s]{1,2000}\)|(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)


def link_chars(text: str) -> int:
    """Non-space characters of ``text`` inside URLs or markdown links."""
    total = 0
    for match in _LINKS.finditer(text):
        span = match.group(1) if match.group(1) is not None else match.group(0)
        total += len(span) - span.count(" ")
    return total


def text_lines(text: str) -> list[Line]:
    """Split plain text into lines, numbering paragraphs across blank lines."""
    lines: list[Line] = []
    paragraph = 0
    for raw in text.splitlines():
        clean = _WS.sub(" ", raw).strip()
        if not clean:
            if lines and lines[-1].paragraph == paragraph:
                paragraph += 1
            continue
        links = link_chars(clean) if ("/" in clean or "](" in clean or "www." in clean) else 0
        lines.append(Line(clean, links, "", (), frozenset(), paragraph))
    return lines


def text_page(text: str, source: str = "") -> Page:
    """Segment a plain-text document into a ``Page``."""
    return Page(lines=text_lines(text), kind="text", source=source)
