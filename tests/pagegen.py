"""Small synthetic pages with gold texts, written by the tests themselves (no shared data needed)."""

from __future__ import annotations

import random
from html import escape
from pathlib import Path

WORDS = """the council said harbour library town people after before would their about three which
restoration volunteers building morning winter storm water reading room opened queued doors again
because visitors children charts captain fishing fleet granary heritage grant appeal concerts museum
river bridge school market station garden festival residents planning committee approved design""".split()
NAV = ["Home", "News", "Sport", "Business", "Culture", "Opinion", "Weather", "Subscribe", "Log in", "Contact"]
TEASERS = [
    "Ten coastal walks to blow away the winter",
    "The chef who cooks only what the tide brings in",
    "Why the ferry timetable is changing again",
    "Inside the workshop that mends old clocks",
    "Our pick of the week's best photographs",
]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 20))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def make_page(seed: int, site: str = "courier") -> tuple[str, str]:
    """An HTML page with navigation, an article, teasers, jobs and a footer; and its gold text."""
    rng = random.Random(seed)
    headline = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
    paras = [paragraph(rng) for _ in range(rng.randint(3, 7))]
    nav = "".join(f'<li><a href="/{i}">{escape(n)}</a></li>' for i, n in enumerate(rng.sample(NAV, 6)))
    teasers = "".join(f'<li><a href="/t{i}">{escape(t)}</a></li>' for i, t in enumerate(rng.sample(TEASERS, 3)))
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(headline)} | {site}</title>
<script>var tracking = "{site}";</script></head><body>
<header><nav class="menu"><ul>{nav}</ul></nav></header>
<main><article><h1>{escape(headline)}</h1>{body}</article>
<aside class="related"><h3>More stories</h3><ul>{teasers}</ul></aside>
<div class="jobs"><a href="/j">Night editor</a><p>£{rng.randint(20, 40)},000 per annum + pension</p></div></main>
<footer class="footer"><a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a>
<p>© 2026 {site}. All rights reserved.</p></footer></body></html>"""
    gold = "\n\n".join([headline, *paras])
    return html, gold


def write_folder(folder: Path, pages: int = 12, sites: int = 4) -> Path:
    """A folder dataset: one sub-folder per site, ``NAME.html`` beside its gold ``NAME.txt``."""
    for i in range(pages):
        site = folder / f"site{i % sites}"
        site.mkdir(parents=True, exist_ok=True)
        html, gold = make_page(i, f"site{i % sites}")
        (site / f"page{i:02d}.html").write_text(html, encoding="utf-8")
        (site / f"page{i:02d}.txt").write_text(gold, encoding="utf-8")
    return folder
