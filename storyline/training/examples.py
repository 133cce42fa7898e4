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
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from joblib import Parallel, delayed

from storyline.classifier.features import LineFeaturizer, forum_template, page_blocks
from storyline.classifier.lines_text import text_page
from storyline.classifier.model import line_words
from storyline.classifier.page import Line, Page
from storyline.classifier.runs import shared_containers
from storyline.classifier.segment import segment
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
    return as_kinds(item, (kind,))[kind]


def as_kinds(item: LabelledPage, kinds: Sequence[str]) -> dict[str, Page]:
    """``as_kind`` for several kinds at once: the page is parsed once, whatever the number of heads."""
    if item.lines is not None:
        page = item.lines.page
        if page.kind == "html" and "text" in kinds:
            return {k: text_page(render_text(page, wrap=False), item.id) if k == "text" else page for k in kinds}
        return dict.fromkeys(kinds, page)
    page = segment(item.content, item.kind, source=item.id)
    if page.kind == "html" and "text" in kinds:
        return {k: text_page(render_text(page, wraps(item.id)), item.id) if k == "text" else page for k in kinds}
    return dict.fromkeys(kinds, page)


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
    forum_template: bool = False
    """Whether the page's markup is a forum's (``features.forum_template``): such pages get a threshold
    offset of their own."""
    scored: bool = True
    """Whether the page counts in the threshold choice and the reported scores (a page made up to teach
    a shape, as ``synthetic``'s, trains the fits only)."""

    @property
    def full_gold(self) -> bool:
        return self.labelled is None

    @cached_property
    def shared(self) -> np.ndarray:
        """Each line's ``shared_containers`` with the line before: training reads it for every threshold
        and switch cost it tries."""
        return shared_containers(self.blocks)


def _has_labels(item: LabelledPage) -> bool:
    """A gold text, snippets or marked lines: something to learn from (a page without is not parsed)."""
    return item.gold is not None or bool(item.with_snippets or item.without_snippets) or item.lines is not None


def page_examples(
    item: LabelledPage, kind: str, featurizer: LineFeaturizer, page: Page | None = None
) -> PageExamples | None:
    """Rows of one page (segmented as ``kind``, or ``page`` when given), or None when it has no labels or
    no lines."""
    if not _has_labels(item):
        return None
    if page is None:
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
        words=line_words(page).astype(np.float32),
        coverage=coverage,
        texts=page.texts,
        blocks=page_blocks(page),
        labelled=labelled,
        forum_template=forum_template(page),
    )


def _batch(
    items: Sequence[LabelledPage], featurizers: dict[str, LineFeaturizer]
) -> list[dict[str, PageExamples | None]]:
    out = []
    for item in items:
        if not _has_labels(item):
            out.append(dict.fromkeys(featurizers))
            continue
        pages = as_kinds(item, tuple(featurizers))
        out.append({kind: page_examples(item, kind, f, pages[kind]) for kind, f in featurizers.items()})
    return out


@dataclass
class Examples:
    """Training rows of every head from one pass over the pages; what each page was; what was skipped."""

    by_kind: dict[str, list[PageExamples]]
    skipped: dict[str, list[str]]
    golds: dict[tuple[str, str], str]
    """Gold text of each page with one, by (dataset, id): the threshold is chosen on page-level scores."""
    pages_read: dict[str, int]
    """Pages read from each dataset, used or not."""


def build_all_examples(
    items: Iterable[LabelledPage],
    featurizers: dict[str, LineFeaturizer],
    jobs: int = 1,
    min_coverage: float = MIN_COVERAGE,
    progress: bool = False,
) -> Examples:
    """Examples of every page that aligns well, for each head, in one pass over ``items``.

    ``items`` is consumed lazily, a few batches ahead of the workers, and a page's markup is let go as
    soon as its rows are built: training never holds every page's HTML at once (a few hundred MB of
    text for the shared sets, more as Python strings).
    """
    chunk = 16
    pending: deque[list[LabelledPage]] = deque()
    golds: dict[tuple[str, str], str] = {}
    pages_read: dict[str, int] = {}

    def batches() -> Iterator[list[LabelledPage]]:
        batch: list[LabelledPage] = []
        for item in items:
            pages_read[item.dataset] = pages_read.get(item.dataset, 0) + 1
            if item.gold is not None:
                golds[(item.dataset, item.id)] = item.gold
            batch.append(item)
            if len(batch) == chunk:
                pending.append(batch)
                yield batch
                batch = []
        if batch:
            pending.append(batch)
            yield batch

    runner = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")
    results: Iterable[list[dict[str, PageExamples | None]]] = runner(delayed(_batch)(b, featurizers) for b in batches())
    if progress:
        from tqdm import tqdm

        results = tqdm(results, desc=f"featurising ({' + '.join(featurizers)})", unit="batch", leave=False)
    by_kind: dict[str, list[PageExamples]] = {kind: [] for kind in featurizers}
    skipped: dict[str, list[str]] = {kind: [] for kind in featurizers}
    for outs in results:
        batch = pending.popleft()
        for item, per_kind in zip(batch, outs, strict=True):
            for kind, ex in per_kind.items():
                if ex is None:
                    skipped[kind].append(
                        f"{item.dataset}/{item.id}: no gold, no snippet found on the page, or no lines"
                    )
                elif ex.coverage < min_coverage:
                    skipped[kind].append(f"{item.dataset}/{item.id}: story lines cover {ex.coverage:.0%} of the gold")
                else:
                    by_kind[kind].append(ex)
    if jobs != 1:  # the worker processes hold a few hundred MB each: free them before the fits
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    for reasons in skipped.values():
        for reason in reasons:
            log.debug("skipped %s", reason)
    return Examples(by_kind, skipped, golds, pages_read)


def build_examples(
    items: Iterable[LabelledPage],
    kind: str,
    featurizer: LineFeaturizer,
    jobs: int = 1,
    min_coverage: float = MIN_COVERAGE,
    progress: bool = False,
) -> tuple[list[PageExamples], list[str]]:
    """Examples of every page that aligns well for one head; also the pages skipped, with the reason."""
    built = build_all_examples(items, {kind: featurizer}, jobs, min_coverage, progress)
    return built.by_kind[kind], built.skipped[kind]
