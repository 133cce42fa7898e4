"""Scores for extractions: the page-level shingle F1 of the field, and line-level P/R/F1.

The shingle metric follows ``../shared/data/README.md`` exactly, so our numbers compare with the
published article-extraction benchmarks: ``\\w+`` tokens, 4-token shingles counted as multisets,
per-page tp/fp/fn normalised to sum to one, precision and recall averaged over pages, F1 of the means.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

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


_BITS = 15  # bits per token id in a packed shingle code: 4 x 15 = 60 bits fit an int64
_NO_CODE = 1 << 62  # above every packed code: ends the gold codes so a lookup never runs off the end


class PageShingler:
    """Scores many extractions of one page (subsets of its lines) against one gold, fast.

    ``score(keep)`` equals ``score_shingles(shingles("\\n".join(kept line texts)), shingles(gold))``
    exactly, at a fraction of the cost, for picking thresholds over thousands of pages. ``\\w`` never
    matches "\\n", so the tokens of the joined text are the kept lines' tokens in turn: each line is
    tokenised once. Tokens become ids (gold words 1..V, every other word V + 1, since a shingle holding
    one can never match the gold) and a shingle is its ids packed into one int64, zeros padding the one
    short shingle of a text shorter than ``size``: a pred code equals a gold code exactly when the token
    tuples are equal. The shingles of the whole page are looked up in the gold once; a kept text reuses
    those and looks up only its shingles that bridge dropped lines. Golds with too many distinct words
    for the packing (or shingles too long for it) take the Counter path.
    """

    def __init__(self, line_texts: Sequence[str], gold: str, size: int = SHINGLE) -> None:
        self.size = size
        self.texts = list(line_texts)
        self.n_lines = len(self.texts)
        gold_tokens = _WORD.findall(gold)
        vocab = dict(zip(dict.fromkeys(gold_tokens), itertools.count(1)))
        other = len(vocab) + 1
        self.fast = other < 1 << _BITS and size >= 1 and size * _BITS < 63
        if not self.fast:
            self.ref = shingles(gold, size)
            return
        words = list(map(_WORD.findall, self.texts))
        n_words = sum(map(len, words))
        ids = map(vocab.get, itertools.chain.from_iterable(words), itertools.repeat(other))
        self.tokens = np.fromiter(ids, dtype=np.int64, count=n_words)
        self.line_of = np.repeat(np.arange(self.n_lines), list(map(len, words)))  # the line of each token
        gold_ids = np.fromiter(map(vocab.__getitem__, gold_tokens), dtype=np.int64, count=len(gold_tokens))
        codes, counts = np.unique(self._codes(gold_ids), return_counts=True)
        self.gold_codes = np.append(codes, np.int64(_NO_CODE))
        self.gold_counts = np.append(counts, 0)
        self.gold_total = int(counts.sum())
        # the gold shingle (or the end mark) of each shingle of the whole page, by its first token: a kept
        # text's shingle whose tokens lie together on the page is one of these
        self.page_hits = self._lookup(self._codes(self.tokens)) if len(self.tokens) >= size else self.tokens[:0]
        self.offsets = np.arange(size)
        self.shifts = (size - 1 - self.offsets) * _BITS

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """The index of each code among the gold codes, the end mark's where it is not one."""
        at = self.gold_codes.searchsorted(codes)
        at[self.gold_codes[at] != codes] = len(self.gold_codes) - 1
        return at

    def _codes(self, tokens: np.ndarray) -> np.ndarray:
        """Packed codes of the shingles of a token-id sequence, as ``shingles`` forms them."""
        n, size = len(tokens), self.size
        if n >= size:
            m = n - size + 1
            if size == 4:
                pairs = (tokens[:-1] << _BITS) | tokens[1:]
                return (pairs[:m] << 2 * _BITS) | pairs[2:]
            codes = tokens[:m].copy()
            for i in range(1, size):
                codes <<= _BITS
                codes |= tokens[i : i + m]
            return codes
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        code = 0
        for i in range(size):
            code = (code << _BITS) | (int(tokens[i]) if i < n else 0)
        return np.array([code], dtype=np.int64)

    def score(self, keep: np.ndarray | Sequence[bool]) -> PageScore:
        """The score of the extraction keeping the lines where ``keep`` is true."""
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (self.n_lines,):
            raise ValueError(f"keep has shape {mask.shape}, expected ({self.n_lines},)")
        if not self.fast:
            text = "\n".join(t for t, k in zip(self.texts, mask, strict=True) if k)
            return score_shingles(shingles(text, self.size), self.ref)
        kept = mask[self.line_of].nonzero()[0]  # page positions of the kept tokens
        size = self.size
        if len(kept) < size:
            codes = self._codes(self.tokens[kept])
            hits = self._lookup(codes)
            n_pred = len(codes)
        else:
            first, last = kept[: len(kept) - size + 1], kept[size - 1 :]
            hits = self.page_hits[first]
            n_pred = len(hits)
            split = (last - first != size - 1).nonzero()[0]  # shingles spanning dropped lines' tokens
            if len(split):
                tokens = self.tokens[kept[split[:, None] + self.offsets]]
                hits[split] = self._lookup((tokens << self.shifts).sum(axis=1))
        found = np.bincount(hits, minlength=len(self.gold_codes))
        tp = int(np.minimum(found, self.gold_counts).sum())
        fp = n_pred - tp
        fn = self.gold_total - tp
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
    columns = snippet_columns(items)
    found, total_with, absent, total_without = (int(v) for v in columns.sum(axis=0))
    pages = len(columns)
    return SnippetScore(
        found / total_with if total_with else 0.0,
        absent / total_without if total_without else 0.0,
        pages,
    )


def score_columns(scores: Iterable[PageScore]) -> np.ndarray:
    """Each page's share of the set-level shingle means, as four columns (precision, pages with a precision,
    recall, pages with a recall): the set's mean precision is column 0 over column 1, as ``aggregate``
    takes it, and any weighting of the pages (a bootstrap resample) gives that resample's means."""
    rows = []
    for s in scores:
        if s.tp == 0 and s.fp == 0 and s.fn == 0:
            rows.append((1.0, 1.0, 1.0, 1.0))
            continue
        p, r = s.precision, s.recall
        rows.append((p or 0.0, float(p is not None), r or 0.0, float(r is not None)))
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def snippet_columns(items: Iterable[tuple[str, list[str], list[str]]]) -> np.ndarray:
    """``score_columns`` for snippet scores: per page, must-have snippets found, must-haves, must-not
    snippets absent, must-nots (the set's share found is column 0 over column 1, as ``snippet_scores``)."""
    rows = []
    for predicted, with_, without in items:
        text = squash(predicted)
        rows.append(
            (
                sum(squash(s) in text for s in with_),
                len(with_),
                sum(squash(s) not in text for s in without),
                len(without),
            )
        )
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def _f1_of_totals(totals: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(totals[..., 1] > 0, totals[..., 0] / totals[..., 1], 0.0)
        b = np.where(totals[..., 3] > 0, totals[..., 2] / totals[..., 3], 0.0)
        return np.where(a + b > 0, 2 * a * b / (a + b), 0.0)


def columns_f1(columns: np.ndarray) -> float:
    """The set-level F1 of ``score_columns`` or ``snippet_columns``."""
    return float(_f1_of_totals(columns.sum(axis=0)))


def resampled_f1(columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``columns_f1`` with the pages weighted by each row of ``weights`` (resamples x pages)."""
    return _f1_of_totals(weights @ columns)


@dataclass(frozen=True)
class Difference:
    """One system's set-level F1 minus another's on the same pages, with a paired bootstrap interval."""

    delta: float
    low: float
    high: float
    """The central 95% of the resampled differences."""
    ahead: float
    """Share of the resamples in which the first system scores at least as high as the second."""
    resamples: int
    groups: int
    """How many groups (sites) were resampled."""

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def weight_blocks(
    groups: Sequence[str], resamples: int = 2000, seed: int = 0, block: int = 200
) -> Iterator[np.ndarray]:
    """``resample_weights`` a ``block`` of resamples at a time (the same draws), so that a large set's
    resamples never sit in memory all at once."""
    names, index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        drawn = rng.integers(0, len(names), size=(rows, len(names)))
        counts = np.zeros((rows, len(names)))
        np.add.at(counts, (np.arange(rows)[:, None], drawn), 1.0)
        yield counts[:, index]


def resample_weights(groups: Sequence[str], resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """Page weights of ``resamples`` bootstrap resamples of whole groups (resamples x pages).

    Pages of one site share a template and fail together: resampling sites, not pages, keeps that, so
    the interval is not narrower than the evidence.
    """
    return np.vstack(list(weight_blocks(groups, resamples, seed)))


def paired_differences(ours: np.ndarray, theirs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The resampled F1 differences of two systems' columns over the same pages, one per weights row."""
    if ours.shape != theirs.shape or ours.shape[0] != weights.shape[1]:
        raise ValueError(f"columns {ours.shape} and {theirs.shape} do not match weights {weights.shape}")
    return resampled_f1(ours, weights) - resampled_f1(theirs, weights)


def difference(delta: float, resampled: np.ndarray, groups: int) -> Difference:
    """A ``Difference`` of a point estimate and its resampled differences."""
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Difference(delta, float(low), float(high), float(np.mean(resampled >= 0)), len(resampled), groups)


def compare_columns(
    ours: np.ndarray, theirs: np.ndarray, groups: Sequence[str], resamples: int = 2000, seed: int = 0
) -> Difference:
    """Paired site bootstrap of the set-level F1 difference of two systems scored on the same pages."""
    resampled = [paired_differences(ours, theirs, w) for w in weight_blocks(groups, resamples, seed)]
    delta = columns_f1(ours) - columns_f1(theirs)
    return difference(delta, np.concatenate(resampled), len(set(groups)))
