"""Peer extractors that storyline is benchmarked against, each behind one safe ``html -> text`` adapter.

Every adapter runs its tool in the tool's own main-content mode and returns plain text with one paragraph
(block) per line, so that all peers are scored on the same footing by the shingle metric. Imports are
lazy: importing this module costs nothing, and a peer whose package is missing only makes its adapter
return "" (and shows up as absent in :func:`peer_versions`), it never crashes a benchmark run.

An adapter never raises. An exception, or a ``None`` result, gives "" and is counted in :data:`FAILURES`;
:func:`run_peer` also hands back the error text so that the cache can keep it per page.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Bumped by hand when an adapter changes the way it calls its tool: it is part of the cache key.
ADAPTER_REVISION = {
    "trafilatura": 2,
    "readability": 2,
    "justext": 2,
    "boilerpy3": 2,
    "resiliparse": 2,
    "goose3": 2,
    "html-text": 2,
    "selectolax": 3,
}

#: The PyPI distribution behind each peer (what :func:`peer_versions` looks up).
DISTRIBUTIONS = {
    "trafilatura": "trafilatura",
    "readability": "readability-lxml",
    "justext": "justext",
    "boilerpy3": "boilerpy3",
    "resiliparse": "resiliparse",
    "goose3": "goose3",
    "html-text": "html-text",
    "selectolax": "selectolax",
}

#: Pages on which a peer raised or returned None, by peer name (per process).
FAILURES: Counter[str] = Counter()

# Input plumbing, the same for every peer, that changes no visible text: lxml refuses a str that starts
# with an XML declaration naming an encoding (stale anyway: our pages are decoded already) and a str with
# NUL or other C0 control characters, which browsers do not display.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)


def _prepare(html: str) -> str:
    return _CONTROL.sub("", _XML_DECLARATION.sub("", html, count=1))


def _tidy_lines(text: str) -> str:
    """Collapse runs of spaces and drop empty lines: one paragraph per line."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --- lxml block text (for readability's HTML summary) ------------------------------------------------

# fmt: off
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)
# fmt: on
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})


def _lxml_block_text(root: Any) -> str:
    """Text of an lxml tree with a line break around each block element, so paragraphs stay apart.

    ``itertext()`` alone would glue the last word of one paragraph to the first of the next.
    """
    parts: list[str] = []

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _SKIPPED_TAGS:
            return
        block = tag in _BLOCK_TAGS
        if block or tag == "br":
            parts.append("\n")
        if tag and element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n")

    walk(root)
    return _tidy_lines("".join(parts))


# --- adapters: raw calls, may raise --------------------------------------------------------------------


def _trafilatura(html: str) -> str | None:
    import trafilatura

    return trafilatura.extract(html, include_comments=False)


def _readability(html: str) -> str | None:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    if not summary or not summary.strip():
        return None
    return _lxml_block_text(lxml.html.fromstring(summary))


#: BCP-47 primary language -> jusText stoplist; languages without one fall back to English.
# fmt: off
_JUSTEXT_STOPLISTS = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "cs": "Czech", "sk": "Slovak", "hr": "Croatian", "sr": "Serbian",
    "sl": "Slovenian", "ru": "Russian", "uk": "Ukrainian", "bg": "Bulgarian", "fi": "Finnish",
    "sv": "Swedish", "da": "Danish", "no": "Norwegian_Bokmal", "nb": "Norwegian_Bokmal", "hu": "Hungarian",
    "ro": "Romanian", "tr": "Turkish", "el": "Greek", "ca": "Catalan", "et": "Estonian", "lv": "Latvian",
    "lt": "Lithuanian", "id": "Indonesian", "vi": "Vietnamese", "ko": "Korean", "ar": "Arabic",
}
# fmt: on


def justext_stoplist_name(lang: str | None) -> str:
    """jusText's stoplist for a page language (``en-US`` -> English); English when unknown or absent."""
    if not lang:
        return "English"
    return _JUSTEXT_STOPLISTS.get(lang.lower().replace("_", "-").split("-")[0], "English")


@functools.lru_cache(maxsize=8)
def _justext_stoplist(name: str) -> frozenset[str]:
    import justext

    return justext.get_stoplist(name)


def _justext(html: str, lang: str | None = None) -> str | None:
    import justext

    paragraphs = justext.justext(html, _justext_stoplist(justext_stoplist_name(lang)))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


@functools.lru_cache(maxsize=1)
def _boilerpy3_extractor() -> Any:
    from boilerpy3 import extractors

    # raise_on_failure=False: on a parse error keep what was parsed instead of losing the whole page.
    return extractors.ArticleExtractor(raise_on_failure=False)


def _boilerpy3(html: str) -> str | None:
    # boilerpy3's parser keeps only text inside <body>; where a page has no body tag (many CleanEval
    # pages start at a <table>) an HTML5 parser would imply one, so give it one instead of losing the page.
    if not _BODY.search(html):
        html = f"<html><body>{html}</body></html>"
    return _boilerpy3_extractor().get_content(html)


def _resiliparse(html: str) -> str | None:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True)


@functools.lru_cache(maxsize=1)
def _goose() -> Any:
    from goose3 import Goose

    # Built once: a Goose instance loads its stopword lists and parser config on creation.
    return Goose({"enable_image_fetching": False})


def _goose3(html: str) -> str | None:
    return _goose().extract(raw_html=html).cleaned_text


def _html_text(html: str) -> str | None:
    import html_text

    return html_text.extract_text(html, guess_layout=True)


def _selectolax(html: str) -> str | None:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    # Script and style bodies are code, not text; dropping them keeps this the plain "all text" floor.
    # <noscript> stays: lexbor parses it as markup, and some sites (Discourse forums) put the page there.
    tree.strip_tags(["script", "style", "template"], recursive=True)
    body = tree.body
    return None if body is None else body.text(separator="\n", strip=True)


_RAW: dict[str, Callable[..., str | None]] = {
    "trafilatura": _trafilatura,
    "readability": _readability,
    "justext": _justext,
    "boilerpy3": _boilerpy3,
    "resiliparse": _resiliparse,
    "goose3": _goose3,
    "html-text": _html_text,
    "selectolax": _selectolax,
}

#: Peers that take the page language (``lang=``) into account.
LANGUAGE_AWARE = frozenset({"justext"})


# --- the safe public side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerOutput:
    """What one peer made of one page: its text ("" on failure) and the failure, if any."""

    text: str
    error: str | None = None


def run_peer(name: str, html: str, lang: str | None = None) -> PeerOutput:
    """Run one peer on one page and never raise; ``lang`` is passed only to language-aware peers."""
    raw = _RAW[name]
    try:
        result = raw(_prepare(html), lang=lang) if name in LANGUAGE_AWARE else raw(_prepare(html))
    except Exception as error:  # a peer's bug must cost one page, not the run
        FAILURES[name] += 1
        message = f"{type(error).__name__}: {error}"
        return PeerOutput("", message[:300])
    if result is None:
        FAILURES[name] += 1
        return PeerOutput("", "returned None")
    return PeerOutput(_tidy_lines(str(result)))


def _adapter(name: str) -> Callable[..., str]:
    if name in LANGUAGE_AWARE:

        def extract_with_lang(html: str, lang: str | None = None) -> str:
            return run_peer(name, html, lang).text

        extract_with_lang.__name__ = f"extract_{name.replace('-', '_')}"
        return extract_with_lang

    def extract(html: str) -> str:
        return run_peer(name, html).text

    extract.__name__ = f"extract_{name.replace('-', '_')}"
    return extract


#: Peer name -> ``extract(html) -> text`` (jusText: ``extract(html, lang=None)``). Never raises.
PEERS: dict[str, Callable[..., str]] = {name: _adapter(name) for name in _RAW}


def peer_versions() -> dict[str, str]:
    """Installed version of each peer's package; a peer that is not installed is left out."""
    versions: dict[str, str] = {}
    for name, distribution in DISTRIBUTIONS.items():
        try:
            versions[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def missing_peers() -> list[str]:
    """Peers whose package is not installed (they are skipped by the benchmarks)."""
    installed = peer_versions()
    return [name for name in PEERS if name not in installed]


def cache_key(name: str, version: str) -> str:
    """The version a cached output was made with: package version plus adapter revision."""
    return f"{version}+adapter{ADAPTER_REVISION[name]}"
