"""Side-by-side extraction quality: storyline's default model against the peers, on every shared set.

- Evaluation-only sets (cleaneval, l3s-gn1, dragnet's test split, cleanportaleval, htmltotext-benchmark):
  the default model (``storyline.load_model()``) as shipped.
- Training sets of the default model (wcxb, readability, chinese-wce, trafilatura-eval): storyline is
  scored out of fold. The union of the four sets is split into ``--folds`` folds grouped by site
  (``dataset:site``), each fold's model is retrained with ``train_model`` on the other folds with the
  default model's own C and class weight, and predicts the held-out fold; so no page is scored by a model
  that saw it, or saw its site in the same set (a site found in two of the sets is two groups: 18 sites,
  46 of the 2,686 pages, mostly wcxb beside trafilatura-eval). Fold models and predictions are cached in
  ``benchmarks/.cache/quality`` under the default model's checksum and the releases of scikit-learn, numpy
  and scipy that fitted them (another release may fit a fold to another threshold), so a rerun only scores.
- Peers come from ``benchmarks/.cache/peers`` (``peer_cache.py`` runs a peer only where its cache lacks pages).
- Metric: the page-level shingle P/R/F1 of ``storyline.training.metrics`` (as in ``peer_scores.py``,
  with l3s-gn1's Latin-1 normalisation applied to every extractor alike); trafilatura-eval by its
  snippets. Both routes of storyline: the HTML and the same pages fed as plain text
  (``render_text(segment(html))``, one block a line, scored with the text head).
- How sure each difference is: storyline's F1 minus the best peer's and trafilatura's, with the central 95%
  of that difference over bootstrap resamples of the set's sites (paired: both extractors scored on the
  same resample; pages of a site share a template, so sites, not pages, are resampled).
- ``--ablation``: the sequence pass, each feature group (context, markup, containers, position,
  paragraph, the text head's plain-text cues) and the synthetic comment-thread pages, each removed in a
  model retrained on the four sets, scored on the evaluation-only sets.

The storyline scored is the one imported; one that is not this checkout's (``pip install .`` before an
edit or a retrain) is refused unless ``--installed`` is given (see ``checkout.py``).

Run (the machine is shared: low priority, at most two jobs)::

    nice -n 10 python benchmarks/quality.py [--folds 5] [--jobs 2] [--sets ...] [--quick] [--ablation]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_sets import ALL_SETS, FULL_GOLD_SETS, SNIPPET_SETS, LabelledPage, benchmark_pages, data_root
from checkout import add_installed_option, refuse_stale_install
from joblib import Parallel, delayed
from peer_cache import load_cache
from peer_scores import PREPARE
from peers import PEERS, cache_key, peer_versions
from sklearn.model_selection import GroupKFold

import storyline
from storyline.classifier.model import StoryModel
from storyline.classifier.segment import segment
from storyline.training.evaluate import PageResult, evaluate_pages, summarise
from storyline.training.examples import render_text
from storyline.training.metrics import (
    columns_f1,
    compare_columns,
    difference,
    paired_differences,
    resample_weights,
    score_columns,
    score_page,
    snippet_columns,
)
from storyline.training.train import TrainingConfig, train_model

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "quality"
RESULTS = HERE / "results" / "quality.json"

#: The sets the default model is trained on: storyline is scored on them by grouped cross-validation.
TRAINING_SETS = ["wcxb", "readability", "chinese-wce", "trafilatura-eval"]
KINDS = ("html", "text")
QUICK_PAGES = 40
RESAMPLES = 2000
"""Bootstrap resamples (of sites) behind each difference's 95% interval."""
ABLATIONS: dict[str, dict[str, Any]] = {
    "no sequence pass": {"sequence": False},
    "no context features": {"context": 0, "windows": ()},
    "no markup features": {"markup": False},
    "no container features": {"drop": ("containers",)},
    "no position features": {"drop": ("position",)},
    "no paragraph features": {"drop": ("paragraph",)},
    "no plain-text cue features": {"drop": ("plain",)},
    "no synthetic comment threads": {"comment_threads": 0.0},
}
"""Each variant retrains the default model's configuration with these changes. Markup and the synthetic
comment-thread pages are the html head's only: without them the text head is the default's, and is not
trained again; the plain-text cues are the text head's only, and the html head is not trained again."""
HTML_ONLY = {"markup": False, "comment_threads": 0.0}
"""Configuration fields that change only the html head, at a value that leaves them out."""
TEXT_ONLY_GROUPS = ("plain",)
"""Feature groups only a head without markup has: dropping them leaves the html head as it is."""


def say(message: str) -> None:
    """Progress on stderr (stdout holds the tables)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- pages ---------------------------------------------------------------------------------------------


def _sample(pages: list[LabelledPage], size: int) -> list[LabelledPage]:
    """A deterministic sample of ``size`` pages (by a hash of the id), kept in the set's order."""
    if len(pages) <= size:
        return pages
    rank = sorted(pages, key=lambda p: hashlib.sha1(p.id.encode("utf-8")).hexdigest())[:size]
    chosen = {p.id for p in rank}
    return [p for p in pages if p.id in chosen]


def load_sets(names: Iterable[str], quick: int | None) -> dict[str, list[LabelledPage]]:
    """The scored pages of each set (a sample of ``quick`` pages per set when given)."""
    pages = {name: benchmark_pages(name) for name in names}
    return {name: _sample(items, quick) if quick else items for name, items in pages.items()}


def page_key(page: LabelledPage) -> str:
    return f"{page.dataset}/{page.id}"


def as_text_page(page: LabelledPage) -> LabelledPage:
    """The page as a plain-text dump would give it: its visible text, one block a line, no markup."""
    if page.kind == "text":
        return page
    return dataclasses.replace(page, content=render_text(segment(page.content, "html", source=page.id)), kind="text")


def route_pages(pages: Sequence[LabelledPage], route: str) -> list[LabelledPage]:
    return list(pages) if route == "html" else [as_text_page(p) for p in pages]


# --- scoring -------------------------------------------------------------------------------------------


def score(set_name: str, results: Sequence[PageResult]) -> dict[str, Any]:
    """``summarise`` of page results, after the set's normalisation of extractions (as for the peers)."""
    return summarise(prepared(set_name, results))


def prepared(set_name: str, results: Sequence[PageResult]) -> Sequence[PageResult]:
    prepare = PREPARE.get(set_name)
    if prepare is None:
        return results
    return [dataclasses.replace(r, predicted=prepare(r.predicted)) for r in results]


def headline_columns(set_name: str, results: Sequence[PageResult]) -> np.ndarray:
    """Each page's part in the set's headline score (``score_columns``; ``snippet_columns`` on snippet
    sets), after the set's normalisation: what the bootstrap resamples."""
    results = prepared(set_name, results)
    if set_name in SNIPPET_SETS:
        return snippet_columns((r.predicted, r.with_snippets, r.without_snippets) for r in results)
    return score_columns(score_page(r.predicted, r.gold or "") for r in results)


def headline(summary: dict[str, Any]) -> float | None:
    """The figure a set is ranked by: shingle F1, or snippet F1 on snippet-only sets."""
    if "shingle" in summary:
        return summary["shingle"]["f1"]
    if "snippets" in summary:
        return summary["snippets"]["f1"]
    return None


def predict(model: StoryModel, pages: Sequence[LabelledPage], route: str, jobs: int) -> list[PageResult]:
    """The model's page results on one route (``text``: the pages fed as their plain-text rendering)."""
    return evaluate_pages(model, route_pages(pages, route), kind=route, jobs=jobs)


# --- peers ---------------------------------------------------------------------------------------------


def peer_results(set_name: str, pages: Sequence[LabelledPage], peer: str, version: str) -> list[PageResult] | None:
    """A peer's cached outputs as page results; runs the peer first if its cache lacks some pages."""
    cache = load_cache(set_name, peer, version)
    if any(p.id not in cache for p in pages):
        import peer_cache

        say(f"{set_name}/{peer}: cache incomplete, running the peer")
        peer_cache.main(["--sets", set_name, "--peers", peer])
        cache = load_cache(set_name, peer, version)
    if not all(p.id in cache for p in pages):
        return None
    empty = np.zeros(0, dtype=bool)
    return [
        PageResult(p.id, cache[p.id]["text"], p.gold, None, empty, p.page_type, p.with_snippets, p.without_snippets)
        for p in pages
    ]


def score_peers(
    set_name: str, pages: Sequence[LabelledPage], versions: dict[str, str]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every installed peer's scores on one set, and its pages' ``headline_columns``."""
    out: dict[str, Any] = {}
    columns: dict[str, np.ndarray] = {}
    for peer, version in versions.items():
        results = peer_results(set_name, pages, peer, cache_key(peer, version))
        if results is None:
            say(f"{set_name}/{peer}: outputs missing, left out")
            continue
        out[peer] = score(set_name, results)
        columns[peer] = headline_columns(set_name, results)
    return out, columns


# --- how sure a difference is --------------------------------------------------------------------------


def site_groups(pages: Sequence[LabelledPage]) -> list[str]:
    return [f"{p.dataset}:{p.group}" for p in pages]


class Resampled:
    """storyline's html-route F1 minus each peer's, on every bootstrap resample of one set's sites.

    Kept per set so that a difference of means over sets is resampled too (each set's sites resampled
    on their own, the means taken resample by resample).
    """

    def __init__(
        self, ours: np.ndarray, peers: dict[str, np.ndarray], groups: Sequence[str], page_types: Sequence[str | None]
    ) -> None:
        self.ours, self.peers, self.groups = ours, peers, list(groups)
        self.page_types = np.asarray([t or "" for t in page_types], dtype=object)
        self.weights = resample_weights(self.groups, RESAMPLES, seed=0)
        self.differences = {peer: paired_differences(ours, cols, self.weights) for peer, cols in peers.items()}

    def against(self, peer: str) -> dict[str, Any]:
        delta = columns_f1(self.ours) - columns_f1(self.peers[peer])
        return {"peer": peer, **difference(delta, self.differences[peer], len(set(self.groups))).as_dict()}

    def against_by_type(self, page_type: str, peer: str) -> dict[str, Any]:
        """The same on one page type's pages (their sites resampled on their own)."""
        rows = self.page_types == page_type
        groups = [g for g, keep in zip(self.groups, rows, strict=True) if keep]
        found = compare_columns(self.ours[rows], self.peers[peer][rows], groups, RESAMPLES, seed=0)
        return {"peer": peer, **found.as_dict()}


def set_differences(entry: dict[str, Any], resampled: Resampled) -> dict[str, Any]:
    """storyline against the set's best peer and trafilatura (and, on wcxb, each page type's best peer)."""
    out: dict[str, Any] = {}
    best = best_peer(entry["peers"])
    if best and best[0] in resampled.peers:
        out["best_peer"] = resampled.against(best[0])
    if "trafilatura" in resampled.peers:
        out["trafilatura"] = resampled.against("trafilatura")
    types = entry["storyline"]["html"].get("by_page_type", {})
    by_type = {}
    for kind in types:
        peers = entry["peers"].items()
        scored = {p: s["by_page_type"][kind]["f1"] for p, s in peers if kind in s.get("by_page_type", {})}
        if scored:
            by_type[kind] = resampled.against_by_type(kind, max(scored, key=lambda p: scored[p]))
    if by_type:
        out["by_page_type"] = by_type
    return out


def mean_differences(sets: dict[str, Resampled], means: dict[str, Any]) -> dict[str, Any]:
    """storyline's mean F1 over the full-gold sets minus trafilatura's and the best peer's, resampled."""
    full = [s for s in sets if s in FULL_GOLD_SETS]
    peer_means = {p: m["f1"] for p, m in means.items() if not p.startswith("storyline")}
    if not full or not peer_means or "storyline" not in means:
        return {}
    wanted = {"best_peer": max(peer_means, key=lambda p: peer_means[p])}
    if "trafilatura" in peer_means:
        wanted["trafilatura"] = "trafilatura"
    out = {}
    for label, peer in wanted.items():
        if not all(peer in sets[s].differences for s in full):
            continue
        resampled = np.mean([sets[s].differences[peer] for s in full], axis=0)
        delta = means["storyline"]["f1"] - peer_means[peer]
        groups = sum(len(set(sets[s].groups)) for s in full)
        out[label] = {"peer": peer, **difference(delta, resampled, groups).as_dict()}
    return out


# --- cross-validation on the training sets -------------------------------------------------------------


def hyper_parameters(model: StoryModel) -> dict[str, tuple[float, Any]]:
    """C and class weight of each head of a trained model, from its cross-validation report."""
    cv = model.metadata["cv"]
    return {kind: (float(cv[kind]["C"]), cv[kind]["class_weight"]) for kind in KINDS}


def base_config(model: StoryModel, **changes: Any) -> dict[str, Any]:
    """The default model's training configuration (fields TrainingConfig knows), with ``changes``."""
    known = {f.name for f in dataclasses.fields(TrainingConfig)}
    config = {k: v for k, v in model.metadata.get("config", {}).items() if k in known}
    if "windows" in config:
        config["windows"] = tuple(config["windows"])
    config.update(changes)
    return config


def train_head_model(
    datasets: Sequence[tuple[str, Sequence[LabelledPage]]],
    kind: str,
    hyper: dict[str, tuple[float, Any]],
    config: dict[str, Any],
) -> StoryModel:
    """A one-head model trained with ``train_model`` at the head's fixed C and class weight."""
    C, weight = hyper[kind]
    settings = TrainingConfig(**{**config, "c_grid": (C,), "class_weights": (weight,)})
    model, _ = train_model(datasets, settings, kinds=(kind,), jobs=1)
    return model


def cached_head_model(
    path: Path,
    datasets: Sequence[tuple[str, Sequence[LabelledPage]]],
    kind: str,
    hyper: dict[str, tuple[float, Any]],
    config: dict[str, Any],
) -> StoryModel:
    """The one-head model cached at ``path``, trained (and cached) first if absent."""
    if path.is_file():
        return StoryModel.load(path)
    started = time.monotonic()
    model = train_head_model(datasets, kind, hyper, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    pages = sum(len(items) for _, items in datasets)
    say(f"{path.name}: trained on {pages} pages in {time.monotonic() - started:.0f} s")
    return model


def by_dataset(pages: Sequence[LabelledPage]) -> list[tuple[str, list[LabelledPage]]]:
    """``(set name, its pages)`` pairs, as ``train_model`` takes them."""
    return [(name, [p for p in pages if p.dataset == name]) for name in sorted({p.dataset for p in pages})]


def fold_assignment(pages: Sequence[LabelledPage], folds: int) -> list[np.ndarray]:
    """Held-out page indices of each fold, grouped by ``dataset:site``."""
    groups = np.array([f"{p.dataset}:{p.group}" for p in pages])
    k = max(2, min(folds, len(set(groups))))
    return [held for _, held in GroupKFold(n_splits=k).split(np.zeros(len(pages)), groups=groups)]


def _encode(result: PageResult) -> dict[str, Any]:
    labels = None if result.labels is None else result.labels.astype(int).tolist()
    return {"predicted": result.predicted, "story": result.story.astype(int).tolist(), "labels": labels}


def _decode(record: dict[str, Any], page: LabelledPage) -> PageResult:
    labels = None if record["labels"] is None else np.array(record["labels"], dtype=bool)
    return PageResult(
        page.id,
        record["predicted"],
        page.gold,
        labels,
        np.array(record["story"], dtype=bool),
        page.page_type,
        page.with_snippets,
        page.without_snippets,
    )


def _read_json(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return json.load(stream)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with gzip.open(temporary, "wt", encoding="utf-8") as stream:
        json.dump(data, stream, ensure_ascii=False)
    temporary.replace(path)


def run_fold(
    number: int,
    kind: str,
    train: Sequence[LabelledPage],
    held_out: Sequence[LabelledPage],
    hyper: dict[str, tuple[float, Any]],
    config: dict[str, Any],
    folder: Path,
) -> dict[str, dict[str, Any]]:
    """One fold and one head: train it on the other folds (or load it), predict the held-out pages on
    that head's route; both the model and the predictions are cached."""
    predictions_path = folder / f"fold{number}-{kind}.predictions.json.gz"
    wanted = sorted(page_key(p) for p in held_out)
    if predictions_path.is_file():
        cached = _read_json(predictions_path)
        if sorted(cached) == wanted:
            return cached
    model = cached_head_model(folder / f"fold{number}-{kind}.model.json.gz", by_dataset(train), kind, hyper, config)
    results = predict(model, held_out, kind, jobs=1)
    predictions = {page_key(page): _encode(result) for page, result in zip(held_out, results, strict=True)}
    _write_json(predictions_path, predictions)
    return predictions


def cross_validate(
    pages: dict[str, list[LabelledPage]],
    default: StoryModel,
    folds: int,
    jobs: int,
    folder: Path,
) -> tuple[dict[str, dict[str, list[PageResult]]], dict[str, Any]]:
    """Out-of-fold page results of every training set, by set and route; and how the folds were made.

    Each (fold, head) pair is a task of its own, so two workers stay busy to the end.
    """
    union = [p for name in TRAINING_SETS for p in pages.get(name, [])]
    assignment = fold_assignment(union, folds)
    hyper, config = hyper_parameters(default), base_config(default)
    say(f"cross-validation: {len(union)} pages, {len(assignment)} folds grouped by site; C/class weight {hyper}")
    tasks, keys = [], []
    for kind in KINDS:  # the html head is the slower one: start with it
        for number, held in enumerate(assignment):
            held_set = set(held.tolist())
            train = [p for i, p in enumerate(union) if i not in held_set]
            tasks.append(delayed(run_fold)(number, kind, train, [union[i] for i in held], hyper, config, folder))
            keys.append(kind)
    outputs = Parallel(n_jobs=min(jobs, len(tasks)))(tasks)
    merged: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    for kind, output in zip(keys, outputs, strict=True):
        merged[kind].update(output)
    results = {
        name: {route: [_decode(merged[route][page_key(p)], p) for p in pages[name]] for route in KINDS}
        for name in TRAINING_SETS
        if name in pages
    }
    info = {
        "folds": len(assignment),
        "pages": len(union),
        "groups": len({f"{p.dataset}:{p.group}" for p in union}),
        "held_out_pages": [len(held) for held in assignment],
        "config": {
            **{k: v for k, v in config.items() if k not in ("c_grid", "class_weights")},
            "C/class_weight": {k: list(v) for k, v in hyper.items()},
        },
    }
    return results, info


# --- ablation ------------------------------------------------------------------------------------------


def _same_head(kind: str, config: dict[str, Any], changed: dict[str, Any]) -> bool:
    """Whether two configurations train the same ``kind`` head (a text head has no markup to drop, and
    never sees the synthetic comment threads; an html head has no plain-text cues to drop)."""

    def as_head_sees(c: dict[str, Any]) -> dict[str, Any]:
        if kind == "text":
            return {**c, **HTML_ONLY}
        return {**c, "drop": tuple(g for g in c.get("drop", ()) if g not in TEXT_ONLY_GROUPS)}

    return as_head_sees(config) == as_head_sees(changed)


def ablation(
    pages: dict[str, list[LabelledPage]],
    default: StoryModel,
    eval_sets: Sequence[str],
    quick: int | None,
    jobs: int,
    folder: Path,
) -> tuple[dict[str, Any], dict[str, dict[str, float | None]]]:
    """Scores on the evaluation-only sets of models trained on the four sets without one component each,
    and each model's out-of-fold score on the four sets.

    The full model is the default model itself (the same training on the same sets), except with
    ``--quick``, where it is retrained on the sample like the others.
    """
    training = by_dataset([p for name in TRAINING_SETS for p in pages[name]])
    variants: dict[str, dict[str, Any]] = {"default": {}, **ABLATIONS}
    if not quick:
        del variants["default"]
    hyper = hyper_parameters(default)
    wanted = [
        (label, kind)
        for label, changes in variants.items()
        for kind in KINDS
        if quick or not _same_head(kind, base_config(default), base_config(default, **changes))
    ]
    tasks = [
        delayed(cached_head_model)(
            folder / f"{label.replace(' ', '-')}-{kind}.model.json.gz",
            training,
            kind,
            hyper,
            base_config(default, **variants[label]),
        )
        for label, kind in wanted
    ]
    say(f"ablation: {len(tasks)} heads to train or load")
    trained = dict(zip(wanted, Parallel(n_jobs=min(jobs, len(tasks)))(tasks), strict=True))
    models = {label: {kind: trained.get((label, kind), default) for kind in KINDS} for label in variants}
    if not quick:
        models = {"default": {kind: default for kind in KINDS}, **models}
    out: dict[str, Any] = {}
    scored: dict[tuple[int, str, str], dict[str, Any]] = {}  # a head shared by two variants is scored once
    for label, heads in models.items():
        for name in eval_sets:
            for route in KINDS:
                key = (id(heads[route]), name, route)
                if key not in scored:
                    scored[key] = score(name, predict(heads[route], pages[name], route, jobs))
        out[label] = {name: {route: scored[(id(heads[route]), name, route)] for route in KINDS} for name in eval_sets}
        say(f"ablation: '{label}' scored")
    return out, {label: training_cv(heads) for label, heads in models.items()}


def training_cv(heads: dict[str, StoryModel]) -> dict[str, float | None]:
    """A model's out-of-fold shingle F1 on its training sets (full-gold pages), per head, as its training
    measured it: what the ablation costs on the pages it is trained on."""
    return {kind: heads[kind].metadata.get("cv", {}).get(kind, {}).get("cv_shingle", {}).get("f1") for kind in KINDS}


# --- the report ----------------------------------------------------------------------------------------


def best_peer(peers: dict[str, Any]) -> tuple[str, float] | None:
    """The peer with the highest headline score on a set."""
    scored = [(name, headline(s)) for name, s in peers.items() if headline(s) is not None]
    return max(scored, key=lambda item: item[1]) if scored else None  # type: ignore[arg-type,return-value]


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def means(sets: dict[str, Any], peers: Sequence[str]) -> dict[str, Any]:
    """Mean shingle P/R/F1 over the full-gold sets, for storyline's two routes and each peer."""
    full = [s for s in sets if s in FULL_GOLD_SETS]
    systems: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
        "storyline": lambda entry: entry["storyline"]["html"],
        "storyline (text)": lambda entry: entry["storyline"]["text"],
    }
    for peer in peers:
        systems[peer] = lambda entry, peer=peer: entry["peers"].get(peer)
    out: dict[str, Any] = {}
    for system, get in systems.items():
        summaries = [get(sets[s]) for s in full]
        if full and all(s is not None and "shingle" in s for s in summaries):
            out[system] = {
                key: _mean([s["shingle"][key] for s in summaries])  # type: ignore[index]
                for key in ("precision", "recall", "f1")
            }
    return out


def _f(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _interval(found: dict[str, Any] | None) -> str:
    """A difference's 95% bootstrap interval, as printed in the tables."""
    if not found:
        return "-"
    return f"{found['low']:+.3f} to {found['high']:+.3f}"


def _markdown(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _set_label(name: str, scoring: str) -> str:
    label = "dragnet (test split)" if name == "dragnet" else name
    return f"{label} ¹" if scoring == "cv" else label


def main_table(report: dict[str, Any]) -> str:
    """storyline's shingle P/R/F1 per set beside the best peer and trafilatura."""
    rows = []
    for name, entry in report["sets"].items():
        ours = entry["storyline"]["html"]
        f1 = headline(ours)
        if f1 is None:
            continue
        best = best_peer(entry["peers"])
        traf = headline(entry["peers"].get("trafilatura", {}))
        shingle = ours.get("shingle", {})
        found = entry.get("differences", {})
        rows.append(
            [
                _set_label(name, entry["scoring"]) + ("" if shingle else " (snippet F1)"),
                str(ours.get("pages")),
                _f(shingle.get("precision")),
                _f(shingle.get("recall")),
                f"**{_f(f1)}**",
                f"{_f(best[1])} ({best[0]})" if best else "-",
                _f(f1 - best[1], True) if best else "-",
                _interval(found.get("best_peer")),
                _f(traf),
                _f(f1 - traf, True) if traf is not None else "-",
                _interval(found.get("trafilatura")),
            ]
        )
    mean = report["means"]
    found = report.get("mean_differences", {})
    ours = mean.get("storyline")
    if ours:
        peer_means = {p: m["f1"] for p, m in mean.items() if not p.startswith("storyline")}
        top = max(peer_means.items(), key=lambda item: item[1]) if peer_means else None
        traf = peer_means.get("trafilatura")
        rows.append(
            [
                f"**mean over {sum(s in FULL_GOLD_SETS for s in report['sets'])} full-gold sets**",
                "",
                _f(ours["precision"]),
                _f(ours["recall"]),
                f"**{_f(ours['f1'])}**",
                f"{_f(top[1])} ({top[0]})" if top else "-",
                _f(ours["f1"] - top[1], True) if top else "-",
                _interval(found.get("best_peer")),
                _f(traf),
                _f(ours["f1"] - traf, True) if traf is not None else "-",
                _interval(found.get("trafilatura")),
            ]
        )
    header = [
        "set",
        "pages",
        "P",
        "R",
        "storyline F1",
        "best peer F1",
        "Δ best",
        "95% interval",
        "trafilatura F1",
        "Δ trafilatura",
        "95% interval",
    ]
    return _markdown(header, rows)


def grid_table(report: dict[str, Any], peers: Sequence[str], key: str) -> str:
    """One shingle figure (``f1``, ``precision`` or ``recall``) for every system on every full-gold set."""
    header = ["set", "storyline", "storyline (text)", *peers]
    rows = []
    for name, entry in report["sets"].items():
        if name not in FULL_GOLD_SETS:
            continue
        cells = [entry["storyline"]["html"], entry["storyline"]["text"], *(entry["peers"].get(p, {}) for p in peers)]
        rows.append([_set_label(name, entry["scoring"])] + [_f(c.get("shingle", {}).get(key)) for c in cells])
    mean = report["means"]
    systems = ["storyline", "storyline (text)", *peers]
    rows.append(["**mean**"] + [_f(mean.get(s, {}).get(key)) for s in systems])
    return _markdown(header, rows)


def page_type_table(report: dict[str, Any], peers: Sequence[str]) -> str | None:
    """wcxb shingle F1 per page type: storyline (out of fold) against every peer."""
    entry = report["sets"].get("wcxb")
    if not entry or "by_page_type" not in entry["storyline"]["html"]:
        return None
    header = ["page type", "pages", "storyline", "storyline (text)", *peers, "Δ best peer", "95% interval"]
    rows = []
    found = entry.get("differences", {}).get("by_page_type", {})
    for kind, ours in entry["storyline"]["html"]["by_page_type"].items():
        text = entry["storyline"]["text"].get("by_page_type", {}).get(kind, {})
        theirs = [entry["peers"].get(p, {}).get("by_page_type", {}).get(kind, {}).get("f1") for p in peers]
        known = [v for v in theirs if v is not None]
        rows.append(
            [kind, str(ours["pages"]), _f(ours["f1"]), _f(text.get("f1"))]
            + [_f(v) for v in theirs]
            + [_f(ours["f1"] - max(known), True) if known else "-", _interval(found.get(kind))]
        )
    return _markdown(header, rows)


def snippet_table(report: dict[str, Any], peers: Sequence[str]) -> list[str]:
    """The snippet scores of the snippet-only sets."""
    blocks = []
    for name, entry in report["sets"].items():
        if name not in SNIPPET_SETS:
            continue
        systems = {"storyline": entry["storyline"]["html"], "storyline (text)": entry["storyline"]["text"]}
        systems.update({p: entry["peers"][p] for p in peers if p in entry["peers"]})
        rows = [
            [system, _f(s["snippets"]["with_found"]), _f(s["snippets"]["without_absent"]), _f(s["snippets"]["f1"])]
            for system, s in systems.items()
            if "snippets" in s
        ]
        header = [_set_label(name, entry["scoring"]), "with found", "without absent", "F1"]
        blocks.append(_markdown(header, rows))
    return blocks


def route_table(report: dict[str, Any]) -> str:
    """The HTML route beside the plain-text route, per set (shingle F1; snippet F1 for snippet sets)."""
    rows = []
    diffs = []
    for name, entry in report["sets"].items():
        html, text = headline(entry["storyline"]["html"]), headline(entry["storyline"]["text"])
        diff = None if html is None or text is None else text - html
        if diff is not None and name in FULL_GOLD_SETS:
            diffs.append(diff)
        rows.append([_set_label(name, entry["scoring"]), _f(html), _f(text), _f(diff, True)])
    mean = report["means"]
    html_mean, text_mean = mean.get("storyline", {}).get("f1"), mean.get("storyline (text)", {}).get("f1")
    if html_mean is not None and text_mean is not None:
        rows.append(["**mean (full-gold sets)**", _f(html_mean), _f(text_mean), _f(text_mean - html_mean, True)])
    return _markdown(["set", "HTML F1", "text F1", "text − HTML"], rows)


def ablation_table(ablations: dict[str, Any], route: str, cv: dict[str, dict[str, Any]] | None = None) -> str:
    """Each ablated model's F1 on the evaluation-only sets, and its difference to the full model; and, when
    ``cv`` has them, its out-of-fold F1 on the training sets."""
    base = ablations["default"]
    variants = [v for v in ablations if v != "default"]
    header = ["set", "full model", *(f"{v} (Δ)" for v in variants)]
    rows = []
    for name in base:
        full = headline(base[name][route])
        cells = []
        for variant in variants:
            value = headline(ablations[variant][name][route])
            delta = None if value is None or full is None else value - full
            cells.append(f"{_f(value)} ({_f(delta, True)})")
        rows.append([_set_label(name, "held-out"), _f(full), *cells])
    full_mean = _mean([headline(base[n][route]) or 0.0 for n in base])
    cells = []
    for variant in variants:
        value = _mean([headline(ablations[variant][n][route]) or 0.0 for n in base])
        cells.append(f"{_f(value)} ({_f(None if value is None or full_mean is None else value - full_mean, True)})")
    rows.append(["**mean**", _f(full_mean), *cells])
    if cv and all(cv.get(v, {}).get(route) is not None for v in ["default", *variants]):
        full_cv = cv["default"][route]
        cells = [f"{_f(cv[v][route])} ({_f(cv[v][route] - full_cv, True)})" for v in variants]
        rows.append(["training sets, out of fold", _f(full_cv), *cells])
    return _markdown(header, rows)


def render(report: dict[str, Any]) -> str:
    """The report's tables, in markdown, ready for README."""
    peers = list(report["peer_versions"])
    info = report["storyline"]
    versions = ", ".join(f"{p} {v}" for p, v in report["peer_versions"].items())
    libraries = ", ".join(f"{p} {v}" for p, v in report.get("training_libraries", {}).items())
    blocks = [
        f"Measured {report['date']} with storyline {info['version']} (default model of {info['model_created']}, "
        f"checksum {info['checksum'][:12]}; folds fitted with {libraries or 'unrecorded libraries'}) and {versions}. "
        "Page-level shingle F1 of `../shared/data/README.md`."
        + (f" **Quick sample: {report['quick']} pages per set.**" if report["quick"] else ""),
        f"¹ a set the default model trains on: storyline is scored out of fold ({report['folds']} folds over the "
        "four training sets, grouped by site, each fold retrained with the default model's C and class weight).",
        f"95% interval: the central 95% of the difference over {RESAMPLES} bootstrap resamples of the set's sites "
        "(the same resample for both extractors; for the mean, each set's sites resampled on their own). An "
        "interval that spans zero is a difference the pages cannot tell from chance.",
        "### storyline against the best peer and trafilatura\n\n" + main_table(report),
        "### Shingle F1, every extractor\n\n" + grid_table(report, peers, "f1"),
        "### Shingle precision\n\n" + grid_table(report, peers, "precision"),
        "### Shingle recall\n\n" + grid_table(report, peers, "recall"),
    ]
    types = page_type_table(report, peers)
    if types:
        blocks.append("### wcxb shingle F1 by page type ¹\n\n" + types)
    for block in snippet_table(report, peers):
        blocks.append("### Snippet scores\n\n" + block)
    blocks.append("### HTML route against the plain-text route\n\n" + route_table(report))
    if report.get("ablation"):
        for route in KINDS:
            blocks.append(
                f"### Ablation ({route} route; trained on the four training sets, scored on the evaluation-only "
                "sets; last row: the training sets' out-of-fold score)\n\n"
                + ablation_table(report["ablation"], route, report.get("ablation_training_cv"))
            )
    return "\n\n".join(blocks)


# --- main ----------------------------------------------------------------------------------------------


TRAINING_LIBRARIES = ("scikit-learn", "numpy", "scipy")
"""What the fold models' fits depend on: another release of these may land a fold on another threshold, which
moves a small set's out-of-fold score by a page or two (chinese-wce: 0.014 a page)."""


def training_libraries() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in TRAINING_LIBRARIES}


def cache_folder(model: StoryModel, folds: int, quick: int | None) -> Path:
    """Where fold models and predictions of this default model live, per release of the training libraries:
    fold models fitted under other releases are not reused."""
    checksum = model.to_dict()["checksum"]
    libraries = "-".join(f"{name}{v}" for name, v in training_libraries().items())
    return CACHE / checksum[:16] / libraries / (f"cv{folds}" + (f"-quick{quick}" if quick else ""))


def new_report(args: argparse.Namespace, model: StoryModel, versions: dict[str, str]) -> dict[str, Any]:
    """The report's header: what was measured, with which versions, when."""
    return {
        "date": time.strftime("%Y-%m-%d"),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "storyline": {
            "version": storyline.__version__,
            "model_created": model.metadata.get("created"),
            "checksum": model.to_dict()["checksum"],
            "hyper_parameters": {k: {"C": c, "class_weight": w} for k, (c, w) in hyper_parameters(model).items()},
            "thresholds": {k: head.threshold for k, head in model.heads.items()},
        },
        "peer_versions": versions,
        "training_libraries": training_libraries(),
        "folds": args.folds,
        "quick": QUICK_PAGES if args.quick else None,
        "text_route": "render_text(segment(html)) fed as text, scored with the text head",
        "sets": {},
    }


def build_report(args: argparse.Namespace, model: StoryModel) -> dict[str, Any]:
    """Score storyline and the peers on the chosen sets: the evaluation-only sets first (cheap), then the
    cross-validated ones; the JSON is rewritten after each stage, so an interrupted run keeps its part."""
    quick = QUICK_PAGES if args.quick else None
    wanted = [s for s in ALL_SETS if s in args.sets]
    cv_sets = [s for s in wanted if s in TRAINING_SETS]
    pages = load_sets(sorted(set(wanted) | (set(TRAINING_SETS) if cv_sets or args.ablation else set())), quick)
    versions = {p: v for p, v in peer_versions().items() if p in PEERS}
    report = new_report(args, model, versions)
    scored: dict[str, Any] = {}
    resampled: dict[str, Resampled] = {}

    def record(name: str, scoring: str, results: dict[str, list[PageResult]]) -> None:
        ours = {route: score(name, results[route]) for route in KINDS}
        peers, columns = score_peers(name, pages[name], versions)
        entry = scored[name] = {"scoring": scoring, "storyline": ours, "peers": peers}
        types = [p.page_type for p in pages[name]]
        resampled[name] = Resampled(headline_columns(name, results["html"]), columns, site_groups(pages[name]), types)
        entry["differences"] = set_differences(entry, resampled[name])
        report["sets"] = {s: scored[s] for s in wanted if s in scored}
        report["means"] = means(report["sets"], list(versions))
        report["mean_differences"] = mean_differences({s: resampled[s] for s in report["sets"]}, report["means"])
        save_report(report, args.output)

    for name in (s for s in wanted if s not in TRAINING_SETS):
        say(f"scoring {name} ({len(pages[name])} pages)")
        record(name, "held-out", {route: predict(model, pages[name], route, args.jobs) for route in KINDS})
    folder = cache_folder(model, args.folds, quick)
    if cv_sets:
        oof, report["cross_validation"] = cross_validate(pages, model, args.folds, args.jobs, folder)
        for name in cv_sets:
            say(f"scoring {name} ({len(pages[name])} pages, out of fold)")
            record(name, "cv", oof[name])
    if args.ablation:
        eval_sets = [s for s in wanted if s not in TRAINING_SETS]
        ablation_folder = folder.parent / ("ablation" + (f"-quick{quick}" if quick else ""))
        report["ablation"], report["ablation_training_cv"] = ablation(
            pages, model, eval_sets, quick, args.jobs, ablation_folder
        )
        save_report(report, args.output)
    return report


def save_report(report: dict[str, Any], path: Path) -> None:
    """Write the JSON report (``-``: nowhere)."""
    if str(path) == "-":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=ALL_SETS, choices=ALL_SETS, metavar="SET")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds on the training sets")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (folds trained in parallel)")
    parser.add_argument("--quick", action="store_true", help=f"a sample of {QUICK_PAGES} pages per set")
    parser.add_argument(
        "--ablation", action="store_true", help=f"also the ablation table (trains {len(ABLATIONS)} models)"
    )
    parser.add_argument("--model", type=Path, help="score this model file instead of the default model")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON report ('-' for none)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only print the tables of a saved report")
    add_installed_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.render:
        print(render(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    if not data_root().is_dir():
        print(f"quality benchmark skipped: no shared data at {data_root()}", file=sys.stderr)
        return 0
    if refuse_stale_install(args.installed):
        return 2
    model = storyline.load_model(args.model)
    report = build_report(args, model)
    print(render(report))
    if str(args.output) != "-":
        say(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
