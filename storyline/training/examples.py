"""Labelled pages to training examples: segment, align with the gold, featurise.

Both model heads learn from the same pages. The ``text`` head sees each HTML page as a plain-text dump
would show it: one block a line, a blank line around paragraphs and headings, and (for a share of pages,
chosen by a hash of the page id) paragraphs hard-wrapped at 72 columns, so it learns to judge a wrapped
paragraph by its paragraph features.
"""

from __future__ import annotations

import hashlib
import logging
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed

from storyline.classifier.features import LineFeaturizer
from storyline.classifier.lines_text import text_page
from storyline.classifier.page import Line, Page
from storyline.classifier.segment import segment
from storyline.classifier.sequence import page_blocks
from storyline.training.datasets import LabelledPage
from storyline.training.labels import align, snippet_labels

log = logging.getLogger(__name__)

MIN_COVERAGE = 0.6
"""Pages whose story lines hold less of the gold than this are aligned too badly to learn from."""
WRAP_SHARE = 0.3
_SPACED_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})


def render_text(page: Page, wrap: bool = False) -> str:
    """An HTML page's lines as a plain-text dump: one block a line, blank lines around paragraphs."""
    out: list[str] = []
    previous: Line | None = None
    for line in page.lines:
        spaced = line.tag in _SPACED_TAGS
        new_block = previous is None or line.paragraph != previous.paragraph
        if previous is not None and new_block and (spaced or previous.tag in _SPACED_TAGS):
            out.append("")
        if wrap and spaced and len(line.text) > 80:
            out.extend(textwrap.wrap(line.text, 72))
        else:
            out.append(line.text)
        previous = line
    return "\n".join(out)


def wraps(page_id: str) -> bool:
    """Deterministically pick the pages whose text rendering is hard-wrapped."""
    digest = hashlib.sha1(page_id.encode("utf-8")).digest()
    return digest[0] < 256 * WRAP_SHARE


def as_kind(item: LabelledPage, kind: str) -> Page:
    """Segment a labelled page as the given kind (an HTML page seen as text is rendered first).

    A page from a labelled-lines file is already segmented; seen as text it is rendered unwrapped, one
    line per line, so its marks still fit.
    """
    if item.lines is not None:
        page = item.lines.page
        if kind == "text" and page.kind == "html":
            return text_page(render_text(page, wrap=False), item.id)
        return page
    page = segment(item.content, item.kind, source=item.id)
    if kind == "text" and page.kind == "html":
        page = text_page(render_text(page, wraps(item.id)), item.id)
    return page


@dataclass
class PageExamples:
    """One page's lines as training rows."""

    id: str
    dataset: str
    group: str
    features: np.ndarray
    labels: np.ndarray
    words: np.ndarray
    coverage: float
    texts: list[str] = field(default_factory=list)
    blocks: list[tuple[int, ...]] = field(default_factory=list)
    labelled: np.ndarray | None = None
    """Which lines carry a label (None: all of them); pages with only snippets label a few lines."""

    @property
    def full_gold(self) -> bool:
        return self.labelled is None


def page_examples(item: LabelledPage, kind: str, featurizer: LineFeaturizer) -> PageExamples | None:
    """Rows of one page, or None when it has no labels or no lines."""
    if item.gold is None and not (item.with_snippets or item.without_snippets) and item.lines is None:
        return None
    page = as_kind(item, kind)
    if not page.lines:
        return None
    labelled = None
    if item.lines is not None:
        labels, coverage = item.lines.labels, 1.0
        if "?" in item.lines.marks:
            labelled = item.lines.labelled
            if not labelled.any():
                return None
    elif item.gold is not None:
        alignment = align(page, item.gold)
        labels, coverage = alignment.labels, alignment.gold_coverage
    else:
        labels, labelled = snippet_labels(page, item.with_snippets, item.without_snippets)
        if not labelled.any():
            return None
        coverage = 1.0
    return PageExamples(
        id=item.id,
        dataset=item.dataset,
        group=f"{item.dataset}:{item.group}",
        features=featurizer.page_features(page).astype(np.float32),
        labels=labels,
        words=np.array([max(1, len(line.text.split())) for line in page.lines], dtype=np.float32),
        coverage=coverage,
        texts=page.texts,
        blocks=page_blocks(page),
        labelled=labelled,
    )


def _batch(items: Sequence[LabelledPage], kind: str, featurizer: LineFeaturizer) -> list[PageExamples | None]:
    return [page_examples(item, kind, featurizer) for item in items]


def build_examples(
    items: Iterable[LabelledPage],
    kind: str,
    featurizer: LineFeaturizer,
    jobs: int = 1,
    min_coverage: float = MIN_COVERAGE,
    progress: bool = False,
) -> tuple[list[PageExamples], list[str]]:
    """Examples of every page that aligns well; also the ids of pages skipped, with the reason."""
    items = list(items)
    chunk = 16
    batches = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    runner = Parallel(n_jobs=jobs, return_as="generator")
    results = runner(delayed(_batch)(b, kind, featurizer) for b in batches)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(batches), desc=f"featurising ({kind})", unit="batch", leave=False)
    kept: list[PageExamples] = []
    skipped: list[str] = []
    for batch, outs in zip(batches, results, strict=True):
        for item, ex in zip(batch, outs, strict=True):
            if ex is None:
                skipped.append(f"{item.dataset}/{item.id}: no gold, no snippet found on the page, or no lines")
            elif ex.coverage < min_coverage:
                skipped.append(f"{item.dataset}/{item.id}: story lines cover {ex.coverage:.0%} of the gold")
            else:
                kept.append(ex)
    for reason in skipped:
        log.debug("skipped %s", reason)
    return kept, skipped
