"""Property tests: any text, bytes or generated HTML gives lines and a story without an exception, the story
lines are a subsequence of the page's lines, and the same input always gives the same output."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storyline
from storyline.classifier.segment import segment

TAGS = [
    "p",
    "div",
    "span",
    "a",
    "li",
    "ul",
    "h1",
    "h2",
    "td",
    "tr",
    "table",
    "br",
    "pre",
    "nav",
    "footer",
    "script",
    "style",
    "b",
    "section",
    "article",
    "aside",
    "header",
    "form",
    "button",
    "img",
]
ATTRS = [
    "",
    ' class="nav menu"',
    ' id="content"',
    " hidden",
    ' style="display:none"',
    ' class="story-body"',
    ' href="/x"',
    ' aria-hidden="true"',
]


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Random, often malformed, HTML: nested tags with attributes, text, entities and stray markup."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            parts.append(f"<{draw(st.sampled_from(TAGS))}{draw(st.sampled_from(ATTRS))}>")
        elif kind == 1:
            parts.append(f"</{draw(st.sampled_from(TAGS))}>")
        elif kind == 2:
            parts.append(draw(st.sampled_from(["&amp;", "&nbsp;", "&#x2014;", "&bogus;", "<!--", "-->", "<", ">"])))
        else:
            parts.append(draw(st.text(max_size=80)))
    return "".join(parts)


def check(content: str | bytes, kind: str | None = None) -> None:
    model = storyline.load_model()
    page = segment(content, kind)
    lines = model.predict_lines(page)
    assert [line.text for line in lines] == page.texts
    story = [line.text for line in lines if line.story]
    # the story is a subsequence of the page's lines, and extraction is deterministic
    it = iter(page.texts)
    assert all(any(text == other for other in it) for text in story)
    assert model.extract(content, kind) == "\n".join(story) == model.extract(content, kind)
    assert all(0.0 <= line.p_story <= 1.0 for line in lines)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(html_documents())
def test_generated_html(document: str) -> None:
    check(document, "html")


@FAST
@given(st.text(max_size=2000))
def test_arbitrary_text(text: str) -> None:
    check(text, "text")
    check(text)


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    # bytes that are plainly not a page (an image signature, say) are refused with a message
    with contextlib.suppress(storyline.ReadError):
        check(data)
