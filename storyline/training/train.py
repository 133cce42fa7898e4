"""Training: grouped cross-validation picks C and the class weight, then the threshold; then the fit.

Folds are grouped by site, so no site's pages sit in both the training and the validation side and
the scores say how the model does on sites it has never seen. The sequence pass learns from the
first stage's out-of-fold scores, as it will see them on new pages. The decision threshold maximises
the page-level shingle F1 of the out-of-fold predictions.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from storyline.classifier.features import LineFeaturizer
from storyline.classifier.model import Head, make_pipeline, make_sequence_pipeline
from storyline.classifier.sequence import sequence_features
from storyline.training.examples import PageExamples
from storyline.training.metrics import aggregate, line_scores, score_page, score_shingles, shingles

log = logging.getLogger(__name__)

C_GRID = (0.1, 1.0)
CLASS_WEIGHTS: tuple[Any, ...] = (None, "balanced")
THRESHOLDS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2))


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
    max_lines_for_search: int = 100_000
    target_precision: float | None = None
    """Choose the threshold that reaches this mean out-of-fold precision (instead of the best F1)."""
    target_recall: float | None = None
    """Choose the threshold that reaches this mean out-of-fold recall (instead of the best F1)."""
    snippet_weight: float = 5.0
    """Row weight of lines labelled by snippets (a page with snippets labels only a few of its lines)."""
    seed: int = 0

    def featurizer(self, kind: str) -> LineFeaturizer:
        """The featuriser of a head of this kind under this configuration."""
        return LineFeaturizer(
            markup=self.markup and kind == "html", context=self.context, windows=self.windows, drop=self.drop
        )


FEATURE_GROUPS = ("text", "paragraph", "position", "markup", "containers", "context", "windows")


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
        drop=tuple(g for g in ("paragraph", "position", "containers") if g not in chosen),
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
    and each page's site."""
    X = np.vstack([p.features for p in pages])  # float32: half the memory, and faster fits
    y = np.concatenate([p.labels for p in pages])
    w = np.concatenate([p.words for p in pages])
    groups = np.concatenate([np.full(len(p.labels), i) for i, p in enumerate(pages)])
    labelled = np.concatenate([np.ones(len(p.labels), bool) if p.full_gold else p.labelled for p in pages])
    weight = np.concatenate([np.full(len(p.labels), 1.0 if p.full_gold else snippet_weight) for p in pages])
    site = np.array([p.group for p in pages])
    return X, y, w, groups, labelled, weight, site


def _folds(site: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Page-index folds grouped by site."""
    k = max(2, min(k, len(set(site))))
    return list(GroupKFold(n_splits=k).split(np.zeros(len(site)), groups=site))


def _rows(page_index: np.ndarray, pages_of_row: np.ndarray) -> np.ndarray:
    return np.isin(pages_of_row, page_index)


def _weighted_f1(y: np.ndarray, p: np.ndarray, w: np.ndarray, cut: float = 0.5) -> float:
    pred = p >= cut
    tp = float(w[pred & y].sum())
    fp = float(w[pred & ~y].sum())
    fn = float(w[~pred & y].sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _best_weighted_f1(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    return max(_weighted_f1(y, p, w, t) for t in THRESHOLDS)


def _page_texts(pages: Sequence[PageExamples], probs: np.ndarray, cut: float) -> list[str]:
    out, start = [], 0
    for page in pages:
        n = len(page.labels)
        keep = probs[start : start + n] >= cut
        out.append("\n".join(t for t, k in zip(page.texts, keep, strict=True) if k))
        start += n
    return out


CUTS = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))
"""Thresholds tried when choosing the model's: F1 is flat near its best, targets need a finer grid."""


def threshold_curve(
    pages: Sequence[PageExamples], probs: np.ndarray, golds: Sequence[str]
) -> dict[str, dict[float, Any]]:
    """Out-of-fold page-level shingle scores (a ``SetScore``) of each dataset at each candidate threshold."""
    names = sorted({p.dataset for p in pages})
    by_cut: dict[float, list[Any]] = {float(cut): [] for cut in CUTS}
    start = 0
    for page, gold in zip(pages, golds, strict=True):
        n = len(page.labels)
        p = probs[start : start + n]
        start += n
        ref = shingles(gold)
        seen: dict[bytes, Any] = {}  # neighbouring thresholds often keep the same lines: score each set once
        for cut in by_cut:
            keep = p >= cut
            key = keep.tobytes()
            if key not in seen:
                text = "\n".join(t for t, k in zip(page.texts, keep, strict=True) if k)
                seen[key] = score_shingles(shingles(text), ref)
            by_cut[cut].append(seen[key])
    curve: dict[str, dict[float, Any]] = {name: {} for name in names}
    for cut, scores in by_cut.items():
        for name in names:
            curve[name][cut] = aggregate(s for s, p in zip(scores, pages, strict=True) if p.dataset == name)
    return curve


def choose_threshold(
    pages: Sequence[PageExamples],
    probs: np.ndarray,
    golds: Sequence[str],
    target_precision: float | None = None,
    target_recall: float | None = None,
) -> tuple[float, float]:
    """The threshold, and its score, from the out-of-fold page-level shingle scores averaged over datasets.

    Each training set counts the same, whatever its size, so the largest set's kind of page does not set
    the threshold for all the others. By default the threshold maximises F1; with ``target_precision`` it
    is the lowest one whose precision reaches the target (the most recall that keeps it), with
    ``target_recall`` the highest one whose recall reaches it. A target out of reach takes the closest.
    """
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
    best = max(cuts, key=lambda c: (round(mean(c, "f1"), 4), -abs(c - 0.5)))
    return best, mean(best, "f1")


def _sequence_matrix(pages: Sequence[PageExamples], z: np.ndarray) -> np.ndarray:
    blocks, start = [], 0
    for page in pages:
        n = len(page.labels)
        blocks.append(sequence_features(z[start : start + n], page.words.astype(np.float64), page.blocks))
        start += n
    return np.vstack(blocks)


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

    X, y, w, page_of_row, labelled, row_weight, site = _stack(pages, config.snippet_weight)
    for page in pages:  # the stacked matrix holds the rows now: let the per-page copies go
        page.features = page.features[:0]
    if y[labelled].all() or not y[labelled].any():
        raise ValueError(f"{kind} head: the labels hold only one class; need story and chrome lines")
    folds = _folds(site, config.folds)
    # training rows are the labelled lines of the fold's training pages; validation rows are every line
    fold_rows = [(_rows(tr, page_of_row) & labelled, _rows(va, page_of_row)) for tr, va in folds]
    rng = np.random.default_rng(config.seed)
    full = np.array([p.full_gold for p in pages])
    if not full.any():
        raise ValueError(f"{kind} head: need pages with a full gold text to choose the threshold")

    def fit(steps: list[tuple[str, Any]], rows: np.ndarray, features: np.ndarray) -> Pipeline:
        return Pipeline(steps).fit(features[rows], y[rows], classify__sample_weight=row_weight[rows])

    # 1. Search C and class weight on the first stage (on a row sample when the data is large).
    search: list[dict[str, Any]] = []
    best: tuple[float, float, Any] = (-1.0, 1.0, None)
    for C, weight in itertools.product(config.c_grid, config.class_weights):
        oof = np.zeros(len(y))
        for train_rows, val_rows in fold_rows:
            idx = np.nonzero(train_rows)[0]
            if len(idx) > config.max_lines_for_search:
                idx = np.sort(rng.choice(idx, config.max_lines_for_search, replace=False))
            pipe = fit(make_pipeline(featurizer, C, weight).steps[1:], idx, X)
            oof[val_rows] = pipe.predict_proba(X[val_rows])[:, 1]
        score = _best_weighted_f1(y[labelled], oof[labelled], w[labelled])
        search.append({"C": C, "class_weight": weight, "cv_word_f1": round(score, 4)})
        say(f"  {kind}: C={C:g} class_weight={weight}: out-of-fold word-weighted F1 {score:.4f}")
        if score > best[0]:
            best = (score, C, weight)
    _, C, weight = best

    # 2. Out-of-fold first-stage logits of the chosen setting; the sequence pass learns from them.
    z_oof = np.zeros(len(y))
    for train_rows, val_rows in fold_rows:
        pipe = fit(make_pipeline(featurizer, C, weight).steps[1:], train_rows, X)
        z_oof[val_rows] = pipe.decision_function(X[val_rows])
    probs = 1.0 / (1.0 + np.exp(-z_oof))
    S = None
    if config.sequence:
        S = _sequence_matrix(pages, z_oof)
        seq_oof = np.zeros(len(y))
        for train_rows, val_rows in fold_rows:
            seq = fit(make_sequence_pipeline(1.0, weight).steps, train_rows, S)
            seq_oof[val_rows] = seq.predict_proba(S[val_rows])[:, 1]
        before = _best_weighted_f1(y[labelled], probs[labelled], w[labelled])
        after = _best_weighted_f1(y[labelled], seq_oof[labelled], w[labelled])
        say(f"  {kind}: sequence pass: out-of-fold word-weighted F1 {before:.4f} -> {after:.4f}")
        probs = seq_oof

    # 3. Threshold on out-of-fold page-level shingle F1; report the out-of-fold scores it gives.
    full_pages = [p for p, keep in zip(pages, full, strict=True) if keep]
    full_golds = [g for g, keep in zip(golds, full, strict=True) if keep]
    full_rows = _rows(np.nonzero(full)[0], page_of_row)
    threshold, _ = choose_threshold(
        full_pages, probs[full_rows], full_golds, config.target_precision, config.target_recall
    )
    texts = _page_texts(pages, probs, threshold)
    report = HeadReport(
        kind=kind,
        pages=len(pages),
        lines=int(len(y)),
        story_lines=int(y.sum()),
        C=float(C),
        class_weight=weight,
        threshold=threshold,
        search=search,
        cv_line={k: round(v, 4) for k, v in line_scores(y[labelled], probs[labelled] >= threshold).as_dict().items()},
        cv_shingle={
            k: round(v, 4)
            for k, v in aggregate(score_page(texts[i], golds[i]) for i in np.nonzero(full)[0].tolist())
            .as_dict()
            .items()
        },
    )
    for _, val_pages in folds:
        val_full = [int(i) for i in val_pages if full[i]]
        fold_score = aggregate(score_page(texts[i], golds[i]) for i in val_full)
        rows = _rows(val_pages, page_of_row) & labelled
        report.cv_folds.append(
            {
                "pages": len(val_pages),
                "sites": len(set(site[val_pages])),
                "shingle_f1": round(fold_score.f1, 4),
                "line_f1": round(line_scores(y[rows], probs[rows] >= threshold).f1, 4),
            }
        )
    datasets = sorted({p.dataset for p in pages})
    for name in datasets:
        sel = [i for i, p in enumerate(pages) if p.dataset == name and p.full_gold]
        if sel:
            report.cv_by_dataset[name] = {
                k: round(v, 4) for k, v in aggregate(score_page(texts[i], golds[i]) for i in sel).as_dict().items()
            }
        else:  # snippet labels only: line-level scores on the labelled lines
            rows = _rows(np.array([i for i, p in enumerate(pages) if p.dataset == name]), page_of_row) & labelled
            scores = line_scores(y[rows], probs[rows] >= threshold)
            report.cv_by_dataset[name] = {
                "line_f1": round(scores.f1, 4),
                "pages": len([p for p in pages if p.dataset == name]),
            }

    # 4. The final fit on everything.
    pipeline = make_pipeline(featurizer, C, weight)
    pipeline.named_steps["features"].fit([])
    fit(pipeline.steps[1:], labelled, X)
    sequence = None
    if config.sequence and S is not None:
        sequence = fit(make_sequence_pipeline(1.0, weight).steps, labelled, S)
    return Head(pipeline, sequence, threshold), report


def train_model(
    datasets: Sequence[tuple[str, Sequence[Any]]],
    config: TrainingConfig | None = None,
    kinds: Sequence[str] = ("html", "text"),
    jobs: int = 1,
    progress: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> tuple[Any, dict[str, Any]]:
    """Train a ``StoryModel`` on ``(name, labelled pages)`` sets; return it and a training report."""
    import storyline
    from storyline.classifier.model import StoryModel, now_iso
    from storyline.training.examples import build_examples

    config = config or TrainingConfig()
    from dataclasses import replace

    # The names given here label the report, whatever the pages' own dataset field says.
    datasets = [
        (name, [p if p.dataset == name else replace(p, dataset=name) for p in pages]) for name, pages in datasets
    ]
    items = [item for _, pages in datasets for item in pages]
    heads: dict[str, Head] = {}
    reports: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for kind in kinds:
        featurizer = config.featurizer(kind)
        examples: list[PageExamples] = []  # let the previous head's examples go before featurising for this one
        examples, skipped = build_examples(items, kind, featurizer, jobs=jobs, progress=progress)
        if kind == kinds[0]:
            summary = _data_summary(datasets, examples, skipped)
            say(_format_summary(summary))
            if skipped:
                shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
                say(f"warning: {len(skipped)} pages skipped ({shown}); run with -v to list them all")
                for reason in skipped:
                    log.info("skipped %s", reason)
        golds = [_gold_of(items, ex) for ex in examples]
        say(f"training the {kind} head on {len(examples)} pages")
        head, report = train_head(kind, examples, golds, config, say)
        heads[kind] = head
        reports[kind] = report.as_dict()
    metadata = {
        "storyline_version": storyline.__version__,
        "created": now_iso(),
        "training": summary,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
        "cv": reports,
    }
    return StoryModel(heads, metadata), metadata


def _gold_of(items: Sequence[Any], ex: PageExamples) -> str:
    lookup = _gold_of.cache if hasattr(_gold_of, "cache") else None  # type: ignore[attr-defined]
    if lookup is None or lookup[0] is not items:
        lookup = (items, {(i.dataset, i.id): i.gold or "" for i in items})
        _gold_of.cache = lookup  # type: ignore[attr-defined]
    return lookup[1][(ex.dataset, ex.id)]


def _data_summary(
    datasets: Sequence[tuple[str, Sequence[Any]]], examples: Sequence[PageExamples], skipped: list[str]
) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for name, pages in datasets:
        used = [e for e in examples if e.dataset == name]
        per[name] = {
            "pages": len(pages),
            "used": len(used),
            "skipped": len(pages) - len(used),
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
