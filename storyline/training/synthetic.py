"""Synthetic training pages: an article followed by a long thread of reader comments.

The shared training sets hold few article pages whose reader comments outweigh the article (a short
post under hundreds of comments), yet such pages are common on the web, and the training sets' own gold
drops the comments of an article page (wcxb's articles, readability). Without examples the model reads a
page that is mostly comment thread as a forum, where the thread is the story. These pages are built
from the training pages themselves: an article's gold paragraphs, as the story, under a blog's markup;
paragraphs of other gold texts as the comments, in one of the common comment-section templates. Only
the gold paragraphs are story. A page is grouped with the page its article comes from, so
cross-validation never splits the two. The pages teach the html head only: read as plain text the
thread has no markup to tell it from a forum's (see ``train_model``).
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storyline.training.datasets import LabelledPage

DATASET = "comment-threads"
ARTICLE_WORDS = (60, 1200)
"""Gold texts of this many words can be a synthetic page's article."""
COMMENT_WORDS = (4, 150)
"""Gold paragraphs of this many words can be a comment."""
THREAD_RATIO = (1.5, 12.0)
"""Words of the comment thread against the article's."""
MIN_POOL = 50
"""Comment paragraphs a dataset needs before its articles get threads."""

_NAMES = tuple(
    "Anna|Ben K.|carol_77|David|Elif|Frank Meyer|Grace|hiro|Ines|Jakob|Kim|Luis|Maya R.|Nils|Olga|Pete|"
    "Quinn|Rosa|Sam|Tomasz|Uma|Victor|Wen|Xavier|Yusuf|Zoe|Anonymous|mike|the_reader|J. Smith".split("|")
)
_MONTHS = tuple("January February March April May June July August September October November December".split())
_NAV = ("Home", "About", "Archives", "Contact", "Subscribe", "Categories", "Blog", "Travel", "Recipes", "Tech")
_HEADINGS = (
    "{n} Comments",
    "{n} Responses to “{title}”",
    "Comments ({n})",
    "{n} thoughts on “{title}”",
    "Reader comments",
    "{n} comments:",
    "Discussion",
    "Comments",
)


@dataclass
class _Source:
    paragraphs: list[str]
    group: str
    title: str


def _paragraphs(gold: str) -> list[str]:
    return [" ".join(p.split()) for p in gold.split("\n") if p.strip()]


def _words(text: str) -> int:
    return len(text.split())


def _prose(text: str) -> bool:
    """A paragraph that reads as a sentence or more (not a table row, code or a list of names)."""
    digits = sum(c.isdigit() for c in text)
    return text[-1] in ".!?)\"'”’" and digits < 0.1 * len(text) and text[0].isalpha()


def _date(rng: random.Random) -> str:
    return f"{_MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {rng.randint(2005, 2024)}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {'am' if rng.random() < 0.5 else 'pm'}"


def _links(items: Sequence[str], rng: random.Random) -> str:
    return "".join(f'<li><a href="/{rng.randrange(10**6)}">{html.escape(t)}</a></li>' for t in items)


def _comment(style: str, name: str, when: str, body: list[str], number: int, depth: int) -> str:
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body)
    who = html.escape(name)
    if style == "wordpress":
        return (
            f'<li class="comment {"even" if number % 2 else "odd"} depth-{depth}" id="comment-{number}">'
            f'<article class="comment-body"><footer class="comment-meta"><div class="comment-author vcard">'
            f'<b class="fn">{who}</b> <span class="says">says:</span></div><div class="comment-metadata">'
            f'<a href="#comment-{number}"><time>{when}</time></a></div></footer>'
            f'<div class="comment-content">{paras}</div><div class="reply">'
            f'<a class="comment-reply-link" href="#respond">Reply</a></div></article></li>'
        )
    if style == "disqus":
        return (
            f'<li class="dsq-comment" id="dsq-comment-{number}"><div class="dsq-comment-header">'
            f'<cite class="dsq-comment-author">{who}</cite></div><div class="dsq-comment-body">'
            f'<div class="dsq-comment-message">{paras}</div></div><div class="dsq-comment-footer">'
            f'<a href="#dsq-comment-{number}">{when}</a> · <a href="#">Reply</a> · <a href="#">Like</a></div></li>'
        )
    return (  # blogger
        f'<dt class="comment-author" id="c{number}"><a href="#c{number}">{who}</a> said...</dt>'
        f'<dd class="comment-body">{paras}</dd><dd class="comment-footer"><span class="comment-timestamp">'
        f'<a href="#c{number}">{when}</a></span></dd>'
    )


def _thread(style: str, comments: list[str], heading: str) -> str:
    head = f'<h3 class="comments-title">{html.escape(heading)}</h3>' if heading else ""
    if style == "wordpress":
        return (
            f'<div id="comments" class="comments-area">{head}<ol class="comment-list">{"".join(comments)}</ol>'
            '<div id="respond" class="comment-respond"><h3 class="comment-reply-title">Leave a Reply</h3>'
            '<form class="comment-form"><p class="comment-notes">Your email address will not be published.'
            "</p><label>Comment</label><textarea></textarea><label>Name</label><input>"
            '<button class="submit">Post Comment</button></form></div></div>'
        )
    if style == "disqus":
        return (
            f'<div id="disqus_thread"><div id="dsq-content">{head}<ul id="dsq-comments">{"".join(comments)}'
            "</ul></div></div>"
        )
    return f'<div class="comments" id="comments">{head}<dl id="comments-block">{"".join(comments)}</dl></div>'


def _page(article: _Source, pool: Sequence[str], rng: random.Random) -> tuple[str, str]:
    """One page's HTML and its gold (the article's paragraphs)."""
    site = rng.choice(("The Daily Notebook", "Field Notes", "Small Kitchen", "Code & Coffee", "Weekend Wanderer"))
    style = rng.choice(("wordpress", "disqus", "blogger"))
    story = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    target = _words(" ".join(article.paragraphs)) * rng.uniform(*THREAD_RATIO)
    comments: list[str] = []
    words = 0
    while words < target and len(comments) < 400:
        body = [rng.choice(pool) for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 3))]
        words += sum(map(_words, body))
        when = f"{_date(rng)} at {_time(rng)}"
        comments.append(_comment(style, rng.choice(_NAMES), when, body, len(comments) + 1, 1 + (rng.random() < 0.3)))
    title = article.title
    heading = rng.choice(_HEADINGS).format(n=len(comments), title=title) if rng.random() < 0.85 else ""
    nav = _links(rng.sample(_NAV, 6), rng)
    recent = _links([p[:60] for p in rng.sample(list(pool), 5)], rng)
    page = (
        f'<html><head><title>{html.escape(title)} | {site}</title></head><body class="single single-post">'
        f'<header id="masthead" class="site-header"><div class="site-title"><a href="/">{site}</a></div>'
        f'<nav class="main-navigation"><ul>{nav}</ul></nav></header>'
        '<div id="content" class="site-content"><main id="main" class="site-main">'
        f'<article class="post type-post hentry"><header class="entry-header"><h1 class="entry-title">'
        f'{html.escape(title)}</h1><div class="entry-meta">Posted on <a href="#"><time>{_date(rng)}</time></a>'
        f' by <a href="#">{rng.choice(_NAMES)}</a></div></header><div class="entry-content">{story}</div>'
        f'<footer class="entry-footer">Posted in <a href="#">{rng.choice(_NAV)}</a> | '
        f'<a href="#comments">{len(comments)} Comments</a></footer></article>'
        f"{_thread(style, comments, heading)}</main>"
        f'<aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">Recent '
        f"Posts</h2><ul>{recent}</ul></section></aside></div>"
        f'<footer id="colophon" class="site-footer">© {rng.randint(2005, 2024)} {site}. All rights reserved.'
        "</footer></body></html>"
    )
    return page, "\n\n".join(article.paragraphs)


def comment_thread_pages(sources: Iterable[tuple[str, str, str]], count: int, seed: int = 0) -> list[LabelledPage]:
    """``count`` synthetic article-plus-comment-thread pages from ``(dataset, group, gold)`` sources.

    Articles come from gold texts of ``ARTICLE_WORDS`` words in at least two paragraphs, their comments
    from the prose paragraphs of ``COMMENT_WORDS`` words in the gold texts of the same dataset (the same
    language, where a dataset has one). The same sources and seed give the same pages.
    """
    articles: list[tuple[str, _Source]] = []
    pools: dict[str, list[str]] = {}
    for dataset, group, gold in sources:
        paragraphs = _paragraphs(gold)
        pool = pools.setdefault(dataset, [])
        pool.extend(p for p in paragraphs if COMMENT_WORDS[0] <= _words(p) <= COMMENT_WORDS[1] and _prose(p))
        if len(paragraphs) >= 2 and ARTICLE_WORDS[0] <= sum(map(_words, paragraphs)) <= ARTICLE_WORDS[1]:
            title = " ".join(paragraphs[0].split()[:8]).rstrip(".,;:")
            articles.append((dataset, _Source(paragraphs, group, title)))
    articles = [(d, a) for d, a in articles if len(pools[d]) >= MIN_POOL]
    if count <= 0 or not articles:
        return []
    rng = random.Random(seed)
    out = []
    for i, (dataset, article) in enumerate(rng.sample(articles, min(count, len(articles)))):
        content, gold = _page(article, pools[dataset], rng)
        out.append(LabelledPage(f"thread-{i:04d}", DATASET, content, "html", gold, article.group, "article"))
    return out
