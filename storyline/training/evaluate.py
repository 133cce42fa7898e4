"""Evaluation: a model's line-level and page-level scores on labelled pages.

Line level: precision, recall, F1 and accuracy of the story class against the lines' aligned labels
(pages that align badly with their gold are left out of this, as in training). Page level: the shingle
F1 of the extracted text against the gold, the field's standard metric. Sets with only snippets are
scored by the share of must-have snippets found and must-not snippets absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from storyline.classifier.model import StoryModel
from storyline.training.datasets import LabelledPage
from storyline.training.examples import MIN_COVERAGE, as_kind
from storyline.training.labels import align
from storyline.training.metrics import aggregate, line_scores, score_page, snippet_scores


@dataclass
class PageResult:
    """One page's prediction and scores."""

    id: str
    predicted: str
    gold: str | None
    labels: np.ndarray | None
    story: np.ndarray
    page_type: str | None = None
    with_snippets: list[str] = field(default_factory=list)
    without_snippets: list[str] = field(default_factory=list)


def evaluate_page(
    model: StoryModel, item: LabelledPage, kind: str | None = None, threshold: float | None = None
) -> PageResult:
    """Predict one labelled page and align its lines with the gold."""
    page = as_kind(item, kind or item.kind)
    probs = model.probabilities(page)
    cut = model.head_for(page).threshold if threshold is None else threshold
    story = probs >= cut
    predicted = "\n".join(line.text for line, keep in zip(page.lines, story, strict=True) if keep)
    labels = None
    if item.gold is not None:
        alignment = align(page, item.gold)
        if alignment.gold_coverage >= MIN_COVERAGE:
            labels = alignment.labels
    return PageResult(
        item.id,
        predicted,
        item.gold,
        labels,
        story,
        item.page_type,
        item.with_snippets,
        item.without_snippets,
    )


def _batch(
    model: StoryModel, items: Sequence[LabelledPage], kind: str | None, threshold: float | None
) -> list[PageResult]:
    return [evaluate_page(model, item, kind, threshold) for item in items]


def evaluate_pages(
    model: StoryModel,
    items: Iterable[LabelledPage],
    kind: str | None = None,
    threshold: float | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> list[PageResult]:
    """Predict every page, in order (``kind`` = ``text`` feeds HTML pages as their text rendering)."""
    items = list(items)
    batches = [items[i : i + 16] for i in range(0, len(items), 16)]
    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(_batch)(model, b, kind, threshold) for b in batches)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(batches), desc="evaluating", unit="batch", leave=False)
    return [r for batch in results for r in batch]


def summarise(results: Sequence[PageResult]) -> dict[str, Any]:
    """Set-level scores of page results: line-level and shingle metrics, snippets, per page type."""
    out: dict[str, Any] = {"pages": len(results)}
    labelled = [r for r in results if r.labels is not None]
    if labelled:
        truth = np.concatenate([r.labels for r in labelled])
        pred = np.concatenate([r.story for r in labelled])
        out["line"] = {k: round(v, 4) for k, v in line_scores(truth, pred).as_dict().items()}
        out["line"]["pages"] = len(labelled)
    gold = [r for r in results if r.gold is not None]
    if gold:
        out["shingle"] = {
            k: round(v, 4) for k, v in aggregate(score_page(r.predicted, r.gold or "") for r in gold).as_dict().items()
        }
        types = sorted({r.page_type for r in gold if r.page_type})
        if types:
            out["by_page_type"] = {
                t: {
                    k: round(v, 4)
                    for k, v in aggregate(score_page(r.predicted, r.gold or "") for r in gold if r.page_type == t)
                    .as_dict()
                    .items()
                }
                for t in types
            }
    with_snippets = [r for r in results if r.with_snippets or r.without_snippets]
    if with_snippets and not gold:
        out["snippets"] = {
            k: round(v, 4)
            for k, v in snippet_scores((r.predicted, r.with_snippets, r.without_snippets) for r in with_snippets)
            .as_dict()
            .items()
        }
    return out
