"""Any page input to a ``Page``: bytes or text, HTML or plain, to the right segmenter."""

from __future__ import annotations

import re

from storyline.classifier.lines_html import html_page
from storyline.classifier.lines_text import text_page
from storyline.classifier.page import Page
from storyline.classifier.reading import decode_page, sniff_kind, undo_latin1_misreading

KINDS = ("html", "text")
# C0 control characters (but tab, newline, carriage return, form feed) and DEL carry no text: drop them.
_CONTROLS = dict.fromkeys([*range(0, 9), 11, *range(14, 32), 127])
# The same characters as a regex: removing them with it equals ``str.translate(_CONTROLS)`` and is some
# 15 times faster on a page (translate looks every character up in the dict: ~5 ms for 100 KB).
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def segment(content: str | bytes | Page, kind: str | None = None, source: str = "") -> Page:
    """Split a page into lines; ``kind`` (``html``/``text``) overrides sniffing the content."""
    if isinstance(content, Page):
        return content
    given_text = isinstance(content, str)
    if isinstance(content, (bytes, bytearray, memoryview)):
        content = decode_page(bytes(content), source)
    if not isinstance(content, str):
        raise TypeError(f"a page is str, bytes or Page, not {type(content).__name__}")
    content = _CONTROL_CHARS.sub("", content)  # = content.translate(_CONTROLS)
    if kind is None:
        kind = sniff_kind(content, source or None)
    if kind == "html":
        if given_text:  # text someone else decoded: perhaps as latin-1 against its declared charset
            content = undo_latin1_misreading(content)
        return html_page(content, source)
    if kind == "text":
        return text_page(content, source)
    raise ValueError(f"unknown page kind {kind!r}: expected one of {', '.join(KINDS)}")
