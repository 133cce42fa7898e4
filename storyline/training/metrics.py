"""Scores for extractions: the page-level shingle F1 of the field, and line-level P/R/F1.

The shingle metric follows ``../shared/data/README.md`` exactly, so our numbers compare with the
published article-extraction benchmarks: ``\\w+`` tokens, 4-token shingles counted as multisets,
per-page tp/fp/fn normalised to sum to one, precision and recall averaged over pages, F1 of the means.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

_WORD = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """The multiset of ``size``-token shingles of ``text`` (a text shorter than ``size`` is one shingle)."""
    tokens = _WORD.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class PageScore:
    """Shingle counts of one page, normalised so that tp + fp + fn = 1 (all zero for two empty texts)."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float | None:
        """Share of the extraction that is gold; None when nothing was extracted."""
        if self.tp + self.fp == 0:
            return None
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """Share of the gold that was extracted; None when the gold is empty."""
        if self.tp + self.fn == 0:
            return None
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        """The page's own F1 (for ranking pages; the set-level F1 is computed from means)."""
        p, r = self.precision, self.recall
        if p is None and r is None:
            return 1.0
        p = 0.0 if p is None else p
        r = 0.0 if r is None else r
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def score_page(predicted: str, gold: str) -> PageScore:
    """Compare one extraction with its gold text."""
    return score_shingles(shingles(predicted), shingles(gold))


def score_shingles(pred: Counter[tuple[str, ...]], ref: Counter[tuple[str, ...]]) -> PageScore:
    """``score_page`` on shingles already counted (to score many extractions against one gold)."""
    tp = sum((pred & ref).values())
    fp = sum(pred.values()) - tp
    fn = sum(ref.values()) - tp
    total = tp + fp + fn
    if total == 0:
        return PageScore(0.0, 0.0, 0.0)
    return PageScore(tp / total, fp / total, fn / total)


@dataclass(frozen=True)
class SetScore:
    """Set-level shingle precision, recall and F1 (F1 of the mean precision and mean recall)."""

    precision: float
    recall: float
    f1: float
    pages: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def aggregate(scores: Iterable[PageScore]) -> SetScore:
    """Combine page scores as the published benchmarks do.

    Precision is the mean over pages where something was extracted (a page with fp = fn = 0 counts 1),
    recall the mean over pages with a non-empty gold.
    """
    precisions: list[float] = []
    recalls: list[float] = []
    n = 0
    for s in scores:
        n += 1
        if s.tp == 0 and s.fp == 0 and s.fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        if s.precision is not None:
            precisions.append(s.precision)
        if s.recall is not None:
            recalls.append(s.recall)
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return SetScore(p, r, f1, n)


def shingle_f1(pairs: Iterable[tuple[str, str]]) -> SetScore:
    """Set-level score of ``(predicted, gold)`` text pairs."""
    return aggregate(score_page(pred, gold) for pred, gold in pairs)


@dataclass(frozen=True)
class LineScore:
    """Line-level scores for the story class."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    lines: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def line_scores(truth: Iterable[bool], predicted: Iterable[bool]) -> LineScore:
    """Precision, recall, F1 and accuracy of story-line predictions against labels."""
    tp = fp = fn = tn = 0
    for t, p in zip(truth, predicted, strict=True):
        if t and p:
            tp += 1
        elif p:
            fp += 1
        elif t:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = tp + fp + fn + tn
    return LineScore(precision, recall, f1, (tp + tn) / n if n else 0.0, n)


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Lower-cased text with runs of whitespace as one space: how snippets are compared."""
    return _SPACE.sub(" ", text).strip().lower()


@dataclass(frozen=True)
class SnippetScore:
    """Partial-gold score: share of must-have snippets found and of must-not snippets absent."""

    with_found: float
    without_absent: float
    pages: int

    @property
    def f1(self) -> float:
        a, b = self.with_found, self.without_absent
        return 0.0 if a + b == 0 else 2 * a * b / (a + b)

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "f1": self.f1}


def snippet_scores(items: Iterable[tuple[str, list[str], list[str]]]) -> SnippetScore:
    """Score ``(predicted, with_snippets, without_snippets)`` triples, comparing case- and space-blind."""
    found = total_with = absent = total_without = pages = 0
    for predicted, with_, without in items:
        pages += 1
        text = squash(predicted)
        for snippet in with_:
            total_with += 1
            found += squash(snippet) in text
        for snippet in without:
            total_without += 1
            absent += squash(snippet) not in text
    return SnippetScore(
        found / total_with if total_with else 0.0,
        absent / total_without if total_without else 0.0,
        pages,
    )
