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
from storyline.training.metrics import (
    aggregate,
    columns_f1,
    compare_columns,
    line_scores,
    score_columns,
    score_page,
    snippet_scores,
)


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
    group: str = ""
    """The page's site or domain."""
    mask: np.ndarray | None = None
    """Which lines carry a label (None: all of them), for pages with unsure marks."""
    probabilities: np.ndarray | None = None
    """Each line's story probability (for curves: precision-recall, calibration)."""


def evaluate_page(
    model: StoryModel, item: LabelledPage, kind: str | None = None, threshold: float | None = None
) -> PageResult:
    """Predict one labelled page and align its lines with the gold."""
    page = as_kind(item, kind or item.kind)
    probs = model.probabilities(page)
    story = model.head_for(page).story(page, probs, threshold)
    predicted = "\n".join(line.text for line, keep in zip(page.lines, story, strict=True) if keep)
    labels = None
    mask = None
    if item.lines is not None:
        labels = item.lines.labels
        mask = item.lines.labelled if "?" in item.lines.marks else None
    elif item.gold is not None:
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
        item.group,
        mask,
        probs,
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


def _key(result: PageResult, by: str) -> str:
    if by == "page_type":
        return result.page_type or "(none)"
    if by == "domain":
        return result.group or "(none)"
    raise ValueError(f"unknown breakdown {by!r}: page_type or domain")


def summarise(results: Sequence[PageResult], by: str | None = None, worst: int = 0) -> dict[str, Any]:
    """Set-level scores of page results: line-level scores with the confusion matrix, shingle scores,
    snippets; per page type (and per ``by`` field); the ``worst`` pages by shingle F1."""
    out: dict[str, Any] = {"pages": len(results)}
    labelled = [r for r in results if r.labels is not None]
    if labelled:
        truth = np.concatenate([r.labels if r.mask is None else r.labels[r.mask] for r in labelled])  # type: ignore[index]
        pred = np.concatenate([r.story if r.mask is None else r.story[r.mask] for r in labelled])
        out["line"] = {k: round(v, 4) for k, v in line_scores(truth, pred).as_dict().items()}
        out["line"]["pages"] = len(labelled)
        out["confusion"] = {
            "story_kept": int((truth & pred).sum()),
            "chrome_kept": int((~truth & pred).sum()),
            "story_dropped": int((truth & ~pred).sum()),
            "chrome_dropped": int((~truth & ~pred).sum()),
        }
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
    if gold and by and by != "page_type":
        keys = sorted({_key(r, by) for r in gold})
        out[f"by_{by}"] = {
            key: {
                k: round(v, 4)
                for k, v in aggregate(score_page(r.predicted, r.gold or "") for r in gold if _key(r, by) == key)
                .as_dict()
                .items()
            }
            for key in keys
        }
    if gold and worst:
        ranked = sorted(gold, key=lambda r: score_page(r.predicted, r.gold or "").f1)[:worst]
        out["worst"] = []
        for r in ranked:
            page = score_page(r.predicted, r.gold or "")
            out["worst"].append(
                {"id": r.id, "f1": round(page.f1, 4), "precision": page.precision, "recall": page.recall}
            )
    with_snippets = [r for r in results if r.with_snippets or r.without_snippets]
    if with_snippets and not gold:
        out["snippets"] = {
            k: round(v, 4)
            for k, v in snippet_scores((r.predicted, r.with_snippets, r.without_snippets) for r in with_snippets)
            .as_dict()
            .items()
        }
    return out


def compare(a: Sequence[PageResult], b: Sequence[PageResult], resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Shingle F1 of two models on the same pages, their difference (b - a) and its 95% bootstrap interval.

    Sites are resampled with replacement (a page without a site is a site of its own), the same sites for
    both models, so the interval says how much the difference could move on other sites like these: pages
    of one site share a template and are right or wrong together.
    """
    a_gold = [r for r in a if r.gold is not None]
    b_gold = [r for r in b if r.gold is not None]
    if [r.id for r in a_gold] != [r.id for r in b_gold]:
        raise ValueError("the two models were not scored on the same pages")
    if not a_gold:
        raise ValueError("no pages with a gold text to compare on")
    columns_a = score_columns(score_page(r.predicted, r.gold or "") for r in a_gold)
    columns_b = score_columns(score_page(r.predicted, r.gold or "") for r in b_gold)
    sites = [r.group or f"page {r.id}" for r in a_gold]
    found = compare_columns(columns_b, columns_a, sites, resamples, seed)
    return {
        "pages": len(a_gold),
        "sites": found.groups,
        "f1_a": round(columns_f1(columns_a), 4),
        "f1_b": round(columns_f1(columns_b), 4),
        "difference": round(found.delta, 4),
        "ci95_low": round(found.low, 4),
        "ci95_high": round(found.high, 4),
        "b_ahead": round(found.ahead, 4),
    }
