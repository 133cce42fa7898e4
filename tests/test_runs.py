"""Reading a page as runs of story and chrome (``storyline.classifier.runs``) and choosing its switch cost."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import numpy as np

from storyline.classifier.model import StoryModel
from storyline.classifier.page import Line, Page
from storyline.classifier.runs import best_runs, line_weights, shared_containers, story_lines, story_lines_of_pages
from storyline.training.examples import PageExamples
from storyline.training.train import TrainingConfig, choose_decision


def _total(gains: list[float], costs: list[float], labels: list[bool]) -> float:
    switches = sum(costs[i] for i in range(1, len(labels)) if labels[i] != labels[i - 1])
    return sum(g for g, keep in zip(gains, labels, strict=True) if keep) - switches


def test_best_runs_is_the_best_labelling() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        gains, costs = rng.normal(size=n).tolist(), (2 * rng.random(n)).tolist()
        best = max(_total(gains, costs, list(y)) for y in itertools.product([False, True], repeat=n))
        assert abs(_total(gains, costs, best_runs(gains, costs)) - best) < 1e-9
    assert best_runs([], []) == []


def test_without_a_switch_cost_the_runs_are_the_threshold() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=3, size=50)
    blocks = [(0, i // 5) for i in range(50)]
    weights, shared = line_weights(np.full(50, 12.0)), shared_containers(blocks)
    for threshold in (0.0, 0.2, 0.5, 0.9, 1.0):
        kept = story_lines(logits, threshold, weights, shared, 0.0)
        assert kept.tolist() == (1 / (1 + np.exp(-logits)) >= threshold).tolist()


def test_runs_keep_a_short_line_inside_a_story_and_drop_a_stray_one_among_chrome() -> None:
    # one block of story: a doubtful short line between two sure paragraphs stays with them
    story = [(0, 1, 2)] * 3
    z, words = np.array([3.0, -0.8, 3.0]), np.array([40, 3, 40])
    weights, shared = line_weights(words), shared_containers(story)
    assert story_lines(z, 0.5, weights, shared, 0.0).tolist() == [True, False, True]
    assert story_lines(z, 0.5, weights, shared, 1.0).tolist() == [True, True, True]
    # a menu: one item that reads like prose goes with the rest of the menu
    menu = [(0, 7, 8)] * 5
    z = np.array([-3.0, -3.0, 0.9, -3.0, -3.0])
    assert story_lines(z, 0.5, line_weights(np.full(5, 6)), shared_containers(menu), 1.0).tolist() == [False] * 5
    # unrelated blocks share no container: switching between them costs nothing
    apart = [(1,), (2,), (3,)]
    z = np.array([3.0, -0.8, 3.0])
    assert shared_containers(apart).tolist() == [0.0, 0.0, 0.0]
    assert story_lines(z, 0.5, line_weights(words), shared_containers(apart), 5.0).tolist() == [True, False, True]


def test_shared_containers_is_the_share_of_common_outer_containers() -> None:
    assert shared_containers([(0, 1, 2), (0, 1, 3), (0, 4), (0, 4), ()]).tolist() == [0.0, 2 / 3, 1 / 3, 1.0, 0.0]


def test_a_head_with_a_switch_cost_reads_its_pages_as_runs(small_model_path: Path, tmp_path: Path) -> None:
    from pagegen import make_page

    from storyline.classifier.features import page_blocks
    from storyline.classifier.segment import segment

    model = StoryModel.load(small_model_path)
    html, _ = make_page(4242)
    page = segment(html)
    plain = model.predict_lines(page)
    spec = model.to_dict()
    for head in spec["heads"].values():
        head["switch_cost"] = 3.0
    spec["checksum"] = _checksum(spec["heads"])
    runs = StoryModel.from_dict(spec)
    assert runs.heads["html"].switch_cost == 3.0
    lines = runs.predict_lines(page)
    assert [line.p_story for line in lines] == [line.p_story for line in plain]  # probabilities unchanged
    z = np.log([line.p_story for line in lines]) - np.log1p(-np.array([line.p_story for line in lines]))
    words = np.array([max(1, len(line.text.split())) for line in page.lines])
    weights, shared = line_weights(words), shared_containers(page_blocks(page))
    expected = story_lines(z, runs.heads["html"].threshold, weights, shared, 3.0)
    assert [line.story for line in lines] == expected.tolist()
    assert runs.extract(page) == "\n".join(line.text for line in lines if line.story)
    # the cost is saved with the model, and a file written before it existed reads as 0: the threshold
    path = tmp_path / "runs.json"
    runs.save(path)
    assert StoryModel.load(path).heads["html"].switch_cost == 3.0
    for head in spec["heads"].values():
        del head["switch_cost"]
    spec["checksum"] = _checksum(spec["heads"])
    older = StoryModel.from_dict(spec)
    assert older.heads["html"].switch_cost == 0.0
    assert [line.story for line in older.predict_lines(page)] == [line.story for line in plain]


def _checksum(heads: dict) -> str:
    import hashlib

    canonical = json.dumps(heads, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _examples(page_probs: list[list[float]], page_labels: list[list[bool]]) -> list[PageExamples]:
    out = []
    for i, (probs, labels) in enumerate(zip(page_probs, page_labels, strict=True)):
        n = len(probs)
        texts = [f"page {i} line {j} says something about the harbour road" for j in range(n)]
        out.append(
            PageExamples(
                id=str(i),
                dataset="set",
                group=str(i),
                features=np.zeros((n, 1)),
                labels=np.array(labels),
                words=np.full(n, 9.0),
                coverage=1.0,
                texts=texts,
                blocks=[(0, 1)] * n,
            )
        )
    return out


def test_the_switch_cost_is_chosen_when_runs_score_better_and_not_otherwise() -> None:
    # a doubtful story line inside the story, and a prose-like chrome line among chrome scoring above it:
    # no threshold gets both right, runs do
    pattern = [0.9, 0.4, 0.9, 0.9, 0.1, 0.55, 0.1, 0.1]
    labels = [True] * 4 + [False] * 4
    pages = _examples([pattern] * 6, [labels] * 6)
    golds = ["\n".join(t for t, keep in zip(p.texts, labels, strict=True) if keep) for p in pages]
    probs = np.array(pattern * 6)
    threshold, cost, score = choose_decision(pages, probs, golds, TrainingConfig())
    assert cost > 0 and score == 1.0
    # every line's probability already right: the plain threshold, no cost
    clean = [0.9] * 4 + [0.1] * 4
    threshold, cost, score = choose_decision(pages, np.array(clean * 6), golds, TrainingConfig())
    assert cost == 0.0 and score == 1.0
    # a precision target keeps the plain threshold, the knob it describes
    _, cost, _ = choose_decision(pages, probs, golds, TrainingConfig(target_precision=0.9))
    assert cost == 0.0
    assert copy.copy(pages[0]).labels.tolist() == labels


def test_a_page_view_marks_the_runs_the_model_keeps(small_model_path: Path) -> None:
    from storyline.classifier.explain import explain_page

    model = StoryModel.load(small_model_path)
    model.heads["text"].switch_cost = 2.0
    texts = ["A menu", "Home", "A long line of a story. " * 5]
    page = Page([Line(t, paragraph=i) for i, t in enumerate(texts)], "text")
    explanation = explain_page(model, page)
    probs = model.probabilities(page)
    assert explanation.story.tolist() == model.heads["text"].story(page, probs).tolist()


def test_story_lines_of_pages_is_story_lines_page_by_page() -> None:
    rng = np.random.default_rng(7)
    for trial in range(300):
        lengths = rng.integers(0, 12, size=rng.integers(1, 8))
        total = int(lengths.sum())
        # whole log-odds on odd trials: ties between staying and switching, which must break the same way
        z = np.round(rng.normal(0, 2, total)) if trial % 2 else rng.normal(0, 2, total)
        weights = line_weights(rng.integers(0, 3, total))
        shared = rng.choice([0.0, 0.5, 1.0], total)
        thresholds, cost = [0.3, 0.5, 0.7], float(rng.choice([0.0, 0.5, 1.0, 3.0]))
        verdicts = story_lines_of_pages(z, thresholds, weights, shared, lengths.tolist(), cost)
        assert verdicts.shape == (3, total)
        start = 0
        for n in lengths.tolist():
            page = slice(start, start + n)
            for row, threshold in enumerate(thresholds):
                expected = story_lines(z[page], threshold, weights[page], shared[page], cost)
                assert verdicts[row, page].tolist() == expected.tolist(), (trial, lengths, start, threshold)
            start += n
