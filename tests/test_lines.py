from __future__ import annotations

import dataclasses

from storyline.classifier.features import comment_zone
from storyline.classifier.lines_html import content_slug, html_lines, marker_tokens
from storyline.classifier.lines_text import line_blocks, text_lines
from storyline.classifier.segment import segment

HTML = """<html><head><title>The title</title><style>p{}</style></head><body>
<nav class="mainNav"><ul><li><a href="/">Home</a></li><li><a href="/n">News</a></li></ul></nav>
<div id="content"><h1>Big headline</h1><p>Para one <b>bold</b> with <a href="#">a link</a>.</p>
<p>line a<br>line b</p><div hidden>secret</div><span style="display:none">also secret</span>
<script>var x = "no";</script><noscript>enable js</noscript><template><p>tpl</p></template><svg><text>svg</text></svg>
<pre>code 1
code 2</pre>tail text</div><table><tr><td>cell one</td><td>cell two</td></tr></table>
<footer>Copyright</footer></body></html>"""


def test_html_blocks_and_inline_runs() -> None:
    lines, title = html_lines(HTML)
    texts = [line.text for line in lines]
    assert title == "The title"
    assert texts == [
        "Home",
        "News",
        "Big headline",
        "Para one bold with a link.",
        "line a",
        "line b",
        "code 1",
        "code 2",
        "tail text",
        "cell one",
        "cell two",
        "Copyright",
    ]


def test_html_line_context() -> None:
    lines, _ = html_lines(HTML)
    by_text = {line.text: line for line in lines}
    home = by_text["Home"]
    assert home.tag == "li" and "nav" in home.ancestors and "a" in home.ancestors
    assert home.link_chars == 4
    assert {"main", "nav"} <= home.markers
    para = by_text["Para one bold with a link."]
    assert para.tag == "p" and para.link_chars == len("alink")
    assert "content" in para.markers
    # br-separated runs are lines of one paragraph; separate blocks are separate paragraphs
    assert by_text["line a"].paragraph == by_text["line b"].paragraph
    assert by_text["line a"].paragraph != para.paragraph


def test_html_skips_invisible_content() -> None:
    texts = " ".join(line.text for line in html_lines(HTML)[0])
    for hidden in ("secret", "var x", "enable js", "tpl", "svg", "p{}"):
        assert hidden not in texts


def test_a_script_app_shell_is_read_from_its_noscript_content() -> None:
    # Discourse and Blogger serve the page to readers without scripts inside <noscript>
    shell = """<html><body><header><a href="/">Forum</a></header><div id="app"></div>
    <noscript><div class="topic"><h1>Which laptop?</h1><p>My power connector is shot, so I need a new
    laptop for travel and some light photo work.</p><p>Any advice welcome.</p></div></noscript></body></html>"""
    texts = [line.text for line in html_lines(shell)[0]]
    assert texts[0] == "Forum" and "Which laptop?" in texts and "Any advice welcome." in texts
    # a page with text of its own keeps ignoring a short noscript notice (as in HTML above)
    assert "enable js" not in " ".join(line.text for line in html_lines(HTML)[0])


def test_markup_a_noscript_holds_as_text_does_not_make_a_shell() -> None:
    # Tracking pixels, escaped in <noscript> (a saved Yahoo! page), are markup as text: no reader reads it,
    # so it must not outweigh the page's own text and turn the page into a "shell".
    beacon = "http://b.example/b?P=" + "x" * 400
    pixel = f'&lt;div style="position:absolute;"&gt;&lt;img width=1 height=1 src="{beacon}"&gt;&lt;/div&gt;'
    page = f"""<html><body><nav><a href="/">Home</a></nav>
    <p>The article, told in two sentences. It has a second one too.</p><noscript>{pixel}</noscript></body></html>"""
    texts = [line.text for line in html_lines(page)[0]]
    assert texts == ["Home", "The article, told in two sentences. It has a second one too."]


def test_text_that_scripts_reveal_is_read_when_the_page_shows_little_else() -> None:
    story = "".join(f"<p>Sentence {i} of the story. It goes on here.</p>" for i in range(4))
    streamed = f'<html><body><nav><a href="/">Home</a></nav><div hidden id="S:0">{story}</div></body></html>'
    texts = [line.text for line in html_lines(streamed)[0]]
    assert texts[0] == "Home" and "Sentence 3 of the story. It goes on here." in texts
    # a hidden menu or dialog beside a page's own text stays hidden
    menu = '<ul style="display:none">' + "".join(f"<li>Section {i}</li>" for i in range(50)) + "</ul>"
    page = f"<html><body>{menu}<p>The story. It has sentences. Three of them.</p></body></html>"
    assert [line.text for line in html_lines(page)[0]] == ["The story. It has sentences. Three of them."]


def test_an_unclosed_title_does_not_swallow_the_page() -> None:
    # as crawled: the </title> lost, so by the HTML standard the whole document is the title's text
    html = (
        "<html><head><title>Gaza crossings closed - News\n<script>var a = 1;</script></head>"
        "<body><h1>Gaza crossings closed</h1><p>Israel closed the crossings on Monday.</p>" + "<p>More.</p>" * 200
    )
    lines, title = html_lines(html)
    assert title == "Gaza crossings closed - News"
    assert [line.text for line in lines[:2]] == ["Gaza crossings closed", "Israel closed the crossings on Monday."]
    # a long title that is only text is left alone
    long_title = "word " * 300
    assert html_lines(f"<title>{long_title}</title><p>body</p>")[1] == long_title.strip()


def test_marker_tokens() -> None:
    assert marker_tokens("mainNav post-footer_2") == {"main", "nav", "post", "footer", "2"}


def test_a_posts_tags_and_categories_are_not_layout() -> None:
    # WordPress names a post's tags and categories in its container's classes: a post tagged "comments"
    # and "cookie" is neither a comment section nor a cookie banner. Other tag-* classes stay.
    post = "post-7 post type-post status-publish hentry category-news tag-comments tag-cookie"
    assert marker_tokens(post) == {"post", "7", "type", "status", "publish", "hentry"}
    assert marker_tokens("tag-cloud widget") == {"tag", "cloud", "widget"}
    html = f'<html><body><article class="{post}"><p>The story of the day, told at length.</p></article></body></html>'
    (line,) = html_lines(html)[0]
    assert not comment_zone([line]).any() and "cookie" not in line.markers


def test_a_sections_anchor_named_after_its_heading_is_not_layout() -> None:
    # Documentation generators and editors give a section the slug of its heading as its id: a section
    # headed "Sharing with a single developer" is not a share bar, nor "Comments and replies" a thread.
    assert content_slug("sharing-with-a-single-developer") and content_slug("h-what-is-a-comment-system")
    assert content_slug("Comments_and_Replies_in_Practice")
    # A template's names stay: short ones, and long ones without a heading's small words.
    for ident in ("comments", "share-buttons", "skip-to-content", "related-posts-widget", "block-views-related-block"):
        assert not content_slug(ident)
    # Separators at the ends or doubled make no words: a generated id like "radix-_r_a_" has three parts.
    for ident in ("radix-_r_a_", "_the_nav_", "--to--top--"):
        assert not content_slug(ident)
    html = (
        '<html><body><div class="body"><div class="section" id="sharing-with-a-single-developer">'
        "<h2>Sharing with a single developer</h2><p>We will work through an example with three repositories.</p>"
        '</div><div class="section" id="share-buttons"><p>Tweet this</p></div></div></body></html>'
    )
    heading, prose, share = html_lines(html)[0]
    assert "sharing" not in prose.markers and "sharing" not in heading.markers
    assert {"body", "section"} <= prose.markers
    assert "share" in share.markers


def test_empty_and_bodyless_html() -> None:
    assert html_lines("")[0] == []
    assert [line.text for line in html_lines("<p>only a paragraph</p>")[0]] == ["only a paragraph"]


def test_characters_a_browser_does_not_draw_are_left_out_of_a_lines_text() -> None:
    # soft hyphens (as entities or raw), zero-width spaces and byte-order marks: a quoted phrase must be
    # found in the line as a reader sees it, and a link's length counts what is drawn
    html = (
        "<title>Wein&shy;bau</title><p>Schon im Mit&shy;tel&#173;al\xadter war <a href=/x>der Wein&shy;berg</a>"
        "&#8203; ber\u00fchmt\ufeff.</p><p>\u200b</p><p>\u0645\u06cc\u200c\u0631\u0648\u0645</p>"
    )
    lines, title = html_lines(html)
    assert title == "Weinbau"
    assert [line.text for line in lines] == [
        "Schon im Mittelalter war der Weinberg ber\u00fchmt.",
        "\u0645\u06cc\u200c\u0631\u0648\u0645",  # a zero-width non-joiner shapes Persian: kept
    ]
    assert lines[0].link_chars == len("derWeinberg")
    assert [line.text for line in text_lines("Lauf\xadzei\xadten\n\u200b\n\nEnde")] == ["Laufzeiten", "Ende"]


def test_deep_nesting_does_not_recurse() -> None:
    html = "<div>" * 5000 + "deep text" + "</div>" * 5000
    assert [line.text for line in html_lines(html)[0]] == ["deep text"]


def test_text_paragraphs_and_wrapping() -> None:
    text = "Headline\n\nFirst paragraph wrapped\nover two lines.\n\n\nSecond one.\nMenu\n"
    lines = text_lines(text)
    assert [line.text for line in lines] == [
        "Headline",
        "First paragraph wrapped",
        "over two lines.",
        "Second one.",
        "Menu",
    ]
    assert [line.paragraph for line in lines] == [0, 1, 1, 2, 2]
    assert all(line.link_chars == 0 for line in lines)


def test_text_sections_start_at_heading_like_lines() -> None:
    text = (
        "Storm closes library\n\nThe library closed on Monday.\n\n"
        '"We will reopen soon," she said.\n\nWhat happens next\n\nRepairs start in May.\n'
        "Home\nNews\nSport\n"
    )
    lines = text_lines(text)
    blocks = [line.blocks for line in lines]
    sections = [b[1] for b in blocks]
    # the headline opens the page's first section; "What happens next" a second one; a quoted sentence
    # alone in its paragraph and the menu's short lines (not alone in their paragraph) do not
    assert [line.text for line in lines][3] == "What happens next"
    assert sections == [1, 1, 1, 2, 2, 2, 2, 2]
    assert all(b[0] == 0 for b in blocks)
    paragraph_ids = [b[2] for b in blocks]
    assert paragraph_ids[-3:] == [paragraph_ids[-1]] * 3 and len(set(paragraph_ids)) == 5
    assert not set(paragraph_ids) & set(sections) and 0 not in paragraph_ids
    # lines without containers (a hand-written labelled-lines file) get the same ones
    bare = [dataclasses.replace(line, blocks=()) for line in lines]
    assert line_blocks(bare) == blocks


def test_text_links_count() -> None:
    lines = text_lines("See https://example.org/a for more\n[Read more](https://x.org)")
    assert lines[0].link_chars == len("https://example.org/a")
    assert lines[1].link_chars == len("Readmore")


def test_segment_sniffs_and_overrides() -> None:
    assert segment("<p>Hello</p><p>World</p><div>x</div>").kind == "html"
    assert segment("<p>Hello</p>", kind="text").lines[0].text == "<p>Hello</p>"
    assert segment(b"Hello\n\nWorld").kind == "text"
