"""HTML to lines: one line per block of text, with the markup context the features need.

One iterative pass over the lexbor DOM (selectolax): block-level elements and ``<br>`` end a line,
inline elements (links, emphasis, spans) join their text into the current one. Invisible subtrees
(scripts, styles, templates, SVG, elements marked hidden) are skipped.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from storyline.classifier.page import Line, Page

BLOCK_TAGS = frozenset(
    """address article aside blockquote body button caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form frame h1 h2 h3 h4 h5 h6 header hgroup hr html legend li
    listing main menu nav ol optgroup option p pre section summary table tbody td tfoot th thead title
    tr ul""".split()
)
SKIP_TAGS = frozenset(
    """script style noscript template svg math head iframe object embed canvas video audio map
    textarea select input img picture source track frameset noframes applet""".split()
)
_WS = re.compile(r"\s+")
_MARKER_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def marker_tokens(value: str) -> frozenset[str]:
    """Tokens of a class/id value: ``mainNav post-footer_2`` -> main, nav, post, footer, 2."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", value)
    return frozenset(t for t in _MARKER_SPLIT.split(spaced.lower()) if t)


def _is_hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs:
        return True
    if (attrs.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


_Context = tuple[str, tuple[str, ...], frozenset[str], tuple[int, ...]]
"""What a line inherits from where its text starts: block tag, ancestor tags, markers, block ids."""


class _LineBuilder:
    """Collects text pieces into lines as the walk enters and leaves elements."""

    __slots__ = ("lines", "pieces", "link_chars", "context", "paragraph")

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.pieces: list[str] = []
        self.link_chars = 0
        self.context: _Context | None = None
        self.paragraph = 0

    def add(self, text: str, in_link: bool, context: _Context) -> None:
        if self.context is None:
            if text.isspace():
                return
            self.context = context
        self.pieces.append(text)
        if in_link:
            self.link_chars += len(text) - sum(map(text.count, " \t\n\r\f\xa0"))

    def flush(self, new_paragraph: bool = True) -> None:
        if self.context is not None:
            text = _WS.sub(" ", "".join(self.pieces)).strip()
            if text:
                tag, ancestors, markers, blocks = self.context
                nonspace = len(text) - text.count(" ")
                links = min(self.link_chars, nonspace)
                self.lines.append(Line(text, links, tag, ancestors, markers, self.paragraph, blocks))
        self.pieces = []
        self.link_chars = 0
        self.context = None
        if new_paragraph and self.lines and self.lines[-1].paragraph == self.paragraph:
            self.paragraph += 1


def html_lines(html: str) -> tuple[list[Line], str]:
    """Split an HTML document into lines; also return its ``<title>``."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = _WS.sub(" ", title_node.text(deep=True)).strip() if title_node is not None else ""
    root = tree.body or tree.root
    builder = _LineBuilder()
    if root is None:
        return [], title
    _walk(root, builder)
    builder.flush()
    return builder.lines, title


def _walk(root: LexborNode, out: _LineBuilder) -> None:
    # Each frame: (tag, the context its text gets, inside a link, inside pre)
    frames: list[tuple[str, _Context, bool, bool]] = [("body", ("body", (), frozenset(), (0,)), False, False)]
    block_ids = 0
    node: LexborNode | None = root.first_child
    while node is not None:
        descend = False
        if node.is_text_node:
            _, context, in_link, in_pre = frames[-1]
            text = node.text_content or ""
            if in_pre and "\n" in text:
                parts = text.split("\n")
                for i, part in enumerate(parts):
                    if i:
                        out.flush(new_paragraph=False)
                    if part:
                        out.add(part, in_link, context)
            elif text:
                out.add(text, in_link, context)
        elif node.is_element_node:
            tag = node.tag or ""
            if tag == "br":
                out.flush(new_paragraph=False)
            elif tag not in SKIP_TAGS:
                attrs = node.attributes
                if not (attrs and _is_hidden(attrs)):
                    _, (block, ancestors, markers, blocks), in_link, in_pre = frames[-1]
                    if attrs:
                        cls, ident = attrs.get("class"), attrs.get("id")
                        if cls or ident:
                            markers = markers | marker_tokens(f"{cls or ''} {ident or ''}")
                    if tag in BLOCK_TAGS:
                        out.flush()
                        block = tag
                        block_ids += 1
                        blocks = blocks + (block_ids,)
                    context = (block, ancestors + (tag,), markers, blocks)
                    frames.append((tag, context, in_link or tag == "a", in_pre or tag == "pre"))
                    descend = True
                    child = node.first_child
                    if child is not None:
                        node = child
                        continue
                    # an empty element: leave it at once
        # leave nodes until one has a next sibling
        while node is not None:
            if node.is_element_node and descend and frames.pop()[0] in BLOCK_TAGS:
                out.flush()
            descend = True  # every ancestor we climb through was entered
            if node.mem_id == root.mem_id:
                node = None
                break
            sibling = node.next
            if sibling is not None:
                node = sibling
                break
            node = node.parent
            if node is None or node.mem_id == root.mem_id:
                node = None
                break


def html_page(html: str, source: str = "") -> Page:
    """Segment an HTML document into a ``Page``."""
    lines, title = html_lines(html)
    return Page(lines=lines, kind="html", source=source, title=title)
