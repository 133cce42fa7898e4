"""HTML to lines: one line per block of text, with the markup context the features need.

One iterative pass over the lexbor DOM (selectolax): block-level elements and ``<br>`` end a line,
inline elements (links, emphasis, spans) join their text into the current one. Invisible subtrees
(scripts, styles, templates, SVG, elements marked hidden) are skipped, and so is ``<noscript>`` unless
its text outweighs the rest of the page's: then the page is a script app's shell (Discourse, Blogger)
and its ``<noscript>`` copy is what a reader without scripts sees.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from selectolax.lexbor import LexborHTMLParser, LexborNode

from storyline.classifier.page import Line, Page, visible_text
from storyline.classifier.reading import ReadError

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
#: Elements nested deeper than this add nothing to a line's context (ancestors, markers, blocks): each
#: level's context copies its parent's tuples, so 20,000 nested divs would cost O(depth²) memory (gigabytes).
#: Browsers' parsers cap the DOM depth at 512 the same way (Blink), so real pages are never affected.
MAX_DEPTH = 512
_MARKER_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


#: Classes WordPress's post_class() puts on a post's container; beside them, ``tag-*`` and ``category-*``
#: name the post's tags and categories (``tag-cookie``, ``category-news``): words of its subject, not of
#: the layout, so they are left out (a post tagged "comments" is not a comment section).
_POST_CLASSES = frozenset(("hentry", "status-publish", "type-post"))
_TAXONOMY_PREFIXES = ("tag-", "category-")
#: Words a heading's slug has and a template's name seldom does.
_SLUG_WORDS = frozenset(
    "a an the and or of to in on for with is are how what why when your you my our vs but at by from".split()
)
SLUG_PARTS = 4
"""Parts an id needs (with a word of ``_SLUG_WORDS`` among them) to read as a heading's anchor."""


def content_slug(ident: str) -> bool:
    """Whether an id is made from the text it anchors ("sharing-with-a-single-developer",
    "h-what-is-seo"), as documentation and editors name sections after their headings, rather than a
    template's name for a part of the page: its words are the story's, not the template's."""
    parts = [part for part in _MARKER_SPLIT.split(ident.lower()) if part]
    return len(parts) >= SLUG_PARTS and not _SLUG_WORDS.isdisjoint(parts)


@lru_cache(maxsize=65536)
def marker_tokens(value: str) -> frozenset[str]:
    """Tokens of a class/id value: ``mainNav post-footer_2`` -> main, nav, post, footer, 2."""
    if "-" in value and not _POST_CLASSES.isdisjoint(value.lower().split()):
        value = " ".join(c for c in value.split() if not c.lower().startswith(_TAXONOMY_PREFIXES))
    low = value.lower()
    if low != value:  # camelCase splits where a capital follows a small letter
        low = _CAMEL.sub(r"\1 \2", value).lower()
    return frozenset(filter(None, _MARKER_SPLIT.split(low)))


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
            self.link_chars += len(text) - sum(map(text.count, " \t\n\r\f\xa0\xad\u200b\u2060\ufeff"))

    def flush(self, new_paragraph: bool = True) -> None:
        if self.context is not None:
            text = visible_text("".join(self.pieces))
            if text:
                tag, ancestors, markers, blocks = self.context
                nonspace = len(text) - text.count(" ")
                links = min(self.link_chars, nonspace)
                self.lines.append(Line(text, links, tag, ancestors, markers, self.paragraph, blocks))
            self.pieces = []
            self.link_chars = 0
            self.context = None
        # (with no context, pieces and link_chars are already empty: add() fills them only with one)
        if new_paragraph and self.lines and self.lines[-1].paragraph == self.paragraph:
            self.paragraph += 1


#: The most nesting work a document may ask of the parser: about 3 s of lexbor time. Real pages need
#: far less: the neediest page of the shared data sets (19,623 tags, nested unusually deep) 6% of it.
MAX_NESTING_COST = 1_500_000_000
# Start and end tags, but not those of void or implicitly closed elements, which never nest deeply.
_NESTING_TAG = re.compile(
    r"<(/?)(?!(?:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|p|li|dd|dt|option|"
    r"tr|td|th|thead|tbody|tfoot|rb|rt|rp|!|\?)[\s/>])(?=[A-Za-z])",
    re.IGNORECASE,
)


def nesting_cost(html: str) -> int:
    """About how much work nesting asks of the HTML parser: the depth of each start tag, summed.

    An HTML parser checks the stack of open elements for many start tags (is there a ``<p>`` to close?),
    so 80,000 nested ``<div>`` take lexbor 7 s and 2 million (10 MB) hours: quadratic, in C, where no
    time limit reaches. Estimated from the tags alone, depth never below zero (stray end tags).
    """
    found = _NESTING_TAG.findall(html)
    if not found:
        return 0
    steps = 1 - 2 * np.fromiter(map(len, found), dtype=np.int64, count=len(found))  # "" = +1, "/" = -1
    walk = np.cumsum(steps)
    depth = walk - np.minimum(np.minimum.accumulate(walk), 0)
    return int(depth[steps > 0].sum())


#: A <title> longer than this that holds markup was never closed: its text swallowed the page.
MAX_TITLE_CHARS = 1000
_TITLE_START = re.compile(r"<title\b[^>]*>", re.IGNORECASE)
_TITLE_END = re.compile(r"[<\n]")


def _close_title(html: str) -> str | None:
    """``html`` with its unclosed ``<title>`` closed where its first line or the next tag begins, as
    lenient parsers (libxml2) read it; None if there is no title to close."""
    start = _TITLE_START.search(html)
    if start is None:
        return None
    end = _TITLE_END.search(html, start.end())
    cut = end.start() if end is not None else len(html)
    return html[:cut] + "</title>" + html[cut:]


def _title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    return visible_text(node.text(deep=True)) if node is not None else ""


def html_lines(html: str) -> tuple[list[Line], str]:
    """Split an HTML document into lines; also return its ``<title>``."""
    tags = html.count("<")
    if tags * tags // 2 > MAX_NESTING_COST:  # else even every tag nested in the one before is cheap enough
        cost = nesting_cost(html)
        if cost > MAX_NESTING_COST:
            raise ReadError(f"HTML nested too deeply to parse in bounded time (nesting cost {cost:,})")
    tree = LexborHTMLParser(html)
    title = _title(tree)
    if len(title) > MAX_TITLE_CHARS and "<" in title:
        repaired = _close_title(html)
        if repaired is not None:
            tree = LexborHTMLParser(repaired)
            title = _title(tree)
    root = tree.body or tree.root
    builder = _LineBuilder()
    if root is None:
        return [], title
    concealed: list[LexborNode] = []
    _walk(root, builder, concealed)
    builder.flush()
    if concealed and _is_shell(concealed, builder.lines):
        builder = _LineBuilder()
        _walk(root, builder, None)
        builder.flush()
    return builder.lines, title


#: Hidden elements hold the page's text when they have this many times the sentences of what is shown.
SHELL_SENTENCE_RATIO = 3
#: Markup that a ``<noscript>`` holds as text (escaped, or tracking-pixel tags): no reader's text.
_MARKUP_AS_TEXT = re.compile(r"<[a-zA-Z/!][^<>]*>")
_SENTENCE_BREAK = re.compile(r"[.!?。！？][\"'”’)]?(?:\s|$)")


def _is_shell(concealed: list[LexborNode], lines: list[Line]) -> bool:
    """Whether the page is a script app's shell, its text hidden from a reader without scripts: in
    ``<noscript>`` (Discourse, Blogger: more text there than shown; tags it holds as text are not text), or
    in elements that scripts reveal
    (React's streamed ``<div hidden>``, an anti-flicker ``visibility:hidden`` wrapper: several times
    the sentences shown; a hidden menu or dialog has text but few sentences)."""
    shown_chars = sum(len(line.text) for line in lines)
    shown_sentences = sum(len(_SENTENCE_BREAK.findall(line.text)) for line in lines)
    noscript_chars = hidden_sentences = 0
    for node in concealed:
        text = node.text(deep=True, separator=" ")
        if node.tag == "noscript":
            noscript_chars += len(_MARKUP_AS_TEXT.sub("", text).strip()) if "<" in text else len(text.strip())
            if noscript_chars > shown_chars:
                return True
        else:
            hidden_sentences += len(_SENTENCE_BREAK.findall(text))
            if hidden_sentences >= SHELL_SENTENCE_RATIO * max(shown_sentences, 1):
                return True
    return False


def _walk(root: LexborNode, out: _LineBuilder, concealed: list[LexborNode] | None) -> None:
    """Lines of ``root``'s subtree into ``out``. With a ``concealed`` list, hidden elements and
    ``<noscript>`` are skipped and collected there; with None, they are read like the rest."""
    # Each frame: (tag, the context its text gets, inside a link, inside pre)
    frames: list[tuple[str, _Context, bool, bool]] = [("body", ("body", (), frozenset(), (0,)), False, False)]
    push, pop = frames.append, frames.pop
    add, flush = out.add, out.flush
    block_tags = BLOCK_TAGS
    skip_tags = SKIP_TAGS if concealed is not None else SKIP_TAGS - {"noscript"}
    names: dict[int, str] = {}  # tag id -> tag name, within this document
    block_ids = 0
    spent = 0  # marker-set entries built (see MARKER_BUDGET)
    node: LexborNode | None = root.first_child
    while node is not None:
        entered = False
        tag_id = node.tag_id
        tag = names.get(tag_id)
        if tag is None:
            tag = names[tag_id] = _node_kind(node)
        if tag == _TEXT:
            _, context, in_link, in_pre = frames[-1]
            text = node.text_content or ""
            if in_pre and "\n" in text:
                parts = text.split("\n")
                for i, part in enumerate(parts):
                    if i:
                        flush(False)
                    if part:
                        add(part, in_link, context)
            elif text:
                add(text, in_link, context)
        elif tag == "br":
            flush(False)
        elif tag == "noscript" and concealed is not None:
            concealed.append(node)
        elif tag not in skip_tags and tag != _OTHER:
            attrs = node.attributes
            if (
                concealed is not None
                and attrs
                and ("hidden" in attrs or "style" in attrs or "aria-hidden" in attrs)
                and _is_hidden(attrs)
            ):
                concealed.append(node)
            else:
                _, context, in_link, in_pre = frames[-1]
                if len(frames) <= MAX_DEPTH:
                    block, ancestors, markers, blocks = context
                    if attrs and spent < MARKER_BUDGET:
                        cls, ident = attrs.get("class"), attrs.get("id")
                        if ident and content_slug(ident):
                            ident = None
                        if cls or ident:
                            markers = _with_markers(markers, f"{cls or ''} {ident or ''}")
                            spent += len(markers)
                    if tag in block_tags:
                        flush()
                        block = tag
                        block_ids += 1
                        blocks = blocks + (block_ids,)
                    context = (block, ancestors + (tag,), markers, blocks)
                elif tag in block_tags:
                    flush()  # deeper than MAX_DEPTH: the line still ends, the context stays its ancestor's
                push((tag, context, in_link or tag == "a", in_pre or tag == "pre"))
                child = node.first_child
                if child is not None:
                    node = child
                    continue
                entered = True  # an empty element: leave it at once
        # leave the node (if entered) and every ancestor without a next sibling
        if entered and pop()[0] in block_tags:
            flush()
        while True:
            sibling = node.next
            if sibling is not None:
                node = sibling
                break
            if len(frames) == 1:  # only the root's frame is left: the parent is the root
                node = None
                break
            node = node.parent
            if node is None:
                break
            if pop()[0] in block_tags:  # every ancestor climbed through was entered
                flush()


_TEXT, _OTHER = "-text", "-other"


def _node_kind(node: LexborNode) -> str:
    """A node's tag name if it is an element, ``_TEXT`` for text, ``_OTHER`` for anything else."""
    if node.is_text_node:
        return _TEXT
    if node.is_element_node:
        return node.tag or ""
    return _OTHER


_marker_cache: dict[tuple[frozenset[str], str], frozenset[str]] = {}
#: Characters of a class/id value read for its tokens (real values are far shorter).
MAX_MARKER_CHARS = 4096
#: Marker-set entries a page may build: each element with a class gets its ancestors' set plus its own
#: tokens, so a huge class attribute over many elements would cost quadratic memory. The largest page of
#: the shared data sets builds 665,000.
MARKER_BUDGET = 10_000_000


def _with_markers(markers: frozenset[str], value: str) -> frozenset[str]:
    """``markers | marker_tokens(value)``, memoised: pages repeat their class names a lot."""
    if len(value) > 256:  # not worth caching, and the caches must stay small whatever the pages
        return markers | marker_tokens.__wrapped__(value[:MAX_MARKER_CHARS])
    key = (markers, value)
    found = _marker_cache.get(key)
    if found is None:
        if len(_marker_cache) > 50_000:
            _marker_cache.clear()
        found = _marker_cache[key] = markers | marker_tokens(value)
    return found


def html_page(html: str, source: str = "") -> Page:
    """Segment an HTML document into a ``Page``."""
    lines, title = html_lines(html)
    return Page(lines=lines, kind="html", source=source, title=title)
