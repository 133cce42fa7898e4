"""The quality benchmark's intervals: storyline against a peer on resampled sites, per set and over sets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import quality  # noqa: E402

from storyline.training.metrics import score_columns, score_page  # noqa: E402

GOLD = [f"story {i} of the harbour road and the council budget for next year" for i in range(30)]


def _columns(kept_words: int) -> np.ndarray:
    return score_columns(score_page(" ".join(g.split()[:kept_words]), g) for g in GOLD)


def _resampled() -> quality.Resampled:
    groups = [f"site{i % 6}" for i in range(30)]
    types = ["article" if i % 2 else "product" for i in range(30)]
    return quality.Resampled(_columns(12), {"good": _columns(9), "poor": _columns(3)}, groups, types)


def test_set_differences_against_the_best_peer_and_per_page_type() -> None:
    resampled = _resampled()
    scores = {"good": 0.8, "poor": 0.3}
    entry = {
        "storyline": {"html": {"shingle": {"f1": 1.0}, "by_page_type": {"article": {}, "product": {}}}},
        "peers": {
            p: {"shingle": {"f1": f1}, "by_page_type": {"article": {"f1": f1}, "product": {"f1": f1}}}
            for p, f1 in scores.items()
        },
    }
    found = quality.set_differences(entry, resampled)
    best = found["best_peer"]
    assert best["peer"] == "good" and best["groups"] == 6
    assert 0 < best["low"] <= best["delta"] <= best["high"]
    assert set(found["by_page_type"]) == {"article", "product"}
    assert found["by_page_type"]["product"]["groups"] == 3  # the product pages sit on three of the six sites
    assert "trafilatura" not in found


def test_mean_differences_resample_each_set_and_average() -> None:
    sets = {"cleaneval": _resampled(), "l3s-gn1": _resampled()}
    means = {"storyline": {"f1": 1.0}, "good": {"f1": 0.8}, "poor": {"f1": 0.3}}
    found = quality.mean_differences(sets, means)["best_peer"]
    assert found["peer"] == "good" and found["groups"] == 12
    one = sets["cleaneval"].against("good")
    assert found["low"] >= one["low"] - 1e-9 and found["high"] <= one["high"] + 1e-9  # two sets average out


def test_main_table_prints_the_intervals() -> None:
    resampled = _resampled()
    entry = {
        "scoring": "held-out",
        "storyline": {"html": {"pages": 30, "shingle": {"precision": 1.0, "recall": 1.0, "f1": 1.0}}},
        "peers": {"good": {"shingle": {"f1": 0.8}}},
    }
    entry["differences"] = quality.set_differences(entry, resampled)
    table = quality.main_table({"sets": {"cleaneval": entry}, "means": {}, "mean_differences": {}})
    low, high = entry["differences"]["best_peer"]["low"], entry["differences"]["best_peer"]["high"]
    assert "95% interval" in table and f"{low:+.3f} to {high:+.3f}" in table
