"""Training: grouped cross-validation picks C and the class weight, then the threshold; then the fit.

Folds are grouped by site, so no site's pages sit in both the training and the validation side and
the scores say how the model does on sites it has never seen. The sequence pass learns from the
first stage's out-of-fold scores, as it will see them on new pages. The decision threshold maximises
the page-level shingle F1 of the out-of-fold predictions.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from storyline.classifier.features import DROPPABLE, LineFeaturizer
from storyline.classifier.model import Head, make_classifier
from storyline.classifier.runs import line_weights, probability_logits, story_lines_of_pages
from storyline.classifier.sequence import sequence_features
from storyline.training import synthetic
from storyline.training.examples import PageExamples
from storyline.training.metrics import PageShingler, aggregate, line_scores

log = logging.getLogger(__name__)

C_GRID = (0.1, 1.0)
CLASS_WEIGHTS: tuple[Any, ...] = (None, "balanced")
THRESHOLDS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2))
SWITCH_COSTS = (0.0, 0.25, 0.5, 1.0)
"""Switch costs tried (see ``runs``): 0, the plain threshold, unless reading the page as runs earns more."""
SWITCH_CUTS = 2
"""With a switch cost, the thresholds tried are the plain threshold's and this many grid steps either side."""
FORUM_OFFSETS = tuple(np.round(np.arange(0.0, 0.301, 0.025), 3))
"""How much lower the threshold may be on pages whose markup is a forum's (``choose_forum_offset``)."""
MIN_FORUM_PAGES = 20
"""Forum pages with a full gold needed to choose their offset: with fewer, they keep the threshold."""


@dataclass
class TrainingConfig:
    """What to search and how: every field has a default that trains the shipped model."""

    folds: int = 5
    c_grid: Sequence[float] = C_GRID
    class_weights: Sequence[Any] = CLASS_WEIGHTS
    sequence: bool = True
    context: int = 3
    windows: tuple[int, ...] = (5, 15)
    markup: bool = True
    """Markup features for the html head (the text head never has them)."""
    drop: tuple[str, ...] = ()
    """Feature groups left out (see ``LineFeaturizer``)."""
    cv_tol: float = 1e-3
    """Stopping tolerance of the cross-validation fits (the final fit uses scikit-learn's 1e-4)."""
    search_folds: int = 3
    """The C and class-weight search looks at this many of the folds (all of them are used after it)."""
    max_lines_for_search: int = 1_000_000
    """Training rows per search fit: a sample when a fold holds more (its C scaled to match, see
    ``_search_C``)."""
    target_precision: float | None = None
    """Choose the threshold that reaches this mean out-of-fold precision (instead of the best F1)."""
    target_recall: float | None = None
    """Choose the threshold that reaches this mean out-of-fold recall (instead of the best F1)."""
    snippet_weight: float = 5.0
    """Row weight of lines labelled by snippets (a page with snippets labels only a few of its lines)."""
    switch_costs: Sequence[float] = SWITCH_COSTS
    """Costs of switching between story and chrome from one line to the next, tried with the threshold
    (see ``choose_decision``); ``(0,)`` keeps the plain threshold."""
    forum_offsets: Sequence[float] = FORUM_OFFSETS
    """Threshold offsets tried for pages whose markup is a forum's (see ``choose_forum_offset``); ``(0,)``
    judges them at the threshold of every other page."""
    comment_threads: float = 0.1
    """Synthetic article-plus-comment-thread pages (``synthetic``) added to the html head's training, per
    full-gold html page; 0 adds none (for a gold that keeps reader comments, as CleanEval's)."""
    seed: int = 0

    def featurizer(self, kind: str) -> LineFeaturizer:
        """The featuriser of a head of this kind under this configuration."""
        return LineFeaturizer(
            markup=self.markup and kind == "html", context=self.context, windows=self.windows, drop=self.drop
        )


FEATURE_GROUPS = ("text", "paragraph", "position", "markup", "containers", "plain", "context", "windows")


def config_for_groups(groups: Sequence[str], **fields: Any) -> TrainingConfig:
    """A configuration that uses only the named feature groups (``text`` is always used)."""
    unknown = set(groups) - set(FEATURE_GROUPS)
    if unknown:
        raise ValueError(f"unknown feature groups {sorted(unknown)}: choose from {', '.join(FEATURE_GROUPS)}")
    chosen = set(groups) | {"text"}
    defaults = TrainingConfig()
    return TrainingConfig(
        markup="markup" in chosen,
        context=defaults.context if "context" in chosen else 0,
        windows=defaults.windows if "windows" in chosen else (),
        drop=tuple(g for g in DROPPABLE if g not in chosen),
        **fields,
    )


@dataclass
class HeadReport:
    """What cross-validation found for one head."""

    kind: str
    pages: int
    lines: int
    story_lines: int
    C: float
    class_weight: Any
    threshold: float
    switch_cost: float = 0.0
    forum_offset: float = 0.0
    sequence_pass: bool = True
    search: list[dict[str, Any]] = field(default_factory=list)
    cv_line: dict[str, float] = field(default_factory=dict)
    cv_shingle: dict[str, float] = field(default_factory=dict)
    cv_by_dataset: dict[str, dict[str, float]] = field(default_factory=dict)
    cv_folds: list[dict[str, float]] = field(default_factory=list)
    """Per fold: its validation pages and sites, and their out-of-fold scores."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stack(
    pages: Sequence[PageExamples], snippet_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of all pages: features, labels, words, page index, which rows are labelled, row weights;
    and each page's site. The pages' own feature rows are released."""
    # float32: half the memory, and faster fits. Filled page by page, each page's own rows let go as
    # they are copied, so the rows are never held twice (training's memory peak).
    X = np.empty((sum(len(p.features) for p in pages), pages[0].features.shape[1]), dtype=np.float32)
    row = 0
    for p in pages:
        X[row : row + len(p.features)] = p.features
        row += len(p.features)
        p.features = p.features[:0]
    y = np.concatenate([p.labels for p in pages])
    w = np.concatenate([p.words for p in pages])
    groups = np.concatenate([np.full(len(p.labels), i) for i, p in enumerate(pages)])
    labelled = np.concatenate([np.ones(len(p.labels), bool) if p.full_gold else p.labelled for p in pages])
    weight = np.concatenate([np.full(len(p.labels), 1.0 if p.full_gold else snippet_weight) for p in pages])
    site = np.array([p.group for p in pages])
    return X, y, w, groups, labelled, weight, site


def _fit_scaler(X: np.ndarray, rows: np.ndarray, chunk: int = 1 << 16) -> Any:
    """A fitted ``StandardScaler`` of ``X[rows]``, computed in float64 a chunk of rows at a time.

    ``StandardScaler.fit`` would copy the rows and then make a float64 temporary of them all: for the
    shared sets, over a gigabyte at the moment when training holds the most.
    """
    from sklearn.preprocessing import StandardScaler

    n = int(rows.sum())
    total = np.zeros(X.shape[1])
    for i in range(0, len(X), chunk):
        total += X[i : i + chunk][rows[i : i + chunk]].sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros(X.shape[1])
    for i in range(0, len(X), chunk):
        part = X[i : i + chunk][rows[i : i + chunk]].astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", part, part)
    var = squares / n
    scale = np.sqrt(var)
    scale[scale < 10 * np.finfo(np.float64).eps] = 1.0  # constant features: left unscaled, as sklearn does
    scaler = StandardScaler()
    scaler.mean_, scaler.var_, scaler.scale_ = mean, var, scale
    scaler.n_samples_seen_, scaler.n_features_in_ = n, X.shape[1]
    return scaler


def _folds(site: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Page-index folds grouped by site."""
    k = max(2, min(k, len(set(site))))
    return list(GroupKFold(n_splits=k).split(np.zeros(len(site)), groups=site))


def _rows(page_index: np.ndarray, pages_of_row: np.ndarray) -> np.ndarray:
    return np.isin(pages_of_row, page_index)


def _search_C(C: float, rows: int, sample: int) -> float:
    """The C that regularises a fit on ``sample`` of ``rows`` as much as C does a fit on all of them.

    scikit-learn's C multiplies the *summed* loss, so the same C on a tenth of the rows is a ten times
    stronger penalty, and an unscaled search on a sample favours small C.
    """
    return C * rows / sample if sample else C


def _weighted_f1(y: np.ndarray, p: np.ndarray, w: np.ndarray, cut: float = 0.5) -> float:
    pred = p >= cut
    tp = float(w[pred & y].sum())
    fp = float(w[pred & ~y].sum())
    fn = float(w[~pred & y].sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _best_weighted_f1(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    return max(_weighted_f1(y, p, w, t) for t in THRESHOLDS)


def _verdicts(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    cuts: Sequence[float],
    switch_cost: float,
) -> np.ndarray:
    """Every row's verdict at each threshold of ``cuts`` (a row of verdicts each) with ``switch_cost``,
    as ``Head.story`` gives them page by page."""
    if switch_cost <= 0.0:
        return probs[None, :] >= np.asarray(cuts, dtype=np.float64)[:, None]
    weights = np.concatenate([line_weights(page.words) for page in pages])
    shared = np.concatenate([page.shared for page in pages])
    lengths = [len(page.labels) for page in pages]
    return story_lines_of_pages(probability_logits(probs), cuts, weights, shared, lengths, switch_cost)


def _kept(
    pages: Sequence[PageExamples], probs: np.ndarray, cut: float, switch_cost: float, forum_offset: float = 0.0
) -> np.ndarray:
    """Every row's verdict at threshold ``cut`` (a forum page's: ``forum_offset`` lower) with ``switch_cost``,
    as ``Head.story`` gives them."""
    if forum_offset <= 0.0:
        return _verdicts(pages, probs, [cut], switch_cost)[0]
    plain, lowered = _verdicts(pages, probs, [cut, max(cut - forum_offset, 0.0)], switch_cost)
    forum = np.repeat([page.forum_template for page in pages], [len(page.labels) for page in pages])
    return np.where(forum, lowered, plain)


CUTS = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))
"""Thresholds tried when choosing the model's: F1 is flat near its best, targets need a finer grid."""
F1_TIE = 0.001
"""Out-of-fold F1s this close are a tie: the curve is flat over a range of thresholds near its best, and
which point of that plateau scores highest is noise. The threshold is the middle of the plateau."""


def page_shinglers(pages: Sequence[PageExamples], golds: Sequence[str]) -> list[PageShingler | None]:
    """Each page's shingle scorer against its gold (None for a page with only snippets)."""
    return [PageShingler(page.texts, gold) if page.full_gold else None for page, gold in zip(pages, golds, strict=True)]


def threshold_curves(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    cuts: Sequence[float] = CUTS,
    switch_costs: Sequence[float] = (0.0,),
    shinglers: Sequence[PageShingler | None] | None = None,
) -> dict[float, dict[str, dict[float, Any]]]:
    """``threshold_curve`` at each of ``switch_costs``: ``{cost: {dataset: {cut: score}}}``. ``shinglers``
    (see ``page_shinglers``) saves building them again for another call on the same pages."""
    settings = [(float(cost), float(cut)) for cost in switch_costs for cut in cuts]
    by_setting: dict[tuple[float, float], list[Any]] = {key: [] for key in settings}
    partial: dict[tuple[float, float], dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {k: {} for k in settings}
    if shinglers is None:
        shinglers = page_shinglers(pages, golds)
    verdicts = {float(cost): _verdicts(pages, probs, cuts, cost) for cost in switch_costs}
    row = {float(cut): r for r, cut in enumerate(cuts)}
    start = 0
    for page, shingler in zip(pages, shinglers, strict=True):
        n = len(page.labels)
        lines = slice(start, start + n)
        start += n
        if not page.scored:
            continue
        if not page.full_gold:  # snippets: the kept and the story flags of the labelled lines
            assert page.labelled is not None
            for cost, cut in settings:
                keep = verdicts[cost][row[cut], lines]
                partial[cost, cut].setdefault(page.dataset, []).append(
                    (keep[page.labelled], page.labels[page.labelled])
                )
            continue
        assert shingler is not None
        seen: dict[bytes, Any] = {}  # neighbouring settings often keep the same lines: score each set once
        for cost, cut in settings:
            keep = verdicts[cost][row[cut], lines]
            key = keep.tobytes()
            if key not in seen:
                seen[key] = shingler.score(keep)
            by_setting[cost, cut].append(seen[key])
    full_pages = [page for page in pages if page.full_gold and page.scored]
    full_names = sorted({page.dataset for page in full_pages})
    curves: dict[float, dict[str, dict[float, Any]]] = {}
    for (cost, cut), scores in by_setting.items():
        curve = curves.setdefault(cost, {name: {} for name in full_names})
        for name in full_names:
            curve[name][cut] = aggregate(s for s, pg in zip(scores, full_pages, strict=True) if pg.dataset == name)
        for name, parts in sorted(partial[cost, cut].items()):
            kept = np.concatenate([part[0] for part in parts])
            story = np.concatenate([part[1] for part in parts]).astype(bool)
            label = f"{name} (snippets)" if name in full_names else name
            curve.setdefault(label, {})[cut] = SnippetLineScore.of(kept, story)
    return curves


def threshold_curve(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    cuts: Sequence[float] = CUTS,
    switch_cost: float = 0.0,
) -> dict[str, dict[float, Any]]:
    """Out-of-fold scores of each dataset at each candidate threshold (with ``switch_cost``, see ``runs``):
    page-level shingle scores (a ``SetScore``) where pages have a full gold, a ``SnippetLineScore`` where
    they have only snippets."""
    return threshold_curves(pages, probs, golds, cuts, (switch_cost,))[float(switch_cost)]


@dataclass(frozen=True)
class SnippetLineScore:
    """A snippet-labelled set's score at a threshold, from its labelled lines: the share of the lines
    holding a must-have snippet that are kept (``recall``: the snippets found) and of those holding a
    must-not snippet that are dropped (``precision``: the snippets absent), as the snippet metric counts."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @classmethod
    def of(cls, keep: np.ndarray, story: np.ndarray) -> SnippetLineScore:
        found = float(keep[story].mean()) if story.any() else 0.0
        absent = float((~keep[~story]).mean()) if (~story).any() else 0.0
        return cls(absent, found)


def choose_threshold(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    target_precision: float | None = None,
    target_recall: float | None = None,
    curve: dict[str, dict[float, Any]] | None = None,
) -> tuple[float, float]:
    """The threshold, and its score, from the out-of-fold page-level shingle scores averaged over datasets.

    Each training set counts the same, whatever its size, so the largest set's kind of page does not set
    the threshold for all the others. By default the threshold maximises F1 (the middle of the thresholds
    within ``F1_TIE`` of the best); with ``target_precision`` it
    is the lowest one whose precision reaches the target (the most recall that keeps it), with
    ``target_recall`` the highest one whose recall reaches it. A target out of reach takes the closest.
    """
    if curve is None:
        curve = threshold_curve(pages, probs, golds)
    cuts = sorted(next(iter(curve.values())))

    def mean(cut: float, field: str) -> float:
        return float(np.mean([getattr(curve[name][cut], field) for name in curve]))

    if target_precision is not None:
        met = [c for c in cuts if mean(c, "precision") >= target_precision]
        cut = min(met) if met else max(cuts, key=lambda c: mean(c, "precision"))
        return cut, mean(cut, "precision")
    if target_recall is not None:
        met = [c for c in cuts if mean(c, "recall") >= target_recall]
        cut = max(met) if met else max(cuts, key=lambda c: mean(c, "recall"))
        return cut, mean(cut, "recall")
    cut = cuts[_middle_of_best([mean(c, "f1") for c in cuts])]  # of two, the higher: less chrome kept
    return cut, mean(cut, "f1")


def _middle_of_best(scores: Sequence[float]) -> int:
    """The index of the middle of the scores within ``F1_TIE`` of the best (of two, the later): where a
    curve is flat near its best, which point of the plateau scores highest is noise."""
    best = max(scores)
    ties = [k for k, value in enumerate(scores) if value >= best - F1_TIE]
    return ties[len(ties) // 2]


def _near(cut: float) -> Sequence[float]:
    """The candidate thresholds within ``SWITCH_CUTS`` grid steps of ``cut``."""
    at = CUTS.index(cut) if cut in CUTS else int(np.argmin(np.abs(np.array(CUTS) - cut)))
    return CUTS[max(0, at - SWITCH_CUTS) : at + SWITCH_CUTS + 1]


def runs_decision(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    costs: Sequence[float],
    cuts: Sequence[float],
    shinglers: Sequence[PageShingler | None] | None = None,
) -> tuple[float, float, float]:
    """The best ``(mean F1, threshold, switch cost)`` over the positive ``costs`` and ``cuts``, each
    dataset counting the same; ``(-1, 0, 0)`` when no cost is positive."""
    best = (-1.0, 0.0, 0.0)
    positive = [float(c) for c in costs if c > 0]
    if not positive:
        return best
    for cost, curve in threshold_curves(pages, probs, golds, cuts, positive, shinglers).items():
        for c in cuts:
            f1 = float(np.mean([curve[name][c].f1 for name in curve]))
            if f1 > best[0]:
                best = (f1, float(c), cost)
    return best


def choose_decision(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    config: TrainingConfig,
    shinglers: Sequence[PageShingler | None] | None = None,
) -> tuple[float, float, float]:
    """The threshold and switch cost (``runs``), and their score, from the out-of-fold scores.

    The threshold is ``choose_threshold``'s; each positive switch cost is then tried with it and the
    thresholds ``SWITCH_CUTS`` grid steps either side (reading a page as runs keeps more of its short
    story lines, so a higher threshold may suit it), averaged over datasets in the same way. A switch
    cost is kept only when it beats the plain threshold by more than ``F1_TIE``: by more than noise.
    Precision and recall targets keep the plain threshold, the knob they describe.
    """
    if shinglers is None:
        shinglers = page_shinglers(pages, golds)
    plain = threshold_curves(pages, probs, golds, CUTS, (0.0,), shinglers)[0.0]
    cut, score = choose_threshold(pages, probs, golds, config.target_precision, config.target_recall, plain)
    if config.target_precision is not None or config.target_recall is not None:
        return cut, 0.0, score
    f1, runs_cut, cost = runs_decision(pages, probs, golds, config.switch_costs, _near(cut), shinglers)
    if f1 > score + F1_TIE:
        return runs_cut, cost, f1
    return cut, 0.0, score


def choose_forum_offset(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    threshold: float,
    switch_cost: float,
    offsets: Sequence[float] = FORUM_OFFSETS,
    shinglers: Sequence[PageShingler | None] | None = None,
) -> tuple[float, float | None]:
    """How much lower the threshold is on pages whose markup is a forum's, and those pages' score with it
    (None: too few of them to choose).

    A forum thread's posts are its text, and reply after reply reads to the model like the reader
    comments under an article, which the golds of news sets drop: one threshold for every page keeps too
    little of a thread or too much of an article. So the forum pages (``features.forum_template``) with
    a full gold get the offset that maximises their own out-of-fold page-level F1, each set counting the
    same, when it beats none by more than noise (``F1_TIE``; the middle of the offsets within it of the
    best). Snippet-labelled pages are left out: a few lines of a handful of forum pages measure no
    thread. Other pages are unaffected: the choice reads only the forum pages.
    """
    if shinglers is None:
        shinglers = page_shinglers(pages, golds)
    chosen = [i for i, page in enumerate(pages) if page.forum_template and page.scored and page.full_gold]
    if len(chosen) < MIN_FORUM_PAGES:
        return 0.0, None
    candidates = sorted({0.0, *(float(o) for o in offsets if 0.0 < o < threshold)})
    page_of_row = np.repeat(np.arange(len(pages)), [len(page.labels) for page in pages])
    rows = _rows(np.array(chosen), page_of_row)
    cuts = [round(threshold - offset, 6) for offset in candidates]
    curve = threshold_curves(
        [pages[i] for i in chosen],
        probs[rows],
        [golds[i] for i in chosen],
        cuts,
        (switch_cost,),
        [shinglers[i] for i in chosen],
    )[float(switch_cost)]
    f1 = [float(np.mean([curve[name][cut].f1 for name in curve])) for cut in cuts]
    if max(f1) <= f1[0] + F1_TIE:
        return 0.0, f1[0]
    k = _middle_of_best(f1)
    return candidates[k], f1[k]


def _sequence_matrix(pages: Sequence[PageExamples], z: np.ndarray) -> np.ndarray:
    blocks, start = [], 0
    for page in pages:
        n = len(page.labels)
        blocks.append(sequence_features(z[start : start + n], page.words.astype(np.float64), page.blocks))
        start += n
    return np.vstack(blocks)


def _tie_break(
    kind: str,
    finalists: list[dict[str, Any]],
    search_oof: dict[tuple[float, str], np.ndarray],
    pages: Sequence[PageExamples],
    golds: Sequence[str],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    config: TrainingConfig,
    say: Callable[[str], None],
) -> tuple[float, Any]:
    """C and class weight among settings the search cannot tell apart by word F1 (within ``F1_TIE``):
    the one whose out-of-fold scores on the searched folds' pages give the best page-level score at their
    own threshold and switch cost, the figure the model is chosen and reported by. (Line F1 and page F1
    part ways at the margin: a setting that wins a hundred short lines may lose a page's story.)"""
    held = np.sort(np.concatenate([va for _, va in folds]))
    ends = np.cumsum([len(p.labels) for p in pages])
    starts = ends - np.array([len(p.labels) for p in pages])
    rows = np.concatenate([np.arange(starts[i], ends[i]) for i in held])
    sub_pages = [pages[i] for i in held]
    sub_golds = [golds[i] for i in held]
    sub_shinglers = page_shinglers(sub_pages, sub_golds)  # built here and let go: training's memory peak
    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for entry in finalists:
        C, weight = entry["C"], entry["class_weight"]
        _, _, score = choose_decision(sub_pages, search_oof[(C, str(weight))][rows], sub_golds, config, sub_shinglers)
        entry["cv_page_f1"] = round(score, 4)
        say(f"  {kind}: C={C:g} class_weight={weight}: tied on word F1; out-of-fold page F1 {score:.4f}")
        if score > best[0]:
            best = (score, C, weight)
    return best[1], best[2]


def train_head(
    kind: str,
    pages: Sequence[PageExamples],
    golds: Sequence[str],
    config: TrainingConfig,
    say: Callable[[str], None] = lambda _: None,
) -> tuple[Head, HeadReport]:
    """Cross-validate, choose C, class weight and threshold, and fit one head on all ``pages``.

    The pages' feature rows are released once stacked into one matrix (training's memory peak).
    """
    if len(pages) < 2:
        raise ValueError(f"{kind} head: need at least 2 labelled pages, got {len(pages)}")
    featurizer = config.featurizer(kind)
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, w, page_of_row, labelled, row_weight, site = _stack(pages, config.snippet_weight)
    if y[labelled].all() or not y[labelled].any():
        raise ValueError(f"{kind} head: the labels hold only one class; need story and chrome lines")
    folds = _folds(site, config.folds)
    # training rows are the labelled lines of the fold's training pages; validation rows are every line
    fold_rows = [(_rows(tr, page_of_row) & labelled, _rows(va, page_of_row)) for tr, va in folds]
    rng = np.random.default_rng(config.seed)
    full = np.array([p.full_gold for p in pages])
    if not full.any():
        raise ValueError(f"{kind} head: need pages with a full gold text to choose the threshold")

    # The scaler is fitted once, on every labelled line (the final model's), and X scaled in place:
    # every fit below works on the same float32 matrix, with no copies but the rows it trains on.
    scaler = _fit_scaler(X, labelled)
    X -= scaler.mean_.astype(X.dtype)
    X /= scaler.scale_.astype(X.dtype)

    def fit(
        C: float, weight: Any, rows: np.ndarray, features: np.ndarray, start: Any = None, final: bool = False
    ) -> Any:
        """A logistic regression on ``rows``, started from ``start`` (coef, intercept) when given: the fits
        of neighbouring settings and folds land close to each other, so warm starts save most iterations.
        Cross-validation fits stop at a looser tolerance than the final fit (``config.cv_tol``)."""
        lr = make_classifier(C, weight, warm_start=start is not None, tol=1e-4 if final else config.cv_tol)
        if start is not None:
            lr.coef_, lr.intercept_ = start[0].copy(), start[1].copy()
        began = time.perf_counter()
        lr.fit(features[rows], y[rows], sample_weight=row_weight[rows])
        log.debug(
            "%s: fit C=%g class_weight=%s on %d rows: %d iterations, %.1f s",
            kind,
            C,
            weight,
            len(y[rows]),
            int(lr.n_iter_[0]),
            time.perf_counter() - began,
        )
        return lr

    # 1. Search C and class weight on the first stage (on a row sample when the data is large).
    search: list[dict[str, Any]] = []
    best: tuple[float, float, Any] = (-1.0, 1.0, None)
    starts: dict[Any, list[Any]] = {}
    search_rows = fold_rows[: max(2, config.search_folds)]
    searched = np.zeros(len(y), dtype=bool)
    for _, val_rows in search_rows:
        searched |= val_rows
    searched &= labelled
    previous: list[Any] = [None] * len(fold_rows)
    last = None
    search_oof: dict[tuple[float, str], np.ndarray] = {}
    search_scores: list[float] = []
    for C, weight in itertools.product(config.c_grid, config.class_weights):
        oof = np.zeros(len(y))
        for f, (train_rows, val_rows) in enumerate(search_rows):
            idx = np.nonzero(train_rows)[0]
            rows = len(idx)
            if rows > config.max_lines_for_search:
                idx = np.sort(rng.choice(idx, config.max_lines_for_search, replace=False))
            lr = fit(_search_C(C, rows, len(idx)), weight, idx, X, previous[f] or last)
            previous[f] = last = (lr.coef_, lr.intercept_)
            oof[val_rows] = lr.predict_proba(X[val_rows])[:, 1]
        starts[(C, str(weight))] = list(previous)
        search_oof[(C, str(weight))] = oof
        score = _best_weighted_f1(y[searched], oof[searched], w[searched])
        search.append({"C": C, "class_weight": weight, "cv_word_f1": round(score, 4)})
        search_scores.append(score)
        say(f"  {kind}: C={C:g} class_weight={weight}: out-of-fold word-weighted F1 {score:.4f}")
        if score > best[0]:
            best = (score, C, weight)
    _, C, weight = best
    # settings within noise of the best word F1 are told apart by their page-level score
    finalists = [entry for entry, score in zip(search, search_scores, strict=True) if score >= best[0] - F1_TIE]
    if len(finalists) > 1:
        searched_folds = folds[: len(search_rows)]
        C, weight = _tie_break(kind, finalists, search_oof, pages, golds, searched_folds, config, say)
    del search_oof

    # 2. Out-of-fold first-stage logits of the chosen setting; the sequence pass learns from them.
    z_oof = np.zeros(len(y))
    fold_starts = starts[(C, str(weight))]
    for f, (train_rows, val_rows) in enumerate(fold_rows):
        lr = fit(C, weight, train_rows, X, fold_starts[f] or fold_starts[f - 1])
        fold_starts[f] = (lr.coef_, lr.intercept_)
        z_oof[val_rows] = lr.decision_function(X[val_rows])
    probs = 1.0 / (1.0 + np.exp(-z_oof))
    S = None
    seq_scaler = None
    if config.sequence:
        S = _sequence_matrix(pages, z_oof)
        seq_scaler = StandardScaler().fit(S[labelled])
        S = seq_scaler.transform(S)
        seq_oof = np.zeros(len(y))
        seq_start = None
        for train_rows, val_rows in fold_rows:
            seq = fit(1.0, weight, train_rows, S, seq_start)
            seq_start = (seq.coef_, seq.intercept_)
            seq_oof[val_rows] = seq.predict_proba(S[val_rows])[:, 1]
        before = _best_weighted_f1(y[labelled], probs[labelled], w[labelled])
        after = _best_weighted_f1(y[labelled], seq_oof[labelled], w[labelled])
        say(f"  {kind}: sequence pass: out-of-fold word-weighted F1 {before:.4f} -> {after:.4f}")

    # 3. Threshold and switch cost on out-of-fold page-level shingle F1 (snippet sets: their snippet
    # score), each set counting the same; report the out-of-fold scores they give. The sequence pass
    # must earn its place: it stays unless the first stage's scores, with their own threshold and switch
    # cost, do better without it by more than noise.
    shinglers = page_shinglers(pages, golds)
    threshold, switch_cost, score = choose_decision(pages, probs, golds, config, shinglers)
    if config.sequence and S is not None:
        with_sequence = choose_decision(pages, seq_oof, golds, config, shinglers)
        if score > with_sequence[2] + F1_TIE:
            say(
                f"  {kind}: no sequence pass: the first stage's scores do better ({score:.4f} against "
                f"{with_sequence[2]:.4f} with it)"
            )
            S = None
        else:
            threshold, switch_cost, score = with_sequence
            probs = seq_oof
    if switch_cost > 0:
        say(f"  {kind}: threshold {threshold:g}, lines read as runs with switch cost {switch_cost:g}")
    # a precision or recall target is met by the one threshold, the knob it describes: no forum offset
    targeted = config.target_precision is not None or config.target_recall is not None
    forum_offset, forum_score = choose_forum_offset(
        pages, probs, golds, threshold, switch_cost, (0.0,) if targeted else config.forum_offsets, shinglers
    )
    if forum_offset > 0:
        say(f"  {kind}: forum pages at threshold {threshold - forum_offset:g} (out-of-fold F1 {forum_score:.4f})")
    kept = _kept(pages, probs, threshold, switch_cost, forum_offset)
    # each page with a full gold scored once, by its shingler (the same score as score_page's)
    ends = np.cumsum([len(p.labels) for p in pages])
    page_score = {
        i: shingler.score(kept[end - len(page.labels) : end])
        for i, (page, shingler, end) in enumerate(zip(pages, shinglers, ends.tolist(), strict=True))
        if shingler is not None
    }
    # the headline scores are the scored pages' (made-up ones have their own line in cv_by_dataset)
    real = np.array([p.scored for p in pages])
    scored = labelled & _rows(np.nonzero(real)[0], page_of_row)
    report = HeadReport(
        kind=kind,
        pages=len(pages),
        lines=int(len(y)),
        story_lines=int(y.sum()),
        C=float(C),
        class_weight=weight,
        threshold=threshold,
        switch_cost=switch_cost,
        forum_offset=forum_offset,
        sequence_pass=S is not None,
        search=search,
        cv_line={k: round(v, 4) for k, v in line_scores(y[scored], kept[scored]).as_dict().items()},
        cv_shingle={
            k: round(v, 4)
            for k, v in aggregate(page_score[i] for i in np.nonzero(full & real)[0].tolist()).as_dict().items()
        },
    )
    for _, val_pages in folds:
        val_full = [int(i) for i in val_pages if full[i] and real[i]]
        fold_score = aggregate(page_score[i] for i in val_full)
        rows = _rows(val_pages, page_of_row) & scored
        report.cv_folds.append(
            {
                "pages": len(val_pages),
                "sites": len(set(site[val_pages])),
                "shingle_f1": round(fold_score.f1, 4),
                "line_f1": round(line_scores(y[rows], kept[rows]).f1, 4),
            }
        )
    datasets = sorted({p.dataset for p in pages})
    for name in datasets:
        sel = [i for i, p in enumerate(pages) if p.dataset == name and p.full_gold]
        if sel:
            report.cv_by_dataset[name] = {
                k: round(v, 4) for k, v in aggregate(page_score[i] for i in sel).as_dict().items()
            }
        else:  # snippet labels only: line-level scores on the labelled lines
            rows = _rows(np.array([i for i, p in enumerate(pages) if p.dataset == name]), page_of_row) & labelled
            scores = line_scores(y[rows], kept[rows])
            report.cv_by_dataset[name] = {
                "line_f1": round(scores.f1, 4),
                "pages": len([p for p in pages if p.dataset == name]),
            }

    # 4. The final fit on everything, started from the folds' mean solution.
    mean_start = (np.mean([c for c, _ in fold_starts], axis=0), np.mean([i for _, i in fold_starts], axis=0))
    final = fit(C, weight, labelled, X, mean_start, final=True)
    del X
    featurizer.fit([])
    pipeline = Pipeline([("features", featurizer), ("scale", scaler), ("classify", final)])
    sequence = None
    if config.sequence and S is not None:
        sequence = Pipeline([("scale", seq_scaler), ("classify", fit(1.0, weight, labelled, S, seq_start, final=True))])
    return Head(pipeline, sequence, threshold, switch_cost=switch_cost, forum_offset=forum_offset), report


def train_model(
    datasets: Sequence[tuple[str, Iterable[Any]]],
    config: TrainingConfig | None = None,
    kinds: Sequence[str] = ("html", "text"),
    jobs: int = 1,
    progress: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> tuple[Any, dict[str, Any]]:
    """Train a ``StoryModel`` on ``(name, labelled pages)`` sets; return it and a training report.

    The pages may be lazy iterables: they are read once, every head's rows built in that one pass.
    """
    import storyline
    from storyline.classifier.model import StoryModel, now_iso
    from storyline.training.examples import build_all_examples

    config = config or TrainingConfig()
    names = [name for name, _ in datasets]

    def items() -> Iterator[Any]:  # the names given here label the report, whatever the pages' own field says
        for name, pages in datasets:
            for p in pages:
                yield p if p.dataset == name else replace(p, dataset=name)

    built = build_all_examples(items(), {kind: config.featurizer(kind) for kind in kinds}, jobs=jobs, progress=progress)
    empty = [name for name in names if not built.pages_read.get(name)]
    if empty:
        raise ValueError(f"no labelled pages in {', '.join(empty)}")
    summary = _data_summary(names, built.pages_read, built.by_kind[kinds[0]], built.skipped[kinds[0]])
    say(_format_summary(summary))
    skipped = built.skipped[kinds[0]]
    if skipped:
        shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        say(f"warning: {len(skipped)} pages skipped ({shown}); run with -v to list them all")
        for reason in skipped:
            log.info("skipped %s", reason)

    if "html" in kinds and config.comment_threads > 0:
        added = _add_comment_threads(built, config, jobs)
        summary["comment_threads"] = added
        say(f"{added} synthetic article pages with a comment thread added to the html head's training")

    def train_one(kind: str) -> tuple[Head, HeadReport]:
        examples = built.by_kind.pop(kind)  # this head's rows go once it is trained
        golds = [built.golds.get((ex.dataset, ex.id), "") for ex in examples]
        say(f"training the {kind} head on {len(examples)} pages")
        return train_head(kind, examples, golds, config, say)

    # The heads are independent: with more than one process allowed, they train side by side in
    # threads (the fits run in numpy and scipy, which let go of the GIL). Each fit runs on one core:
    # a BLAS spread over several threads sums in another order, and the solver's path, the
    # threshold chosen and so the model would depend on how many cores the machine has.
    workers = min(len(kinds), effective_jobs(jobs))
    with threadpool_limits(limits=1, user_api="blas"):
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                trained = dict(zip(kinds, pool.map(train_one, kinds), strict=True))
        else:
            trained = {kind: train_one(kind) for kind in kinds}
    heads = {kind: head for kind, (head, _) in trained.items()}
    reports = {kind: report.as_dict() for kind, (_, report) in trained.items()}
    metadata = {
        "storyline_version": storyline.__version__,
        "created": now_iso(),
        "training": summary,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
        "cv": reports,
    }
    return StoryModel(heads, metadata), metadata


def _add_comment_threads(built: Any, config: TrainingConfig, jobs: int) -> int:
    """Build ``config.comment_threads`` synthetic pages per full-gold html page from the html pages' golds
    and add their rows to the html head's examples; the number added."""
    from storyline.training.examples import build_all_examples

    full = [ex for ex in built.by_kind["html"] if ex.full_gold]
    sources = [
        (ex.dataset, ex.group, built.golds[ex.dataset, ex.id]) for ex in full if built.golds.get((ex.dataset, ex.id))
    ]
    pages = synthetic.comment_thread_pages(sources, round(config.comment_threads * len(full)), config.seed)
    if not pages:
        return 0
    extra = build_all_examples(pages, {"html": config.featurizer("html")}, jobs=jobs)
    for example in extra.by_kind["html"]:
        example.scored = False
    built.golds.update(extra.golds)
    built.by_kind["html"].extend(extra.by_kind["html"])
    return len(extra.by_kind["html"])


def effective_jobs(jobs: int) -> int:
    """Processes that ``jobs`` asks for, joblib's way (-1: every core, -2: all but one, ...)."""
    import os

    cores = os.cpu_count() or 1
    return max(1, jobs if jobs > 0 else cores + 1 + jobs)


def _data_summary(
    names: Sequence[str], pages_read: dict[str, int], examples: Sequence[PageExamples], skipped: list[str]
) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for name in names:
        used = [e for e in examples if e.dataset == name]
        read = pages_read.get(name, 0)
        per[name] = {
            "pages": read,
            "used": len(used),
            "skipped": read - len(used),
            "sites": len({e.group for e in used}),
            "lines": int(sum(len(e.labels) for e in used)),
            "story_lines": int(sum(int(e.labels.sum()) for e in used)),
            "median_gold_coverage": round(float(np.median([e.coverage for e in used])), 4) if used else None,
        }
    return {"datasets": per, "skipped_examples": skipped[:50]}


def _format_summary(summary: dict[str, Any]) -> str:
    rows = ["data:"]
    for name, s in summary["datasets"].items():
        rows.append(
            f"  {name}: {s['used']}/{s['pages']} pages used ({s['skipped']} skipped), {s['sites']} sites, "
            f"{s['lines']} lines of which {s['story_lines']} story; median gold coverage {s['median_gold_coverage']}"
        )
    return "\n".join(rows)
