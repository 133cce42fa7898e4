from __future__ import annotations

import numpy as np
from sklearn.base import clone

from storyline.classifier.features import LineFeaturizer
from storyline.classifier.segment import segment

PAGE = """<html><head><title>Library reopens</title></head><body><nav><a href="/">Home</a></nav>
<h1>Library reopens</h1><p>The old library opened again on Saturday, after the storm.</p>
<p>Jobs: £28,000 per annum</p><p>ALL CAPS LINE HERE</p></body></html>"""


def test_names_match_columns_and_values_are_finite() -> None:
    for markup in (True, False):
        featurizer = LineFeaturizer(markup=markup).fit([])
        page = segment(PAGE)
        X = featurizer.transform([page, page])
        names = featurizer.get_feature_names_out()
        assert X.shape == (2 * len(page.lines), len(names))
        assert len(set(names)) == len(names)
        assert np.isfinite(X).all()


def test_features_say_what_they_name() -> None:
    featurizer = LineFeaturizer()
    page = segment(PAGE)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    texts = page.texts
    home, head, story, jobs, caps = (
        texts.index(t)
        for t in (
            "Home",
            "Library reopens",
            "The old library opened again on Saturday, after the storm.",
            "Jobs: £28,000 per annum",
            "ALL CAPS LINE HERE",
        )
    )
    assert X[home, col["link_density"]] == 1.0 and X[home, col["in_nav"]] == 1.0
    assert X[story, col["ends_sentence"]] == 1.0 and X[story, col["stop_share"]] > 0.2
    assert X[jobs, col["currency_symbol"]] == 1.0 and X[jobs, col["money_terms"]] == 1.0
    assert X[caps, col["allcaps_share"]] == 1.0
    assert X[head, col["tag_h1"]] == 1.0 and X[head, col["title_overlap"]] == 1.0
    # neighbours: the headline's next line is the story line
    assert X[head, col["next1_log_chars"]] == X[story, col["log_chars"]]
    assert X[story, col["prev1_log_chars"]] == X[head, col["log_chars"]]
    assert X[home, col["prev1_log_chars"]] == 0.0


def test_wrapped_paragraph_lines_share_paragraph_features() -> None:
    page = segment("Title\n\nA long paragraph that was\nhard wrapped over\nthree lines.\n\nMenu", kind="text")
    featurizer = LineFeaturizer(markup=False)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    para = X[1:4, col["para_log_chars"]]
    assert np.all(para == para[0]) and para[0] > X[1, col["log_chars"]]
    assert np.all(X[1:4, col["para_ends_sentence"]] == 1.0)


def test_plain_text_finds_its_main_section() -> None:
    story = _prose(60, "s")
    text = "\n\n".join(
        [
            "Home\nNews\nSport\nWeather",
            "Storm closes library",
            story,
            _prose(50, "t"),
            _prose(55, "u"),
            "More from News",
            "Other story one\nOther story two\nOther story three",
        ]
    )
    page = segment(text, kind="text")
    featurizer = LineFeaturizer(markup=False)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    assert "in_clean_box80" not in col  # no class names in plain text
    inside = X[:, col["in_main_box80"]]
    texts = page.texts
    first, last = texts.index("Storm closes library"), texts.index("More from News")
    # the headline's section holds the prose: the menu above and the teasers below are outside it
    assert inside[first:last].tolist() == [1.0] * (last - first)
    assert inside[:first].sum() == 0 and inside[last:].sum() == 0
    assert X[0, col["before_main_box"]] == 1.0 and X[-1, col["after_main_box"]] == 1.0


def test_is_a_clonable_transformer() -> None:
    featurizer = LineFeaturizer(markup=False, context=1, windows=(3,))
    twin = clone(featurizer)
    assert twin.get_params() == featurizer.get_params()
    assert featurizer.transform([]).shape == (0, len(featurizer.get_feature_names_out()))


def _prose(words: int, seed: str) -> str:
    return " ".join(f"{seed}{i % 7} word and the other" for i in range(words // 5)) + "."


def test_clean_main_block_finds_a_short_article_beside_a_long_sidebar() -> None:
    article = "".join(f"<p>{_prose(30, 'story')}</p>" for _ in range(3))
    sidebar = "".join(f"<div><p>{_prose(40, 'side')}</p></div>" for _ in range(4))
    html = (
        f'<html><body><div class="wrap"><div class="hentry entry">{article}</div>'
        f'<div class="sidebar">{sidebar}</div></div></body></html>'
    )
    page = segment(html)
    featurizer = LineFeaturizer()
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    story = [i for i, t in enumerate(page.texts) if t.startswith("story")]
    side = [i for i, t in enumerate(page.texts) if t.startswith("side")]
    # by prose mass alone the sidebar is the main block; leaving chrome-marked prose out, the article is
    assert X[side, col["in_main_box50"]].all() and not X[story, col["in_main_box50"]].any()
    assert X[story, col["in_clean_box50"]].all() and not X[side, col["in_clean_box50"]].any()
    assert X[side, col["after_clean_box"]].all()
    assert 0.2 < X[0, col["clean_prose_share"]] < 0.5
    assert X[0, col["article_page"]] > 0 and X[0, col["forum_page"]] == 0


def test_forum_and_article_templates_mark_comment_zones() -> None:
    posts = "".join(
        f'<div class="comment"><span class="username">u{i}</span><p>{_prose(30, "post")}</p></div>' for i in range(3)
    )
    thread = f'<html><body><div class="forum topic">{posts}</div></body></html>'
    featurizer = LineFeaturizer()
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    page = segment(thread)
    X = featurizer.page_features(page)
    post = [i for i, t in enumerate(page.texts) if t.startswith("post")]
    assert X[post, col["comment_zone"]].all()
    assert X[post, col["comment_zone_forum_page"]].all() and not X[post, col["comment_zone_article_page"]].any()
    # every line is comment-marked: the clean main block falls back to the plain one
    assert (X[:, col["in_clean_box50"]] == X[:, col["in_main_box50"]]).all()
    article = thread.replace('class="forum topic"', 'class="article"').replace("username", "author")
    page = segment(article)
    X = featurizer.page_features(page)
    assert X[post, col["comment_zone_article_page"]].all() and not X[post, col["comment_zone_forum_page"]].any()


def test_an_opinion_column_is_not_a_comment_section() -> None:
    """A newspaper's "commentary" is its story; "comments", "commentarea" and "comment-list" are readers'."""
    featurizer = LineFeaturizer()
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    column = f"<p>{_prose(30, 'column')}</p>" * 3
    replies = f"<p>{_prose(20, 'reply')}</p>" * 2
    for wrapper, readers in (("sect_article subjective commentary", "comments"), ("commentaries", "commentarea")):
        html = (
            f'<html><body><div class="article {wrapper}">{column}</div>'
            f'<div class="{readers}">{replies}</div></body></html>'
        )
        page = segment(html)
        X = featurizer.page_features(page)
        story = [i for i, t in enumerate(page.texts) if t.startswith("column")]
        thread = [i for i, t in enumerate(page.texts) if t.startswith("reply")]
        assert not X[story, col["comment_zone"]].any(), wrapper
        assert X[thread, col["comment_zone"]].all(), readers
        assert X[story, col["in_clean_box50"]].all()


def test_comment_heading_below_an_article_counts_above_a_longer_thread() -> None:
    article = "\n\n".join(_prose(60, f"story{k}") for k in range(3))  # 180 words of prose
    thread = "\n\n".join(f"{_prose(150, f'post{k}')}\n\n{_prose(150, f'more{k}')}" for k in range(12))
    menu = "Home\n\nComments\n\nAbout"
    page = segment(f"{menu}\n\nStorm closes library\n\n{article}\n\n12 Comments\n\n{thread}", kind="text")
    featurizer = LineFeaturizer(markup=False)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    after = X[:, col["after_comment_heading"]]
    heading = page.texts.index("12 Comments")
    # the thread holds the densest prose, yet its heading follows an article: the thread is its comments
    assert X[heading, col["dense_offset"]] < 0
    assert after[heading:].all() and not after[:heading].any()  # the menu's "Comments" link does not count


def test_plain_text_cues_are_the_text_heads_only() -> None:
    html, text = LineFeaturizer(), LineFeaturizer(markup=False)
    assert "ends_read_more" not in html.get_feature_names_out()
    assert {"ends_read_more", "after_comment_signatures"} <= set(text.get_feature_names_out())
    assert "ends_read_more" not in LineFeaturizer(markup=False, drop=("plain",)).get_feature_names_out()
    lines = [
        ("Storm closes library", 0.0),
        ("The old library shut its doors on Friday night. Read more »", 1.0),
        ("The mayor said it would open again [...]", 1.0),
        ("Floods in the valley [Continue reading]", 1.0),
        ("Weiterlesen", 1.0),
        ("More >", 1.0),
        ("Readers wanted more", 0.0),
        ("Read more about the storm in our archive", 0.0),
    ]
    page = segment("\n\n".join(line for line, _ in lines), kind="text")
    X = text.page_features(page)
    col = {n: i for i, n in enumerate(text.get_feature_names_out())}
    assert X[:, col["ends_read_more"]].tolist() == [flag for _, flag in lines]


def test_dated_signatures_below_an_article_start_its_comments() -> None:
    article = "\n\n".join(_prose(60, f"story{k}") for k in range(8))  # 480 words of prose
    comments = "\n\n".join(
        f"{_prose(20, f'reply{k}')}\n\nPosted by: reader{k} | Jan {k + 10}, 2008 4:4{k} PM" for k in range(4)
    )
    byline = "By Ann Smith, January 9, 2008"
    featurizer = LineFeaturizer(markup=False)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    page = segment(f"Storm closes library\n\n{byline}\n\n{article}\n\n{comments}", kind="text")
    after = featurizer.page_features(page)[:, col["after_comment_signatures"]]
    first = next(i for i, t in enumerate(page.texts) if t.startswith("Posted by"))
    assert after[first:].all() and not after[:first].any()  # the byline above the article does not count
    # two dated lines are not a thread
    page = segment(f"Storm closes library\n\n{article}\n\n" + "\n\n".join(comments.split("\n\n")[:4]), kind="text")
    assert not featurizer.page_features(page)[:, col["after_comment_signatures"]].any()
