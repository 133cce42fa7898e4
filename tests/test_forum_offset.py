"""Forum pages' own threshold: which pages read as forum software's, how the offset is chosen, and how a
head applies it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from storyline.classifier.features import forum_template
from storyline.classifier.model import ModelError, StoryModel
from storyline.classifier.page import Line, Page
from storyline.classifier.segment import segment
from storyline.training.examples import PageExamples
from storyline.training.train import F1_TIE, MIN_FORUM_PAGES, _kept, choose_forum_offset


def _thread(classes: str) -> str:
    posts = "".join(
        f'<div class="{classes}"><span class="username">user{i}</span>'
        f"<p>Reply {i}: I had the same problem with the pump, and replacing the seal fixed it for me.</p></div>"
        for i in range(4)
    )
    return f"<html><body><h1>Pump leaking</h1>{posts}</body></html>"


def test_a_page_reads_as_a_forum_by_two_forum_tokens_and_fewer_article_tokens() -> None:
    assert forum_template(segment(_thread("postbit message")))  # username + postbit (messages is not message)
    assert forum_template(segment(_thread("forum-post topic")))
    # one forum token is on any kind of page (an avatar, a topic tag)
    assert not forum_template(segment(_thread("comment")))
    # an article template's comments: forum-like tokens, but as many article ones
    assert not forum_template(segment(_thread("postbit hentry entry")))
    # plain text has no markup, and an empty page nothing to read
    assert not forum_template(Page([Line("username postbit forum")], "text"))
    assert not forum_template(Page([], "html"))


def _pages(n_forum: int, n_other: int) -> tuple[list[PageExamples], np.ndarray, list[str]]:
    """Forum pages whose story lines score 0.55 (below a 0.75 threshold) and other pages whose chrome
    line scores 0.55 too: only a forum-only offset gets both right."""
    pages, probs, golds = [], [], []
    for i in range(n_forum + n_other):
        forum = i < n_forum
        labels = [True, True, False] if forum else [True, False, False]
        texts = [f"page {i} line {j} about the harbour road and the ferry" for j in range(3)]
        pages.append(
            PageExamples(
                id=str(i),
                dataset="set",
                group=str(i),
                features=np.zeros((3, 1)),
                labels=np.array(labels),
                words=np.full(3, 10.0),
                coverage=1.0,
                texts=texts,
                blocks=[(0, j + 1) for j in range(3)],
                forum_template=forum,
            )
        )
        probs += [0.9, 0.55, 0.1] if forum else [0.9, 0.55, 0.1]
        golds.append("\n".join(t for t, keep in zip(texts, labels, strict=True) if keep))
    return pages, np.array(probs), golds


def test_the_offset_is_chosen_on_the_forum_pages_alone() -> None:
    pages, probs, golds = _pages(MIN_FORUM_PAGES, 30)
    offset, score = choose_forum_offset(pages, probs, golds, threshold=0.75, switch_cost=0.0)
    # every offset taking 0.55 in (0.2 up to the largest tried) is perfect: the middle of that plateau
    assert 0.2 <= offset <= 0.3 and score == 1.0
    kept = _kept(pages, probs, 0.75, 0.0, offset)
    forum_rows = np.repeat([p.forum_template for p in pages], 3)
    labels = np.concatenate([p.labels for p in pages])
    assert (kept == labels).all()  # the forum pages keep their second line, the others drop theirs
    assert not kept[~forum_rows][1::3].any()


def test_no_offset_without_enough_forum_pages_or_a_gain_beyond_noise() -> None:
    pages, probs, golds = _pages(MIN_FORUM_PAGES - 1, 30)
    assert choose_forum_offset(pages, probs, golds, 0.75, 0.0) == (0.0, None)
    # the forum pages already right at the threshold: nothing to gain, no offset
    pages, probs, golds = _pages(MIN_FORUM_PAGES, 5)
    right = probs.copy()
    right[1 : 3 * MIN_FORUM_PAGES : 3] = 0.8
    offset, score = choose_forum_offset(pages, right, golds, 0.75, 0.0)
    assert offset == 0.0 and score is not None and score >= 1.0 - F1_TIE
    # offsets (0,) judge forum pages like the rest
    assert choose_forum_offset(pages, probs, golds, 0.75, 0.0, offsets=(0.0,))[0] == 0.0


def test_snippet_labelled_forum_pages_do_not_choose_the_offset() -> None:
    pages, probs, golds = _pages(MIN_FORUM_PAGES, 0)
    for page in pages[1:]:
        page.labelled = np.ones(3, dtype=bool)  # only one forum page left with a full gold
    assert choose_forum_offset(pages, probs, golds, 0.75, 0.0) == (0.0, None)


def _with_offset(small_model_path: Path, offset: float | None) -> dict:
    import hashlib

    spec = StoryModel.load(small_model_path).to_dict()
    for head in spec["heads"].values():
        if offset is None:
            head.pop("forum_offset", None)
        else:
            head["forum_offset"] = offset
    canonical = json.dumps(spec["heads"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    spec["checksum"] = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return spec


def test_a_head_judges_forum_pages_at_its_lower_threshold(small_model_path: Path, tmp_path: Path) -> None:
    from storyline.classifier.explain import explain_page

    model = StoryModel.from_dict(_with_offset(small_model_path, 0.3))
    head = model.heads["html"]
    forum, article = segment(_thread("postbit message")), segment(_thread("comment"))
    assert head.page_threshold(forum) == pytest.approx(head.threshold - 0.3)
    assert head.page_threshold(article) == head.threshold
    assert head.page_threshold(forum, 0.2) == 0.0  # never below 0
    head.switch_cost = 0.0  # the plain threshold: the verdicts are the probabilities against it
    probs = model.probabilities(forum)
    assert head.story(forum, probs).tolist() == (probs >= head.threshold - 0.3).tolist()
    assert head.story(forum, probs, 0.5).tolist() == (probs >= 0.2).tolist()
    assert explain_page(model, forum).threshold == pytest.approx(head.threshold - 0.3)
    # the offset is saved with the model; a file written before it existed reads as 0
    path = tmp_path / "forum.json"
    model.save(path)
    assert StoryModel.load(path).heads["html"].forum_offset == 0.3
    assert StoryModel.from_dict(_with_offset(small_model_path, None)).heads["html"].forum_offset == 0.0
    with pytest.raises(ModelError, match="forum offset"):
        StoryModel.from_dict(_with_offset(small_model_path, -0.1))
