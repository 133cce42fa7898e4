from __future__ import annotations

import math

import numpy as np

from storyline.classifier.sequence import sequence_feature_names, sequence_features


def _columns(z: list[float], words: list[float]) -> dict[str, np.ndarray]:
    blocks = [(1, 2)] * len(z)
    S = sequence_features(np.array(z), np.array(words), blocks)
    names = sequence_feature_names()
    assert S.shape == (len(z), len(names))
    return {name: S[:, i] for i, name in enumerate(names)}


def test_confident_story_features_say_what_they_name() -> None:
    # two sure story lines (30 words), two sure chrome lines
    z, words = [3.0, 3.0, -3.0, -3.0], [10.0, 20.0, 5.0, 5.0]
    col = _columns(z, words)
    sure = math.log1p(30.0)
    assert np.allclose(col["log_confident_words"], sure)
    assert np.allclose(col["z_minus_page_max_by_confident"], (np.array(z) - 3.0) * sure / 8.0)
    p = 1.0 / (1.0 + np.exp(-np.array(z)))
    assert np.allclose(col["line_mass_minus_confident"], np.log1p(p * np.array(words)) - sure)


def test_a_page_without_a_confident_line_has_no_confident_words() -> None:
    col = _columns([0.5, 1.0, -0.5], [40.0, 40.0, 40.0])
    assert np.all(col["log_confident_words"] == 0.0)
    assert np.all(col["z_minus_page_max_by_confident"] == 0.0)
    assert np.all(col["line_mass_minus_confident"] > 0.0)
