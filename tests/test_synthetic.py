"""Synthetic article-plus-comment-thread pages: what they hold, and how training uses them."""

from __future__ import annotations

import random
from pathlib import Path

from pagegen import paragraph

from storyline.classifier.segment import segment
from storyline.training.datasets import read_pages
from storyline.training.labels import align
from storyline.training.synthetic import DATASET, MIN_POOL, comment_thread_pages
from storyline.training.train import TrainingConfig, train_model


def _sources(count: int, dataset: str = "news") -> list[tuple[str, str, str]]:
    rng = random.Random(3)
    return [
        (dataset, f"site{i % 5}", "\n\n".join(paragraph(rng) for _ in range(rng.randint(3, 6)))) for i in range(count)
    ]


def test_pages_hold_the_article_as_gold_under_a_longer_comment_thread() -> None:
    sources = _sources(40)
    pages = comment_thread_pages(sources, 10)
    assert len(pages) == 10
    golds = {gold for _, _, gold in sources}
    for page in pages:
        assert page.dataset == DATASET and page.kind == "html" and page.page_type == "article"
        assert page.gold in golds  # the story is one source's article, whole
        assert page.group in {group for _, group, _ in sources}  # cross-validated with its article's site
        seg = segment(page.content, "html")
        labels = align(seg, page.gold).labels
        story_words = sum(len(line.text.split()) for line, story in zip(seg.lines, labels, strict=True) if story)
        other_words = sum(len(line.text.split()) for line, story in zip(seg.lines, labels, strict=True) if not story)
        assert story_words >= 0.9 * len(page.gold.split())
        assert other_words > story_words  # the thread (and the chrome) outweighs the article
    assert len({p.id for p in pages}) == len(pages)


def test_the_same_sources_and_seed_give_the_same_pages() -> None:
    first = comment_thread_pages(_sources(30), 5, seed=1)
    again = comment_thread_pages(_sources(30), 5, seed=1)
    other = comment_thread_pages(_sources(30), 5, seed=2)
    assert [p.content for p in first] == [p.content for p in again]
    assert [p.content for p in first] != [p.content for p in other]


def test_no_pages_without_enough_comment_paragraphs_or_when_none_are_asked_for() -> None:
    assert comment_thread_pages([], 5) == []
    assert comment_thread_pages(_sources(40), 0) == []
    few = _sources(3)  # a handful of paragraphs: fewer than a thread needs
    assert sum(len(gold.split("\n\n")) for _, _, gold in few) < MIN_POOL
    assert comment_thread_pages(few, 5) == []
    # comments come from the article's own dataset: a dataset too small for a thread gets none
    mixed = _sources(40, "big") + _sources(3, "small")
    assert {p.gold for p in comment_thread_pages(mixed, 40)} <= {gold for d, _, gold in mixed if d == "big"}


def test_training_adds_the_pages_to_the_html_head_only_and_scores_only_the_real_pages(tmp_path: Path) -> None:
    from pagegen import write_folder

    pages = list(read_pages(write_folder(tmp_path, pages=24)))
    said: list[str] = []
    config = TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,), comment_threads=1.0)
    model, metadata = train_model([("x", pages)], config, kinds=("html", "text"), say=said.append)
    added = metadata["training"]["comment_threads"]
    assert added > 0 and any(f"{added} synthetic" in line for line in said)
    assert DATASET in metadata["cv"]["html"]["cv_by_dataset"]
    assert DATASET not in metadata["cv"]["text"]["cv_by_dataset"]
    none, plain = train_model(
        [("x", pages)], TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,), comment_threads=0)
    )
    assert "comment_threads" not in plain["training"] and DATASET not in plain["cv"]["html"]["cv_by_dataset"]
    # the text head never sees them: it is the same with and without
    assert model.to_dict()["heads"]["text"] == none.to_dict()["heads"]["text"]
    assert model.to_dict()["heads"]["html"] != none.to_dict()["heads"]["html"]
